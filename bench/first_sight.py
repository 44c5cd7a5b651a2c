#!/usr/bin/env python3
"""bench/first_sight.py: how many upstream requests Airlock's first sight of a big project costs.

    python3 bench/first_sight.py [--airlock build-release/airlock] [--releases 2000]

Serves, on 127.0.0.1 only, a fake PyPI (tests/e2e/fake_pypi.py) with one project of
`--releases` releases, every one older than the 30-day history horizon. The newest (the
baseline of what follows) has a wheel and an sdist, each with a PEP 740 provenance URL; the
others have one wheel each and a null provenance. Airlock lists the project once; the script
waits until upstream has seen no request for 3 s and prints what upstream served, by route.
Target (issue 11): at most 10 requests. Standard library only; everything stops at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import fake_pypi  # noqa: E402

TARGET = 10
PROJECT = "history-pkg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_upstream(releases: int) -> fake_pypi.FakePyPI:
    fake = fake_pypi.FakePyPI()
    old = fake_pypi.days_ago(400)
    for i in range(releases):
        version = f"1.{i}"
        filename, content, metadata = fake_pypi.build_wheel(PROJECT, version)
        f = fake_pypi.FakeFile(project=PROJECT, version=version, filename=filename, content=content,
                               metadata=metadata, upload_time=old)
        newest = i == releases - 1
        if newest:
            f.provenance = b'{"version": 1, "attestation_bundles": []}'
        fake.add_file(PROJECT, f)
        if newest:
            sdist = fake_pypi.FakeFile(project=PROJECT, version=version, filename=f"history_pkg-{version}.tar.gz",
                                       content=b"sdist " + version.encode(), metadata=None,
                                       upload_time=old)
            sdist.provenance = f.provenance
            fake.add_file(PROJECT, sdist)
    return fake


def wait_quiet(fake: fake_pypi.FakePyPI, quiet_s: float = 3.0, limit_s: float = 120.0) -> dict:
    deadline = time.monotonic() + limit_s
    last = fake.counts.snapshot()
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = fake.counts.snapshot()
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet_s:
            return now
    return last


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--airlock", default=os.path.join(ROOT, "build-release", "airlock"))
    ap.add_argument("--releases", type=int, default=2000)
    args = ap.parse_args()
    if not os.access(args.airlock, os.X_OK):
        print(f"first_sight: no Airlock binary at {args.airlock} (cmake --preset release && "
              f"cmake --build build-release --target airlock)", file=sys.stderr)
        return 2
    trusted_root = os.path.join(ROOT, "..", "shared", "fixtures", "provenance", "trust", "trusted_root.prod.json")
    with tempfile.TemporaryDirectory() as tmp, build_upstream(args.releases).start() as fake:
        port = free_port()
        config = os.path.join(tmp, "airlock.toml")
        with open(config, "w") as out:
            out.write(f'[server]\nlisten = "127.0.0.1:{port}"\n[upstream]\nindex = "{fake.index_url}"\n'
                      f'[storage]\npath = "{tmp}/data"\n')
            if os.path.exists(trusted_root):
                out.write(f'[provenance]\ntrusted_root = "{trusted_root}"\n')
        env = dict(os.environ, AIRLOCK_LOG="warn")
        airlock = subprocess.Popen([args.airlock, "serve", "--config", config], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/-/health", timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.1)
            started = time.monotonic()
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/simple/{PROJECT}/", timeout=60).read()
            counts = wait_quiet(fake)
            settled = time.monotonic() - started - 3.0
        finally:
            airlock.terminate()
            airlock.wait(timeout=30)
    by_route = {route: sum(keys.values()) for route, keys in counts.items() if keys}
    total = sum(by_route.values())
    print(json.dumps({"releases": args.releases, "page_bytes": len(page), "upstream_requests": total,
                      "by_route": by_route, "settled_s": round(settled, 2)}, indent=1))
    verdict = "met" if total <= TARGET else "MISSED"
    print(f"first sight of a {args.releases}-release project: {total} upstream requests "
          f"(target <= {TARGET}): {verdict}")
    return 0 if total <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
