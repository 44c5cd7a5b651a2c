// An independent TUF client for the interop test: tuf-js refreshes from Airlock's TUF
// repository starting at a trusted root.json, then downloads and verifies targets.
//
//   node client.mjs --metadata-url URL --targets-url URL --root FILE --cache DIR TARGET...
//
// Prints one line per verified target and a final JSON line ({"root_version": N, ...});
// exits 1 with the error on stderr when refresh or any target fails verification.
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import tuf from 'tuf-js';

const { Updater } = tuf;

function parseArgs(argv) {
  const options = { targets: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--metadata-url' || arg === '--targets-url' || arg === '--root' || arg === '--cache') {
      if (i + 1 >= argv.length) {
        throw new Error(`${arg} needs a value`);
      }
      options[arg.slice(2)] = argv[++i];
    } else if (arg.startsWith('--')) {
      throw new Error(`unknown option ${arg}`);
    } else {
      options.targets.push(arg);
    }
  }
  for (const required of ['metadata-url', 'targets-url', 'root', 'cache']) {
    if (!options[required]) {
      throw new Error(`--${required} is required`);
    }
  }
  if (options.targets.length === 0) {
    throw new Error('name at least one target path');
  }
  return options;
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const metadataDir = path.join(options.cache, 'metadata');
  const targetDir = path.join(options.cache, 'targets');
  fs.mkdirSync(metadataDir, { recursive: true });
  fs.mkdirSync(targetDir, { recursive: true });
  // The trusted root is pinned once; later runs start from what tuf-js persisted.
  const trustedRoot = path.join(metadataDir, 'root.json');
  if (!fs.existsSync(trustedRoot)) {
    fs.copyFileSync(options.root, trustedRoot);
  }
  const updater = new Updater({
    metadataDir,
    metadataBaseUrl: options['metadata-url'],
    targetDir,
    targetBaseUrl: options['targets-url'],
    config: { fetchRetries: 0, fetchTimeout: 10000 },
  });
  await updater.refresh();
  for (const target of options.targets) {
    const info = await updater.getTargetInfo(target);
    if (!info) {
      throw new Error(`target ${target} is not in the signed targets`);
    }
    const file = await updater.downloadTarget(info);
    const sha256 = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    console.log(`verified ${target} ${info.length} ${sha256}`);
  }
  const root = JSON.parse(fs.readFileSync(trustedRoot, 'utf8'));
  console.log(JSON.stringify({ root_version: root.signed.version }));
}

main().catch((error) => {
  console.error(`tuf-js: ${error && error.message ? error.message : error}`);
  process.exit(1);
});
