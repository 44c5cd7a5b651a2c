#!/usr/bin/env python3
"""End-to-end tests: the real pip, in fresh venvs, against `airlock serve` and a fake PyPI.

    python3 tests/e2e/pip_e2e.py --airlock build/airlock [-k PATTERN] [-v] [--keep]

Each test class starts fake_pypi.FakePyPI in-process on 127.0.0.1, writes an airlock.toml in a
temp dir pointing at it, runs `airlock serve --config <file>`, waits for its
`listening on http://127.0.0.1:PORT/` line and talks to it with pip and urllib. Only
127.0.0.1 is ever contacted: pip runs with --index-url pointing at Airlock, no config files
(PIP_CONFIG_FILE=/dev/null), no cache and no proxy variables.

The last line printed is `N passed, N failed` (plus `, N skipped`); the exit status is
non-zero when anything failed.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import fake_pypi  # noqa: E402
from fake_pypi import FakeFile, FakePyPI, days_ago, hours_ago  # noqa: E402

JSON_V1 = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; "
              "q=0.1, text/html; q=0.01")
QUARANTINE = dt.timedelta(days=7)
# "Old" releases are past both the 7d quarantine window and the default 30d history horizon,
# so they are approved on age alone, with no background check to wait for.
OLD_DAYS = 40

LISTEN_TIMEOUT = 20.0   # seconds to wait for "listening on"
STOP_TIMEOUT = 10.0     # seconds to wait for exit after SIGTERM
PIP_TIMEOUT = 180.0     # seconds per pip command

AIRLOCK_BIN: Optional[str] = None   # from --airlock
KEEP_TEMP = False                   # from --keep

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]00:00)")


# ---- helpers ---------------------------------------------------------------------------

def clean_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: no pip settings, no proxies."""
    env = {k: v for k, v in os.environ.items()
           if not k.upper().startswith("PIP_") and "proxy" not in k.lower()}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.update(extra)
    return env


def parse_time(text: str) -> dt.datetime:
    text = text.replace("Z", "+00:00")
    return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())


class Response:
    def __init__(self, status: int, headers, body: bytes, complete: bool = True,
                 error: str = "") -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.complete = complete   # False: the connection ended before Content-Length bytes
        self.error = error

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return (f"<HTTP {self.status} complete={self.complete} "
                f"type={self.headers.get('Content-Type') if self.headers else None} "
                f"body={self.body[:300]!r} {self.error}>")


def http_get(url: str, headers: Optional[dict[str, str]] = None, timeout: float = 30) -> Response:
    """GET without following redirects; HTTP errors are responses, not exceptions."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        resp = _OPENER.open(req, timeout=timeout)
    except urllib.error.HTTPError as e:
        try:
            body = e.read()
        except Exception:   # a body cut short on an error status is still the status
            body = b""
        return Response(e.code, e.headers, body)
    with resp:
        try:
            body = resp.read()
            return Response(resp.status, resp.headers, body)
        except Exception as e:   # IncompleteRead, ConnectionReset...: the body was cut short
            partial = getattr(e, "partial", b"") or b""
            return Response(resp.status, resp.headers, partial, complete=False,
                            error=f"{type(e).__name__}: {e}")


class AirlockServer:
    """`airlock serve --config FILE` as a child process, its output drained by threads."""

    LISTEN = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")

    def __init__(self, binary: str, config: Path, cwd: Path) -> None:
        self.binary = binary
        self.config = config
        self.cwd = cwd
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.lines: collections.deque[str] = collections.deque(maxlen=400)
        self._listening = threading.Event()
        self._threads: list[threading.Thread] = []
        self.exit_code: Optional[int] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def index_url(self) -> str:
        return f"{self.url}/simple/"

    def tail(self, n: int = 60) -> str:
        lines = list(self.lines)[-n:]
        return "\n".join(lines) if lines else "(no output)"

    def _drain(self, stream, name: str) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(f"[{name}] {line}")
            if not self._listening.is_set():
                m = self.LISTEN.search(line)
                if m:
                    self.port = int(m.group(1))
                    if name != "stderr":
                        self.lines.append("[e2e] note: the listening line came on stdout")
                    self._listening.set()
        stream.close()

    def start(self) -> None:
        cmd = [self.binary, "serve", "--config", str(self.config)]
        self.proc = subprocess.Popen(cmd, cwd=self.cwd, env=clean_env(),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        for stream, name in ((self.proc.stderr, "stderr"), (self.proc.stdout, "stdout")):
            t = threading.Thread(target=self._drain, args=(stream, name), daemon=True)
            t.start()
            self._threads.append(t)
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while time.monotonic() < deadline:
            if self._listening.wait(0.1):
                return
            if self.proc.poll() is not None:
                for t in self._threads:
                    t.join(2)
                raise AssertionError(
                    f"`{' '.join(cmd)}` exited with {self.proc.returncode} before printing "
                    f"'listening on http://127.0.0.1:PORT/'. Output:\n{self.tail()}")
        self.kill()
        raise AssertionError(
            f"`{' '.join(cmd)}` printed no 'listening on http://127.0.0.1:PORT/' line within "
            f"{LISTEN_TIMEOUT:.0f}s. Output:\n{self.tail()}")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> Optional[int]:
        """SIGTERM, then wait STOP_TIMEOUT; returns the exit code, None if it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
                self.exit_code = None
                return None
        for t in self._threads:
            t.join(2)
        self.exit_code = self.proc.returncode
        return self.exit_code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# ---- the base class --------------------------------------------------------------------

class AirlockTestCase(unittest.TestCase):
    """One fake upstream + one Airlock per test class."""

    refresh = "1s"
    force_html_upstream = False

    tmp: Path
    fake: FakePyPI
    airlock: AirlockServer
    setup_error: Optional[str] = None

    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        """Adds the class's projects to the fake upstream (before it starts)."""

    @classmethod
    def before_start(cls, config: Path) -> None:
        """Runs once the config is written, before `airlock serve` (e.g. `airlock keys init`)."""

    @classmethod
    def config_text(cls) -> str:
        q = json.dumps
        return (
            "[server]\n"
            f"listen = {q('127.0.0.1:0')}\n\n"
            "[upstream]\n"
            f"index = {q(cls.fake.index_url)}\n"
            f"refresh = {q(cls.refresh)}\n"
            f"timeout = {q('10s')}\n\n"
            "[storage]\n"
            f"path = {q(str(cls.tmp / 'data'))}\n\n"
            "[policy]\n"
            f"quarantine = {q('7d')}\n"
        )

    @classmethod
    def setUpClass(cls) -> None:
        cls.setup_error = None
        cls.tmp = Path(tempfile.mkdtemp(prefix=f"airlock-e2e-{cls.__name__}-"))
        cls.fake = FakePyPI()
        cls.fake.force_html = cls.force_html_upstream
        cls.airlock = None  # type: ignore[assignment]
        try:
            cls.populate(cls.fake)
            cls.fake.start()
            config = cls.tmp / "airlock.toml"
            config.write_text(cls.config_text())
            if not AIRLOCK_BIN or not os.access(AIRLOCK_BIN, os.X_OK):
                raise AssertionError(f"--airlock {AIRLOCK_BIN!r} is not an executable file")
            cls.before_start(config)
            cls.airlock = AirlockServer(AIRLOCK_BIN, config, cls.tmp)
            cls.airlock.start()
        except Exception as e:   # reported by every test of the class, see setUp
            cls.setup_error = f"{type(e).__name__}: {e}"
            if cls.airlock is not None:
                cls.airlock.kill()

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            if cls.airlock is not None and cls.airlock.running():
                code = cls.airlock.stop()
                if code != 0:
                    raise AssertionError(
                        f"airlock did not exit with 0 within {STOP_TIMEOUT:.0f}s of SIGTERM "
                        f"(got {code}; None = killed). Output:\n{cls.airlock.tail()}")
        finally:
            cls.fake.stop()
            if KEEP_TEMP:
                print(f"\n[e2e] kept {cls.tmp}", file=sys.stderr)
            else:
                shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self) -> None:
        if self.setup_error:
            self.fail(f"setup of {type(self).__name__} failed: {self.setup_error}")
        if not self.airlock.running():
            self.fail(f"airlock is not running (exit {self.airlock.proc.returncode}). "
                      f"Output:\n{self.airlock.tail()}")

    # Last in each class (methods run in name order): a clean stop on SIGTERM.
    def test_zz_sigterm_exits_cleanly(self) -> None:
        code = self.airlock.stop()
        self.assertEqual(code, 0,
                         f"airlock should exit 0 within {STOP_TIMEOUT:.0f}s of SIGTERM "
                         f"(got {code}; None = killed). Output:\n{self.airlock.tail()}")

    # ---- helpers for tests ---------------------------------------------------------

    def diag(self, extra: str = "") -> str:
        counts = json.dumps(self.fake.counts.snapshot(), sort_keys=True)
        proc = self.airlock.proc
        try:
            proc.wait(0.5)   # a crash that cut a connection short needs a moment to be seen
        except subprocess.TimeoutExpired:
            pass
        state = ("running" if proc.poll() is None
                 else f"EXITED with {proc.returncode}" + (" (killed by a signal)"
                                                          if proc.returncode < 0 else ""))
        return (f"{extra}\n--- airlock ({state}) output, last lines ---\n{self.airlock.tail()}\n"
                f"--- fake upstream counts ---\n{counts}\n"
                f"--- fake upstream requests (last) ---\n"
                + "\n".join(self.fake.request_log[-25:]))

    def get(self, path: str, headers: Optional[dict[str, str]] = None) -> Response:
        """GETs a path on Airlock; a connection failure fails the test with diagnostics."""
        try:
            return http_get(self.airlock.url + path, headers)
        except (OSError, http.client.HTTPException) as e:
            self.fail(self.diag(f"GET {path} (headers {headers}): no HTTP response: "
                                f"{type(e).__name__}: {e}"))

    def get_file(self, f: FakeFile) -> Response:
        """GETs Airlock's /files/ URL of `f`, after its project page (as pip would: Airlock
        knows a file from a listing before it serves it)."""
        r = self.get(f"/simple/{f.project}/", {"Accept": JSON_V1})
        self.assertEqual(r.status, 200, self.diag(f"GET /simple/{f.project}/ (JSON): {r}"))
        return self.get(f"/files/{f.sha256}/{f.filename}")

    def files_url(self, f: FakeFile) -> str:
        return f"{self.airlock.url}/files/{f.sha256}/{f.filename}"

    def make_venv(self, name: str) -> Path:
        path = self.tmp / "venvs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([sys.executable, "-m", "venv", str(path)], capture_output=True,
                           text=True, timeout=120, env=clean_env())
        self.assertEqual(r.returncode, 0, f"python3 -m venv failed:\n{r.stdout}\n{r.stderr}")
        return path

    def pip_install(self, venv: Path, *args: str,
                    index_url: Optional[str] = None) -> subprocess.CompletedProcess:
        """`<venv>/bin/python -m pip install ...` against Airlock (or `index_url`, e.g. one
        with credentials in it); stdout+stderr in .stdout."""
        cmd = [str(venv / "bin" / "python"), "-m", "pip", "install",
               "--disable-pip-version-check", "--no-cache-dir", "--timeout", "30",
               "--retries", "1", "--index-url", index_url or self.airlock.index_url, *args]
        env = clean_env(PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1", NO_COLOR="1",
                        PYTHONDONTWRITEBYTECODE="1")
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, timeout=PIP_TIMEOUT, env=env, cwd=self.tmp)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
            self.fail(self.diag(f"pip timed out after {PIP_TIMEOUT:.0f}s: {cmd}\n{out}"))

    def assert_pip_ok(self, r: subprocess.CompletedProcess) -> None:
        self.assertEqual(r.returncode, 0, self.diag(
            f"pip install failed ({r.returncode}): {r.args}\n{r.stdout[-4000:]}"))

    def assert_pip_failed(self, r: subprocess.CompletedProcess) -> None:
        self.assertNotEqual(r.returncode, 0, self.diag(
            f"pip install should have failed: {r.args}\n{r.stdout[-4000:]}"))

    def installed_version(self, venv: Path, module: str) -> str:
        r = subprocess.run([str(venv / "bin" / "python"), "-c",
                            f"import {module}; print({module}.__version__)"],
                           capture_output=True, text=True, timeout=60, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, f"import {module} failed:\n{r.stderr}")
        return r.stdout.strip()

    def wait_counts_settled(self, quiet: float = 1.0, limit: float = 6.0) -> dict:
        """Waits until the fake upstream has seen no request for `quiet` seconds."""
        deadline = time.monotonic() + limit
        last = self.fake.counts.snapshot()
        since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.fake.counts.snapshot()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        return last

    def file_requests(self, filename: Optional[str] = None) -> int:
        c = self.fake.counts
        return c.get("file", filename) + c.get("file_range", filename)

    def blob_files(self) -> list[Path]:
        root = self.tmp / "data" / "blobs"
        return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []

    def blobs_named(self, sha256: str, wait: float = 5.0) -> list[Path]:
        """The blob files named `sha256`. A download's blob is committed (fsynced, renamed,
        indexed) just after its response, so this waits up to `wait` seconds for one."""
        deadline = time.monotonic() + wait
        while True:
            named = [p for p in self.blob_files() if p.name == sha256]
            if named or time.monotonic() > deadline:
                return named
            time.sleep(0.05)

    def page_json(self, project: str) -> dict:
        r = self.get(f"/simple/{project}/", {"Accept": JSON_V1})
        self.assertEqual(r.status, 200, self.diag(f"GET /simple/{project}/ (JSON): {r}"))
        ctype = r.headers.get("Content-Type", "")
        self.assertTrue(ctype.startswith(JSON_V1), f"Content-Type {ctype!r}, want {JSON_V1}")
        return r.json()

    def assert_time_near(self, got: str, want: dt.datetime, slack: float, what: str) -> None:
        delta = abs((parse_time(got) - want).total_seconds())
        self.assertLessEqual(delta, slack,
                             f"{what}: {got} is {delta:.0f}s away from {want.isoformat()}")


# ---- a. install with a dependency, then again from the cache ---------------------------

class InstallFromCacheTest(AirlockTestCase):
    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.beta10 = fake.add_release("beta", "1.0", days_ago(OLD_DAYS + 5))
        cls.beta11 = fake.add_release("beta", "1.1", days_ago(OLD_DAYS))
        cls.alpha = fake.add_release("alpha", "1.0", days_ago(OLD_DAYS), requires=["beta>=1.0"])

    def test_install_with_dependency_then_from_cache(self) -> None:
        venv1 = self.make_venv("first")
        r = self.pip_install(venv1, "alpha")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv1, "alpha"), "1.0")
        self.assertEqual(self.installed_version(venv1, "beta"), "1.1")
        # Airlock got them from upstream (and so cannot have been bypassed).
        for f in (self.alpha, self.beta11):
            self.assertGreaterEqual(self.file_requests(f.filename), 1,
                                    self.diag(f"upstream never served {f.filename}"))
            # The cache holds them, content-addressed, under <storage>/blobs.
            named = self.blobs_named(f.sha256)
            self.assertEqual(len(named), 1, self.diag(
                f"want one blob named {f.sha256} under data/blobs, got {named}"))
            self.assertEqual(sha256_file(named[0]), f.sha256)

        before = self.wait_counts_settled()
        venv2 = self.make_venv("second")
        r = self.pip_install(venv2, "alpha")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv2, "alpha"), "1.0")
        self.assertEqual(self.installed_version(venv2, "beta"), "1.1")
        after = self.fake.counts.snapshot()
        for route in ("file", "file_range"):
            self.assertEqual(after[route], before[route], self.diag(
                f"the second install downloaded files from upstream again ({route}): "
                f"before {before[route]}, after {after[route]}"))
        self.assertEqual(after["metadata"], before["metadata"], self.diag(
            f"the second install fetched core metadata from upstream again: "
            f"before {before['metadata']}, after {after['metadata']}"))


# ---- b. quarantine ---------------------------------------------------------------------

class QuarantineTest(AirlockTestCase):
    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.old = fake.add_release("gamma", "1.0", days_ago(OLD_DAYS))
        cls.new = fake.add_release("gamma", "2.0", hours_ago(1))

    def until(self) -> dt.datetime:
        return self.new.upload_time + QUARANTINE

    def test_pip_gets_only_the_old_release(self) -> None:
        venv = self.make_venv("gamma")
        r = self.pip_install(venv, "gamma")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "gamma"), "1.0")

        r = self.pip_install(venv, "gamma==2.0")
        self.assert_pip_failed(r)
        self.assertIn("no matching distribution", r.stdout.lower(), self.diag(r.stdout))
        self.assertEqual(self.installed_version(venv, "gamma"), "1.0")

        r = self.pip_install(venv, self.files_url(self.new))
        self.assert_pip_failed(r)
        self.assertIn("403", r.stdout, self.diag(r.stdout))
        self.assertEqual(self.installed_version(venv, "gamma"), "1.0")

    def test_json_page_lists_only_approved_files(self) -> None:
        page = self.page_json("gamma")
        names = [f.get("filename") for f in page.get("files", [])]
        self.assertEqual(names, [self.old.filename], self.diag(json.dumps(page, indent=1)))
        entry = page["files"][0]
        self.assertEqual(entry.get("hashes", {}).get("sha256"), self.old.sha256)
        url = urllib.parse.urljoin(f"{self.airlock.url}/simple/gamma/", entry.get("url", ""))
        self.assertEqual(urllib.parse.urlsplit(url).path,
                         f"/files/{self.old.sha256}/{self.old.filename}")
        meta = page.get("_airlock")
        self.assertIsInstance(meta, dict, json.dumps(page, indent=1))
        self.assertEqual(meta.get("withheld"), 1, json.dumps(page, indent=1))
        self.assertIsInstance(meta.get("next_available"), str, json.dumps(page, indent=1))
        self.assert_time_near(meta["next_available"], self.until(), 120,
                              "_airlock.next_available vs upload-time of 2.0 + 7d")

    def test_html_page_lists_only_approved_files(self) -> None:
        r = self.get("/simple/gamma/")
        self.assertEqual(r.status, 200, self.diag(repr(r)))
        self.assertIn(self.old.filename, r.text)
        self.assertIn(self.old.sha256, r.text)
        self.assertNotIn(self.new.filename, r.text)
        self.assertNotIn(self.new.sha256, r.text)

    def test_quarantined_file_is_403_with_reason_and_time(self) -> None:
        r = self.get_file(self.new)
        self.assertEqual(r.status, 403, self.diag(repr(r)))
        body = r.text.strip()
        self.assertIn("quarantined", body.lower())
        self.assertEqual(len(body.splitlines()), 1, f"want a one-line reason, got {body!r}")
        times = RFC3339.findall(body)
        self.assertTrue(times, f"no RFC 3339 time in the 403 body {body!r}")
        self.assertTrue(
            any(abs((parse_time(t) - self.until()).total_seconds()) <= 120 for t in times),
            f"403 body {body!r} should say when it becomes available: {self.until()}")

    def test_approved_file_is_served(self) -> None:
        r = self.get_file(self.old)
        self.assertEqual(r.status, 200, self.diag(repr(r)))
        self.assertTrue(r.complete, repr(r))
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), self.old.sha256)


# ---- c. corrupted and broken upstream bytes --------------------------------------------

class CorruptUpstreamTest(AirlockTestCase):
    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.delta = fake.add_release("delta", "1.0", days_ago(OLD_DAYS))
        cls.delta.corrupt = True
        cls.trunc = fake.add_release("epsilon", "1.0", days_ago(OLD_DAYS))
        cls.trunc.truncate = True
        cls.err = fake.add_release("zeta", "1.0", days_ago(OLD_DAYS))
        cls.err.status = 500

    def assert_not_served(self, r: Response, what: str) -> None:
        served_whole = r.status == 200 and r.complete
        self.assertFalse(served_whole, self.diag(
            f"{what}: Airlock answered a complete 200 while upstream's bytes were bad: {r!r}"))

    def assert_no_blob(self, f: FakeFile, bad_sha: Optional[str] = None) -> None:
        """No blob named by the file's sha256 and none holding the bad bytes (temp files too)."""
        deadline = time.monotonic() + 3   # a failed download's temp file may take a moment
        while True:
            offenders = []
            for p in self.blob_files():
                if f.sha256 in p.name or (bad_sha and bad_sha in p.name):
                    offenders.append(f"{p} (named by the sha256)")
                elif bad_sha and sha256_file(p) == bad_sha:
                    offenders.append(f"{p} (holds the corrupt bytes)")
            if not offenders or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(offenders, [], self.diag(f"blob store after a bad upstream download"))

    def assert_blob_ok(self, f: FakeFile) -> None:
        named = self.blobs_named(f.sha256)
        self.assertEqual(len(named), 1, self.diag(f"want one blob named {f.sha256}: {named}"))
        self.assertEqual(sha256_file(named[0]), f.sha256)

    def test_corrupt_bytes_are_refused_then_recovered(self) -> None:
        f = self.delta
        venv = self.make_venv("delta")
        r = self.pip_install(venv, "delta")
        self.assert_pip_failed(r)
        self.assertGreaterEqual(self.file_requests(f.filename), 1,
                                self.diag("Airlock never asked upstream for the file"))
        self.assert_not_served(self.get_file(f), "corrupt")
        self.assert_no_blob(f, f.corrupt_sha256)

        f.corrupt = False
        r = self.pip_install(venv, "delta")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "delta"), "1.0")
        self.assert_blob_ok(f)

    def test_truncated_download_is_refused_then_recovered(self) -> None:
        f = self.trunc
        self.assert_not_served(self.get_file(f), "truncated")
        self.assertGreaterEqual(self.file_requests(f.filename), 1, self.diag("no upstream fetch"))
        self.assert_no_blob(f)
        f.truncate = False
        r = self.get(f"/files/{f.sha256}/{f.filename}")
        self.assertEqual((r.status, r.complete), (200, True), self.diag(repr(r)))
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), f.sha256)
        self.assert_blob_ok(f)

    def test_upstream_500_is_not_a_file_then_recovered(self) -> None:
        f = self.err
        r = self.get_file(f)
        self.assertGreaterEqual(r.status, 500, self.diag(f"upstream said 500; Airlock: {r!r}"))
        self.assert_no_blob(f)
        f.status = None
        r = self.get(f"/files/{f.sha256}/{f.filename}")
        self.assertEqual((r.status, r.complete), (200, True), self.diag(repr(r)))
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), f.sha256)


# ---- d. content negotiation smoke test -------------------------------------------------

class NegotiationTest(AirlockTestCase):
    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.wheel = fake.add_release("Alpha_Pkg", "1.0", days_ago(OLD_DAYS))

    def assert_html(self, r: Response, what: str) -> None:
        self.assertEqual(r.status, 200, self.diag(f"{what}: {r!r}"))
        ctype = r.headers.get("Content-Type", "")
        self.assertIn("html", ctype, f"{what}: Content-Type {ctype!r}")

    def assert_project_json(self, r: Response, what: str) -> None:
        self.assertEqual(r.status, 200, self.diag(f"{what}: {r!r}"))
        ctype = r.headers.get("Content-Type", "")
        self.assertTrue(ctype.startswith(JSON_V1), f"{what}: Content-Type {ctype!r}")
        page = r.json()
        self.assertEqual(page.get("name"), "alpha-pkg")
        self.assertTrue(str(page.get("meta", {}).get("api-version", "")).startswith("1."))
        self.assertEqual([f.get("filename") for f in page.get("files", [])],
                         [self.wheel.filename], json.dumps(page, indent=1))

    def test_simple_root_is_html_by_default(self) -> None:
        self.assert_html(self.get("/simple/"), "GET /simple/")

    def test_project_html_by_default(self) -> None:
        for accept in (None, "*/*", "text/html"):
            r = self.get("/simple/alpha-pkg/", {"Accept": accept} if accept else {})
            self.assert_html(r, f"GET /simple/alpha-pkg/ Accept={accept}")
            self.assertIn(self.wheel.filename, r.text)
            self.assertIn(f"/files/{self.wheel.sha256}/{self.wheel.filename}", r.text)
            self.assertIn(f"#sha256={self.wheel.sha256}", r.text)

    def test_project_json_with_pep691_accept(self) -> None:
        r = self.get("/simple/alpha-pkg/", {"Accept": JSON_V1})
        self.assert_project_json(r, "Accept: v1+json")
        entry = r.json()["files"][0]
        self.assertEqual(entry.get("hashes", {}).get("sha256"), self.wheel.sha256)
        self.assertEqual(entry.get("size"), self.wheel.size)
        self.assertIn("upload-time", entry)
        self.assert_time_near(entry["upload-time"], self.wheel.upload_time, 2, "upload-time")
        url = urllib.parse.urljoin(f"{self.airlock.url}/simple/alpha-pkg/", entry.get("url", ""))
        self.assertEqual(urllib.parse.urlsplit(url).path,
                         f"/files/{self.wheel.sha256}/{self.wheel.filename}")
        # And that URL serves the wheel.
        got = self.get(urllib.parse.urlsplit(url).path)
        self.assertEqual(got.status, 200, self.diag(repr(got)))
        self.assertEqual(hashlib.sha256(got.body).hexdigest(), self.wheel.sha256)

    def test_q_values_and_format_param(self) -> None:
        self.assert_project_json(self.get("/simple/alpha-pkg/", {"Accept": PIP_ACCEPT}),
                                 "pip's Accept")
        self.assert_html(self.get("/simple/alpha-pkg/",
                                  {"Accept": f"{JSON_V1};q=0.1, text/html"}),
                         "JSON q=0.1 vs html q=1")
        self.assert_project_json(
            self.get("/simple/alpha-pkg/?format=" + urllib.parse.quote(JSON_V1)), "?format=")

    def test_unacceptable_accept_is_406(self) -> None:
        r = self.get("/simple/alpha-pkg/", {"Accept": "application/xml"})
        self.assertEqual(r.status, 406, self.diag(repr(r)))

    def test_non_normalized_name_redirects(self) -> None:
        r = self.get("/simple/Alpha_Pkg/")
        self.assertIn(r.status, (301, 302, 307, 308), self.diag(repr(r)))
        location = r.headers.get("Location", "")
        target = urllib.parse.urljoin(f"{self.airlock.url}/simple/Alpha_Pkg/", location)
        self.assertEqual(target, f"{self.airlock.url}/simple/alpha-pkg/", f"Location {location!r}")

    def test_unknown_project_is_404(self) -> None:
        r = self.get("/simple/no-such-project/")
        self.assertEqual(r.status, 404, self.diag(repr(r)))

    def test_health(self) -> None:
        r = self.get("/-/health")
        self.assertEqual(r.status, 200, self.diag(repr(r)))


# ---- e. an upstream that only speaks PEP 503 HTML --------------------------------------

class HtmlUpstreamTest(AirlockTestCase):
    """PEP 503 HTML has no upload-time: age counts from when Airlock first saw the file,
    so everything is quarantined for the full window. The withheld count proves Airlock
    parsed the HTML page."""

    force_html_upstream = True

    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.wheel = fake.add_release("eta", "1.0", days_ago(OLD_DAYS))

    def test_html_upstream_without_upload_time_is_quarantined_from_first_sight(self) -> None:
        first_sight = dt.datetime.now(dt.timezone.utc)
        page = self.page_json("eta")
        self.assertEqual(page.get("files"), [], json.dumps(page, indent=1))
        meta = page.get("_airlock", {})
        self.assertEqual(meta.get("withheld"), 1, self.diag(json.dumps(page, indent=1)))
        self.assertIsInstance(meta.get("next_available"), str, json.dumps(page, indent=1))
        self.assert_time_near(meta["next_available"], first_sight + QUARANTINE, 120,
                              "next_available vs first sight + 7d")
        r = self.get_file(self.wheel)
        self.assertEqual(r.status, 403, self.diag(repr(r)))
        self.assertIn("quarantined", r.text.lower())


TEST_CLASSES = [InstallFromCacheTest, QuarantineTest, CorruptUpstreamTest, NegotiationTest,
                HtmlUpstreamTest]


# ---- runner ----------------------------------------------------------------------------

def run_main(test_classes: list[type], description: str) -> int:
    """The runner shared by the e2e suites: parses --airlock/-k/-v/--keep, runs
    `test_classes` in order, prints `N passed, N failed` last; non-zero on any failure."""
    global AIRLOCK_BIN, KEEP_TEMP
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--airlock", required=True, help="path to the airlock binary")
    ap.add_argument("-k", action="append", default=[], metavar="PATTERN",
                    help="only run tests whose name contains PATTERN (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temp dirs")
    args = ap.parse_args()
    AIRLOCK_BIN = os.path.abspath(args.airlock)
    KEEP_TEMP = args.keep

    loader = unittest.TestLoader()
    if args.k:
        loader.testNamePatterns = [f"*{p}*" for p in args.k]
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(cls) for cls in test_classes)
    started = time.monotonic()
    result = unittest.TextTestRunner(verbosity=2 if args.verbose else 1,
                                     stream=sys.stdout).run(suite)

    def is_test(t) -> bool:
        return isinstance(t, unittest.TestCase)

    failed_tests = {id(t) for t, _ in result.failures + result.errors if is_test(t)}
    class_level = sum(1 for t, _ in result.failures + result.errors if not is_test(t))
    skipped = len(result.skipped)
    failed = len(failed_tests) + class_level + len(result.unexpectedSuccesses)
    passed = result.testsRun - len(failed_tests) - skipped - len(result.unexpectedSuccesses)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(f"(e2e took {time.monotonic() - started:.1f}s)")
    print(line, flush=True)
    return 1 if failed or result.testsRun == 0 else 0


def main() -> int:
    return run_main(TEST_CLASSES, "Airlock end-to-end tests with the real pip.")


if __name__ == "__main__":
    sys.exit(main())
