#!/usr/bin/env python3
"""End to end: an OSV record dropped in the feed directory blocks files pip already got.

    python3 tests/e2e/advisories_e2e.py --airlock build/airlock [-k PATTERN] [-v] [--keep]

Built on pip_e2e.py, review_e2e.py and snapshot_e2e.py (the server, tokens, the CLI, venvs,
`airlock keys init`). The record is the real MAL-2026-2144 (litellm 1.82.7 and 1.82.8), read
from <repo>/../shared/fixtures/osv/malicious/ and copied into a temp feed directory at test
time; a missing fixture fails the test. Only 127.0.0.1 is ever contacted.

  AdvisoryFeedTest ([advisories] path = <temp dir>, refresh = "1s", max_new_blocks = 1)
    1 pip gets litellm 1.82.7 and 1.82.8 (approved by age, cached), `snapshot create before`,
      a reviewer approves 1.82.8; then the record and a malformed file land in the feed dir.
      Within seconds: both /files/ URLs answer 403 naming the advisory, the live page (HTML
      and JSON) and the snapshot's page drop them, the TUF timestamp and snapshot are
      re-signed (`airlock verify` still passes), the audit log has advisory-block by
      advisory:MAL-2026-2144 for each, `status`, `advisories list` and `show` say so, and
      /-/metrics counts 1 record, 2 blocked files and the skipped malformed file.
    2 pip install litellm in a fresh venv gets 1.82.6; litellm==1.82.7 fails.
    3 A reviewer's `unblock litellm 1.82.7 --file <wheel>` serves that file again; 1.82.8
      stays blocked.
    4 The record rewritten with "withdrawn": 1.82.8 is served again, audited as
      advisory-unblock.
    5 The kill-switch guard: an imported record naming two projects is held (not applied,
      files still served, `advisories list` shows it held) until `advisories import
      --accept-large`.

The last line printed is `N passed, N failed`; the exit status is non-zero on any failure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pip_e2e  # noqa: E402
from fake_pypi import FakeFile, FakePyPI, days_ago  # noqa: E402
from pip_e2e import JSON_V1, OLD_DAYS  # noqa: E402
from review_e2e import CLI_TIMEOUT, ReviewTestCase  # noqa: E402

FIXTURE = (Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "osv" / "malicious"
           / "MAL-2026-2144.json")
MAL = "MAL-2026-2144"
MADE_UP = "MAL-9999-0001"   # generated below, never a real record
WAIT = 15.0                 # seconds for a feed change to take effect (refresh = 1s)


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atomically(path: Path, text: str) -> None:
    """The feed reads *.json: a half-written record must never be seen under that name."""
    temp = path.with_suffix(".tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == name:
            return float(parts[1])
    raise AssertionError(f"/-/metrics has no {name}:\n{text}")


class AdvisoryFeedTest(ReviewTestCase):
    token_specs = {"rita": "reader", "bob": "reviewer", "ops": "admin"}

    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.l6 = fake.add_release("litellm", "1.82.6", days_ago(OLD_DAYS + 2))
        cls.l7 = fake.add_release("litellm", "1.82.7", days_ago(OLD_DAYS + 1))
        cls.l8 = fake.add_release("litellm", "1.82.8", days_ago(OLD_DAYS))
        # For the guard: two more projects, one release each.
        cls.omicron = fake.add_release("omicron", "1.0", days_ago(OLD_DAYS))
        cls.sigma = fake.add_release("sigma", "1.0", days_ago(OLD_DAYS))

    @classmethod
    def config_text(cls) -> str:
        q = json.dumps
        return super().config_text() + (
            "\n[advisories]\n"
            f"path = {q(str(cls.tmp / 'feed'))}\n"
            f"refresh = {q('1s')}\n"
            "max_new_blocks = 1\n")

    @classmethod
    def before_start(cls, config: Path) -> None:
        if not FIXTURE.is_file():
            raise AssertionError(f"the OSV fixture is missing: {FIXTURE} (see "
                                 f"{FIXTURE.parent.parent / 'README.md'})")
        (cls.tmp / "feed").mkdir()
        cmd = [pip_e2e.AIRLOCK_BIN, "keys", "init", "--config", str(config)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                           env=cls.cli_env(), cwd=cls.tmp, start_new_session=True)
        if r.returncode != 0:
            raise AssertionError(f"`{' '.join(cmd)}` exited {r.returncode}: {r.stderr.strip()}")
        cls.pinned_root = cls.tmp / "pinned-1.root.json"
        shutil.copyfile(cls.tmp / "data" / "tuf" / "metadata" / "1.root.json", cls.pinned_root)

    # ---- helpers -----------------------------------------------------------------------

    @property
    def feed(self) -> Path:
        return self.tmp / "feed"

    def eventually(self, what: str, check: Callable[[], object]) -> None:
        """Polls `check` (assertions inside) until it passes, at most WAIT seconds."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                check()
                return
            except AssertionError as e:
                if time.monotonic() > deadline:
                    self.fail(self.diag(f"not within {WAIT:.0f}s: {what}: {e}"))
            time.sleep(0.2)

    def file_url_status(self, f: FakeFile) -> tuple[int, str]:
        r = self.get(f"/files/{f.sha256}/{f.filename}")
        return r.status, r.text

    def html_page(self, path: str) -> str:
        r = self.get(path)
        self.assertEqual(r.status, 200, self.diag(f"GET {path}: {r!r}"))
        return r.text

    def json_page(self, path: str) -> list[str]:
        r = self.get(path, {"Accept": JSON_V1})
        self.assertEqual(r.status, 200, self.diag(f"GET {path} (JSON): {r!r}"))
        return sorted(x.get("filename") for x in r.json().get("files", []))

    def metrics(self) -> str:
        r = self.get("/-/metrics")
        self.assertEqual(r.status, 200, repr(r))
        return r.text

    def tuf_versions(self) -> tuple[int, int]:
        """(timestamp version, the snapshot version it names), from /tuf/metadata/."""
        r = self.get("/tuf/metadata/timestamp.json")
        self.assertEqual(r.status, 200, repr(r))
        signed = r.json()["signed"]
        return signed["version"], signed["meta"]["snapshot.json"]["version"]

    def cli_verify(self, name: str) -> str:
        """`airlock verify --root <pinned> --server <Airlock> NAME --files` must pass."""
        cmd = [pip_e2e.AIRLOCK_BIN, "verify", "--root", str(self.pinned_root), "--server",
               self.airlock.url, name, "--files"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                           env=self.cli_env(), cwd=self.tmp, start_new_session=True)
        self.assertEqual(r.returncode, 0, self.diag(
            f"`{' '.join(cmd)}` exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"))
        return r.stdout

    def advisory_entries(self, action: str, advisory: str = MAL) -> dict[str, dict]:
        """The audit entries of `action` by advisory:<id> for litellm, by filename."""
        return {e.get("filename"): e for e in self.audit("litellm")
                if e.get("action") == action and e.get("actor") == f"advisory:{advisory}"}

    def assert_blocked_by(self, f: FakeFile, advisory: str) -> None:
        status, body = self.file_url_status(f)
        self.assertEqual(status, 403, f"{f.filename}: {body[:300]}")
        self.assertIn(f"advisory {advisory}", body, f.filename)

    # ---- 1. the record lands -----------------------------------------------------------

    def test_1_a_malicious_record_blocks_cached_approved_files(self) -> None:
        l6, l7, l8 = self.l6, self.l7, self.l8
        venv = self.make_venv("before")
        for version in ("1.82.7", "1.82.8"):
            self.assert_pip_ok(self.pip_install(venv, f"litellm=={version}"))
            self.assertEqual(self.installed_version(venv, "litellm"), version)
        for f in (l7, l8):
            self.assert_blob_cached(f)
        self.assertEqual(self.served_filenames("litellm"), sorted(f.filename for f in (l6, l7, l8)))
        created = self.cli_json("snapshot", "create", "before", token=self.tokens["ops"])
        self.assertEqual(created.get("files"), 3, created)
        doc = self.cli_json("approve", "litellm", "1.82.8", "--reason", "pinned by the ML team",
                            token=self.tokens["bob"])
        self.assertEqual(doc.get("after"), "approved", doc)
        self.assertEqual(self.json_page("/snapshots/before/simple/litellm/"),
                         sorted(f.filename for f in (l6, l7, l8)))
        tuf_before = self.tuf_versions()

        # A malformed record first: it must not keep the real one out.
        write_atomically(self.feed / "broken.json", '{"id": "MAL-0000-broken", "modified": ')
        shutil.copyfile(FIXTURE, self.feed / FIXTURE.name)

        self.eventually("both files answer 403 naming the advisory", lambda: [
            self.assert_blocked_by(f, MAL) for f in (l7, l8)])
        status, body = self.file_url_status(l8)
        self.assertTrue(body.startswith(f"advisory {MAL}: "), body[:200])
        self.assertEqual(self.file_url_status(l6)[0], 200)
        gone = sorted(f.filename for f in (l7, l8))
        self.assertEqual(self.json_page("/simple/litellm/"), [l6.filename])
        html = self.html_page("/simple/litellm/")
        self.assertIn(l6.filename, html)
        for name in gone:
            self.assertNotIn(name, html, "the live HTML page still lists a blocked file")
        self.assertEqual(self.json_page("/snapshots/before/simple/litellm/"), [l6.filename],
                         "a malicious record withholds frozen files from the snapshot")
        html = self.html_page("/snapshots/before/simple/litellm/")
        self.assertIn(l6.filename, html)
        for name in gone:
            self.assertNotIn(name, html, "the snapshot's HTML page still lists a blocked file")

        def resigned() -> None:
            now = self.tuf_versions()
            self.assertGreater(now[0], tuf_before[0], f"timestamp version {now} vs {tuf_before}")
            self.assertGreater(now[1], tuf_before[1], f"snapshot version {now} vs {tuf_before}")
        self.eventually("the TUF metadata is re-signed", resigned)
        out = self.cli_verify("before")
        self.assertIn("1 files", out, "the signed snapshot should hold 1.82.6 alone")

        blocks = self.advisory_entries("advisory-block")
        self.assertEqual(sorted(blocks), gone, json.dumps(self.audit("litellm"), indent=1))
        for e in blocks.values():
            self.assertEqual((e.get("before"), e.get("after")), ("approved", "blocked"), e)
            self.assertIn("malicious", str(e.get("reason")), e)

        status = {x["filename"]: x for x in self.status("litellm")["files"]}
        for f in (l7, l8):
            x = status[f.filename]
            self.assertEqual(x.get("state"), "blocked", x)
            self.assertTrue(str(x.get("reason")).startswith(f"advisory {MAL}: "), x)
            ids = [(a.get("id"), a.get("malicious")) for a in x.get("advisories", [])]
            self.assertEqual(ids, [(MAL, True)], json.dumps(x, indent=1))
        self.assertIsNotNone(status[l8.filename].get("covered_by"),
                             "the approval of 1.82.8 still stands, overridden by the advisory")
        self.assertEqual(status[l6.filename].get("advisories"), [], status[l6.filename])

        listed = self.cli_json("advisories", "list", token=self.reader_token)
        self.assertEqual((listed.get("records"), listed.get("blocked_files")), (1, 2), listed)
        self.assertGreaterEqual(listed.get("skipped", 0), 1, listed)
        self.assertTrue(any("broken.json" in p for p in listed.get("problems", [])), listed)
        self.assertEqual([a.get("id") for a in listed.get("advisories", [])], [MAL], listed)
        entry = listed["advisories"][0]
        self.assertEqual(entry.get("held"), False, entry)
        self.assertEqual(sorted(b.get("filename") for b in entry.get("blocked_files", [])), gone, entry)
        shown = self.cli_json("advisories", "show", MAL, token=self.reader_token)
        self.assertEqual((shown.get("id"), shown.get("malicious")), (MAL, True), shown)
        self.assertEqual(sorted(b.get("filename") for b in shown.get("blocked_files", [])), gone, shown)

        text = self.metrics()
        self.assertEqual(metric(text, "airlock_advisories_records"), 1)
        self.assertEqual(metric(text, "airlock_advisories_blocked_files"), 2)
        self.assertGreaterEqual(metric(text, "airlock_advisories_skipped"), 1)

    # ---- 2. pip resolves around it -----------------------------------------------------

    def test_2_pip_resolves_to_the_release_before(self) -> None:
        venv = self.make_venv("after")
        self.assert_pip_ok(self.pip_install(venv, "litellm"))
        self.assertEqual(self.installed_version(venv, "litellm"), "1.82.6")
        self.assert_pip_no_match(self.pip_install(venv, "litellm==1.82.7"))
        self.assertEqual(self.installed_version(venv, "litellm"), "1.82.6")

    # ---- 3. a reviewer sets the advisory aside for one file ----------------------------

    def test_3_a_reviewer_unblocks_one_file(self) -> None:
        doc = self.cli_json("unblock", "litellm", "1.82.7", "--file", self.l7.filename, "--reason",
                            "rebuilt from the audited tag", token=self.tokens["bob"])
        self.assertEqual((doc.get("before"), doc.get("after")), ("blocked", "approved"), doc)
        self.assertEqual(self.file_url_status(self.l7)[0], 200)
        self.assert_blocked_by(self.l8, MAL)
        self.assertEqual(self.served_filenames("litellm"), [self.l6.filename, self.l7.filename])
        self.assertEqual(self.json_page("/snapshots/before/simple/litellm/"),
                         [self.l6.filename, self.l7.filename],
                         "the unblock reaches the snapshot too")
        shown = self.cli_json("advisories", "show", MAL, token=self.reader_token)
        self.assertEqual([b.get("filename") for b in shown.get("blocked_files", [])],
                         [self.l8.filename], shown)
        self.assertEqual(metric(self.metrics(), "airlock_advisories_blocked_files"), 1)

    # ---- 4. the record is withdrawn ----------------------------------------------------

    def test_4_withdrawal_lifts_the_block(self) -> None:
        record = json.loads(FIXTURE.read_text(encoding="utf-8"))
        now = dt.datetime.now(dt.timezone.utc)
        record["withdrawn"] = rfc3339(now)
        record["modified"] = rfc3339(now)
        write_atomically(self.feed / FIXTURE.name, json.dumps(record, indent=2) + "\n")

        self.eventually("1.82.8 is served again", lambda: self.assertEqual(
            self.file_url_status(self.l8)[0], 200))
        lifts = self.advisory_entries("advisory-unblock")
        self.assertIn(self.l8.filename, lifts, json.dumps(self.audit("litellm"), indent=1))
        e = lifts[self.l8.filename]
        self.assertEqual((e.get("before"), e.get("after")), ("blocked", "approved"), e)
        self.assertIn("withdrawn", str(e.get("reason")), e)
        self.assertEqual(self.served_filenames("litellm"),
                         sorted(f.filename for f in (self.l6, self.l7, self.l8)))
        self.assertEqual(metric(self.metrics(), "airlock_advisories_blocked_files"), 0)

    # ---- 5. the kill-switch guard ------------------------------------------------------

    def test_5_the_guard_holds_a_mass_block_until_accepted(self) -> None:
        venv = self.make_venv("guard")
        self.assert_pip_ok(self.pip_install(venv, "omicron", "sigma"))
        pair = (self.omicron, self.sigma)
        for f in pair:
            self.assert_blob_cached(f)
        now = rfc3339(dt.datetime.now(dt.timezone.utc))
        record = {
            "schema_version": "1.7.4", "id": MADE_UP, "modified": now, "published": now,
            "summary": "made up by Airlock's e2e test: names two projects",
            "affected": [{"package": {"ecosystem": "PyPI", "name": f.project},
                          "versions": [f.version]} for f in pair],
        }
        path = self.tmp / f"{MADE_UP}.json"
        path.write_text(json.dumps(record), encoding="utf-8")

        answers = self.cli_json("advisories", "import", str(path), token=self.tokens["ops"])
        self.assertEqual(len(answers), 1, answers)
        held = answers[0]
        self.assertIs(held.get("applied"), False, held)
        self.assertEqual(held.get("held_projects"), ["omicron", "sigma"], held)
        self.assertIn("not applied", held.get("message", ""), held)
        for f in pair:
            self.assertEqual(self.get_file(f).status, 200, f"{f.filename} while the record is held")
        listed = self.cli_json("advisories", "list", token=self.reader_token)
        self.assertEqual(listed.get("held", {}).get("ids"), [MADE_UP], listed)
        entry = [a for a in listed.get("advisories", []) if a.get("id") == MADE_UP]
        self.assertEqual(len(entry), 1, listed)
        self.assertEqual((entry[0].get("held"), entry[0].get("blocked_files")), (True, []), entry)
        self.assertTrue(any("held" in w for w in listed.get("warnings", [])), listed)
        text = self.metrics()
        self.assertEqual(metric(text, "airlock_advisories_held"), 1)
        self.assertEqual(metric(text, "airlock_advisories_guard_trips_total"), 1)

        answers = self.cli_json("advisories", "import", "--accept-large", token=self.tokens["ops"])
        self.assertEqual(len(answers), 1, answers)
        self.assertEqual((answers[0].get("applied"), answers[0].get("blocked")), (True, 2), answers)
        for f in pair:
            self.assert_blocked_by(f, MADE_UP)
        listed = self.cli_json("advisories", "list", token=self.reader_token)
        self.assertEqual(listed.get("held", {}).get("ids"), [], listed)
        self.assertEqual(metric(self.metrics(), "airlock_advisories_held"), 0)
        actions = [(e.get("action"), e.get("after")) for e in self.audit()
                   if e.get("action") == "advisories-import"]
        self.assertEqual(actions, [("advisories-import", "held"), ("advisories-import", "applied")])


TEST_CLASSES = [AdvisoryFeedTest]

if __name__ == "__main__":
    sys.exit(pip_e2e.run_main(TEST_CLASSES, "OSV advisories in force against a running Airlock, "
                                            "with pip and the airlock CLI."))
