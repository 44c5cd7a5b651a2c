#!/usr/bin/env python3
"""bench/advisories.py: how long Airlock takes to load a PyPI-sized OSV feed, and what it costs.

    python3 bench/advisories.py [--airlock build-release/airlock] [--records 30000]

Generates, in a temporary directory, a feed the size of osv.dev's PyPI/all.zip: `--records`
records in one zip, 40% malicious-package records (MAL-..., two versions each) and 60%
vulnerability records (GHSA-..., a CVSS v3 vector, one to three ECOSYSTEM ranges, a versions
list of 5-60 entries and a 1-2 KB description, as real ones have), over as many distinct
projects. Then runs `airlock serve` twice on 127.0.0.1: once with an empty feed directory and
once with the zip, and reports for each the time from start until /-/metrics shows every
record in force, and the resident memory (VmRSS) then. Standard library only; no network
beyond loopback; everything stops at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

WORDS = ("request parsing header cookie redirect session token path traversal injection overflow "
         "deserialization template sandbox escape denial service regular expression archive "
         "extraction signature verification certificate validation").split()


def record(i: int, rng: random.Random) -> dict:
    project = f"bench-project-{i:05d}"
    modified = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}T12:00:00Z"
    if i % 5 < 2:
        return {
            "id": f"MAL-2026-{i}", "modified": modified, "published": modified,
            "summary": f"Malicious code in {project} (PyPI)",
            "details": "This package contained malicious code that exfiltrates credentials.",
            "affected": [{"package": {"ecosystem": "PyPI", "name": project},
                          "versions": [f"1.{i % 7}.0", f"1.{i % 7}.1"]}],
        }
    ranges = []
    start = 0
    for _ in range(rng.randint(1, 3)):
        fixed = start + rng.randint(1, 5)
        ranges.append({"type": "ECOSYSTEM", "events": [{"introduced": "0" if start == 0 else f"{start}.0"},
                                                        {"fixed": f"{fixed}.0"}]})
        start = fixed + 1
    return {
        "id": f"GHSA-bench-{i:05d}", "modified": modified, "published": modified,
        "aliases": [f"CVE-2026-{i}"],
        "summary": f"{' '.join(rng.choice(WORDS) for _ in range(6))} in {project}",
        "details": " ".join(rng.choice(WORDS) for _ in range(rng.randint(120, 250))),
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:N"}],
        "affected": [{"package": {"ecosystem": "PyPI", "name": project}, "ranges": ranges,
                      "versions": [f"{a}.{b}" for a in range(start) for b in range(rng.randint(1, 12))][:60],
                      "database_specific": {"source": "bench"}}],
        "database_specific": {"severity": "HIGH", "github_reviewed": True},
    }


def make_zip(path: str, count: int) -> int:
    rng = random.Random(7)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(count):
            r = record(i, rng)
            z.writestr(f"{r['id']}.json", json.dumps(r, indent=2))
    with zipfile.ZipFile(path) as z:
        return sum(info.file_size for info in z.infolist())


def metric(port: int, name: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def run(airlock: str, work: str, feed: str, expected: int) -> tuple[float, int]:
    data = os.path.join(work, f"data-{expected}")
    config = os.path.join(work, f"airlock-{expected}.toml")
    with open(config, "w") as f:
        f.write(f'[server]\nlisten = "127.0.0.1:0"\n[upstream]\nindex = "http://127.0.0.1:9/simple/"\n'
                f'[storage]\npath = "{data}"\n[advisories]\npath = "{feed}"\nrefresh = "1s"\n')
    env = dict(os.environ, AIRLOCK_LOG="info")
    started = time.monotonic()
    proc = subprocess.Popen([airlock, "serve", "--config", config], stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        port = None
        assert proc.stderr is not None
        for line in proc.stderr:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            raise SystemExit("airlock did not start")
        deadline = started + 300
        while time.monotonic() < deadline:
            loaded = metric(port, "airlock_advisories_records")
            if loaded is not None and loaded >= expected and (expected > 0 or metric(port, "airlock_advisories_skipped") is not None):
                if expected > 0 or time.monotonic() - started > 2:
                    break
            time.sleep(0.05)
        else:
            raise SystemExit(f"the feed did not load within 300 s ({loaded} of {expected} records)")
        elapsed = time.monotonic() - started
        return elapsed, rss_kib(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--airlock", default=os.path.join(ROOT, "build-release", "airlock"))
    parser.add_argument("--records", type=int, default=30000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="airlock-advisories-bench-")
    try:
        empty = os.path.join(work, "empty-feed")
        feed = os.path.join(work, "feed")
        os.makedirs(empty)
        os.makedirs(feed)
        t = time.monotonic()
        uncompressed = make_zip(os.path.join(feed, "all.zip"), args.records)
        zipped = os.path.getsize(os.path.join(feed, "all.zip"))
        print(f"feed: {args.records} records, {zipped / 1e6:.1f} MB zipped, {uncompressed / 1e6:.1f} MB of JSON "
              f"(generated in {time.monotonic() - t:.1f} s)")
        base_time, base_rss = run(args.airlock, work, empty, 0)
        feed_time, feed_rss = run(args.airlock, work, feed, args.records)
        print(f"airlock without a feed: up in {base_time:.2f} s (waited 2 s for a load), RSS {base_rss / 1024:.1f} MiB")
        print(f"airlock with the feed: every record in force {feed_time:.2f} s after start, RSS {feed_rss / 1024:.1f} MiB "
              f"(+{(feed_rss - base_rss) / 1024:.1f} MiB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
