#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/ (run from anywhere; rewrites the seeds it
makes, leaves other files, e.g. crash reproducers, alone). The TUF seeds are made by
fuzz_tuf itself (see the end)."""
import base64, hashlib, io, json, os, struct, subprocess, sys, tempfile, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data)


def sha(data):
    return hashlib.sha256(data).hexdigest()


# ---- versions and specifiers -------------------------------------------------------------
write("version", "simple", ">=1.0,<2.0\n1.0\n1.0.0\n1.5\n2.0rc1\n")
write("version", "spellings", "~=2.2\nv1.0RC1\n1.0.post-2\n1.0-1\n2!1.0+local.7\n1.0.dev0\n1.0a1.post2.dev3\n")
write("version", "wildcards", "==1.0.*,!=1.0.5\n1.0\n1.0.5\n1.0.5+abc\n1.1\n")
write("version", "arbitrary", "===weird\nweird\n1.0\n")
write("version", "local", "<=1.0+local\n1.0+local.1\n1.0+LOCAL-01\n1.0+local_1\n0!1.0\n")
write("version", "large", ">18446744073709551615\n18446744073709551616\n1.2.3.4.5.6.7.8.9.10\n")

# ---- filenames ---------------------------------------------------------------------------
write("filename", "wheel", "sample-project\nsample_project-1.0-py3-none-any.whl")
write("filename", "wheel_build", "sample-project\nsample_project-1.0-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl")
write("filename", "sdist", "sample-project\nsample-project-1.0.tar.gz")
write("filename", "sdist_dashes", "foo-bar\nfoo-bar-1.0-r1.zip")
write("filename", "sdist_nohint", "\nSample.Project-2.0rc1.tar.bz2")
write("filename", "egg", "sample-project\nsample_project-1.0-py3.11.egg")
write("filename", "unsafe", "sample-project\n../sample_project-1.0.tar.gz")

# ---- upstream pages ----------------------------------------------------------------------
whl, sd = b"wheel bytes", b"sdist bytes"
files = [
    {"filename": "sample_project-1.0-py3-none-any.whl",
     "url": "https://files.example/packages/ab/cd/sample_project-1.0-py3-none-any.whl",
     "hashes": {"sha256": sha(whl), "md5": "00"}, "requires-python": ">=3.8",
     "core-metadata": {"sha256": sha(b"metadata")}, "data-dist-info-metadata": {"sha256": sha(b"metadata")},
     "size": len(whl), "upload-time": "2026-03-01T10:00:00.123456Z", "yanked": False},
    {"filename": "sample-project-1.0.tar.gz", "url": "../../packages/sample-project-1.0.tar.gz",
     "hashes": {"sha256": sha(sd)}, "requires-python": None, "size": len(sd),
     "upload-time": "2026-03-01T10:00:01Z", "yanked": "broken build", "core-metadata": True},
    {"filename": "sample_project-2.0-py3-none-any.whl", "url": "http://mirror.example/x.whl",
     "hashes": {"sha256": sha(b"2.0")}, "size": 3, "upload-time": "2026-03-20T00:00:00Z"},
]
write("simple_json", "page", json.dumps({"meta": {"api-version": "1.1", "_last-serial": 7},
                                         "name": "sample-project", "files": files,
                                         "versions": ["1.0", "2.0"]}, indent=1))
write("simple_json", "status", json.dumps({"meta": {"api-version": "1.4"}, "name": "Sample_Project",
                                           "project-status": {"status": "quarantined", "reason": "malware report"},
                                           "files": files[:1]}))
write("simple_json", "skipped", json.dumps({"meta": {"api-version": "1.0"}, "files": [
    {"filename": "../evil.whl", "url": "https://x/evil.whl", "hashes": {"sha256": sha(b"e")}},
    {"filename": "other-1.0-py3-none-any.whl", "url": "https://x/o.whl", "hashes": {"sha256": sha(b"o")}},
    {"filename": "sample_project-3.0.tar.gz", "url": "ftp://x/s.tar.gz", "hashes": {"sha256": sha(b"s")}},
    {"filename": "sample_project-3.0.zip", "url": "https://x/s.zip", "hashes": {"sha256": "XYZ"}},
    {"filename": "sample_project-3.0.tar.gz", "url": "https://x/s.tar.gz", "hashes": {"sha256": sha(b"s")},
     "size": -1}, 7, None]}))
html = f"""<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.1">
    <meta name="pypi:project-status" content="archived">
    <meta name="pypi:project-status-reason" content="moved &amp; renamed">
    <title>Links for sample-project</title>
  </head>
  <body>
    <h1>Links for sample-project</h1>
    <a href="https://files.example/packages/sample_project-1.0-py3-none-any.whl#sha256={sha(whl)}" data-requires-python="&gt;=3.8" data-core-metadata="sha256={sha(b'metadata')}">sample_project-1.0-py3-none-any.whl</a><br/>
    <a href="../../packages/sample-project-1.0.tar.gz#sha256={sha(sd)}" data-yanked="broken &#x27;build&#39;" data-dist-info-metadata="true">sample-project-1.0.tar.gz</a><br/>
    <A HREF='/x/sample_project-2.0-py3-none-any.whl#sha256={sha(b"2.0")}' data-yanked>sample_project-2.0-py3-none-any.whl</A>
    <script>document.write("<a href='x'>")</script>
    <!-- <a href="commented.whl">commented</a> -->
  </body>
</html>
"""
write("simple_html", "page", html)
write("simple_html", "minimal", f'<a href="/f/sample_project-1.0.zip#sha256={sha(sd)}">sample_project-1.0.zip</a>')
write("simple_html", "entities", f'<a href="x#sha256={sha(sd)}" data-requires-python="&lt;4,&#62;=3&#x2C;">sample&#45;project&#x2d;1.0.tar.gz</a>')

# ---- wheels ------------------------------------------------------------------------------
def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED, comment=b"", force_zip64=False):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as z:
        for name, content in entries:
            with z.open(zipfile.ZipInfo(name, (2026, 3, 1, 0, 0, 0)), "w", force_zip64=force_zip64) as f:
                f.write(content)
        z.comment = comment
    return buffer.getvalue()

dist = "sample_project-1.0.dist-info/"
wheel_files = [("sample_project/__init__.py", b"print('hi')\n" * 20), (dist + "METADATA", b"Name: sample-project\n"),
               (dist + "RECORD", b"")]
write("wheel", "deflated_pth", zip_bytes(wheel_files + [("sample_project.pth", b"import os; os.system('x')\n")]))
write("wheel", "stored_data_pth", zip_bytes(wheel_files + [("sample_project-1.0.data/purelib/a.pth", b"\xef\xbb\xbf./lib\r\nimport\tx\n")],
                                            zipfile.ZIP_STORED, b"a comment"))
write("wheel", "zip64", zip_bytes(wheel_files, zipfile.ZIP_STORED, force_zip64=True))

# ---- OSV records (small hand-written ones; the shared fixtures are read as more seeds) -----
def osv(**fields):
    return json.dumps({"id": "OSV-2026-1", "modified": "2026-01-02T03:04:05Z", **fields}, indent=1)

def pypi_entry(name, ranges=(), versions=()):
    return {"package": {"ecosystem": "PyPI", "name": name}, "ranges": list(ranges), "versions": list(versions)}

write("osv", "malicious", osv(id="MAL-2026-1", summary="Malicious code in sample-project (PyPI)",
                              published="2026-01-01T00:00:00Z",
                              affected=[pypi_entry("Sample_Project", [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}])]))
write("osv", "versions", osv(aliases=["PYSEC-2026-1", "MAL-2026-2"], details="\nFirst line\nsecond",
                             affected=[pypi_entry("demo", versions=["1.0", "1.0.1", "legacy-x"]),
                                       pypi_entry("DEMO", versions=["2.0rc1"]),
                                       {"package": {"ecosystem": "npm", "name": "demo"}, "versions": ["1.0.0"]}]))
write("osv", "ranges", osv(modified="2026-09-11T22:18:16.608996949Z", withdrawn="2026-09-12T00:00:00+02:00",
                           severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N"},
                                     {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
                           affected=[pypi_entry("demo", [
                               {"type": "ECOSYSTEM", "events": [{"fixed": "2.5"}, {"introduced": "2.0"}, {"introduced": "1.0"}, {"fixed": "1.5"}]},
                               {"type": "ECOSYSTEM", "events": [{"introduced": "3.0"}, {"last_affected": "3.2"}, {"limit": "4.0"}]},
                               {"type": "GIT", "repo": "https://example.invalid/r", "events": [{"introduced": "abc"}]},
                               {"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.0"}]}])]))
write("osv", "database_severity", osv(summary="a\u0007b\u202ec\n" + "x" * 320, database_specific={"severity": "MODERATE"},
                                      affected=[pypi_entry("demo", [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1!0.5.post1"}]}])]))
write("osv", "cvss30", osv(severity=[{"type": "CVSS_V3", "score": "CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O"}]))

# ---- Sigstore pieces (selector byte, then the bytes) -------------------------------------
def der(tag, content):
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content

write("sigstore", "der_sequence", b"\x00" + der(0x30, der(0x06, b"\x2b\x06\x01") + der(0x04, b"x" * 200) + der(0x0c, b"caf\xc3\xa9")))
write("sigstore", "utf8", b"\x01" + der(0x0c, "https://github.com/owner/project/.github/workflows/release.yml@refs/tags/v1".encode()))
sct = struct.pack(">B32sQH", 0, b"L" * 32, 1700000000000, 0) + bytes([4, 3]) + struct.pack(">H", 8) + b"\x30\x06\x02\x01\x01\x02\x01\x01"
sct_list = struct.pack(">H", len(sct) + 2) + struct.pack(">H", len(sct)) + sct
write("sigstore", "sct_list", b"\x02" + der(0x04, sct_list))
note = "rekor.sigstore.dev - 1193050959916656506\n12345\n" + base64.b64encode(b"R" * 32).decode() + "\n\n" \
       "\u2014 rekor.sigstore.dev " + base64.b64encode(b"\x01\x02\x03\x04" + b"S" * 64).decode() + "\n"
write("sigstore", "note", b"\x03" + note.encode())
write("sigstore", "base64", b"\x04" + base64.b64encode(b"hello world!?"))
write("sigstore", "int64", b"\x04" + b"9223372036854775807")
body = {"apiVersion": "0.0.1", "kind": "dsse", "spec": {
    "envelopeHash": {"algorithm": "sha256", "value": "00" * 32},
    "payloadHash": {"algorithm": "sha256", "value": "00" * 32},
    "signatures": [{"signature": base64.b64encode(b"sig").decode(),
                    "verifier": base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n").decode()}]}}
write("sigstore", "rekor_body", b"\x05" + json.dumps(body).encode())
if os.path.exists(os.path.join(CORPUS, "sigstore", "certificate")):
    pass  # made once; a new key each run would only churn the corpus
else:
  try:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", os.path.join(tmp, "k"), "-out", os.path.join(tmp, "c"), "-outform", "DER",
                        "-subj", "/O=sigstore.dev/CN=sigstore-intermediate", "-days", "1",
                        "-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=codeSigning",
                        "-addext", "subjectAltName=URI:https://github.com/owner/project/.github/workflows/release.yml@refs/tags/v1",
                        "-addext", "1.3.6.1.4.1.57264.1.1=ASN1:UTF8String:https://token.actions.githubusercontent.com"],
                       check=True, capture_output=True)
        cert = open(os.path.join(tmp, "c"), "rb").read()
        write("sigstore", "certificate", b"\x07" + cert)
        subprocess.run(["openssl", "pkey", "-in", os.path.join(tmp, "k"), "-pubout", "-outform", "DER",
                        "-out", os.path.join(tmp, "p")], check=True, capture_output=True)
        write("sigstore", "public_key", b"\x08" + open(os.path.join(tmp, "p"), "rb").read())
  except (OSError, subprocess.CalledProcessError) as e:
    print("openssl seeds skipped:", e, file=sys.stderr)

# ---- provenance (the shape of PyPI's; the shared fixtures are read as more seeds) --------
b64 = lambda b: base64.b64encode(b).decode()
statement = json.dumps({"_type": "https://in-toto.io/Statement/v1",
                        "subject": [{"name": "sample_project-1.0.tar.gz", "digest": {"sha256": sha(sd)}}],
                        "predicateType": "https://docs.pypi.org/attestations/publish/v1", "predicate": None})
attestation = {"version": 1,
               "verification_material": {"certificate": b64(b"\x30\x03\x02\x01\x01"), "transparency_entries": [{
                   "logIndex": "123", "logId": {"keyId": b64(b"K" * 32)},
                   "kindVersion": {"kind": "dsse", "version": "0.0.1"}, "integratedTime": "1700000000",
                   "inclusionPromise": {"signedEntryTimestamp": b64(b"\x30\x06\x02\x01\x01\x02\x01\x01")},
                   "inclusionProof": {"logIndex": "122", "rootHash": b64(b"H" * 32), "treeSize": "200",
                                      "hashes": [b64(b"a" * 32), b64(b"b" * 32)],
                                      "checkpoint": {"envelope": note}},
                   "canonicalizedBody": b64(json.dumps(body).encode())}]},
               "envelope": {"statement": b64(statement.encode()), "signature": b64(b"\x30\x06\x02\x01\x01\x02\x01\x01")}}
write("provenance", "attestation", json.dumps(attestation, indent=1))
publisher = {"kind": "GitHub", "repository": "owner/project", "workflow": "release.yml", "environment": None}
write("provenance", "provenance", json.dumps({"version": 1, "attestation_bundles": [
    {"publisher": publisher, "attestations": [attestation]}]}))
write("provenance", "publisher_gitlab", json.dumps({"kind": "GitLab", "repository": "group/project",
                                                    "workflow_filepath": ".gitlab-ci.yml", "environment": "prod"}))
write("provenance", "publisher_google", json.dumps({"kind": "Google", "email": "sa@project.iam.gserviceaccount.com"}))

# ---- configuration -----------------------------------------------------------------------
with open(os.path.join(HERE, "..", "..", "deploy", "airlock.toml")) as f:
    write("config", "deploy", f.read())
write("config", "minimal", '[server]\nlisten = "127.0.0.1:3141"\n')
write("config", "full", """[server]
listen = "[::1]:0"
threads = 4
request_timeout = "10s"
idle_timeout = "1m"
max_connections = 100

[upstream]
index = "http://127.0.0.1:8080/simple/"
timeout = "30s"
refresh = "0s"

[storage]
path = "/var/lib/airlock"
map_size = "4GiB"

[policy]
quarantine = "7d"
on_upstream_removal = "keep"
history_horizon = "30d"

[[policy.rule]]
project = "internal-*"
quarantine = "0s"

[[policy.rule]]
project = "requests"
version = ">=2.0,<3"
action = "block"

[[policy.rule]]
project = "litellm"
require_provenance = true

[provenance]
trusted_root = "/etc/airlock/trusted_root.json"

[auth]
index_requires_token = true
""")
write("config", "errors", 'server.lisen = 1\n[upstream]\nindex = "ftp://x"\ntimeout = "0s"\n[storage]\nmap_size = -1\n')

# ---- HTTP requests (alk_FUZZTOKEN: the admin token; FUZZSHA: the sha256 of the 1.0 wheel) -
crlf = lambda *lines: "\r\n".join(lines) + "\r\n\r\n"
write("http", "index_html", crlf("GET /simple/ HTTP/1.1", "Host: airlock", "Accept: text/html"))
write("http", "project_json", crlf("GET /simple/sample-project/ HTTP/1.1", "Host: airlock",
                                   "Accept: application/vnd.pypi.simple.v1+json;q=0.9, text/html;q=0.1, */*;q=0"))
write("http", "project_redirect", crlf("HEAD /simple/Sample.Project HTTP/1.1", "Host: airlock"))
write("http", "format_param", crlf("GET /simple/sample-project/?format=application/vnd.pypi.simple.latest%2Bjson HTTP/1.0"))
write("http", "file", crlf("GET /files/FUZZSHA/sample_project-1.0-py3-none-any.whl HTTP/1.1", "Host: a")
      + crlf("GET /files/FUZZSHA/sample_project-1.0-py3-none-any.whl.metadata HTTP/1.1", "Host: a", "Connection: close"))
write("http", "pipelined", crlf("GET /-/health HTTP/1.1", "Host: a") + crlf("GET /-/metrics HTTP/1.1", "Host: a")
      + crlf("GET /integrity/sample-project/1.0/sample_project-1.0-py3-none-any.whl/provenance HTTP/1.1", "Host: a"))
write("http", "bad_path", crlf("GET /simple/%2e%2e/%00 HTTP/1.1", "Host: a"))
write("http", "tuf", crlf("GET /tuf/metadata/1.root.json HTTP/1.1", "Host: a")
      + crlf("GET /tuf/targets/files/FUZZSHA/FUZZSHA.x.whl HTTP/1.1", "Host: a"))
def api(method, path, body=None):
    lines = [f"{method} /-/api/v1/{path} HTTP/1.1", "Host: a", "Authorization: Bearer alk_FUZZTOKEN"]
    if body is None:
        return crlf(*lines)
    data = json.dumps(body)
    return crlf(*lines, "Content-Type: application/json", f"Content-Length: {len(data.encode())}") + data
write("http", "api_status", api("GET", "projects/sample-project?version=1.0") + api("GET", "queue")
      + api("GET", "audit?project=sample-project&since=7d&limit=10") + api("GET", "whoami"))
write("http", "api_decide", api("POST", "approve", {"project": "sample-project", "version": "2.0", "filename": "", "reason": "reviewed"})
      + api("POST", "block", {"project": "sample-project", "version": "", "filename": "sample-project-1.0.tar.gz", "reason": "bad"})
      + api("POST", "unblock", {"project": "sample-project", "version": "", "filename": "sample-project-1.0.tar.gz", "reason": "ok"}))
write("http", "api_tokens_snapshots", api("POST", "tokens", {"name": "ci", "role": "reader"})
      + api("POST", "snapshots", {"name": "ci-1", "prefetch": False}) + api("GET", "snapshots") + api("GET", "snapshots/ci-1")
      + crlf("GET /snapshots/ci-1/simple/sample-project/ HTTP/1.1", "Host: a"))
write("http", "basic_auth", crlf("GET /simple/ HTTP/1.1", "Host: a", "Authorization: Basic " + b64(b"user:alk_FUZZTOKEN")))
write("http", "chunked", "POST /-/api/v1/block HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer alk_FUZZTOKEN\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"pro\r\n0\r\n\r\n")

# ---- request pieces: Accept, query, path ------------------------------------------------
write("request_parts", "json", "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01\n"
      "version=1.0&format=\n/simple/Sample.Project/")
write("request_parts", "format", "*/*\nformat=application/vnd.pypi.simple.latest%2Bhtml\n/files/%41%42/x%20y.whl")
write("request_parts", "q_values", "text/*;q=0.5;level=1, TEXT/HTML;Q=1.000, application/*;q=0\nformat=text%2Fhtml\n/simple/")
write("request_parts", "tuf_target", "\n\nfiles/" + "ab" * 32 + "/" + "ab" * 32 + ".sample_project-1.0-py3-none-any.whl")

# ---- TUF: made by the target itself, which signs with keys of its own ---------------------
# AIRLOCK_FUZZ_TUF_SEEDS=tests/fuzz/corpus/tuf build-asan/tests/fuzz/fuzz_tuf
