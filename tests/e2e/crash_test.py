#!/usr/bin/env python3
"""Crash safety: SIGKILL `airlock serve` at random moments under load, restart it, check the store.

    python3 tests/e2e/crash_test.py --airlock build/airlock [--cycles 100] [--seed N]
                                    [--budget SECONDS] [--keep] [-v]

One data directory, one fake PyPI (fake_pypi.FakePyPI, in-process on 127.0.0.1) and, per
cycle, one `airlock serve`:

  1. start it (listen 127.0.0.1:0) and, from the second cycle on, check through the admin API
     that nothing acknowledged before the last kill was lost: every block/unblock answered
     200 is in the audit log with its id, action, project and reason; no audit entry seen
     before has changed or gone; each project's decisions match the acknowledged ones (and the
     request cut short by the kill took effect in both tables or in neither);
  2. put load on it: threads download files Airlock has not cached yet (new projects each
     cycle; some files large and dripped slowly, so the kill finds them mid-transfer), while
     another thread blocks and unblocks projects;
  3. SIGKILL it after a random delay (seeded; now and then before it even listens);
  4. with it dead, check the store: `airlock fsck --json` reports nothing but orphan blobs and
     temp files (legal after a crash); every blob file hashes to its name (checked here too,
     independently); no blob seen before has gone; every download that completed with 200
     had the declared bytes. Every fourth cycle `airlock fsck` also runs beside the loaded
     server, and must find nothing worse than orphans and temp files there either.

At the end Airlock is stopped, `airlock fsck --repair` must leave a store without a single
problem, and the decisions and audit log must still be there. The seed is printed first;
the last line is `N passed, N failed` (one test per cycle plus the final checks), and the exit
status is non-zero when anything failed.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from fake_pypi import FakeFile, FakePyPI, days_ago  # noqa: E402

JSON_V1 = "application/vnd.pypi.simple.v1+json"
LISTEN_TIMEOUT = 20.0      # seconds to wait for "listening on"
HTTP_TIMEOUT = 20.0        # per socket operation
DECISION_PROJECTS = ["decide-a", "decide-b", "decide-c", "decide-d"]
SMALL_FILES = 6            # per cycle: finish quickly, so most are cached before the kill
LARGE_FILES = 2            # per cycle: dripped for up to LARGE_DRIP seconds
LARGE_SIZE = (256 << 10, 2 << 20)
LARGE_DRIP = (0.3, 1.5)
KILL_DELAY = (0.0, 1.2)    # seconds after "listening on"
EARLY_KILL_CHANCE = 0.08   # the chance of a kill before "listening on"
DOWNLOAD_THREADS = 4
LIVE_FSCK_EVERY = 4        # cycles
MAX_FAILED_CYCLES = 3      # then stop: the store is broken and later cycles say nothing new


class CheckFailed(Exception):
    pass


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("PIP_") and "proxy" not in k.lower()}
    env.pop("AIRLOCK_TOKEN", None)
    env.pop("AIRLOCK_SERVER", None)
    env.pop("AIRLOCK_LOG", None)   # the "listening on" line is at info
    return env


# ---- airlock serve ---------------------------------------------------------------------

class Server:
    """One `airlock serve` process; its output is kept in a ring buffer by drain threads."""

    LISTEN = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")

    def __init__(self, binary: str, config: Path, cwd: Path) -> None:
        self.binary, self.config, self.cwd = binary, config, cwd
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.lines: collections.deque[str] = collections.deque(maxlen=200)
        self._listening = threading.Event()
        self._threads: list[threading.Thread] = []

    def _drain(self, stream, name: str) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(f"[{name}] {line}")
            m = self.LISTEN.search(line)
            if m and not self._listening.is_set():
                self.port = int(m.group(1))
                self._listening.set()
        stream.close()

    def spawn(self) -> None:
        self.proc = subprocess.Popen([self.binary, "serve", "--config", str(self.config)],
                                     cwd=self.cwd, env=clean_env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for stream, name in ((self.proc.stderr, "stderr"), (self.proc.stdout, "stdout")):
            t = threading.Thread(target=self._drain, args=(stream, name), daemon=True)
            t.start()
            self._threads.append(t)

    def wait_listening(self) -> None:
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while time.monotonic() < deadline:
            if self._listening.wait(0.05):
                return
            if self.proc.poll() is not None:
                for t in self._threads:
                    t.join(2)
                raise CheckFailed(f"airlock serve exited with {self.proc.returncode} before "
                                  f"listening:\n{self.tail()}")
        raise CheckFailed(f"airlock serve did not listen within {LISTEN_TIMEOUT:.0f}s:\n"
                          f"{self.tail()}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(30)
            for t in self._threads:
                t.join(5)

    def stop(self) -> Optional[int]:
        """SIGTERM, then SIGKILL after 10s; the exit code (None when it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        for t in self._threads:
            t.join(5)
        return self.proc.returncode

    def tail(self, n: int = 40) -> str:
        lines = list(self.lines)[-n:]
        return "\n".join(lines) if lines else "(no output)"


class Api:
    """Plain HTTP to one server; a connection that fails raises OSError/HTTPException."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token

    def request(self, method: str, path: str, body: Optional[dict] = None,
                headers: Optional[dict] = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
        try:
            h = {"Authorization": f"Bearer {self.token}"}
            h.update(headers or {})
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
            conn.request(method, path, body=data, headers=h)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        status, data = self.request(method, path, body)
        if status != 200:
            raise CheckFailed(f"{method} {path}: HTTP {status}: {data[:300]!r}")
        return json.loads(data)


# ---- the load ---------------------------------------------------------------------------

@dataclasses.dataclass
class Artifact:
    project: str
    filename: str
    sha256: str
    size: int


@dataclasses.dataclass
class Op:
    project: str
    action: str          # block | unblock
    reason: str          # unique: how the audit entry is found
    audit_id: Optional[int] = None


class Load:
    """The downloads and decisions of one cycle, run until the server dies (or they finish)."""

    def __init__(self, api: Api, artifacts: list[Artifact], blocked: dict[str, bool],
                 cycle: int, rng: random.Random) -> None:
        self.api = api
        self.queue = collections.deque(artifacts)
        self.blocked = blocked           # updated as decisions are acknowledged
        self.cycle = cycle
        self.rng = rng
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.completed: list[Artifact] = []    # 200, every byte, the declared sha256
        self.cut = 0                           # the kill cut the connection
        self.errors: list[str] = []            # anything else: a failure
        self.acked: list[Op] = []
        self.in_flight: Optional[Op] = None    # sent, no answer when the server died
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(DOWNLOAD_THREADS):
            self.threads.append(threading.Thread(target=self._downloads, daemon=True,
                                                 name=f"download-{i}"))
        self.threads.append(threading.Thread(target=self._decisions, daemon=True,
                                             name="decisions"))
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(HTTP_TIMEOUT + 5)
            if t.is_alive():
                self.errors.append(f"thread {t.name} still running {HTTP_TIMEOUT + 5:.0f}s "
                                   "after the kill")

    def _next(self) -> Optional[Artifact]:
        with self.lock:
            return self.queue.popleft() if self.queue and not self.stop.is_set() else None

    def _downloads(self) -> None:
        while (a := self._next()) is not None:
            try:
                self._download(a)
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.cut += 1
                return   # the server is gone

    def _download(self, a: Artifact) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.api.port, timeout=HTTP_TIMEOUT)
        try:
            # The project page first, as pip does: Airlock serves files it has seen listed.
            conn.request("GET", f"/simple/{a.project}/", headers={"Accept": JSON_V1})
            resp = conn.getresponse()
            page = resp.read()
            if resp.status != 200:
                raise _Unexpected(f"GET /simple/{a.project}/: HTTP {resp.status}: {page[:200]!r}")
            conn.request("GET", f"/files/{a.sha256}/{a.filename}")
            resp = conn.getresponse()
            if resp.status != 200:
                raise _Unexpected(f"GET {a.filename}: HTTP {resp.status}: {resp.read()[:200]!r}")
            declared = resp.getheader("Content-Length")
            digest, size = hashlib.sha256(), 0
            while chunk := resp.read(1 << 16):
                digest.update(chunk)
                size += len(chunk)
            # read(amt) ends quietly at EOF, so a body cut short by the kill shows as fewer
            # bytes than Content-Length (a chunked one raises IncompleteRead instead).
            if declared is not None and size < int(declared):
                raise ConnectionResetError(f"{a.filename}: {size} of {declared} bytes")
            if declared is not None and int(declared) != a.size:
                raise _Unexpected(f"GET {a.filename}: Content-Length {declared}, want {a.size}")
            if size != a.size or digest.hexdigest() != a.sha256:
                raise _Unexpected(f"GET {a.filename}: a complete 200 with {size} bytes hashing to "
                                  f"{digest.hexdigest()}, want {a.size} bytes {a.sha256}")
            with self.lock:
                self.completed.append(a)
        except _Unexpected as e:
            with self.lock:
                self.errors.append(str(e))
        finally:
            conn.close()

    def _decisions(self) -> None:
        n = 0
        while not self.stop.is_set():
            project = self.rng.choice(DECISION_PROJECTS)
            action = "unblock" if self.blocked[project] else "block"
            op = Op(project, action, f"crash test cycle {self.cycle} op {n} ({action})")
            n += 1
            with self.lock:
                self.in_flight = op
            try:
                status, body = self.api.request("POST", f"/-/api/v1/{action}",
                                                {"project": project, "reason": op.reason})
            except (OSError, http.client.HTTPException):
                return   # the server is gone; in_flight stays: it may or may not have happened
            with self.lock:
                self.in_flight = None
                if status != 200:
                    self.errors.append(f"POST {action} {project}: HTTP {status}: {body[:300]!r} "
                                       f"(the decision state Airlock holds differs from the "
                                       f"acknowledged one?)")
                    return
                op.audit_id = json.loads(body)["audit_id"]
                self.acked.append(op)
                self.blocked[project] = action == "block"
            time.sleep(self.rng.uniform(0.01, 0.05))


class _Unexpected(Exception):
    pass


# ---- the checks -------------------------------------------------------------------------

class BlobChecker:
    """Hashes the blob files independently of Airlock; a file unchanged since it was last
    hashed (same inode, size and mtime) is not hashed again."""

    HEX64 = re.compile(r"[0-9a-f]{64}")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.verified: dict[str, tuple[int, int, int]] = {}   # name -> (ino, size, mtime_ns)

    def check(self) -> tuple[set[str], int]:
        """Returns the blob names present and the number of temp files; raises CheckFailed."""
        present: set[str] = set()
        temp = 0
        problems = []
        for outer in sorted(self.root.iterdir()):
            if outer.name == "tmp" and outer.is_dir():
                temp = sum(1 for _ in outer.iterdir())
                continue
            if not re.fullmatch(r"[0-9a-f]{2}", outer.name) or not outer.is_dir():
                problems.append(f"unexpected {outer}")
                continue
            for inner in sorted(outer.iterdir()):
                if not re.fullmatch(r"[0-9a-f]{2}", inner.name) or not inner.is_dir():
                    problems.append(f"unexpected {inner}")
                    continue
                for f in sorted(inner.iterdir()):
                    name = f.name
                    if (not self.HEX64.fullmatch(name) or name[:2] != outer.name
                            or name[2:4] != inner.name or f.is_symlink() or not f.is_file()):
                        problems.append(f"unexpected {f}")
                        continue
                    st = f.stat()
                    key = (st.st_ino, st.st_size, st.st_mtime_ns)
                    if self.verified.get(name) != key:
                        digest = hashlib.sha256()
                        with open(f, "rb") as fh:
                            while chunk := fh.read(1 << 20):
                                digest.update(chunk)
                        if digest.hexdigest() != name:
                            problems.append(f"{f}: {st.st_size} bytes hashing to "
                                            f"{digest.hexdigest()}")
                            continue
                        self.verified[name] = key
                    present.add(name)
        if problems:
            raise CheckFailed("blob files:\n  " + "\n  ".join(problems))
        return present, temp


def run_fsck(binary: str, config: Path, *extra: str) -> tuple[int, dict, str]:
    r = subprocess.run([binary, "fsck", "--config", str(config), "--json", *extra],
                       capture_output=True, text=True, timeout=300, env=clean_env())
    try:
        report = json.loads(r.stdout)
    except json.JSONDecodeError:
        raise CheckFailed(f"airlock fsck exited {r.returncode} without JSON:\n{r.stdout}"
                          f"\n{r.stderr}")
    return r.returncode, report, r.stderr


def summarize_problems(report: dict) -> collections.Counter:
    return collections.Counter(p["kind"] for p in report["problems"])


class Verifier:
    """What Airlock acknowledged, and the checks that it kept it."""

    def __init__(self) -> None:
        self.audit: dict[int, dict] = {}          # every entry seen, by id
        self.acked: list[Op] = []
        self.blocked = {p: False for p in DECISION_PROJECTS}
        self.in_flight: Optional[Op] = None       # cut short by the last kill
        self.outcomes = collections.Counter()     # what became of requests cut short

    def check(self, api: Api) -> None:
        entries = api.json("GET", "/-/api/v1/audit?limit=100000")["entries"]
        ids = [e["id"] for e in entries]
        if ids != sorted(set(ids)):
            raise CheckFailed(f"audit ids are not unique and increasing: {ids[-20:]}")
        by_id = {e["id"]: e for e in entries}
        for entry_id, before in self.audit.items():
            now = by_id.get(entry_id)
            if now != before:
                raise CheckFailed(f"audit entry {entry_id} changed or vanished:\n  before {before}"
                                  f"\n  now    {now}")
        for op in self.acked:
            e = by_id.get(op.audit_id)
            if e is None or (e["action"], e["project"], e["reason"]) != (op.action, op.project,
                                                                         op.reason):
                raise CheckFailed(f"acknowledged {op} lost: audit entry {op.audit_id} is {e}")
        if self.in_flight is not None:
            matching = [e for e in entries if e["reason"] == self.in_flight.reason]
            if len(matching) > 1:
                raise CheckFailed(f"{self.in_flight} is in the audit log twice: {matching}")
            if matching:   # it committed before the kill: its decision must have, too
                self.blocked[self.in_flight.project] = self.in_flight.action == "block"
            self.outcomes["decisions cut short, committed" if matching
                          else "decisions cut short, not committed"] += 1
        for project in DECISION_PROJECTS:
            status = api.json("GET", f"/-/api/v1/projects/{project}")
            blocked = any(d["action"] == "block" and d["version"] is None and d["filename"] is None
                          for d in status["decisions"])
            if blocked != self.blocked[project]:
                raise CheckFailed(
                    f"{project}: blocked={blocked} after the restart, but the acknowledged "
                    f"decisions (and the audit log) say blocked={self.blocked[project]}; "
                    f"in flight at the kill: {self.in_flight}; decisions: {status['decisions']}")
        self.audit = by_id
        self.acked = []
        self.in_flight = None


# ---- the run ----------------------------------------------------------------------------

class CrashTest:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.tmp = Path(tempfile.mkdtemp(prefix="airlock-crash-"))
        self.data = self.tmp / "data"
        self.config = self.tmp / "airlock.toml"
        self.fake = FakePyPI()
        self.verifier = Verifier()
        self.blobs = BlobChecker(self.data / "blobs")
        self.seen_blobs: set[str] = set()
        self.downloaded: list[Artifact] = []       # completed downloads, all cycles
        self.token = ""
        self.passed = 0
        self.failed = 0
        self.stats = collections.Counter()
        self.server: Optional[Server] = None

    def log(self, text: str) -> None:
        print(text, flush=True)

    def setup(self) -> None:
        for project in DECISION_PROJECTS:
            self.fake.add_release(project, "1.0", days_ago(40))
        self.fake.start()
        q = json.dumps
        self.config.write_text(
            "[server]\n"
            f"listen = {q('127.0.0.1:0')}\n"
            "threads = 4\n\n"
            "[upstream]\n"
            f"index = {q(self.fake.index_url)}\n"
            f"refresh = {q('1h')}\n"
            f"timeout = {q('10s')}\n\n"
            "[storage]\n"
            f"path = {q(str(self.data))}\n"
            f"map_size = {q('1GiB')}\n\n"
            "[policy]\n"
            f"quarantine = {q('0s')}\n")
        r = subprocess.run([self.args.airlock, "token", "create", "--role", "admin", "--name",
                            "crash", "--config", str(self.config)],
                           capture_output=True, text=True, timeout=60, env=clean_env())
        if r.returncode != 0 or not r.stdout.strip():
            raise CheckFailed(f"airlock token create failed ({r.returncode}): {r.stderr}")
        self.token = r.stdout.strip()

    def new_artifacts(self, cycle: int) -> list[Artifact]:
        """This cycle's upstream files: new projects, so none is cached yet."""
        out = []
        for j in range(SMALL_FILES + LARGE_FILES):
            project = f"c{cycle}x{j}"
            large = j >= SMALL_FILES
            size = self.rng.randint(*LARGE_SIZE) if large else self.rng.randint(1 << 10, 96 << 10)
            f = FakeFile(project=project, version="1.0", filename=f"{project}-1.0.tar.gz",
                         content=self.rng.randbytes(size), metadata=None,
                         upload_time=days_ago(40),
                         slow=self.rng.uniform(*LARGE_DRIP) if large else None)
            self.fake.add_file(project, f)
            out.append(Artifact(project, f.filename, f.sha256, f.size))
        # Two requests for one large file at once: one fetches, the other waits for it.
        out.append(out[-1])
        self.rng.shuffle(out)
        return out

    def retire(self, artifacts: list[Artifact]) -> None:
        """Drops a finished cycle's bytes from the fake (Airlock's listings stay cached)."""
        for name in {a.filename for a in artifacts}:
            self.fake.remove_file(name).content = b""

    def cycle(self, n: int) -> str:
        server = Server(self.args.airlock, self.config, self.tmp)
        self.server = server
        server.spawn()
        try:
            return self._cycle(n, server)
        finally:
            server.kill()   # a failed check must not leave it running beside the next one

    def _cycle(self, n: int, server: Server) -> str:
        if self.rng.random() < EARLY_KILL_CHANCE:
            # Killed while it opens the store, cleans up and binds: nothing may break either.
            time.sleep(self.rng.uniform(0.0, 0.05))
            server.kill()
            self.stats["early kills"] += 1
            self.check_dead_store()
            return "killed while starting"
        server.wait_listening()
        api = Api(server.port, self.token)
        self.verifier.check(api)
        self.check_cached_sample(api)

        artifacts = self.new_artifacts(n)
        load = Load(api, artifacts, dict(self.verifier.blocked), n, random.Random(self.rng.random()))
        delay = self.rng.uniform(*KILL_DELAY)
        # Every LIVE_FSCK_EVERY cycles, `airlock fsck` also runs beside the loaded server (and
        # is often still running at the kill): it reads the index before the files, so it may
        # see orphans and temp files, never anything worse.
        live: list = []
        live_thread = None
        if n % LIVE_FSCK_EVERY == 0:
            live_thread = threading.Thread(
                target=lambda: live.append(run_fsck(self.args.airlock, self.config)), daemon=True)
        load.start()
        if live_thread is not None:
            live_thread.start()
        time.sleep(delay)
        server.kill()
        load.join()
        self.retire(artifacts)
        # What the server acknowledged is what the next cycle checks, whatever fails below.
        self.verifier.acked = load.acked
        self.verifier.blocked = load.blocked
        self.verifier.in_flight = load.in_flight
        self.downloaded.extend(load.completed)
        self.stats["downloads completed"] += len(load.completed)
        self.stats["downloads cut"] += load.cut
        self.stats["decisions acknowledged"] += len(load.acked)
        if live_thread is not None:
            live_thread.join(300)
            if not live:
                raise CheckFailed("airlock fsck beside the server gave no report")
            code, report, stderr = live[0]
            bad = [p for p in report["problems"] if not p["harmless"]]
            if code != 0 or bad:
                raise CheckFailed(f"airlock fsck beside the running server (exit {code}): "
                                  + json.dumps(bad or report, indent=1) + stderr)
            self.stats["fsck runs beside the server"] += 1
        if load.errors:
            raise CheckFailed("under load:\n  " + "\n  ".join(load.errors))
        kinds = self.check_dead_store()
        return (f"kill after {delay:.2f}s: {len(load.completed)} downloads done, {load.cut} cut, "
                f"{len(load.acked)} decisions acked{', 1 in flight' if load.in_flight else ''}; "
                f"fsck: {dict(kinds) or 'clean'}")

    def check_dead_store(self) -> collections.Counter:
        code, report, stderr = run_fsck(self.args.airlock, self.config)
        kinds = summarize_problems(report)
        bad = [p for p in report["problems"] if not p["harmless"]]
        if code != 0 or bad or not report["clean"]:
            raise CheckFailed(f"airlock fsck after the kill (exit {code}): "
                              + json.dumps(bad or report, indent=1) + stderr)
        for kind, count in kinds.items():
            self.stats[f"fsck {kind}"] += count
        present, _ = self.blobs.check()
        lost = self.seen_blobs - present
        if lost:
            raise CheckFailed(f"blob files vanished: {sorted(lost)}")
        self.seen_blobs = present
        return kinds

    def check_cached_sample(self, api: Api) -> None:
        """Files downloaded before and cached come back whole from the restarted server."""
        cached = [a for a in self.downloaded if a.sha256 in self.seen_blobs]
        for a in self.rng.sample(cached, min(3, len(cached))):
            status, body = api.request("GET", f"/files/{a.sha256}/{a.filename}")
            if status != 200 or hashlib.sha256(body).hexdigest() != a.sha256:
                raise CheckFailed(f"cached {a.filename} after the restart: HTTP {status}, "
                                  f"{len(body)} bytes hashing to {hashlib.sha256(body).hexdigest()}")

    def final(self) -> None:
        """A last restart and check; a stop (SIGTERM); then --repair leaves no problem at all."""
        server = Server(self.args.airlock, self.config, self.tmp)
        self.server = server
        server.spawn()
        server.wait_listening()
        api = Api(server.port, self.token)
        self.verifier.check(api)
        self.check_cached_sample(api)
        server.stop()
        code, report, stderr = run_fsck(self.args.airlock, self.config, "--repair")
        unrepaired = [p for p in report["problems"] if not p["repaired"]]
        if code != 0 or unrepaired:
            raise CheckFailed(f"airlock fsck --repair (exit {code}): "
                              + json.dumps(unrepaired or report, indent=1) + stderr)
        repaired = summarize_problems(report)
        code, report, stderr = run_fsck(self.args.airlock, self.config)
        if code != 0 or report["problems"]:
            raise CheckFailed(f"airlock fsck after --repair (exit {code}): "
                              + json.dumps(report, indent=1) + stderr)
        if report["blob_files"] != len(self.blobs.check()[0]):
            raise CheckFailed(f"fsck hashed {report['blob_files']} blob files; there are "
                              f"{len(self.blobs.check()[0])}")
        if report["index_entries"] != report["blob_files"]:
            raise CheckFailed(f"after --repair: {report['index_entries']} index entries for "
                              f"{report['blob_files']} blob files")
        # Repair never touches decisions or the audit log.
        server = Server(self.args.airlock, self.config, self.tmp)
        self.server = server
        server.spawn()
        server.wait_listening()
        self.verifier.check(Api(server.port, self.token))
        server.stop()
        self.log(f"final: fsck --repair fixed {dict(repaired) or 'nothing'}; "
                 f"{report['blob_files']} blobs ({report['bytes_hashed']} bytes), all indexed; "
                 f"{len(self.verifier.audit)} audit entries kept")

    def run(self) -> int:
        started = time.monotonic()
        self.log(f"seed {self.args.seed} (rerun with --seed {self.args.seed}); data in {self.tmp}")
        cycles_run = 0
        try:
            self.setup()
            for n in range(self.args.cycles):
                if time.monotonic() - started > self.args.budget:
                    self.log(f"time budget of {self.args.budget:.0f}s used up after {n} cycles")
                    break
                cycles_run += 1
                try:
                    note = self.cycle(n)
                    self.passed += 1
                    if self.args.verbose or (n + 1) % 10 == 0:
                        self.log(f"cycle {n + 1}/{self.args.cycles} ok "
                                 f"({time.monotonic() - started:.0f}s): {note}")
                except CheckFailed as e:
                    self.fail(f"cycle {n + 1}", str(e))
                    if self.failed >= MAX_FAILED_CYCLES:
                        self.log(f"stopping after {self.failed} failed cycles")
                        break
            try:
                if self.failed == 0:
                    self.final()
                    self.passed += 1
            except CheckFailed as e:
                self.fail("final checks", str(e))
        finally:
            if self.server is not None:
                self.server.kill()
            self.fake.stop()
            if self.args.keep or self.failed:
                self.log(f"kept {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)
        elapsed = time.monotonic() - started
        totals = ", ".join(f"{k} {v}" for k, v in
                           sorted((self.stats + self.verifier.outcomes).items()))
        self.log(f"{cycles_run} cycles in {elapsed:.1f}s (seed {self.args.seed}): {totals}")
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 0 if self.failed == 0 and self.passed > 0 else 1

    def fail(self, what: str, message: str) -> None:
        self.failed += 1
        tail = self.server.tail() if self.server is not None else "(no server)"
        self.log(f"FAIL {what} (seed {self.args.seed}): {message}\n"
                 f"--- airlock output, last lines ---\n{tail}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--airlock", required=True, help="the airlock binary")
    ap.add_argument("--cycles", type=int, default=100, help="kill/restart cycles (default 100)")
    ap.add_argument("--seed", type=int, default=None, help="RNG seed (default: random, printed)")
    ap.add_argument("--budget", type=float, default=480.0,
                    help="start no cycle after this many seconds (default 480; CTest allows 900)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    ap.add_argument("-v", "--verbose", action="store_true", help="a line per cycle")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 32)
    if not os.access(args.airlock, os.X_OK):
        print(f"--airlock {args.airlock!r} is not an executable file", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    args.airlock = os.path.abspath(args.airlock)   # the server runs in the temp dir
    return CrashTest(args).run()


if __name__ == "__main__":
    sys.exit(main())
