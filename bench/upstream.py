#!/usr/bin/env python3
"""The bench's fake PyPI: tests/e2e/fake_pypi.py, loaded with the bench's data set.

Standard library only; binds 127.0.0.1 only. Run by bench/run as a separate process (so its
GIL never competes with the driver):

    python3 bench/upstream.py --port N --manifest FILE [--many 10000]

writes FILE (JSON: the projects and files each scenario uses) once it is serving, and serves
until killed. Differences from the e2e fake, all for measurement hygiene, none in what a
client sees but the JSON whitespace:
  * a file's sha256 is computed once, not on every request (the e2e fake hashes on each use);
  * TCP_NODELAY on, so a small body is never held back by Nagle + delayed ACK (40 ms stalls
    that would measure the kernel, not the proxies);
  * a listen backlog of 128 instead of socketserver's 5;
  * PEP 691 JSON without whitespace, as pypi.org serves it.

Every file's upload-time is 40 days ago (past Airlock's 7d quarantine and its 30d history
horizon, so all are approved on age), except big-pkg's 5 newest releases, uploaded 1 day ago:
Airlock withholds those (quarantine), nginx passes them through. That is the "policy filtering
applied" part of the page scenarios.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))

import fake_pypi  # noqa: E402

BIG_VERSIONS = 2000
BIG_RECENT = 5
SLOW_FILES = 6           # ... for the one with a slow upstream
SLOW_SECONDS = 0.5
WAN_LATENCY = 0.010      # seconds from request to first byte
WAN_RATE = 100e6         # bytes per second
PIPSET = 20
LARGE_WHEEL_PAYLOAD = 2 * 1024 * 1024


class CachedFile(fake_pypi.FakeFile):
    """A FakeFile whose hashes are computed once (the content never changes in the bench)."""

    @functools.cached_property
    def sha256(self) -> str:  # type: ignore[override]
        return fake_pypi.sha256_hex(self.content)

    @functools.cached_property
    def metadata_sha256(self):  # type: ignore[override]
        return fake_pypi.sha256_hex(self.metadata) if self.metadata is not None else None


class CompactPyPI(fake_pypi.FakePyPI):
    """Serves PEP 691 JSON without whitespace, as pypi.org does (the e2e fake indents it, which
    would make nginx, which passes upstream's bytes through, serve 50% more bytes per page)."""

    def render_project_json(self, project: str):
        body = super().render_project_json(project)
        if body is None:
            return None
        return json.dumps(json.loads(body), separators=(",", ":")).encode("utf-8")


def add(fake: fake_pypi.FakePyPI, name: str, version: str, when, requires=(), payload: bytes | None = None):
    extra = {f"{fake_pypi.wheel_name_part(name)}/blob.bin": payload} if payload else None
    filename, content, metadata = fake_pypi.build_wheel(name, version, requires, None, extra)
    f = CachedFile(project=fake_pypi.normalize(name), version=version, filename=filename, content=content,
                   metadata=metadata, upload_time=when)
    f.sha256, f.metadata_sha256  # compute now, not on the first request
    return fake.add_file(name, f)


def describe(f: fake_pypi.FakeFile) -> dict:
    return {"project": f.project, "filename": f.filename, "sha256": f.sha256, "size": f.size}


def populate(fake: fake_pypi.FakePyPI, many: int, cold_files: int) -> dict:
    old = fake_pypi.days_ago(40)
    recent = fake_pypi.days_ago(1)
    manifest: dict = {}

    for v in ("1.0", "1.1", "2.0"):
        add(fake, "small-pkg", v, old)
    manifest["small"] = "small-pkg"

    big_files = [add(fake, "big-pkg", f"{i // 100}.{i % 100}.0", old) for i in range(BIG_VERSIONS)]
    manifest["big_file"] = describe(big_files[BIG_VERSIONS // 2])   # a 1 KB wheel of that project
    for i in range(BIG_RECENT):
        add(fake, "big-pkg", f"99.{i}.0", recent)
    manifest["big"] = "big-pkg"
    manifest["big_served"] = BIG_VERSIONS
    manifest["big_upstream"] = BIG_VERSIONS + BIG_RECENT

    rng = random.Random(20260328)   # incompressible, reproducible payloads
    big_wheel = add(fake, "wheel-2mb", "1.0", old, payload=rng.randbytes(LARGE_WHEEL_PAYLOAD))
    manifest["wheel"] = describe(big_wheel)

    manifest["cold_large"] = [describe(add(fake, "cold-large", f"1.{i}", old,
                                           payload=rng.randbytes(LARGE_WHEEL_PAYLOAD)))
                              for i in range(cold_files)]
    manifest["cold_small"] = [describe(add(fake, "cold-small", f"1.{i}", old)) for i in range(cold_files)]
    # As from a WAN: the body trickles in over SLOW_SECONDS (2 MB in 0.5 s = 4 MB/s).
    slow = []
    for i in range(SLOW_FILES):
        f = add(fake, "cold-slow", f"1.{i}", old, payload=rng.randbytes(LARGE_WHEEL_PAYLOAD))
        f.slow = SLOW_SECONDS
        slow.append(describe(f))
    manifest["cold_slow"] = slow
    manifest["slow_seconds"] = SLOW_SECONDS
    # As from a CDN near the data centre (PyPI's files come from one): the answer starts
    # WAN_LATENCY after the request and the body comes at WAN_RATE.
    for key, payload in (("cold_wan_large", LARGE_WHEEL_PAYLOAD), ("cold_wan_small", 0)):
        wan = []
        for i in range(cold_files):
            f = add(fake, key.replace("_", "-"), f"1.{i}", old, payload=rng.randbytes(payload) if payload else None)
            f.latency, f.rate = WAN_LATENCY, WAN_RATE
            wan.append(describe(f))
        manifest[key] = wan
    manifest["wan"] = {"latency_ms": WAN_LATENCY * 1000, "rate_mb_s": WAN_RATE / 1e6}

    names = []
    for i in range(PIPSET):
        name = f"pipset-{i:02d}"
        for v in ("1.0", "1.1", "1.2"):
            add(fake, name, v, old)
        names.append(name)
    manifest["pipset"] = names

    for i in range(many):
        add(fake, f"proj-{i:05d}", "1.0", old)
    manifest["many"] = [f"proj-{i:05d}" for i in range(many)]
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--many", type=int, default=10000)
    ap.add_argument("--cold-files", type=int, default=12, help="distinct never-fetched files per cold scenario")
    args = ap.parse_args()

    fake_pypi._Server.request_queue_size = 128
    fake_pypi._Handler.disable_nagle_algorithm = True

    started = time.monotonic()
    fake = CompactPyPI()
    manifest = populate(fake, args.many, args.cold_files)
    fake.start(args.port)
    manifest["base_url"] = fake.base_url
    manifest["build_seconds"] = round(time.monotonic() - started, 2)
    tmp = args.manifest + ".tmp"
    with open(tmp, "w") as out:
        json.dump(manifest, out)
    os.rename(tmp, args.manifest)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
