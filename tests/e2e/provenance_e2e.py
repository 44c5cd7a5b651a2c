#!/usr/bin/env python3
"""End-to-end tests of Airlock's background checks: wheel contents (new executable .pth files,
read with HTTP Range requests) and PEP 740 provenance (fetched from the upstream Integrity API,
verified offline against `[provenance] trusted_root`). The real pip, the real `airlock` CLI.

    python3 tests/e2e/provenance_e2e.py --airlock build/airlock [-k PATTERN] [-v] [--keep]

Built on review_e2e.py (ReviewTestCase: tokens, the CLI, fresh venvs) and pip_e2e.py (the
server, the runner) with fake_pypi.py as upstream. The releases under test are 10 and 8 days
old: past the 7-day quarantine, newer than the 30-day "established history" horizon, so the
checks decide. A file whose checks have not finished is not approved yet, so every test first
waits (bounded polling of `airlock status --json`) until no file shows provenance "pending".

  ContentsTest     the real setuptools wheel bundled with ensurepip (it ships
                   distutils-precedence.pth with import lines, and is the only release) is
                   approved and installs with pip; status lists the .pth under
                   contents.executable_pth. `evil` 1.1 adds evil_init.pth (`import os`) over
                   1.0: held naming the file, pip gets 1.0, `airlock approve` lets pip get 1.1.
  ProvenanceTest   the real sdist pypi_attestations-0.0.19.tar.gz with its real provenance
                   (fixtures at <repo>/../shared/fixtures/provenance) verifies: approved,
                   publisher trailofbits/pypi-attestations release.yml; the JSON page
                   advertises the provenance URL and it serves the same document. 0.0.20
                   without provenance is held as a provenance regression. Skipped when the
                   fixtures are missing, unless the environment variable CI is set (then fails).

The last line printed is `N passed, N failed` (plus `, N skipped`); the exit status is
non-zero when anything failed.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.parse
import zipfile
from pathlib import Path

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import pip_e2e  # noqa: E402
from fake_pypi import FakeFile, FakePyPI, days_ago, normalize  # noqa: E402
from pip_e2e import JSON_V1, clean_env, http_get  # noqa: E402
from review_e2e import ReviewTestCase  # noqa: E402

CHECKS_TIMEOUT = 30.0   # seconds to wait for background checks to finish
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "provenance"
PROV_FILE = "pypi_attestations-0.0.19.tar.gz"
PTH_NAME = "evil_init.pth"


def bundled_setuptools() -> Path:
    """The setuptools wheel bundled with this Python's ensurepip."""
    import ensurepip
    bundled = Path(ensurepip.__file__).parent / "_bundled"
    wheels = sorted(bundled.glob("setuptools-*-py3-none-any.whl"))
    if not wheels:
        raise AssertionError(f"no setuptools wheel in {bundled}")
    return wheels[-1]


def wheel_file(project: str, path: Path, upload_days: float) -> FakeFile:
    """A FakeFile for a real wheel on disk, with its METADATA as PEP 658 metadata."""
    content = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        meta_name = next(n for n in zf.namelist()
                         if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        metadata = zf.read(meta_name)
    version = path.name.split("-")[1]
    return FakeFile(project=normalize(project), version=version, filename=path.name,
                    content=content, metadata=metadata, upload_time=days_ago(upload_days))


def make_sdist(name: str, version: str) -> tuple[str, bytes]:
    """A small, deterministic sdist (PKG-INFO, pyproject.toml)."""
    base = f"{name.replace('-', '_')}-{version}"
    members = {
        f"{base}/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{base}/pyproject.toml": b"[build-system]\nrequires = []\n",
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as tf:
        for path, data in members.items():
            info = tarfile.TarInfo(path)
            info.size, info.mtime, info.mode = len(data), 1577836800, 0o644
            tf.addfile(info, io.BytesIO(data))
    return f"{base}.tar.gz", buf.getvalue()


class ChecksTestCase(ReviewTestCase):
    token_specs = {"rita": "reader", "vic": "reviewer"}

    def wait_checks(self, project: str) -> dict:
        """Makes Airlock see `project` (its JSON page), then polls `airlock status PROJECT
        --json` until no file shows provenance status "pending"; fails after CHECKS_TIMEOUT."""
        self.page_json(project)
        deadline = time.monotonic() + CHECKS_TIMEOUT
        while True:
            doc = self.status(project)
            pending = [x.get("filename") for x in doc["files"]
                       if not isinstance(x.get("provenance"), dict)
                       or x["provenance"].get("status") == "pending"]
            if doc["files"] and not pending:
                return doc
            if time.monotonic() > deadline:
                self.fail(self.diag(f"checks of {project} not finished after "
                                    f"{CHECKS_TIMEOUT:.0f}s (pending: {pending}):\n"
                                    + json.dumps(doc, indent=1)))
            time.sleep(0.5)

    def entry(self, doc: dict, filename: str) -> dict:
        found = [x for x in doc["files"] if x.get("filename") == filename]
        self.assertEqual(len(found), 1, self.diag(f"status should list {filename} once:\n"
                                                  + json.dumps(doc, indent=1)))
        return found[0]

    def site_packages(self, venv: Path) -> Path:
        r = subprocess.run([str(venv / "bin" / "python"), "-c",
                            "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, timeout=60, env=clean_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        return Path(r.stdout.strip())


# ---- 1, 2. wheel contents: executable .pth files ---------------------------------------

class ContentsTest(ChecksTestCase):

    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        cls.setuptools = fake.add_file("setuptools", wheel_file("setuptools", bundled_setuptools(),
                                                                10))
        cls.e10 = fake.add_release("evil", "1.0", days_ago(10))
        cls.e11 = fake.add_release("evil", "1.1", days_ago(8),
                                   extra_files={PTH_NAME: b"import os\n"})

    def test_real_setuptools_with_its_pth_is_approved_and_installs(self) -> None:
        st = self.setuptools
        with zipfile.ZipFile(io.BytesIO(st.content)) as zf:
            self.assertIn("distutils-precedence.pth", zf.namelist(), "the fixture changed")
        doc = self.wait_checks("setuptools")
        x = self.entry(doc, st.filename)
        where = json.dumps(x, indent=1)
        self.assertEqual(x.get("state"), "approved", self.diag(where))
        contents = x.get("contents")
        self.assertIsInstance(contents, dict, f"no contents (the wheel was not inspected):\n{where}")
        self.assertIn("distutils-precedence.pth", contents.get("executable_pth") or [], where)
        self.assertIsNone(contents.get("error"), where)
        self.assertGreater(self.fake.counts.get("file_range", st.filename), 0,
                           self.diag("the wheel should have been read with Range requests"))

        # pip, in a fresh venv with the bundled setuptools removed, gets it through Airlock.
        venv = self.make_venv("setuptools")
        r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-y",
                            "setuptools"], capture_output=True, text=True, timeout=120,
                           env=clean_env(PIP_CONFIG_FILE=os.devnull))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        pth = self.site_packages(venv) / "distutils-precedence.pth"
        self.assertFalse(pth.exists(), f"{pth} should be gone after the uninstall")
        r = self.pip_install(venv, f"setuptools=={st.version}")
        self.assert_pip_ok(r)
        self.assertIn(f"Successfully installed setuptools-{st.version}", r.stdout,
                      self.diag(r.stdout[-3000:]))
        self.assertTrue(pth.exists(), f"{pth} should be installed again")
        self.assertEqual(self.installed_version(venv, "setuptools"), st.version)
        self.assert_blob_cached(st)

    def test_wheel_adding_executable_pth_is_held_until_approved(self) -> None:
        e10, e11 = self.e10, self.e11
        doc = self.wait_checks("evil")
        x10, x11 = self.entry(doc, e10.filename), self.entry(doc, e11.filename)
        self.assertEqual(x10.get("state"), "approved", self.diag(json.dumps(x10, indent=1)))
        self.assertEqual(x11.get("state"), "held", self.diag(json.dumps(x11, indent=1)))
        self.assertIn(PTH_NAME, str(x11.get("reason")), json.dumps(x11, indent=1))
        self.assertIn(PTH_NAME, (x11.get("contents") or {}).get("executable_pth") or [],
                      json.dumps(x11, indent=1))
        self.assertEqual((x10.get("contents") or {}).get("executable_pth"), [],
                         json.dumps(x10, indent=1))
        self.assertEqual(self.served_filenames("evil"), [e10.filename])
        r = self.get_file(e11)
        self.assertEqual(r.status, 403, self.diag(repr(r)))
        self.assertIn(PTH_NAME, r.text, f"the 403 should give the reason: {r!r}")

        venv = self.make_venv("evil-held")
        r = self.pip_install(venv, "evil")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "evil"), "1.0",
                         "pip should get 1.0 while 1.1 is held")
        self.assertFalse((self.site_packages(venv) / PTH_NAME).exists())

        doc = self.cli_json("approve", "evil", "1.1", "--reason",
                            "reviewed evil_init.pth: harmless", token=self.tokens["vic"])
        self.assertEqual((doc.get("before"), doc.get("after")), ("held", "approved"), doc)
        self.assertEqual(self.file_status(e11).get("state"), "approved")
        venv = self.make_venv("evil-approved")
        r = self.pip_install(venv, "evil")
        self.assert_pip_ok(r)
        self.assertEqual(self.installed_version(venv, "evil"), "1.1",
                         "after `airlock approve evil 1.1`, pip should get 1.1")
        self.assertTrue((self.site_packages(venv) / PTH_NAME).exists())


# ---- 3. real PEP 740 provenance ---------------------------------------------------------

class ProvenanceTest(ChecksTestCase):

    skip_reason = ""

    @classmethod
    def setUpClass(cls) -> None:
        # Skipped test by test (in setUp), so that the runner's counts stay right.
        if not (FIXTURES / "prod" / PROV_FILE).is_file() and not os.environ.get("CI"):
            cls.skip_reason = f"no provenance fixtures at {FIXTURES} (CI is not set)"
            return
        super().setUpClass()

    @classmethod
    def tearDownClass(cls) -> None:
        if not cls.skip_reason:
            super().tearDownClass()

    def setUp(self) -> None:
        if self.skip_reason:
            self.skipTest(self.skip_reason)
        super().setUp()

    @classmethod
    def config_text(cls) -> str:
        root = FIXTURES / "trust" / "trusted_root.prod.json"
        return super().config_text() + f"\n[provenance]\ntrusted_root = {json.dumps(str(root))}\n"

    @classmethod
    def populate(cls, fake: FakePyPI) -> None:
        prod = FIXTURES / "prod"
        if not (prod / PROV_FILE).is_file():
            raise AssertionError(f"CI is set and the provenance fixtures are missing: {FIXTURES}")
        cls.document = (prod / (PROV_FILE + ".provenance")).read_bytes()
        cls.p19 = fake.add_file("pypi-attestations", FakeFile(
            project="pypi-attestations", version="0.0.19", filename=PROV_FILE,
            content=(prod / PROV_FILE).read_bytes(), metadata=None,
            upload_time=days_ago(10), provenance=cls.document))
        name, content = make_sdist("pypi-attestations", "0.0.20")
        cls.p20 = fake.add_file("pypi-attestations", FakeFile(
            project="pypi-attestations", version="0.0.20", filename=name, content=content,
            metadata=None, upload_time=days_ago(8)))

    def test_real_provenance_verified_and_regression_held(self) -> None:
        p19, p20 = self.p19, self.p20
        doc = self.wait_checks("pypi-attestations")
        x19, x20 = self.entry(doc, p19.filename), self.entry(doc, p20.filename)
        where = json.dumps(doc, indent=1)
        self.assertGreater(self.fake.counts.get("integrity", p19.filename), 0,
                           self.diag("Airlock never asked the Integrity API"))
        prov = x19.get("provenance") or {}
        self.assertEqual(prov.get("status"), "verified", self.diag(where))
        self.assertEqual(x19.get("state"), "approved", self.diag(where))
        publisher = prov.get("publisher") or {}
        self.assertEqual((publisher.get("repository"), publisher.get("workflow")),
                         ("trailofbits/pypi-attestations", "release.yml"), where)

        # The JSON page advertises it; the URL serves the same document.
        page = self.page_json("pypi-attestations")
        entries = {e.get("filename"): e for e in page.get("files", [])}
        self.assertIn(p19.filename, entries, json.dumps(page, indent=1))
        url = entries[p19.filename].get("provenance")
        self.assertIsInstance(url, str, f"no provenance URL:\n{json.dumps(page, indent=1)}")
        url = urllib.parse.urljoin(f"{self.airlock.url}/simple/pypi-attestations/", url)
        self.assertEqual(urllib.parse.urlsplit(url).netloc, f"127.0.0.1:{self.airlock.port}",
                         f"the provenance URL should point at Airlock: {url}")
        r = http_get(url, {"Accept": "application/vnd.pypi.integrity.v1+json"})
        self.assertEqual(r.status, 200, self.diag(f"GET {url}: {r!r}"))
        self.assertEqual(json.loads(r.body), json.loads(self.document),
                         f"GET {url} should return the upstream provenance document")

        # The next release has no provenance: a regression, held.
        self.assertEqual((x20.get("provenance") or {}).get("status"), "absent", where)
        self.assertEqual(x20.get("state"), "held", self.diag(where))
        self.assertIn("provenance regression", str(x20.get("reason")).lower(), where)
        self.assertNotIn(p20.filename, entries, "a held file is not listed")
        r = self.get(urllib.parse.urlsplit(
            f"/integrity/pypi-attestations/0.0.20/{p20.filename}/provenance").path)
        self.assertEqual(r.status, 404, repr(r))


TEST_CLASSES = [ContentsTest, ProvenanceTest]


if __name__ == "__main__":
    sys.exit(pip_e2e.run_main(TEST_CLASSES, "Airlock end-to-end tests of the background checks "
                                            "(wheel contents, PEP 740 provenance)."))
