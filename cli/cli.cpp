// The `airlock` command: its usage text and the dispatch of a verb to its group, with the one
// catch that turns any failure into one line on stderr and an exit code.
#include "cli/cli.hpp"

#include "cli/command_line.hpp"

#include <airlock/util/log.hpp>

#include <fmt/core.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace airlock::cli {

namespace {

constexpr std::string_view k_usage = R"(usage: airlock <command> [options]

commands:
  serve [--config FILE]                         run the proxy (embedded defaults without --config)
  status PROJECT [VERSION]                      every file: state, reason, until, provenance
  queue                                         quarantined and held files, soonest first
  approve PROJECT VERSION --reason TEXT         release a version early: the files it has now, by
                                                sha256 (--expect SHA256,...: only if these are they;
                                                --file NAME [--sha256 HEX]: one file's bytes)
  block PROJECT [VERSION] --reason TEXT         block a version, or the whole project (--file NAME)
  unblock PROJECT [VERSION] --reason TEXT       lift a block at that scope; with --file NAME [--sha256 HEX],
                                                also set aside the advisories blocking those bytes
  audit [--project P] [--since TIME]            the audit log (TIME: RFC 3339 or a duration: 7d)
  snapshot create NAME [--prefetch]             freeze the approved files (admin); --prefetch caches them
  snapshot list | show NAME                     describe snapshots
  advisories list [--project P]                 the OSV records in force, what they block, the feed's health
  advisories show ID                            one record: affected versions, fixes, files blocked
  advisories import FILE... [--accept-large]    add OSV records (.json or .zip) through the server (admin);
                                                --accept-large applies a refresh the kill-switch guard held;
                                                --local [--config FILE] stores them with no server running
  keys init [--offline-root-key FILE] [--config FILE]
                                                create the TUF keys and the first root.json (locally)
  keys rotate-online [--offline-root-key FILE] [--config FILE]
                                                new targets/snapshot/timestamp/bins keys, a new root
                                                version signed by the root key; beside a running server
  keys rotate-root [--offline-root-key FILE] [--config FILE]
                                                a new root key (the new root is signed by old and new)
  keys renew-root [--offline-root-key FILE] [--config FILE]
                                                re-sign root with a fresh expiry (same keys)
  verify --root ROOT.json --server URL SNAPSHOT [--files] [--state FILE]
                                                CI gate: check a snapshot against its signed TUF metadata;
                                                --state remembers the versions seen and refuses older ones
  token create --role reader|reviewer|admin --name NAME [--config FILE]
                                                make an API token (locally; no server needed)
  fsck [--repair] [--config FILE]               check the store: blobs hash to their names, the
                                                index agrees; exit 1 on problems (orphan blobs and
                                                temp files are harmless). --repair fixes what it
                                                can: stop the server first
  version                                       print the version

options:
  --server URL     Airlock's address (default: $AIRLOCK_SERVER, else from --config, else
                   http://127.0.0.1:3141)
  --token TOKEN    API token (default: $AIRLOCK_TOKEN)
  --json           machine-readable output
  --config FILE    configuration file

environment:
  AIRLOCK_LOG=error|warn|info|debug   log verbosity of `serve` (default info)
)";

void
set_log_level_from_environment()
{
  const char* level = std::getenv("AIRLOCK_LOG");
  if (level == nullptr) {
    return;
  }
  const std::string_view value = level;
  if (value == "error") {
    log::set_level(log::Level::error);
  } else if (value == "warn") {
    log::set_level(log::Level::warn);
  } else if (value == "debug") {
    log::set_level(log::Level::debug);
  } else if (value != "info") {
    throw UsageError(fmt::format("AIRLOCK_LOG must be error, warn, info or debug, not \"{}\"", value));
  }
}

} // namespace

int
run(int argc, char** argv)
{
  try {
    if (sodium_init() < 0) {
      throw Error("libsodium failed to initialize");
    }
    set_log_level_from_environment();
    const std::string_view command = argc > 1 ? argv[1] : "";
    if (command.empty() || command == "help" || command == "--help" || command == "-h") {
      std::fwrite(k_usage.data(), 1, k_usage.size(), command.empty() ? stderr : stdout);
      return command.empty() ? 2 : 0;
    }
    if (command == "version" || command == "--version") {
      std::puts("airlock 0.1.0");
      return 0;
    }
    const auto args = parse_arguments(argc, argv, 2);
    if (command == "serve") {
      return serve(args);
    }
    if (command == "status") {
      return status(args);
    }
    if (command == "queue") {
      return queue(args);
    }
    if (command == "approve" || command == "block" || command == "unblock") {
      return decide(args, command);
    }
    if (command == "audit") {
      return audit(args);
    }
    if (command == "snapshot") {
      return snapshot(args);
    }
    if (command == "advisories") {
      return advisories(args);
    }
    if (command == "keys") {
      return keys(args);
    }
    if (command == "verify") {
      return verify(args);
    }
    if (command == "token") {
      if (args.positional.empty() || args.positional[0] != "create") {
        throw UsageError("usage: airlock token create --role reader|reviewer|admin --name NAME");
      }
      return token_create(args);
    }
    if (command == "fsck") {
      return fsck(args);
    }
    throw UsageError(fmt::format("unknown command \"{}\" (try: airlock help)", command));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "airlock: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "airlock: %s\n", e.what());
    return 1;
  }
}

} // namespace airlock::cli
