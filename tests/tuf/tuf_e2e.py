#!/usr/bin/env python3
"""TUF end to end: an independent client (tuf-js, from npm) and `airlock verify` against a
RUNNING Airlock, through a tampering proxy.

    python3 tests/tuf/tuf_e2e.py --airlock build/airlock --fixture build/tests/tuf/tuf_fixture \
        --source-dir tests/tuf --npm-dir build/tests/tuf/npm [-k PATTERN] [-v] [--keep]

Setup: fake_pypi.py upstream, `airlock keys init --offline-root-key FILE` (the root key kept
outside the data dir), `airlock serve`, tokens, and `airlock snapshot create ci-1 --prefetch`
through the CLI. The root.json that `keys init` wrote is what clients pin. Every client
request goes through TamperProxy (127.0.0.1, in this process), which passes requests on to
Airlock unchanged unless a test tells it to corrupt or replace one response.

  1 tuf-js refreshes from Airlock's /tuf/ and downloads and verifies a snapshot page (HTML
    and JSON) and a distribution file; the bytes are the ones Airlock and upstream serve.
  2 `airlock keys rotate-online` beside the running server; the server signs the next
    snapshot (ci-2, made after approving a new release) with the new keys (it reloads them),
    and tuf-js verifies it, from its persisted state and from the ORIGINAL pinned root.
  3 `airlock keys rotate-root`: tuf-js still verifies from the original pinned root (5.3.4).
  4 tuf-js refuses a tampered targets.json, a tampered timestamp.json, a root signed by a key
    the trusted root does not know, a tampered distribution file and a tampered page.
  5 `airlock verify` refuses, each with one line naming the role and the problem: expired
    metadata (timestamp; snapshot with a consistent timestamp over it), wrong signatures
    (timestamp by an unknown key; a bin signed by an unknown key under a snapshot and
    timestamp re-signed with the real keys, so only the delegation's signature is wrong; a
    forged root), rollback with --state (an older timestamp replayed; the state file is
    created on first use, updated on success and unchanged by a failure), and mix-and-match
    (another snapshot's page, another release's file, an older version of a bin).

Forged metadata is made with `tuf_fixture resign`, with the server's real online keys where
the attack assumes a stolen key. tuf-js is installed with `npm ci` from package-lock.json
into --npm-dir when missing; without node or npm the test is skipped (exit 125), except under
CI (the CI environment variable set), where it fails. The last line is `N passed, N failed`.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Optional

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
E2E_DIR = Path(__file__).resolve().parent.parent / "e2e"
sys.path.insert(0, str(E2E_DIR))
import pip_e2e  # noqa: E402
from fake_pypi import FakePyPI, days_ago, hours_ago  # noqa: E402
from pip_e2e import JSON_V1, OLD_DAYS, clean_env  # noqa: E402
from review_e2e import CLI_TIMEOUT, ReviewTestCase  # noqa: E402

SKIP = 125
NODE_TIMEOUT = 60.0
NPM_TIMEOUT = 600.0

FIXTURE: Optional[str] = None    # from --fixture
NPM_DIR: Optional[Path] = None   # from --npm-dir


def unavailable(message: str) -> int:
    """Skips locally, fails under CI: CI must run this test."""
    if os.environ.get("CI"):
        print(f"FAIL: {message} (required under CI)", file=sys.stderr)
        return 1
    print(f"SKIP: {message}")
    return SKIP


def install_tuf_js(source_dir: Path, npm_dir: Path) -> Optional[str]:
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
                                timeout=NPM_TIMEOUT, check=False, start_new_session=True)
    except subprocess.TimeoutExpired:
        return "npm ci timed out"
    if result.returncode != 0:
        return f"npm ci failed:\n{result.stdout[-3000:]}"
    stamp.write_text(want + "\n")
    return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def flip_expires(data: bytes) -> bytes:
    """Changes one digit of the first "expires": the signature no longer covers the bytes."""
    at = data.index(b'"expires":"20') + 13
    return data[:at] + (b"3" if data[at:at + 1] == b"2" else b"2") + data[at + 1:]


def flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


# ---- the tampering proxy ---------------------------------------------------------------

# A rule gets (path, request headers, the upstream response) and returns the response to
# send: (status, content type, body).
Upstream = tuple[int, str, bytes]
Rule = Callable[[str, dict[str, str], Callable[[], Upstream]], Upstream]


class TamperProxy:
    """An HTTP proxy on 127.0.0.1 in front of Airlock: GETs pass through unchanged unless a
    rule matches the path (a regular expression, full match), then the rule answers."""

    def __init__(self, backend_port: int) -> None:
        self.backend_port = backend_port
        self.rules: list[tuple[re.Pattern, Rule]] = []
        self.lock = threading.Lock()
        self.log: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt: str, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("accept", "accept-encoding", "authorization")}
                try:
                    status, ctype, body = proxy.answer(path, headers)
                except Exception as e:   # noqa: BLE001 - a broken rule is a 599, and logged
                    status, ctype, body = 599, "text/plain", f"tamper proxy: {e}".encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fetch(self, path: str, headers: Optional[dict[str, str]] = None) -> Upstream:
        """GET `path` from Airlock itself."""
        conn = http.client.HTTPConnection("127.0.0.1", self.backend_port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type", "application/octet-stream"), resp.read()
        finally:
            conn.close()

    def answer(self, path: str, headers: dict[str, str]) -> Upstream:
        with self.lock:
            rules = list(self.rules)
        for pattern, rule in rules:
            if pattern.fullmatch(path):
                with self.lock:
                    self.log.append(f"tampered {path}")
                return rule(path, headers, lambda: self.fetch(path, headers))
        return self.fetch(path, headers)

    def tamper(self, pattern: str, rule: Rule) -> "Tampering":
        return Tampering(self, re.compile(pattern), rule)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Tampering:
    """A rule in force for the duration of a with-block."""

    def __init__(self, proxy: TamperProxy, pattern: re.Pattern, rule: Rule) -> None:
        self.proxy, self.entry = proxy, (pattern, rule)

    def __enter__(self) -> "Tampering":
        with self.proxy.lock:
            self.proxy.rules.append(self.entry)
        return self

    def __exit__(self, *exc) -> None:
        with self.proxy.lock:
            self.proxy.rules.remove(self.entry)


def corrupt(change: Callable[[bytes], bytes]) -> Rule:
    """A rule: Airlock's response with its body changed."""
    def rule(path, headers, upstream):
        status, ctype, body = upstream()
        return status, ctype, change(body)
    return rule


def serve(body: bytes, ctype: str = "application/json") -> Rule:
    """A rule: this body instead of Airlock's response."""
    return lambda path, headers, upstream: (200, ctype, body)


def replace_with(proxy: TamperProxy, other_path: str) -> Rule:
    """A rule: Airlock's response for another path (with the same request headers)."""
    return lambda path, headers, upstream: proxy.fetch(other_path, headers)


# ---- the test --------------------------------------------------------------------------

class TufEndToEndTest(ReviewTestCase):
    token_specs = {"rita": "reader", "bob": "reviewer", "ops": "admin"}
    refresh = "10m"

    proxy: TamperProxy
    pinned_root: Path
    offline_root_key: Path

    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.a10 = fake.add_release("alpha", "1.0", days_ago(OLD_DAYS + 5))
        cls.a11 = fake.add_release("alpha", "1.1", days_ago(OLD_DAYS))
        cls.a20 = fake.add_release("alpha", "2.0", hours_ago(2))   # quarantined at first
        cls.b10 = fake.add_release("beta", "1.0", days_ago(OLD_DAYS))

    @classmethod
    def before_start(cls, config: Path) -> None:
        cls.offline_root_key = cls.tmp / "offline" / "root.key"
        cls.offline_root_key.parent.mkdir(mode=0o700)
        r = cls.keys("init", config)
        cls.pinned_root = cls.tmp / "pinned-1.root.json"
        shutil.copyfile(cls.tmp / "data" / "tuf" / "metadata" / "1.root.json", cls.pinned_root)
        if str(cls.offline_root_key) not in r.stdout and "root" not in r.stdout:
            raise AssertionError(f"keys init printed {r.stdout!r}")

    @classmethod
    def keys(cls, verb: str, config: Path) -> subprocess.CompletedProcess:
        cmd = [pip_e2e.AIRLOCK_BIN, "keys", verb, "--offline-root-key", str(cls.offline_root_key),
               "--config", str(config)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                           env=cls.cli_env(), cwd=cls.tmp, start_new_session=True)
        if r.returncode != 0 or r.stderr:
            raise AssertionError(f"`{' '.join(cmd)}` exited {r.returncode}: {r.stderr.strip()}")
        return r

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.proxy = None  # type: ignore[assignment]
        if cls.setup_error:
            return
        try:
            cls.proxy = TamperProxy(cls.airlock.port)
        except Exception as e:   # noqa: BLE001 - reported by every test, see setUp
            cls.setup_error = f"{type(e).__name__}: {e}"

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.proxy is not None:
            cls.proxy.close()
        super().tearDownClass()

    # ---- helpers -----------------------------------------------------------------------

    def admin_cli(self, *args: str) -> dict:
        return self.cli_json(*args, token=self.tokens["ops"])

    def know_projects(self) -> None:
        """Airlock snapshots the projects it knows: list them once."""
        for project in ("alpha", "beta"):
            self.page_json(project)

    def create_snapshot(self, name: str) -> dict:
        doc = self.admin_cli("snapshot", "create", name, "--prefetch")
        self.assertEqual(doc.get("name"), name, doc)
        return doc

    def tuf_js(self, cache: str, *targets: str) -> subprocess.CompletedProcess:
        cmd = ["node", str(NPM_DIR / "client.mjs"),
               "--metadata-url", f"{self.proxy.url}/tuf/metadata/",
               "--targets-url", f"{self.proxy.url}/tuf/targets/",
               "--root", str(self.pinned_root), "--cache", str(self.tmp / "tuf-js" / cache), *targets]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=NODE_TIMEOUT,
                                  env=clean_env(), start_new_session=True)
        except subprocess.TimeoutExpired:
            self.fail(self.diag(f"tuf-js timed out: {cmd}"))

    def assert_tuf_js_ok(self, cache: str, targets: dict[str, bytes], root_version: int) -> None:
        """tuf-js verifies every target; each downloaded file has exactly the expected bytes."""
        r = self.tuf_js(cache, *targets)
        self.assertEqual(r.returncode, 0, self.diag(
            f"tuf-js (cache {cache}) failed: {r.stderr.strip()}\n{r.stdout}\n"
            f"proxy: {self.proxy.log[-5:]}"))
        lines = r.stdout.strip().splitlines()
        verified = {}
        for line in lines:
            if line.startswith("verified "):
                _, path, length, digest = line.split()
                verified[path] = digest
        self.assertEqual(sorted(verified), sorted(targets), r.stdout)
        for path, expected in targets.items():
            self.assertEqual(verified[path], sha256_hex(expected),
                             f"tuf-js verified {path}, but its bytes are not the expected ones")
        self.assertEqual(json.loads(lines[-1]).get("root_version"), root_version, r.stdout)

    def assert_tuf_js_refused(self, cache: str, target: str, *why: str) -> None:
        r = self.tuf_js(cache, target)
        self.assertNotEqual(r.returncode, 0, self.diag(
            f"tuf-js accepted a tampered repository: {r.stdout}\nproxy: {self.proxy.log[-5:]}"))
        self.assertTrue(any(w.lower() in r.stderr.lower() for w in why),
                        f"tuf-js refused, but not for {why}: {r.stderr.strip()}")
        self.assertTrue(self.proxy.log, "the tampering proxy never tampered")

    def page(self, snapshot: str, project: str, as_json: bool) -> bytes:
        headers = {"Accept": JSON_V1} if as_json else {"Accept": "text/html"}
        r = self.get(f"/snapshots/{snapshot}/simple/{project}/", headers)
        self.assertEqual(r.status, 200, self.diag(f"snapshot page {snapshot}/{project}: {r}"))
        return r.body

    def page_targets(self, snapshot: str, project: str) -> dict[str, bytes]:
        base = f"snapshots/{snapshot}/simple/{project}/"
        return {base + "index.html": self.page(snapshot, project, False),
                base + "index.json": self.page(snapshot, project, True)}

    def file_target(self, f) -> dict[str, bytes]:
        return {f"files/{f.sha256}/{f.filename}": f.served_bytes()}

    def metadata(self, name: str) -> bytes:
        status, _, body = self.proxy.fetch(f"/tuf/metadata/{name}")
        self.assertEqual(status, 200, f"/tuf/metadata/{name}: {status} {body[:200]!r}")
        return body

    def current(self) -> dict:
        """The published chain: timestamp, snapshot, root (parsed) and their versions."""
        timestamp = json.loads(self.metadata("timestamp.json"))
        snapshot_version = timestamp["signed"]["meta"]["snapshot.json"]["version"]
        snapshot = json.loads(self.metadata(f"{snapshot_version}.snapshot.json"))
        root = json.loads(self.metadata("root.json"))
        return {"timestamp": timestamp, "snapshot": snapshot, "root": root,
                "snapshot_version": snapshot_version}

    def resign(self, key: str, document: dict) -> bytes:
        """`tuf_fixture resign`: the document's "signed" signed by the key file (or "random")."""
        work = self.tmp / "forged"
        work.mkdir(exist_ok=True)
        source, out = work / "in.json", work / "out.json"
        source.write_text(json.dumps(document))
        r = subprocess.run([FIXTURE, "resign", key, str(source), str(out)], capture_output=True,
                           text=True, timeout=CLI_TIMEOUT, start_new_session=True)
        self.assertEqual(r.returncode, 0, f"tuf_fixture resign: {r.stderr}")
        return out.read_bytes()

    def online_key(self, role: str) -> str:
        """A key the server signs with (an attacker who stole it could do the same)."""
        return str(self.tmp / "data" / "tuf" / "keys" / f"{role}.key")

    def verify(self, snapshot: str, *extra: str, server: Optional[str] = None) -> subprocess.CompletedProcess:
        cmd = [pip_e2e.AIRLOCK_BIN, "verify", "--root", str(self.pinned_root),
               "--server", server or self.proxy.url, snapshot, *extra]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                                  env=self.cli_env(), cwd=self.tmp, start_new_session=True)
        except subprocess.TimeoutExpired:
            self.fail(self.diag(f"`{' '.join(cmd)}` timed out"))

    def assert_verify_ok(self, snapshot: str, *extra: str) -> str:
        r = self.verify(snapshot, *extra)
        self.assertEqual(r.returncode, 0, self.diag(
            f"airlock verify {snapshot} failed: {r.stderr.strip()}\nproxy: {self.proxy.log[-5:]}"))
        self.assertEqual(r.stderr, "", r.stderr)
        self.assertIn(f"verified snapshot {snapshot}", r.stdout)
        return r.stdout

    def assert_verify_refused(self, snapshot: str, *words: str, extra: tuple[str, ...] = ()) -> str:
        """`airlock verify` exits 1 with one line on stderr that has every one of `words`."""
        r = self.verify(snapshot, *extra)
        self.assertEqual(r.returncode, 1, self.diag(
            f"airlock verify should have refused (exit 1), exited {r.returncode}\n"
            f"stdout: {r.stdout}\nstderr: {r.stderr}\nproxy: {self.proxy.log[-5:]}"))
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"want one line on stderr, got {r.stderr!r}")
        for word in words:
            self.assertIn(word.lower(), lines[0].lower(), f"stderr {lines[0]!r} should mention {word!r}")
        self.assertTrue(self.proxy.log, "the tampering proxy never tampered")
        print(f"\n  refused as expected: {lines[0]}", end="")
        return lines[0]

    def tamper(self, pattern: str, rule: Rule) -> Tampering:
        self.proxy.log.clear()
        return self.proxy.tamper(pattern, rule)

    # ---- 1. tuf-js against the running server --------------------------------------------

    def test_1_tuf_js_verifies_what_airlock_serves(self) -> None:
        self.know_projects()
        created = self.create_snapshot("ci-1")
        self.assertEqual((created.get("projects"), created.get("files")), (2, 3), created)
        targets = {**self.page_targets("ci-1", "alpha"), **self.file_target(self.a11)}
        self.assertIn(self.a11.filename.encode(), targets["snapshots/ci-1/simple/alpha/index.html"])
        self.assertNotIn(self.a20.filename.encode(), targets["snapshots/ci-1/simple/alpha/index.html"])
        self.assert_tuf_js_ok("persisted", targets, 1)
        self.assert_verify_ok("ci-1", "--files")

    # ---- 2, 3. key rotations through the CLI, beside the running server -------------------

    def test_2_online_key_rotation(self) -> None:
        before = self.current()
        # The root key is offline: without it, a one-line error that says where it should be.
        cmd = [pip_e2e.AIRLOCK_BIN, "keys", "rotate-online", "--config", str(self.airlock.config)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                           env=self.cli_env(), cwd=self.tmp, start_new_session=True)
        self.assertEqual((r.returncode, r.stdout), (1, ""), r)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("--offline-root-key", r.stderr)
        self.assertEqual(self.current()["root"], before["root"], "a refused rotation changes nothing")
        r = self.keys("rotate-online", self.airlock.config)
        self.assertIn("1 -> 2", r.stdout)
        after = self.current()
        self.assertEqual(after["root"]["signed"]["version"], 2, "the server serves the new root at once")
        for role in ("targets", "snapshot", "timestamp"):
            self.assertNotEqual(before["root"]["signed"]["roles"][role]["keyids"],
                                after["root"]["signed"]["roles"][role]["keyids"], f"{role} key not rotated")

        # The server signs what comes next with the new keys: a new release approved, and a
        # new snapshot made by the server after the rotation.
        self.cli_json("approve", "alpha", "2.0", "--reason", "reviewed", token=self.tokens["bob"])
        self.create_snapshot("ci-2")
        ci2 = self.current()
        self.assertGreater(ci2["timestamp"]["signed"]["version"], after["timestamp"]["signed"]["version"],
                           "creating ci-2 should publish new metadata")
        timestamp_keyid = ci2["root"]["signed"]["roles"]["timestamp"]["keyids"][0]
        self.assertEqual([s["keyid"] for s in ci2["timestamp"]["signatures"]], [timestamp_keyid],
                         "the server should sign with the rotated timestamp key")
        self.assertFalse([line for line in self.airlock.lines if "TUF" in line and "cannot" in line],
                         self.airlock.tail())
        targets = {**self.page_targets("ci-2", "alpha"), **self.file_target(self.a20)}
        self.assertIn(self.a20.filename.encode(), targets["snapshots/ci-2/simple/alpha/index.html"])
        self.assert_tuf_js_ok("persisted", targets, 2)
        self.assert_tuf_js_ok("pinned-after-online-rotation", targets, 2)
        self.assert_tuf_js_ok("pinned-after-online-rotation", self.file_target(self.a11), 2)

    def test_3_root_key_rotation(self) -> None:
        old_key = self.offline_root_key.read_bytes()
        r = self.keys("rotate-root", self.airlock.config)
        self.assertIn("2 -> 3", r.stdout)
        self.assertNotEqual(self.offline_root_key.read_bytes(), old_key, "the offline root key was not replaced")
        self.assertEqual(os.stat(self.offline_root_key).st_mode & 0o777, 0o600)
        root3 = json.loads(self.metadata("3.root.json"))
        self.assertEqual(len(root3["signatures"]), 2, "a new root key: signed by the old and the new")
        targets = {**self.page_targets("ci-2", "beta"), **self.file_target(self.b10)}
        self.assert_tuf_js_ok("pinned-after-root-rotation", targets, 3)
        self.assert_tuf_js_ok("persisted", targets, 3)
        self.assert_verify_ok("ci-2", "--files")

    # ---- 4. tuf-js refuses tampering -------------------------------------------------------

    def test_4_tuf_js_refuses_tampering(self) -> None:
        page = "snapshots/ci-2/simple/alpha/index.html"
        with self.tamper(r"/tuf/metadata/\d+\.targets\.json", corrupt(flip_expires)):
            self.assert_tuf_js_refused("t-targets", page, "hash", "length")
        with self.tamper(r"/tuf/metadata/timestamp\.json", corrupt(flip_expires)):
            self.assert_tuf_js_refused("t-timestamp", page, "signed", "signature")
        forged = self.current()["root"]
        forged["signed"]["version"] += 1
        next_root = forged["signed"]["version"]
        with self.tamper(rf"/tuf/metadata/{next_root}\.root\.json", serve(self.resign("random", forged))):
            self.assert_tuf_js_refused("t-root", page, "signed", "signature", "threshold")
        wheel = f"files/{self.a20.sha256}/{self.a20.filename}"
        with self.tamper(rf"/tuf/targets/files/{self.a20.sha256}/.*", corrupt(flip_last_byte)):
            self.assert_tuf_js_refused("t-file", wheel, "hash")
        with self.tamper(r"/tuf/targets/snapshots/ci-2/simple/alpha/.*index\.html", corrupt(flip_last_byte)):
            self.assert_tuf_js_refused("t-page", page, "hash")
        # Untampered: fine again.
        self.assert_tuf_js_ok("t-after", {**self.page_targets("ci-2", "alpha"), **self.file_target(self.a20)}, 3)

    # ---- 5. `airlock verify` refuses ---------------------------------------------------------

    def test_5a_verify_refuses_expired_metadata(self) -> None:
        chain = self.current()
        timestamp = chain["timestamp"]
        timestamp["signed"]["expires"] = "2026-01-01T00:00:00Z"
        # A timestamp signed with the real key but never re-signed: a freeze attack.
        with self.tamper(r"/tuf/metadata/timestamp\.json",
                         serve(self.resign(self.online_key("timestamp"), timestamp))):
            self.assert_verify_refused("ci-2", "timestamp", "expired at 2026-01-01T00:00:00Z")
        # An expired snapshot under a timestamp that names it correctly.
        snapshot = chain["snapshot"]
        snapshot["signed"]["expires"] = "2026-01-02T00:00:00Z"
        snapshot_bytes = self.resign(self.online_key("snapshot"), snapshot)
        timestamp = self.current()["timestamp"]
        timestamp["signed"]["meta"]["snapshot.json"].update(
            length=len(snapshot_bytes), hashes={"sha256": sha256_hex(snapshot_bytes)})
        version = chain["snapshot_version"]
        with self.tamper(rf"/tuf/metadata/{version}\.snapshot\.json", serve(snapshot_bytes)), \
             self.tamper(r"/tuf/metadata/timestamp\.json",
                         serve(self.resign(self.online_key("timestamp"), timestamp))):
            self.assert_verify_refused("ci-2", "snapshot", "expired at 2026-01-02T00:00:00Z")

    def test_5b_verify_refuses_wrong_signatures(self) -> None:
        chain = self.current()
        with self.tamper(r"/tuf/metadata/timestamp\.json", serve(self.resign("random", chain["timestamp"]))):
            self.assert_verify_refused("ci-2", "timestamp", "0 of 1 required signatures")
        with self.tamper(r"/tuf/metadata/timestamp\.json", corrupt(flip_expires)):
            self.assert_verify_refused("ci-2", "timestamp", "0 of 1 required signatures")
        # Whoever holds the snapshot and timestamp keys still cannot sign targets: a bin
        # listing a forged page, signed by a key the delegation does not name.
        path = "snapshots/ci-2/simple/alpha/index.html"
        bin_name = f"bin-{sha256_hex(path.encode())[:2]}"
        bin_version = chain["snapshot"]["signed"]["meta"][f"{bin_name}.json"]["version"]
        forged_bin = json.loads(self.metadata(f"{bin_version}.{bin_name}.json"))
        evil = b"<html>evil</html>"
        forged_bin["signed"]["targets"][path] = {"length": len(evil), "hashes": {"sha256": sha256_hex(evil)}}
        bin_bytes = self.resign("random", forged_bin)
        snapshot = chain["snapshot"]
        snapshot["signed"]["meta"][f"{bin_name}.json"].update(
            length=len(bin_bytes), hashes={"sha256": sha256_hex(bin_bytes)})
        snapshot_bytes = self.resign(self.online_key("snapshot"), snapshot)
        timestamp = chain["timestamp"]
        timestamp["signed"]["meta"]["snapshot.json"].update(
            length=len(snapshot_bytes), hashes={"sha256": sha256_hex(snapshot_bytes)})
        with self.tamper(rf"/tuf/metadata/{bin_version}\.{bin_name}\.json", serve(bin_bytes)), \
             self.tamper(rf"/tuf/metadata/{chain['snapshot_version']}\.snapshot\.json", serve(snapshot_bytes)), \
             self.tamper(r"/tuf/metadata/timestamp\.json",
                         serve(self.resign(self.online_key("timestamp"), timestamp))), \
             self.tamper(r"/snapshots/ci-2/simple/alpha/", serve(evil, "text/html")):
            self.assert_verify_refused("ci-2", bin_name, "0 of 1 required signatures")
        # A root the pinned chain does not sign.
        forged = chain["root"]
        forged["signed"]["version"] += 1
        with self.tamper(rf"/tuf/metadata/{forged['signed']['version']}\.root\.json",
                         serve(self.resign("random", forged))):
            self.assert_verify_refused("ci-2", f"root version {forged['signed']['version']}",
                                       "required signatures")

    def test_5c_verify_refuses_rollback_with_state(self) -> None:
        state = self.tmp / "ci-state" / "airlock-tuf.json"
        self.assertFalse(state.exists())
        self.assert_verify_ok("ci-2", "--state", str(state))
        first = json.loads(state.read_text())
        old_timestamp = self.metadata("timestamp.json")
        self.assertEqual(first.get("timestamp"), json.loads(old_timestamp)["signed"]["version"], first)

        # New metadata: a new snapshot. CI verifies it, and remembers the newer versions.
        self.create_snapshot("ci-3")
        self.assert_verify_ok("ci-2", "--state", str(state))
        second = json.loads(state.read_text())
        self.assertGreater(second["timestamp"], first["timestamp"], second)

        # The old timestamp replayed: valid on its own (signed, unexpired; the run without
        # --state accepts it), refused against the remembered versions.
        with self.tamper(r"/tuf/metadata/timestamp\.json", serve(old_timestamp)):
            self.assert_verify_ok("ci-2")
            self.assert_verify_refused("ci-2", "timestamp", f"version {first['timestamp']}",
                                       f"trusted version {second['timestamp']}", "rollback",
                                       extra=("--state", str(state)))
        self.assertEqual(json.loads(state.read_text()), second, "a refused run must not change the state")
        # A state file that does not parse is an error, not a fresh start.
        bad = self.tmp / "ci-state" / "bad.json"
        bad.write_text("{not json")
        r = self.verify("ci-2", "--state", str(bad))
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("--state", r.stderr)

    def test_5d_verify_refuses_mix_and_match(self) -> None:
        # ci-1's page (signed, genuine, of another snapshot) served in place of ci-2's.
        self.assertNotEqual(self.page("ci-1", "alpha", False), self.page("ci-2", "alpha", False))
        with self.tamper(r"/snapshots/ci-2/simple/alpha/", replace_with(self.proxy, "/snapshots/ci-1/simple/alpha/")):
            self.assert_verify_refused("ci-2", "/snapshots/ci-2/simple/alpha/", "does not match the signed")
        # Another release's genuine file in place of the signed one.
        with self.tamper(rf"/files/{self.a20.sha256}/{re.escape(self.a20.filename)}",
                         replace_with(self.proxy, f"/files/{self.a11.sha256}/{self.a11.filename}")):
            self.assert_verify_refused("ci-2", self.a20.filename, "does not match the signed", extra=("--files",))
        # An older, genuinely signed version of a bin in place of the current one.
        chain = self.current()
        path = "snapshots/ci-2/simple/alpha/index.html"
        bin_name = f"bin-{sha256_hex(path.encode())[:2]}"
        version = chain["snapshot"]["signed"]["meta"][f"{bin_name}.json"]["version"]
        self.assertGreater(version, 1, "ci-2 should have changed this bin")
        with self.tamper(rf"/tuf/metadata/{version}\.{bin_name}\.json",
                         replace_with(self.proxy, f"/tuf/metadata/{version - 1}.{bin_name}.json")):
            self.assert_verify_refused("ci-2", bin_name)
        # Untampered, all of it passes.
        self.assert_verify_ok("ci-2", "--files")


TEST_CLASSES = [TufEndToEndTest]


def main() -> int:
    global FIXTURE, NPM_DIR
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--fixture", required=True, help="the tuf_fixture executable")
    ap.add_argument("--source-dir", required=True, type=Path,
                    help="tests/tuf: package.json, package-lock.json, client.mjs")
    ap.add_argument("--npm-dir", required=True, type=Path, help="where node_modules goes")
    args, rest = ap.parse_known_args()
    FIXTURE = os.path.abspath(args.fixture)
    NPM_DIR = args.npm_dir.resolve()
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return unavailable(f"{tool} is not installed (Debian: apt-get install nodejs npm)")
    error = install_tuf_js(args.source_dir.resolve(), NPM_DIR)
    if error is not None:
        return unavailable(error)
    sys.argv = [sys.argv[0], *rest]
    return pip_e2e.run_main(TEST_CLASSES, "TUF end to end: tuf-js and airlock verify against a running "
                                          "Airlock, through a tampering proxy.")


if __name__ == "__main__":
    sys.exit(main())
