#!/usr/bin/env python3
"""End-to-end tests of the review workflow: the real pip and the real `airlock` CLI against
`airlock serve` and a fake PyPI.

    python3 tests/e2e/review_e2e.py --airlock build/airlock [-k PATTERN] [-v] [--keep]

Built on pip_e2e.py (AirlockServer, AirlockTestCase, the runner) and fake_pypi.py. Tokens are
made with `airlock token create --config <the test's airlock.toml>` beside the running
server; every review action goes through the CLI (`approve`, `block`, `unblock`, `status`,
`queue`, `audit`, all with --json, --server http://127.0.0.1:PORT and --token). Only
127.0.0.1 is ever contacted.

  ReviewStoryTest      an old release and one uploaded an hour ago: pip gets the old one, the
                       pinned and the direct-URL install of the new one fail with the reason,
                       approve lets pip install it, a block of a cached release makes pip
                       resolve to the previous one (and its URL answer 403 naming who and why),
                       unblock restores it, and the audit log shows all of it in order.
                       Also: the --json shapes of status and queue, and role checks (a reader
                       cannot decide, no token gets 401, and refusals change nothing).
  UpstreamChangeTest   a release that appears upstream while Airlock runs is quarantined after
                       the next refresh; a cached file removed upstream stops being served.
  TokenIndexTest       [auth] index_requires_token: pip needs the token as the password.

The last line printed is `N passed, N failed` (plus `, N skipped`); the exit status is
non-zero when anything failed.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Optional

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pip_e2e  # noqa: E402
from fake_pypi import FakeFile, FakePyPI, days_ago, hours_ago  # noqa: E402
from pip_e2e import (OLD_DAYS, QUARANTINE, RFC3339, AirlockTestCase, Response,  # noqa: E402
                     clean_env, parse_time)

CLI_TIMEOUT = 60.0   # seconds per `airlock` CLI command
_TEMPLATE_VENV: Optional[Path] = None   # made once per run, see ReviewTestCase.make_venv
STATES = {"approved", "quarantined", "held", "blocked"}
PROVENANCE_STATUSES = {"verified", "absent", "invalid", "pending"}
# The keys DESIGN.md promises in every file object of `status --json` (and `queue --json`).
FILE_KEYS = ("filename", "version", "sha256", "upload_time", "state", "reason", "until",
             "yanked", "provenance")
AUDIT_KEYS = ("time", "actor", "action", "project", "version", "filename", "reason", "before",
              "after")


def release(version: Optional[str]) -> Optional[str]:
    """PEP 440 release equality for plain versions: 2.0 == 2 (Airlock may record either)."""
    if version is None:
        return None
    return re.sub(r"(\.0)+$", "", version)


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # 127.0.0.1 only


def http_request(url: str, method: str = "GET", body: Optional[bytes] = None,
                 headers: Optional[dict[str, str]] = None, timeout: float = 30) -> Response:
    """Any method, no redirects; HTTP errors are responses, not exceptions."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return Response(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as e:
        try:
            data = e.read()
        except Exception:
            data = b""
        return Response(e.code, e.headers, data)


# ---- the base class --------------------------------------------------------------------

class ReviewTestCase(AirlockTestCase):
    """AirlockTestCase plus API tokens made with `airlock token create` once the server runs,
    and helpers that run the `airlock` CLI against it."""

    # name -> role; the names are the audit actors.
    token_specs: dict[str, str] = {}
    tokens: dict[str, str]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.tokens = {}
        if cls.setup_error:
            return
        try:
            for name, role in cls.token_specs.items():
                cls.tokens[name] = cls.create_token(name, role)
        except Exception as e:
            cls.setup_error = f"{type(e).__name__}: {e}"

    @classmethod
    def cli_env(cls) -> dict[str, str]:
        """clean_env() without AIRLOCK_* variables, so only what a test passes counts."""
        return {k: v for k, v in clean_env().items() if not k.startswith("AIRLOCK_")}

    @classmethod
    def create_token(cls, name: str, role: str) -> str:
        """`airlock token create --role R --name N --config F`; alternates between the plain
        form (the token alone on stdout) and --json ({"name", "role", "token"})."""
        as_json = len(cls.tokens) % 2 == 1
        cmd = [pip_e2e.AIRLOCK_BIN, "token", "create", "--role", role, "--name", name,
               "--config", str(cls.airlock.config)] + (["--json"] if as_json else [])
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                           env=cls.cli_env(), cwd=cls.tmp)
        if r.returncode != 0 or r.stderr:
            raise AssertionError(f"{cmd} exited {r.returncode}, stderr {r.stderr!r}")
        if as_json:
            doc = json.loads(r.stdout)
            if doc.get("name") != name or doc.get("role") != role:
                raise AssertionError(f"{cmd} printed {r.stdout!r}")
            token = doc.get("token")
        else:
            lines = r.stdout.splitlines()
            if len(lines) != 1:
                raise AssertionError(f"{cmd}: want the token alone on stdout, got {r.stdout!r}")
            token = lines[0]
        if not isinstance(token, str) or not re.fullmatch(r"\S{20,}", token):
            raise AssertionError(f"{cmd}: no plausible token in {r.stdout!r}")
        return token

    def make_venv(self, name: str) -> Path:
        """A fresh venv: a copy of one made with `python3 -m venv` once per run (creating each
        from scratch takes 5-20 s; a copy is as fresh and takes a fraction of that)."""
        global _TEMPLATE_VENV
        if _TEMPLATE_VENV is None:
            root = Path(tempfile.mkdtemp(prefix="airlock-e2e-venv-"))
            atexit.register(shutil.rmtree, root, True)
            made = AirlockTestCase.make_venv(self, "template-venv")
            _TEMPLATE_VENV = root / "template"
            shutil.move(str(made), _TEMPLATE_VENV)
        path = self.tmp / "venvs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(_TEMPLATE_VENV, path, symlinks=True)
        r = subprocess.run([str(path / "bin" / "python"), "-c", "import sys; print(sys.prefix)"],
                           capture_output=True, text=True, timeout=60, env=clean_env())
        self.assertEqual(Path(r.stdout.strip()), path, f"the venv copy is not its own: {r}")
        return path

    # ---- the CLI -----------------------------------------------------------------------

    def cli(self, *args: str, token: Optional[str] = None) -> subprocess.CompletedProcess:
        """`airlock ARGS --server http://127.0.0.1:PORT [--token T]`; stdout, stderr apart."""
        cmd = [pip_e2e.AIRLOCK_BIN, *args, "--server", self.airlock.url]
        if token is not None:
            cmd += ["--token", token]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                                  env=self.cli_env(), cwd=self.tmp)
        except subprocess.TimeoutExpired:
            self.fail(self.diag(f"`{' '.join(self.shown(cmd))}` timed out"))

    def shown(self, cmd) -> list[str]:
        """The command with tokens masked, for messages."""
        secrets = set(self.tokens.values())
        return ["<token>" if a in secrets else a for a in cmd]

    def cli_json(self, *args: str, token: Optional[str]):
        """Runs `airlock ARGS --json`; it must succeed, print JSON and nothing on stderr."""
        r = self.cli(*args, "--json", token=token)
        what = " ".join(self.shown(r.args))
        self.assertEqual(r.returncode, 0, self.diag(
            f"`{what}` exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"))
        self.assertEqual(r.stderr, "", f"`{what}` succeeded but wrote to stderr: {r.stderr!r}")
        try:
            return json.loads(r.stdout)
        except ValueError:
            self.fail(f"`{what}` --json printed no JSON: {r.stdout!r}")

    def assert_refused(self, r: subprocess.CompletedProcess, *words: str,
                       any_of: tuple[str, ...] = ()) -> str:
        """A failed command: non-zero exit, nothing on stdout, exactly one line on stderr
        containing every one of `words` and one of `any_of` (case-insensitive)."""
        what = " ".join(self.shown(r.args))
        self.assertNotEqual(r.returncode, 0, f"`{what}` should have failed; stdout {r.stdout!r}")
        self.assertEqual(r.stdout, "", f"`{what}` failed but wrote to stdout: {r.stdout!r}")
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, f"`{what}`: want one line on stderr, got {r.stderr!r}")
        low = lines[0].lower()
        for w in words:
            self.assertIn(w.lower(), low, f"`{what}`: stderr {lines[0]!r} should mention {w!r}")
        if any_of:
            self.assertTrue(any(w.lower() in low for w in any_of),
                            f"`{what}`: stderr {lines[0]!r} should mention one of {any_of}")
        return lines[0]

    # ---- reading state -----------------------------------------------------------------

    def status(self, project: str, version: Optional[str] = None,
               token: Optional[str] = None) -> dict:
        args = ["status", project] + ([version] if version else [])
        doc = self.cli_json(*args, token=token or self.reader_token)
        self.assertIsInstance(doc, dict, doc)
        self.assertIsInstance(doc.get("files"), list, json.dumps(doc, indent=1))
        return doc

    def file_status(self, f: FakeFile, token: Optional[str] = None) -> dict:
        doc = self.status(f.project, token=token)
        found = [x for x in doc["files"] if x.get("filename") == f.filename]
        self.assertEqual(len(found), 1, self.diag(
            f"`airlock status {f.project}` should list {f.filename} once:\n"
            + json.dumps(doc, indent=1)))
        return found[0]

    def queue(self) -> list[dict]:
        doc = self.cli_json("queue", token=self.reader_token)
        self.assertIsInstance(doc.get("files"), list, json.dumps(doc, indent=1))
        return doc["files"]

    def audit(self, project: Optional[str] = None) -> list[dict]:
        args = ["audit"] + (["--project", project] if project else [])
        doc = self.cli_json(*args, token=self.reader_token)
        self.assertIsInstance(doc.get("entries"), list, json.dumps(doc, indent=1))
        return doc["entries"]

    @property
    def reader_token(self) -> str:
        for name, role in self.token_specs.items():
            if role == "reader":
                return self.tokens[name]
        raise AssertionError("the class has no reader token")

    def served_filenames(self, project: str) -> list[str]:
        """The filenames the index serves for `project` (PEP 691 JSON)."""
        return sorted(x.get("filename") for x in self.page_json(project).get("files", []))

    def assert_blob_cached(self, f: FakeFile) -> None:
        named = self.blobs_named(f.sha256)
        self.assertEqual(len(named), 1, self.diag(
            f"{f.filename} should be in the blob store (cached) by now: {named}"))

    def assert_pip_no_match(self, r: subprocess.CompletedProcess) -> None:
        self.assert_pip_failed(r)
        self.assertIn("no matching distribution", r.stdout.lower(), self.diag(r.stdout[-3000:]))


# ---- 1, 2, 4. the review story, the --json shapes, role checks --------------------------

class ReviewStoryTest(ReviewTestCase):
    token_specs = {"carol": "reader", "alice": "reviewer", "bob": "reviewer"}

    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        # The story: two old releases and one uploaded an hour ago.
        cls.k10 = fake.add_release("kappa", "1.0", days_ago(OLD_DAYS + 5))
        cls.k11 = fake.add_release("kappa", "1.1", days_ago(OLD_DAYS))
        cls.k20 = fake.add_release("kappa", "2.0", hours_ago(1))
        # For the shape and role checks: a yanked old release, an old one, two new ones.
        cls.l10 = fake.add_release("lambda", "1.0", days_ago(OLD_DAYS + 5), yanked="broken")
        cls.l11 = fake.add_release("lambda", "1.1", days_ago(OLD_DAYS))
        cls.l20 = fake.add_release("lambda", "2.0", hours_ago(3))
        cls.l21 = fake.add_release("lambda", "2.1", hours_ago(2))

    # -- 1. the story, step by step ------------------------------------------------------

    def test_review_story(self) -> None:
        alice, bob = self.tokens["alice"], self.tokens["bob"]
        k10, k11, k20 = self.k10, self.k11, self.k20
        until = k20.upload_time + QUARANTINE

        # pip gets the old release; the new one is quarantined.
        venv = self.make_venv("story-first")
        r = self.pip_install(venv, "kappa")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "kappa"), "1.1",
                         "pip should get the newest old release, not the hour-old 2.0")
        self.assert_blob_cached(k11)

        # A pinned install of the new one fails...
        r = self.pip_install(venv, "kappa==2.0")
        self.assert_pip_no_match(r)
        self.assertEqual(self.installed_version(venv, "kappa"), "1.1")
        # ...and `airlock status` says why and until when.
        entry = self.file_status(k20)
        self.assertEqual(entry.get("state"), "quarantined", json.dumps(entry, indent=1))
        self.assertIn("quarantined", str(entry.get("reason")).lower(), entry)
        self.assertIsInstance(entry.get("until"), str, entry)
        self.assert_time_near(entry["until"], until, 120, "status: until of kappa 2.0")
        only = self.status("kappa", "2.0")
        self.assertEqual([x.get("filename") for x in only["files"]], [k20.filename],
                         "`airlock status kappa 2.0` should list only 2.0's files")

        # The direct file URL: pip sees the 403 and the reason.
        r = self.pip_install(venv, self.files_url(k20))
        self.assert_pip_failed(r)
        self.assertIn("403", r.stdout, self.diag(r.stdout[-3000:]))
        self.assertIn("quarantined", r.stdout.lower(), self.diag(
            "pip's output should carry Airlock's reason:\n" + r.stdout[-3000:]))
        self.assertEqual(self.installed_version(venv, "kappa"), "1.1")

        # A reviewer approves it: pip installs it in a fresh venv.
        approve_reason = "diff reviewed: fixes CVE-2026-0001"
        # --expect: the approval binds to the bytes the reviewer saw, or fails (409).
        r = self.cli("approve", "kappa", "2.0", "--reason", approve_reason, "--expect", "00" * 32,
                     token=alice)
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("not the ones you reviewed", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, f"one line on stderr: {r.stderr!r}")
        doc = self.cli_json("approve", "kappa", "2.0", "--reason", approve_reason, "--expect", k20.sha256,
                            token=alice)
        self.assertEqual(doc.get("sha256"), [k20.sha256], doc)
        self.assertEqual((doc.get("before"), doc.get("after")), ("quarantined", "approved"), doc)
        self.assertEqual(self.file_status(k20).get("state"), "approved")
        venv = self.make_venv("story-approved")
        r = self.pip_install(venv, "kappa")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "kappa"), "2.0",
                         "after `airlock approve kappa 2.0`, pip should install 2.0")

        # A reviewer blocks the cached 1.1: pip resolves `kappa<2` to 1.0.
        block_reason = "maintainer account compromised"
        doc = self.cli_json("block", "kappa", "1.1", "--reason", block_reason, token=bob)
        self.assertEqual((doc.get("before"), doc.get("after")), ("approved", "blocked"), doc)
        venv = self.make_venv("story-blocked")
        r = self.pip_install(venv, "kappa<2")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "kappa"), "1.0",
                         "with 1.1 blocked, `pip install 'kappa<2'` should resolve to 1.0")
        r = self.pip_install(venv, "kappa==1.1")
        self.assert_pip_no_match(r)
        self.assert_blob_cached(k11)   # still cached, and yet:
        r = self.get_file(k11)
        self.assertEqual(r.status, 403, self.diag(f"blocked cached file: {r!r}"))
        self.assertIn("bob", r.text, f"the 403 should name the reviewer: {r.text!r}")
        self.assertIn(block_reason, r.text, f"the 403 should give the reason: {r.text!r}")
        entry = self.file_status(k11)
        self.assertEqual(entry.get("state"), "blocked", entry)
        self.assertIn(block_reason, str(entry.get("reason")), entry)
        self.assertIsNone(entry.get("until"), f"a block does not expire by itself: {entry}")

        # Unblock restores it.
        unblock_reason = "false alarm: the account was not compromised"
        doc = self.cli_json("unblock", "kappa", "1.1", "--reason", unblock_reason, token=alice)
        self.assertEqual((doc.get("before"), doc.get("after")), ("blocked", "approved"), doc)
        venv = self.make_venv("story-unblocked")
        r = self.pip_install(venv, "kappa<2")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "kappa"), "1.1",
                         "after `airlock unblock kappa 1.1`, `pip install 'kappa<2'` gets 1.1")
        r = self.get_file(k11)
        self.assertEqual(r.status, 200, self.diag(repr(r)))

        # The audit log shows all of it, in order, with actors, reasons and the change.
        entries = self.audit("kappa")
        got = [(e.get("action"), e.get("actor"), e.get("project"), release(e.get("version")),
                e.get("filename"), e.get("reason"), e.get("before"), e.get("after"))
               for e in entries]
        want = [("approve", "alice", "kappa", "2", None, approve_reason, "quarantined",
                 "approved"),
                ("block", "bob", "kappa", "1.1", None, block_reason, "approved", "blocked"),
                ("unblock", "alice", "kappa", "1.1", None, unblock_reason, "blocked",
                 "approved")]
        self.assertEqual(got, want, json.dumps(entries, indent=1))
        times = [parse_time(e["time"]) for e in entries]
        self.assertEqual(times, sorted(times), f"audit entries out of order: {times}")
        started = k20.upload_time   # an hour ago: well before any decision
        now = dt.datetime.now(dt.timezone.utc)
        for t in times:
            self.assertTrue(started < t <= now + dt.timedelta(seconds=5), f"audit time {t}")
        # The human-readable form shows the same.
        r = self.cli("audit", "--project", "kappa", token=self.reader_token)
        self.assertEqual(r.returncode, 0, r.stderr)
        for text in ("alice", "bob", approve_reason, block_reason, unblock_reason):
            self.assertIn(text, r.stdout, f"`airlock audit --project kappa`:\n{r.stdout}")

    # -- 2. the --json shapes ------------------------------------------------------------

    def assert_file_shape(self, x: dict, f: FakeFile) -> None:
        where = json.dumps(x, indent=1)
        for key in FILE_KEYS:
            self.assertIn(key, x, f"file object lacks {key!r}:\n{where}")
        self.assertEqual(x["version"], f.version, where)
        self.assertEqual(x["sha256"], f.sha256, where)
        self.assertIsInstance(x["upload_time"], str, where)
        self.assertRegex(x["upload_time"], RFC3339, where)
        self.assertTrue(x["upload_time"].endswith("Z") or x["upload_time"].endswith("+00:00"),
                        f"times are UTC: {x['upload_time']}")
        self.assert_time_near(x["upload_time"], f.upload_time, 1, "upload_time")
        self.assertIn(x["state"], STATES, where)
        self.assertIsInstance(x["reason"], str, where)
        self.assertTrue(x["reason"], f"empty reason:\n{where}")
        self.assertIs(x["yanked"], bool(f.yanked), where)
        if x["until"] is not None:
            self.assertRegex(x["until"], RFC3339, where)
        prov = x["provenance"]
        self.assertTrue(prov is None or isinstance(prov, dict), where)
        if isinstance(prov, dict):
            self.assertIn(prov.get("status"), PROVENANCE_STATUSES, where)

    def test_status_json_shape(self) -> None:
        doc = self.status("lambda")
        self.assertEqual(doc.get("project"), "lambda", json.dumps(doc, indent=1))
        by_name = {x.get("filename"): x for x in doc["files"]}
        fakes = (self.l10, self.l11, self.l20, self.l21)
        self.assertEqual(sorted(by_name), sorted(f.filename for f in fakes),
                         json.dumps(doc, indent=1))
        for f in fakes:
            self.assert_file_shape(by_name[f.filename], f)
        for f in (self.l10, self.l11):
            x = by_name[f.filename]
            self.assertEqual((x["state"], x["until"]), ("approved", None), x)
        for f in (self.l20, self.l21):
            x = by_name[f.filename]
            self.assertEqual(x["state"], "quarantined", x)
            self.assertIsNotNone(x["until"], x)
            self.assert_time_near(x["until"], f.upload_time + QUARANTINE, 120, "until")
            self.assertIn("quarantined", x["reason"].lower(), x)

    def test_status_provenance_is_an_object(self) -> None:
        """DESIGN.md: provenance {"status": verified|absent|invalid|pending, ...}. The fake
        upstream has no provenance for anything, so "absent" (or "pending") is expected."""
        x = self.file_status(self.l11)
        if x.get("provenance") is None:
            self.skipTest("status reports provenance: null (provenance is not verified yet)")
        self.assertIn(x["provenance"].get("status"), {"absent", "pending"}, x)

    def test_queue_json_shape_and_order(self) -> None:
        self.page_json("lambda")   # Airlock learns of a project when it is first asked for
        files = self.queue()
        for x in files:
            for key in FILE_KEYS + ("project",):
                self.assertIn(key, x, f"queue entry lacks {key!r}:\n{json.dumps(x, indent=1)}")
            self.assertIn(x["state"], {"quarantined", "held"}, x)
        lam = [(x["filename"]) for x in files if x.get("project") == "lambda"]
        self.assertEqual(lam, [self.l20.filename, self.l21.filename],
                         f"queue: lambda's new releases, soonest first:\n{json.dumps(files)}")
        for x in files:
            if x["project"] == "lambda":
                f = self.l20 if x["filename"] == self.l20.filename else self.l21
                self.assert_file_shape(x, f)
        untils = [parse_time(x["until"]) for x in files if x["until"] is not None]
        self.assertEqual(untils, sorted(untils), "queue: soonest `until` first")
        self.assertFalse(any(x["filename"] in (self.l10.filename, self.l11.filename)
                             for x in files), "approved files are not in the queue")

    # -- 4. role checks ------------------------------------------------------------------

    def snapshot(self) -> tuple:
        """What refusals must not change: the audit log, lambda's verdicts and decisions,
        and what the index serves."""
        doc = self.status("lambda")
        verdicts = sorted((x.get("filename"), x.get("state"), x.get("until"))
                          for x in doc["files"])
        return (self.audit(), verdicts, doc.get("decisions"),
                self.served_filenames("lambda"))

    def test_role_checks_refusals_change_nothing(self) -> None:
        carol, alice = self.tokens["carol"], self.tokens["alice"]
        before = self.snapshot()
        self.assertIn(self.l11.filename, before[3])
        self.assertNotIn(self.l21.filename, before[3])

        # A reader cannot decide.
        for args in (("approve", "lambda", "2.1", "--reason", "reader tries"),
                     ("block", "lambda", "1.1", "--reason", "reader tries"),
                     ("block", "lambda", "--reason", "reader tries"),
                     ("unblock", "lambda", "1.1", "--reason", "reader tries")):
            for json_flag in ((), ("--json",)):
                self.assert_refused(self.cli(*args, *json_flag, token=carol), "reader")
        # No token: 401, with a hint about the token.
        for args in (("approve", "lambda", "2.1", "--reason", "anonymous"),
                     ("status", "lambda"), ("queue",), ("audit",)):
            self.assert_refused(self.cli(*args, "--json"), any_of=("401", "token"))
        # A token Airlock never issued.
        forged = "alk_" + "0" * 16 + "_" + "A" * 43
        self.assert_refused(self.cli("approve", "lambda", "2.1", "--reason", "forged",
                                     token=forged), any_of=("401", "token"))
        # A reviewer's mistakes are refused too.
        self.assert_refused(self.cli("unblock", "lambda", "1.1", "--reason", "not blocked",
                                     token=alice), "not blocked")
        self.assert_refused(self.cli("approve", "lambda", "9.9", "--reason", "no such release",
                                     token=alice))
        self.assert_refused(self.cli("approve", "lambda", "2.1", token=alice), "reason")

        # The HTTP answers behind them.
        api = self.airlock.url + "/-/api/v1/approve"
        body = json.dumps({"project": "lambda", "version": "2.1", "reason": "raw"}).encode()
        ctype = {"Content-Type": "application/json"}
        r = http_request(api, "POST", body, ctype)
        self.assertEqual(r.status, 401, repr(r))
        self.assertIn("Bearer", r.headers.get("WWW-Authenticate", ""), repr(r))
        r = http_request(api, "POST", body, {**ctype, "Authorization": f"Bearer {carol}"})
        self.assertEqual(r.status, 403, repr(r))
        r = http_request(self.airlock.url + "/-/api/v1/whoami", "GET",
                         headers={"Authorization": f"Bearer {carol}"})
        self.assertEqual((r.status, r.json().get("name"), r.json().get("role")),
                         (200, "carol", "reader"), repr(r))

        after = self.snapshot()
        self.assertEqual(after[0], before[0], "refusals must not add audit entries:\n"
                         + json.dumps(after[0][len(before[0]):], indent=1))
        self.assertEqual(after[1:], before[1:], "refusals must not change any verdict")
        r = self.get_file(self.l21)
        self.assertEqual(r.status, 403, repr(r))


# ---- 3. upstream changes while Airlock runs --------------------------------------------

class UpstreamChangeTest(ReviewTestCase):
    refresh = "1s"
    token_specs = {"erin": "reader"}

    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.m10 = fake.add_release("mu", "1.0", days_ago(OLD_DAYS + 5))
        cls.m11 = fake.add_release("mu", "1.1", days_ago(OLD_DAYS))

    def wait_refresh(self, project: str) -> None:
        """Lets the cached listing get older than `refresh` (1s) on the real clock, then lets
        Airlock revalidate it: the first request after that answers from the stale listing at
        once and refreshes it in the background (stale-while-revalidate)."""
        time.sleep(2.0)
        before = self.fake.counts.get("page", project)
        self.get(f"/simple/{project}/")
        deadline = time.monotonic() + 10
        while self.fake.counts.get("page", project) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)   # the answer is stored and the page rendered again

    def test_new_release_and_removed_file(self) -> None:
        venv = self.make_venv("upstream-first")
        r = self.pip_install(venv, "mu")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "mu"), "1.1")
        self.assert_blob_cached(self.m11)
        self.assertEqual([x for x in self.queue() if x.get("project") == "mu"], [])

        # A release appears upstream while Airlock runs, uploaded now (one claiming an upload
        # before Airlock's last look would be aged from first sight: it is backdated).
        m12 = self.fake.add_release("mu", "1.2", hours_ago(0))
        self.wait_refresh("mu")
        r = self.pip_install(venv, "--upgrade", "mu")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "mu"), "1.1",
                         "a release that appeared upstream minutes ago must not be installed")
        self.assertGreaterEqual(self.fake.counts.get("page", "mu"), 2,
                                self.diag("Airlock did not refresh mu's listing"))
        queued = [x for x in self.queue() if x.get("project") == "mu"]
        self.assertEqual([(x.get("filename"), x.get("state")) for x in queued],
                         [(m12.filename, "quarantined")],
                         self.diag("`airlock queue` after the refresh:\n" + json.dumps(queued)))
        self.assert_time_near(queued[0]["until"], m12.upload_time + QUARANTINE, 120, "until")
        self.assertEqual(self.served_filenames("mu"), [self.m10.filename, self.m11.filename])
        self.assertEqual(self.get_file(m12).status, 403)

        # A cached file is removed upstream.
        self.fake.remove_file(self.m11.filename)
        self.wait_refresh("mu")
        venv = self.make_venv("upstream-removed")
        r = self.pip_install(venv, "mu")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "mu"), "1.0",
                         "pip should no longer get 1.1, which upstream removed")
        r = self.pip_install(venv, "mu==1.1")
        self.assert_pip_no_match(r)
        self.assert_blob_cached(self.m11)   # the bytes are still here, and yet:
        r = self.get_file(self.m11)
        self.assertEqual(r.status, 403, self.diag(f"file removed upstream: {r!r}"))
        self.assertIn("removed upstream", r.text.lower(), repr(r))
        entry = self.file_status(self.m11)
        self.assertEqual(entry.get("state"), "blocked", entry)
        self.assertIn("removed upstream", str(entry.get("reason")).lower(), entry)
        self.assertEqual(self.served_filenames("mu"), [self.m10.filename])


# ---- 5. the index requires a token -----------------------------------------------------

class TokenIndexTest(ReviewTestCase):
    token_specs = {"ci-reader": "reader"}

    @classmethod
    def config_text(cls) -> str:
        return super().config_text() + "\n[auth]\nindex_requires_token = true\n"

    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.nu = fake.add_release("nu", "1.0", days_ago(OLD_DAYS))

    def index_url_with(self, password: str) -> str:
        return (f"http://__token__:{urllib.parse.quote(password, safe='')}"
                f"@127.0.0.1:{self.airlock.port}/simple/")

    def test_index_requires_token(self) -> None:
        token = self.tokens["ci-reader"]
        for path in ("/simple/", "/simple/nu/", f"/files/{self.nu.sha256}/{self.nu.filename}"):
            r = self.get(path)
            self.assertEqual(r.status, 401, self.diag(f"GET {path} without a token: {r!r}"))
            self.assertIn("Basic", r.headers.get("WWW-Authenticate", ""), repr(r))
        self.assertEqual(self.get("/-/health").status, 200, "liveness needs no token")

        venv = self.make_venv("token-index")
        r = self.pip_install(venv, "nu")
        self.assert_pip_no_match(r)
        r = self.pip_install(venv, "nu", index_url=self.index_url_with("alk_wrong"))
        self.assert_pip_failed(r)
        self.assertEqual(self.fake.counts.get("page", "nu"), 0,
                         self.diag("without a valid token Airlock must not even go upstream"))
        r = self.pip_install(venv, "nu", index_url=self.index_url_with(token))
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "nu"), "1.0")


TEST_CLASSES = [ReviewStoryTest, UpstreamChangeTest, TokenIndexTest]


if __name__ == "__main__":
    sys.exit(pip_e2e.run_main(TEST_CLASSES, "Airlock end-to-end tests of the review workflow "
                                            "with the real pip and the airlock CLI."))
