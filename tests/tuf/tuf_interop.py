#!/usr/bin/env python3
"""Interop: an independent TUF client (tuf-js, from npm) verifies Airlock's TUF metadata.

    python3 tests/tuf/tuf_interop.py --fixture build/tests/tuf/tuf_fixture \
        --source-dir tests/tuf --npm-dir build/tests/tuf/npm

tuf_fixture drives airlock::proxy::tuf::Repository (init, publish, key rotations) and lays out
REPO/www as Airlock serves /tuf/. This script serves that directory on 127.0.0.1:<ephemeral>
with http.server and runs `node client.mjs` (tuf-js) against it: it must refresh and verify
targets before and after an online key rotation and a root rotation (from the ORIGINAL pinned
root), and must refuse a tampered metadata file, a tampered signature and a tampered target.

tuf-js is installed with `npm ci` from package-lock.json into --npm-dir when missing. Without
node or npm (or when npm cannot install) the test is skipped with exit code 125, except under
CI (the CI environment variable set), where it fails. The last line is `N passed, N failed`.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SKIP = 125
NODE_TIMEOUT = 120.0
NPM_TIMEOUT = 600.0


def unavailable(message: str) -> int:
    """Skips locally, fails under CI: CI must run this test."""
    if os.environ.get("CI"):
        print(f"FAIL: {message} (required under CI)", file=sys.stderr)
        return 1
    print(f"SKIP: {message}")
    return SKIP


def install_tuf_js(source_dir: Path, npm_dir: Path) -> str | None:
    """Runs `npm ci` into npm_dir when its lock differs from the source's; None or an error."""
    npm_dir.mkdir(parents=True, exist_ok=True)
    lock = (source_dir / "package-lock.json").read_bytes()
    stamp = npm_dir / "node_modules" / ".airlock-lock-sha256"
    want = hashlib.sha256(lock).hexdigest()
    for name in ("package.json", "package-lock.json", "client.mjs"):
        shutil.copyfile(source_dir / name, npm_dir / name)
    if stamp.exists() and stamp.read_text().strip() == want:
        return None
    print(f"npm ci in {npm_dir}", flush=True)
    try:
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=npm_dir,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                timeout=NPM_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return "npm ci timed out"
    if result.returncode != 0:
        return f"npm ci failed:\n{result.stdout[-3000:]}"
    stamp.write_text(want + "\n")
    return None


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


class Interop:
    def __init__(self, fixture: str, npm_dir: Path, work: Path):
        self.fixture = fixture
        self.npm_dir = npm_dir
        self.work = work
        self.repo = work / "repo"
        self.content = work / "content"
        self.passed = 0
        self.failed = 0
        handler = functools.partial(QuietHandler, directory=str(self.repo / "www"))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def step(self, *args: str) -> None:
        result = subprocess.run([self.fixture, args[0], str(self.repo), *args[1:]],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                check=False)
        if result.returncode != 0:
            raise RuntimeError(f"tuf_fixture {args[0]} failed: {result.stdout}")

    def client(self, cache: str, *targets: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["node", str(self.npm_dir / "client.mjs"),
             "--metadata-url", f"{self.base}/metadata/", "--targets-url", f"{self.base}/targets/",
             "--root", str(self.pinned_root), "--cache", str(self.work / "cache" / cache), *targets],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=NODE_TIMEOUT,
            check=False)

    def expect_ok(self, name: str, cache: str, targets: list[str], root_version: int) -> None:
        result = self.client(cache, *targets)
        lines = result.stdout.strip().splitlines()
        problems = []
        if result.returncode != 0:
            problems.append(f"exit {result.returncode}: {result.stderr.strip()}")
        else:
            verified = [line.split()[1] for line in lines if line.startswith("verified ")]
            if verified != targets:
                problems.append(f"verified {verified}, expected {targets}")
            for line in lines:
                if line.startswith("verified "):
                    _, path, _, digest = line.split()
                    if hashlib.sha256((self.content / path).read_bytes()).hexdigest() != digest:
                        problems.append(f"{path}: downloaded bytes differ from the published ones")
            summary = json.loads(lines[-1]) if lines else {}
            if summary.get("root_version") != root_version:
                problems.append(f"root version {summary.get('root_version')}, expected {root_version}")
        self.report(name, problems)

    def expect_refused(self, name: str, cache: str, targets: list[str], why: str) -> None:
        result = self.client(cache, *targets)
        problems = []
        if result.returncode == 0:
            problems.append(f"tuf-js accepted it: {result.stdout.strip()}")
        elif why.lower() not in result.stderr.lower():
            problems.append(f"refused, but not for '{why}': {result.stderr.strip()}")
        else:
            print(f"  refused as expected: {result.stderr.strip().splitlines()[-1]}")
        self.report(name, problems)

    def report(self, name: str, problems: list[str]) -> None:
        if problems:
            self.failed += 1
            print(f"FAIL {name}")
            for problem in problems:
                print(f"  {problem}")
        else:
            self.passed += 1
            print(f"ok   {name}")

    def current(self, role: str) -> Path:
        """The served file of a role's current version (via timestamp -> snapshot)."""
        metadata = self.repo / "www" / "metadata"
        timestamp = json.loads((metadata / "timestamp.json").read_text())
        snapshot_version = timestamp["signed"]["meta"]["snapshot.json"]["version"]
        if role == "snapshot":
            return metadata / f"{snapshot_version}.snapshot.json"
        snapshot = json.loads((metadata / f"{snapshot_version}.snapshot.json").read_text())
        return metadata / f"{snapshot['signed']['meta'][role + '.json']['version']}.{role}.json"

    def tampered(self, path: Path, change) -> "Restore":
        return Restore(path, change)

    def run(self) -> None:
        page = "snapshots/ci-1/simple/requests/index.html"
        wheel_bytes = os.urandom(4096)
        wheel = f"files/{hashlib.sha256(wheel_bytes).hexdigest()}/requests-2.31.0-py3-none-any.whl"
        (self.content / Path(page).parent).mkdir(parents=True)
        (self.content / page).write_text("<!DOCTYPE html><html><body>requests</body></html>\n")
        (self.content / Path(wheel).parent).mkdir(parents=True)
        (self.content / wheel).write_bytes(wheel_bytes)
        (self.content / "snapshots/ci-1/simple/requests/index.json").write_text('{"name":"requests"}')

        self.step("init")
        self.pinned_root = self.work / "pinned-root.json"
        shutil.copyfile(self.repo / "www" / "metadata" / "1.root.json", self.pinned_root)
        self.step("publish", str(self.content))
        self.thread.start()
        print(f"serving {self.repo / 'www'} at {self.base}/", flush=True)

        targets = [page, wheel]
        self.expect_ok("tuf-js refreshes and verifies targets", "a", targets, 1)

        self.step("rotate-online")
        self.expect_ok("after an online key rotation, from its persisted state", "a", targets, 2)
        self.expect_ok("after an online key rotation, from the original pinned root", "b", targets, 2)

        self.step("rotate-root")
        self.expect_ok("after a root rotation, from the original pinned root", "c", targets, 3)
        self.expect_ok("after a root rotation, from its persisted state", "a", targets, 3)

        with self.tampered(self.current("targets"), flip_expires):
            self.expect_refused("a tampered targets.json is refused", "t1", [page], "hash")
        with self.tampered(self.repo / "www" / "metadata" / "timestamp.json", flip_expires):
            self.expect_refused("a tampered timestamp.json is refused", "t2", [page], "signed")
        with self.tampered(self.repo / "www" / "metadata" / "4.root.json", None):
            # A root version 4 signed by nobody the trusted root knows.
            self.expect_refused("a root not signed by the trusted root keys is refused", "t3", [page],
                                "signed")
        consistent = (self.repo / "www" / "targets" / Path(wheel).parent
                      / f"{hashlib.sha256(wheel_bytes).hexdigest()}.{Path(wheel).name}")
        with self.tampered(consistent, flip_last_byte):
            self.expect_refused("a tampered target is refused", "t4", [wheel], "hash")
        # Untampered again: still fine.
        self.expect_ok("the restored repository verifies again", "t5", targets, 3)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Restore:
    """Changes a served file for the duration of a with-block (None: a forged root)."""

    def __init__(self, path: Path, change):
        self.path = path
        self.change = change
        self.original: bytes | None = None

    def __enter__(self):
        if self.path.exists():
            self.original = self.path.read_bytes()
        if self.change is None:
            forged = json.loads((self.path.parent / "root.json").read_text())
            forged["signed"]["version"] += 1
            self.path.write_text(json.dumps(forged))
        else:
            self.path.write_bytes(self.change(self.original))
        return self

    def __exit__(self, *exc):
        if self.original is None:
            self.path.unlink()
        else:
            self.path.write_bytes(self.original)
        return False


def flip_expires(data: bytes) -> bytes:
    at = data.index(b'"expires":"20') + 13
    return data[:at] + (b"3" if data[at:at + 1] == b"2" else b"2") + data[at + 1:]


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", required=True, help="the tuf_fixture executable")
    parser.add_argument("--source-dir", required=True, type=Path,
                        help="tests/tuf: package.json, package-lock.json, client.mjs")
    parser.add_argument("--npm-dir", required=True, type=Path, help="where node_modules goes")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args()

    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return unavailable(f"{tool} is not installed (Debian: apt-get install nodejs npm)")
    error = install_tuf_js(args.source_dir.resolve(), args.npm_dir.resolve())
    if error is not None:
        return unavailable(error)

    work = Path(tempfile.mkdtemp(prefix="airlock-tuf-interop-"))
    (work / "content").mkdir()
    interop = Interop(args.fixture, args.npm_dir.resolve(), work)
    try:
        interop.run()
    except Exception as e:  # noqa: BLE001 - any setup failure fails the test with its message
        print(f"FAIL setup: {e}")
        interop.failed += 1
    finally:
        interop.close()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{interop.passed} passed, {interop.failed} failed")
    return 0 if interop.failed == 0 and interop.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
