#!/usr/bin/env python3
"""A fake PyPI upstream on 127.0.0.1 for Airlock's end-to-end tests.

Standard library only. An in-memory model (projects -> releases -> files) is served over a
ThreadingHTTPServer bound to 127.0.0.1 port 0:

  GET /simple/                      project list (PEP 503 HTML or PEP 691 JSON)
  GET /simple/<project>/            PEP 691 JSON (api-version 1.1) when Accept asks for it,
                                    else PEP 503 HTML; ETag + 304; 404 for unknown projects;
                                    301 from a non-normalized name to the normalized one
  GET /packages/<sha256>/<filename>           the file (Range requests answer 206)
  GET /packages/<sha256>/<filename>.metadata  its core metadata (PEP 658)
  GET /integrity/<p>/<v>/<filename>/provenance  FakeFile.provenance when set (PEP 740),
                                    else 404: no provenance
  GET /-/counts                     the request counters as JSON (debugging)

Wheels are built on the fly and deterministically: a valid py3-none-any wheel holding
<pkg>/__init__.py with `__version__ = "X"`, and a .dist-info with METADATA, WHEEL and a RECORD
whose sha256 lines are correct.

Files can misbehave on purpose (FakeFile.corrupt / truncate / status / slow), and the model
can change at run time (add_release, remove_file, yank), all thread-safe.

As a CLI (for debugging): `python3 fake_pypi.py [--port N]` serves a small demo index.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime as dt
import hashlib
import html
import io
import json
import re
import socket
import threading
import time
import zipfile
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterable, Optional
from urllib.parse import unquote, urlsplit

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
HTML_TEXT = "text/html"

UTC = dt.timezone.utc


def normalize(name: str) -> str:
    """PEP 503 normalization: runs of -_. become one '-', lowercased."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_name_part(name: str) -> str:
    """The distribution name as it appears in a wheel filename and import name (PEP 427)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def days_ago(days: float) -> dt.datetime:
    return dt.datetime.now(UTC) - dt.timedelta(days=days)


def hours_ago(hours: float) -> dt.datetime:
    return dt.datetime.now(UTC) - dt.timedelta(hours=hours)


def format_upload_time(t: dt.datetime) -> str:
    """PyPI's upload-time format: 2024-01-02T03:04:05.123456Z."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def build_wheel(name: str, version: str, requires: Iterable[str] = (),
                requires_python: Optional[str] = None,
                extra_files: Optional[dict[str, bytes]] = None) -> tuple[str, bytes, bytes]:
    """Builds a py3-none-any wheel; returns (filename, wheel bytes, METADATA bytes).

    Deterministic: the same arguments give the same bytes (fixed zip timestamps)."""
    dist = wheel_name_part(name)
    dist_info = f"{dist}-{version}.dist-info"
    metadata_lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                      f"Summary: {name} {version}, served by the fake PyPI of Airlock's tests"]
    if requires_python:
        metadata_lines.append(f"Requires-Python: {requires_python}")
    metadata_lines += [f"Requires-Dist: {r}" for r in requires]
    metadata = ("\n".join(metadata_lines) + "\n").encode("utf-8")
    wheel_meta = (b"Wheel-Version: 1.0\nGenerator: airlock-fake-pypi\n"
                  b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    members: list[tuple[str, bytes]] = [
        (f"{dist}/__init__.py", f'__version__ = "{version}"\n'.encode("utf-8")),
    ]
    for path, data in (extra_files or {}).items():
        members.append((path, data))
    members += [(f"{dist_info}/METADATA", metadata), (f"{dist_info}/WHEEL", wheel_meta)]
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in members)
    record += f"{dist_info}/RECORD,,\n"
    members.append((f"{dist_info}/RECORD", record.encode("utf-8")))

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path, data in members:
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    filename = f"{dist}-{version}-py3-none-any.whl"
    return filename, buf.getvalue(), metadata


@dataclasses.dataclass
class FakeFile:
    """One upstream file. The misbehaviour fields may be changed at any time by a test."""
    project: str                     # normalized
    version: str
    filename: str
    content: bytes
    metadata: Optional[bytes]        # core metadata (wheels), None for no PEP 658 metadata
    upload_time: Optional[dt.datetime]
    requires_python: Optional[str] = None
    yanked: bool | str = False       # False, True, or a reason
    # Misbehaviour switches:
    corrupt: bool = False            # serve same-length bytes whose sha256 differs
    truncate: bool = False           # send the full Content-Length, close after half the body
    status: Optional[int] = None     # answer this status (e.g. 500) instead of the file
    slow: Optional[float] = None     # drip the body over this many seconds
    # A distant upstream: wait `latency` seconds before answering, then send the body at `rate`
    # bytes per second (None: as fast as the socket takes it).
    latency: float = 0.0
    rate: Optional[float] = None
    # PEP 740: a provenance document served at the Integrity API path (and advertised as the
    # "provenance" URL of the JSON page); None = no provenance (404), as before.
    provenance: Optional[bytes] = None

    @property
    def sha256(self) -> str:
        """The sha256 the index declares (of the true content)."""
        return sha256_hex(self.content)

    @property
    def metadata_sha256(self) -> Optional[str]:
        return sha256_hex(self.metadata) if self.metadata is not None else None

    @property
    def size(self) -> int:
        return len(self.content)

    def served_bytes(self) -> bytes:
        if not self.corrupt:
            return self.content
        flipped = bytearray(self.content)
        flipped[len(flipped) // 2] ^= 0xFF
        return bytes(flipped)

    @property
    def corrupt_sha256(self) -> str:
        """The sha256 of what is served while `corrupt` is set."""
        flipped = bytearray(self.content)
        flipped[len(flipped) // 2] ^= 0xFF
        return sha256_hex(bytes(flipped))

    def path(self) -> str:
        return f"/packages/{self.sha256}/{self.filename}"

    def integrity_path(self) -> str:
        return f"/integrity/{self.project}/{self.version}/{self.filename}/provenance"


class Counters:
    """Thread-safe request counters, keyed by (route, key)."""

    ROUTES = ("page", "file", "file_range", "metadata", "integrity", "not_modified", "other")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {r: {} for r in self.ROUTES}

    def add(self, route: str, key: str) -> None:
        with self._lock:
            per = self._counts[route]
            per[key] = per.get(key, 0) + 1

    def get(self, route: str, key: Optional[str] = None) -> int:
        with self._lock:
            per = self._counts[route]
            return sum(per.values()) if key is None else per.get(key, 0)

    def snapshot(self) -> dict[str, dict[str, int]]:
        with self._lock:
            return {r: dict(v) for r, v in self._counts.items()}


class FakePyPI:
    """The model plus the server. Use as a context manager or call start()/stop()."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._projects: dict[str, dict] = {}   # normalized -> {"name": display, "files": [FakeFile]}
        self._by_path: dict[tuple[str, str], FakeFile] = {}   # (sha, filename) -> file
        self._removed: dict[tuple[str, str], FakeFile] = {}
        self.counts = Counters()
        self.force_html = False          # True: ignore Accept, always answer PEP 503 HTML
        self.page_status: dict[str, int] = {}   # normalized project -> forced status for its page
        self.cache_control = "max-age=600, public"   # what PyPI sends; Airlock's refresh wins
        self.request_log: list[str] = []
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # ---- model -------------------------------------------------------------------------

    def add_project(self, name: str) -> None:
        with self._lock:
            self._projects.setdefault(normalize(name), {"name": name, "files": []})

    def add_release(self, name: str, version: str, upload_time: Optional[dt.datetime],
                    requires: Iterable[str] = (), requires_python: Optional[str] = None,
                    yanked: bool | str = False,
                    extra_files: Optional[dict[str, bytes]] = None) -> FakeFile:
        """Adds a release with one wheel (built now) and returns that file."""
        filename, content, metadata = build_wheel(name, version, requires, requires_python,
                                                  extra_files)
        f = FakeFile(project=normalize(name), version=version, filename=filename,
                     content=content, metadata=metadata, upload_time=upload_time,
                     requires_python=requires_python, yanked=yanked)
        return self.add_file(name, f)

    def add_file(self, name: str, f: FakeFile) -> FakeFile:
        with self._lock:
            self.add_project(name)
            proj = self._projects[normalize(name)]
            if any(x.filename == f.filename for x in proj["files"]):
                raise ValueError(f"{f.filename} already exists")
            proj["files"].append(f)
            self._by_path[(f.sha256, f.filename)] = f
        return f

    def remove_file(self, filename: str) -> FakeFile:
        """Takedown: the file leaves its project page and its URL answers 404."""
        with self._lock:
            for proj in self._projects.values():
                for f in proj["files"]:
                    if f.filename == filename:
                        proj["files"].remove(f)
                        del self._by_path[(f.sha256, f.filename)]
                        self._removed[(f.sha256, f.filename)] = f
                        return f
        raise KeyError(filename)

    def yank(self, filename: str, reason: bool | str = True) -> None:
        with self._lock:
            self.file(filename).yanked = reason

    def file(self, filename: str) -> FakeFile:
        with self._lock:
            for proj in self._projects.values():
                for f in proj["files"]:
                    if f.filename == filename:
                        return f
        raise KeyError(filename)

    def provenance_of(self, project: str, version: str, filename: str) -> Optional[FakeFile]:
        """The file an Integrity API path names, if project, version and filename match."""
        with self._lock:
            proj = self._projects.get(normalize(project))
            for f in (proj["files"] if proj else []):
                if f.filename == filename and f.version == version:
                    return f
        return None

    def files(self, name: str) -> list[FakeFile]:
        with self._lock:
            return list(self._projects[normalize(name)]["files"])

    # ---- server ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def index_url(self) -> str:
        return f"{self.base_url}/simple/"

    def url(self, f: FakeFile) -> str:
        return self.base_url + f.path()

    def start(self, port: int = 0) -> "FakePyPI":
        """Binds 127.0.0.1:`port` (0 = any free port) and serves in a daemon thread."""
        fake = self

        class Handler(_Handler):
            model = fake

        self._server = _Server(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="fake-pypi", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> "FakePyPI":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- rendering ---------------------------------------------------------------------

    def _project_snapshot(self, project: str) -> Optional[tuple[str, list[FakeFile]]]:
        with self._lock:
            proj = self._projects.get(project)
            if proj is None:
                return None
            return proj["name"], list(proj["files"])

    def render_project_json(self, project: str) -> Optional[bytes]:
        snap = self._project_snapshot(project)
        if snap is None:
            return None
        _, files = snap
        entries = []
        for f in files:
            e: dict = {
                "filename": f.filename,
                "url": self.url(f),
                "hashes": {"sha256": f.sha256},
                "size": f.size,
                "requires-python": f.requires_python,
                "yanked": f.yanked,
                "provenance": (self.base_url + f.integrity_path()
                               if f.provenance is not None else None),
            }
            if f.upload_time is not None:
                e["upload-time"] = format_upload_time(f.upload_time)
            if f.metadata is not None:
                e["core-metadata"] = {"sha256": f.metadata_sha256}
                e["data-dist-info-metadata"] = {"sha256": f.metadata_sha256}
            else:
                e["core-metadata"] = False
                e["data-dist-info-metadata"] = False
            entries.append(e)
        versions = sorted({f.version for f in files}, key=_version_key)
        doc = {"meta": {"api-version": "1.1", "_last-serial": len(files)}, "name": project,
               "files": entries, "versions": versions}
        return json.dumps(doc, indent=1).encode("utf-8")

    def render_project_html(self, project: str) -> Optional[bytes]:
        snap = self._project_snapshot(project)
        if snap is None:
            return None
        _, files = snap
        lines = ["<!DOCTYPE html>", "<html>", "  <head>",
                 '    <meta name="pypi:repository-version" content="1.1">',
                 f"    <title>Links for {html.escape(project)}</title>", "  </head>", "  <body>",
                 f"    <h1>Links for {html.escape(project)}</h1>"]
        for f in files:
            attrs = [f'href="{html.escape(self.url(f))}#sha256={f.sha256}"']
            if f.requires_python:
                attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
            if f.yanked is not False:
                reason = f.yanked if isinstance(f.yanked, str) else ""
                attrs.append(f'data-yanked="{html.escape(reason)}"')
            if f.metadata is not None:
                attrs.append(f'data-core-metadata="sha256={f.metadata_sha256}"')
                attrs.append(f'data-dist-info-metadata="sha256={f.metadata_sha256}"')
            lines.append(f"    <a {' '.join(attrs)}>{html.escape(f.filename)}</a><br />")
        lines += ["  </body>", "</html>", ""]
        return "\n".join(lines).encode("utf-8")

    def render_index(self, as_json: bool) -> bytes:
        with self._lock:
            names = sorted(self._projects)
        if as_json:
            doc = {"meta": {"api-version": "1.1", "_last-serial": 0},
                   "projects": [{"name": n} for n in names]}
            return json.dumps(doc).encode("utf-8")
        body = ["<!DOCTYPE html>", "<html>", "  <head>",
                '    <meta name="pypi:repository-version" content="1.1">',
                "    <title>Simple index</title>", "  </head>", "  <body>"]
        body += [f'    <a href="/simple/{n}/">{html.escape(n)}</a>' for n in names]
        body += ["  </body>", "</html>", ""]
        return "\n".join(body).encode("utf-8")

    def lookup(self, sha: str, filename: str) -> Optional[FakeFile]:
        with self._lock:
            return self._by_path.get((sha, filename))


def _version_key(v: str):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.]", v)]


def wants_json(accept: str) -> bool:
    """True when Accept prefers PEP 691 JSON over HTML (q-values honored, roughly as PyPI)."""
    best_json, best_html = 0.0, 0.0
    for part in accept.split(","):
        fields = [x.strip() for x in part.split(";")]
        media = fields[0].lower()
        q = 1.0
        for p in fields[1:]:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media in (JSON_V1, "application/vnd.pypi.simple.latest+json"):
            best_json = max(best_json, q)
        elif media in (HTML_V1, "application/vnd.pypi.simple.latest+html", HTML_TEXT, "*/*",
                       "text/*"):
            best_html = max(best_html, q)
    return best_json > 0 and best_json >= best_html


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # A client (Airlock) dropping a keep-alive connection is normal; anything else is kept
        # in the request log rather than printed over the test output.
        import sys
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return
        model = getattr(self.RequestHandlerClass, "model", None)
        if model is not None:
            model.request_log.append(f"handler error for {client_address}: {exc!r}")


class _Handler(BaseHTTPRequestHandler):
    model: FakePyPI   # set by FakePyPI.start()
    protocol_version = "HTTP/1.1"
    server_version = "fake-pypi/1"

    def log_message(self, fmt: str, *args) -> None:   # quiet; keep a short in-memory log
        log = self.model.request_log
        log.append(f"{self.command} {self.path} -> {fmt % args}")
        if len(log) > 500:
            del log[:100]

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    # ---- plumbing ----------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/plain",
              headers: Optional[dict[str, str]] = None, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _dispatch(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        try:
            if path == "/-/counts":
                body = json.dumps(self.model.counts.snapshot(), indent=1).encode()
                return self._send(200, body, "application/json", head=head)
            if path == "/simple/" or path == "/simple":
                return self._index(head)
            m = re.fullmatch(r"/simple/([^/]+)/?", path)
            if m:
                return self._project(m.group(1), path.endswith("/"), head)
            m = re.fullmatch(r"/packages/([0-9a-f]{64})/([^/]+)", path)
            if m:
                return self._package(m.group(1), m.group(2), head)
            m = re.fullmatch(r"/integrity/([^/]+)/([^/]+)/([^/]+)/provenance", path)
            if m:
                self.model.counts.add("integrity", m.group(3))
                f = self.model.provenance_of(m.group(1), m.group(2), m.group(3))
                if f is not None and f.provenance is not None:
                    return self._send(200, f.provenance, "application/vnd.pypi.integrity.v1+json",
                                      head=head)
                return self._send(404, b'{"message": "No provenance available"}',
                                  "application/json", head=head)
            self.model.counts.add("other", path)
            return self._send(404, b"not found\n", head=head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _index(self, head: bool) -> None:
        as_json = not self.model.force_html and wants_json(self.headers.get("Accept", ""))
        body = self.model.render_index(as_json)
        self._send(200, body, JSON_V1 if as_json else HTML_V1, head=head)

    def _project(self, raw: str, slash: bool, head: bool) -> None:
        project = normalize(raw)
        if raw != project or not slash:
            self.model.counts.add("other", self.path)
            return self._send(301, b"", headers={"Location": f"/simple/{project}/"}, head=head)
        self.model.counts.add("page", project)
        forced = self.model.page_status.get(project)
        if forced:
            return self._send(forced, f"forced {forced}\n".encode(), head=head)
        as_json = not self.model.force_html and wants_json(self.headers.get("Accept", ""))
        body = (self.model.render_project_json(project) if as_json
                else self.model.render_project_html(project))
        if body is None:
            return self._send(404, b"404 Not Found\n", head=head)
        etag = '"' + sha256_hex(body)[:32] + ("-j" if as_json else "-h") + '"'
        headers = {"ETag": etag, "Vary": "Accept, Accept-Encoding",
                   "Cache-Control": self.model.cache_control}
        inm = self.headers.get("If-None-Match", "")
        if etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*":
            self.model.counts.add("not_modified", project)
            self.send_response(304)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            return
        self._send(200, body, JSON_V1 if as_json else HTML_V1, headers, head=head)

    def _package(self, sha: str, filename: str, head: bool) -> None:
        is_meta = filename.endswith(".metadata")
        real_name = filename[: -len(".metadata")] if is_meta else filename
        f = self.model.lookup(sha, real_name)
        if f is None:
            self.model.counts.add("other", self.path)
            return self._send(404, b"no such file\n", head=head)
        if is_meta:
            self.model.counts.add("metadata", real_name)
            if f.metadata is None:
                return self._send(404, b"no metadata\n", head=head)
            return self._send(200, f.metadata, "application/octet-stream", head=head)

        rng = self.headers.get("Range")
        self.model.counts.add("file_range" if rng else "file", real_name)
        if f.status:
            return self._send(f.status, f"forced {f.status}\n".encode(), head=head)
        if f.latency:
            time.sleep(f.latency)
        data = f.served_bytes()
        status = 200
        headers = {"ETag": f'"{f.sha256[:32]}"', "Accept-Ranges": "bytes",
                   "Cache-Control": "max-age=365000000, immutable, public"}
        if rng:
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if not m or (not m.group(1) and not m.group(2)):
                return self._send(416, b"bad range\n", head=head)
            n = len(data)
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), n - 1) if m.group(2) else n - 1
            else:
                start, end = max(0, n - int(m.group(2))), n - 1
            if start >= n or start > end:
                return self._send(416, b"range not satisfiable\n",
                                  headers={"Content-Range": f"bytes */{n}"}, head=head)
            headers["Content-Range"] = f"bytes {start}-{end}/{n}"
            data, status = data[start:end + 1], 206

        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if head:
            return
        if f.truncate:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if f.rate:
            # Paced against the clock, not by sleeping a fixed step: the average rate holds
            # however late each sleep wakes.
            started = time.monotonic()
            piece = max(1, min(16384, int(f.rate / 100)))   # steps of at most 10 ms
            for i in range(0, len(data), piece):
                delay = started + i / f.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                self.wfile.write(data[i:i + piece])
            return
        if f.slow:
            pieces = 20
            step = max(1, -(-len(data) // pieces))
            for i in range(0, len(data), step):
                self.wfile.write(data[i:i + step])
                self.wfile.flush()
                time.sleep(f.slow / pieces)
            return
        self.wfile.write(data)


def populate_demo(fake: FakePyPI) -> None:
    """A small demo index: alpha (requires beta), beta, gamma (one old, one new release)."""
    fake.add_release("beta", "1.0", days_ago(60))
    fake.add_release("beta", "1.1", days_ago(45))
    fake.add_release("alpha", "1.0", days_ago(40), requires=["beta>=1.0"])
    fake.add_release("gamma", "1.0", days_ago(40))
    fake.add_release("gamma", "2.0", hours_ago(1))
    fake.add_release("Alpha_Pkg", "1.0", days_ago(40))


def self_check(with_pip: bool = False) -> None:
    """Checks the fake itself: routes, wheels, misbehaviours, mutations; with_pip also installs
    from it with the real pip in a fresh venv. Raises AssertionError on a problem."""
    import http.client
    import os
    import subprocess
    import sys
    import tempfile
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get(fake: FakePyPI, path: str, headers: Optional[dict] = None):
        req = urllib.request.Request(fake.base_url + path, headers=headers or {})
        try:
            with opener.open(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    with FakePyPI() as fake:
        populate_demo(fake)
        status, headers, body = get(fake, "/simple/alpha/", {"Accept": JSON_V1})
        assert status == 200 and headers["Content-Type"] == JSON_V1, (status, headers)
        page = json.loads(body)
        assert page["meta"]["api-version"] == "1.1" and page["name"] == "alpha", page
        entry = page["files"][0]
        alpha = fake.file("alpha-1.0-py3-none-any.whl")
        assert entry["url"] == fake.url(alpha) and entry["hashes"]["sha256"] == alpha.sha256
        assert entry["core-metadata"] == {"sha256": alpha.metadata_sha256}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["upload-time"])
        assert get(fake, "/simple/alpha/", {"Accept": JSON_V1,
                                           "If-None-Match": headers["ETag"]})[0] == 304
        status, headers, body = get(fake, "/simple/alpha/")
        assert status == 200 and "html" in headers["Content-Type"], headers
        assert f"#sha256={alpha.sha256}" in body.decode(), body
        assert get(fake, "/simple/no-such/")[0] == 404

        status, _, content = get(fake, alpha.path())
        assert status == 200 and sha256_hex(content) == alpha.sha256
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            assert zf.testzip() is None
            assert zf.read("alpha/__init__.py") == b'__version__ = "1.0"\n'
            for line in zf.read("alpha-1.0.dist-info/RECORD").decode().splitlines():
                path, digest, size = line.split(",")
                if digest:
                    assert digest == _record_hash(zf.read(path)) and int(size) == len(zf.read(path))
        status, _, meta = get(fake, alpha.path() + ".metadata")
        assert status == 200 and sha256_hex(meta) == alpha.metadata_sha256
        assert b"Requires-Dist: beta>=1.0" in meta
        status, headers, tail = get(fake, alpha.path(), {"Range": "bytes=-22"})
        assert status == 206 and tail == content[-22:], (status, headers)

        alpha.corrupt = True
        _, _, bad = get(fake, alpha.path())
        assert len(bad) == alpha.size and sha256_hex(bad) == alpha.corrupt_sha256 != alpha.sha256
        alpha.corrupt = False
        alpha.status = 500
        assert get(fake, alpha.path())[0] == 500
        alpha.status = None
        alpha.truncate = True
        conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=10)
        conn.request("GET", alpha.path())
        try:
            conn.getresponse().read()
            raise AssertionError("truncate: the body came whole")
        except http.client.IncompleteRead as e:
            assert len(e.partial) == alpha.size // 2
        alpha.truncate = False
        alpha.slow = 0.5
        started = time.monotonic()
        assert sha256_hex(get(fake, alpha.path())[2]) == alpha.sha256
        assert time.monotonic() - started >= 0.4
        alpha.slow = None
        alpha.latency, alpha.rate = 0.2, alpha.size / 0.3   # first byte after 0.2 s, body over 0.3 s
        started = time.monotonic()
        assert sha256_hex(get(fake, alpha.path())[2]) == alpha.sha256
        assert time.monotonic() - started >= 0.2 + 0.3 - 0.01
        alpha.latency, alpha.rate = 0.0, None

        etag = get(fake, "/simple/alpha/", {"Accept": JSON_V1})[1]["ETag"]
        fake.add_release("alpha", "2.0", hours_ago(1))
        status, headers, body = get(fake, "/simple/alpha/", {"Accept": JSON_V1,
                                                             "If-None-Match": etag})
        assert status == 200 and len(json.loads(body)["files"]) == 2, status
        fake.remove_file("alpha-2.0-py3-none-any.whl")
        assert len(json.loads(get(fake, "/simple/alpha/", {"Accept": JSON_V1})[2])["files"]) == 1
        counts = fake.counts.snapshot()
        assert counts["metadata"] == {alpha.filename: 1}, counts
        assert json.loads(get(fake, "/-/counts")[2])["page"]["alpha"] >= 5

        if with_pip:
            for html_only in (False, True):
                fake.force_html = html_only
                with tempfile.TemporaryDirectory() as tmp:
                    subprocess.run([sys.executable, "-m", "venv", f"{tmp}/venv"], check=True)
                    env = {k: v for k, v in os.environ.items()
                           if not k.upper().startswith("PIP_") and "proxy" not in k.lower()}
                    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INPUT="1")
                    r = subprocess.run([f"{tmp}/venv/bin/python", "-m", "pip", "install",
                                        "--disable-pip-version-check", "--no-cache-dir",
                                        "--index-url", fake.index_url, "alpha"],
                                       env=env, capture_output=True, text=True)
                    assert r.returncode == 0, r.stdout + r.stderr
                    r = subprocess.run([f"{tmp}/venv/bin/python", "-c",
                                        "import alpha, beta; print(alpha.__version__, "
                                        "beta.__version__)"], capture_output=True, text=True)
                    assert r.stdout.split() == ["1.0", "1.1"], (r.stdout, r.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    ap.add_argument("--html", action="store_true", help="always answer PEP 503 HTML")
    ap.add_argument("--self-check", action="store_true",
                    help="check the fake itself and exit (add --pip to install from it with pip)")
    ap.add_argument("--pip", action="store_true", help="with --self-check: run pip against it")
    args = ap.parse_args()
    if args.self_check:
        self_check(with_pip=args.pip)
        print("fake_pypi self-check passed")
        return 0
    fake = FakePyPI()
    fake.force_html = args.html
    populate_demo(fake)
    fake.start(args.port)
    print(f"fake pypi listening on {fake.index_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
