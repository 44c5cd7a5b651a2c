#!/usr/bin/env python3
"""End to end: pip through a snapshot, `airlock verify` on the same running server.

    python3 tests/e2e/snapshot_e2e.py --airlock build/airlock [-k PATTERN] [-v] [--keep]

Built on pip_e2e.py and review_e2e.py (the server, tokens, the CLI, venvs). `airlock keys
init` runs before `airlock serve`; every action goes through the CLI against the running
server. Only 127.0.0.1 is ever contacted.

  SnapshotPipTest
    1 `airlock snapshot create ci --prefetch`, then `airlock approve` of a new release: pip
      through /snapshots/ci/simple/ still installs the old release while /simple/ gives the
      new one (the dependency comes from the snapshot too); `airlock verify --root
      <pinned 1.root.json> --server <Airlock> ci --files` passes on that server.
    2 Airlock restarted with a longer quarantine (60d) than the frozen files' age: the live
      index withholds them, the snapshot still installs with pip and still verifies.
      A block then withholds a frozen file from the snapshot too: pip through it fails for
      that release, and `airlock verify` still passes (the block re-signed the metadata).

The last line printed is `N passed, N failed`; the exit status is non-zero on any failure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pip_e2e  # noqa: E402
from fake_pypi import FakePyPI, days_ago, hours_ago  # noqa: E402
from pip_e2e import OLD_DAYS  # noqa: E402
from review_e2e import CLI_TIMEOUT, ReviewTestCase  # noqa: E402


class SnapshotPipTest(ReviewTestCase):
    token_specs = {"rita": "reader", "bob": "reviewer", "ops": "admin"}
    quarantine = "7d"

    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.g10 = fake.add_release("gamma", "1.0", days_ago(OLD_DAYS + 5), requires=["delta"])
        cls.g11 = fake.add_release("gamma", "1.1", days_ago(OLD_DAYS), requires=["delta"])
        cls.g20 = fake.add_release("gamma", "2.0", hours_ago(1), requires=["delta"])
        cls.d10 = fake.add_release("delta", "1.0", days_ago(OLD_DAYS))

    @classmethod
    def config_text(cls) -> str:
        return super().config_text().replace('quarantine = "7d"', f'quarantine = "{cls.quarantine}"')

    @classmethod
    def before_start(cls, config: Path) -> None:
        cmd = [pip_e2e.AIRLOCK_BIN, "keys", "init", "--config", str(config)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                           env=cls.cli_env(), cwd=cls.tmp, start_new_session=True)
        if r.returncode != 0:
            raise AssertionError(f"`{' '.join(cmd)}` exited {r.returncode}: {r.stderr.strip()}")
        cls.pinned_root = cls.tmp / "pinned-1.root.json"
        shutil.copyfile(cls.tmp / "data" / "tuf" / "metadata" / "1.root.json", cls.pinned_root)

    def snapshot_index(self, name: str) -> str:
        return f"{self.airlock.url}/snapshots/{name}/simple/"

    def verify(self, name: str) -> str:
        """`airlock verify --root <pinned> --server <Airlock> NAME --files` must pass."""
        cmd = [pip_e2e.AIRLOCK_BIN, "verify", "--root", str(self.pinned_root), "--server",
               self.airlock.url, name, "--files"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=CLI_TIMEOUT,
                           env=self.cli_env(), cwd=self.tmp, start_new_session=True)
        self.assertEqual(r.returncode, 0, self.diag(
            f"`{' '.join(cmd)}` exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"))
        self.assertEqual(r.stderr, "")
        return r.stdout

    def install(self, venv_name: str, requirement: str, index_url: str) -> str:
        venv = self.make_venv(venv_name)
        self.assert_pip_ok(self.pip_install(venv, requirement, index_url=index_url))
        return self.installed_version(venv, "gamma")

    def test_1_snapshot_keeps_the_old_release_for_pip(self) -> None:
        for project in ("gamma", "delta"):
            self.page_json(project)   # Airlock snapshots the projects it knows
        created = self.cli_json("snapshot", "create", "ci", "--prefetch", token=self.tokens["ops"])
        self.assertEqual((created.get("files"), created.get("prefetched")), (3, 3), created)
        doc = self.cli_json("approve", "gamma", "2.0", "--reason", "reviewed", token=self.tokens["bob"])
        self.assertEqual(doc.get("after"), "approved", doc)

        self.assertEqual(self.install("live", "gamma", self.airlock.index_url), "2.0",
                         "the live index should give the release approved after the snapshot")
        venv = self.make_venv("frozen")
        self.assert_pip_ok(self.pip_install(venv, "gamma", index_url=self.snapshot_index("ci")))
        self.assertEqual(self.installed_version(venv, "gamma"), "1.1",
                         "the snapshot should still give the release it froze")
        r = self.pip_install(venv, "gamma==2.0", index_url=self.snapshot_index("ci"))
        self.assert_pip_no_match(r)

        out = self.verify("ci")
        self.assertIn("verified snapshot ci: 6 pages, 3 files", out)
        self.assertNotIn(self.g20.filename, out, "the snapshot's files only, not the live ones")

    def test_2_only_security_withholds_frozen_files(self) -> None:
        # A longer window than the frozen files' age, configured after the snapshot.
        self.assertEqual(self.airlock.stop(), 0, self.airlock.tail())
        type(self).quarantine = "60d"
        self.airlock.config.write_text(self.config_text())
        type(self).airlock = pip_e2e.AirlockServer(pip_e2e.AIRLOCK_BIN, self.airlock.config, self.tmp)
        self.airlock.start()
        self.assertEqual(self.served_filenames("gamma"), [self.g20.filename],
                         "40 days old is quarantined live under a 60-day window (2.0 was approved)")
        self.assertEqual(self.served_filenames("delta"), [])
        self.assertEqual(self.install("frozen-longer-window", "gamma", self.snapshot_index("ci")), "1.1",
                         "the snapshot should still install what it froze")
        self.verify("ci")

        # Security still reaches the snapshot: a block withholds the frozen release.
        self.cli_json("block", "gamma", "1.1", "--reason", "compromised", token=self.tokens["bob"])
        self.assertEqual(self.install("frozen-blocked", "gamma", self.snapshot_index("ci")), "1.0",
                         "with 1.1 blocked, the snapshot should resolve to 1.0")
        r = self.get(f"/files/{self.g11.sha256}/{self.g11.filename}")
        self.assertEqual(r.status, 403, r)
        out = self.verify("ci")
        self.assertIn("2 files", out)
        entries = self.audit("gamma")
        self.assertIn("snapshot-withhold", [e.get("action") for e in entries], json.dumps(entries, indent=1))


TEST_CLASSES = [SnapshotPipTest]

if __name__ == "__main__":
    sys.exit(pip_e2e.run_main(TEST_CLASSES, "pip through a snapshot, and airlock verify, against a "
                                            "running Airlock."))
