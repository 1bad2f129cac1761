"""A hostile npm mirror on 127.0.0.1: it passes every request through to a real registry, except what it was told to
tamper with. The supply-chain tests (tests/integration/test_supply_chain.py) run it inside the container under test
and point qwen_code_npm_registry at it.

    python3 npm_mirror.py --port 18100 [--upstream https://registry.npmjs.org] [--ca FILE] [--log FILE]
        [--tamper NAME@VERSION]   serve a NAME@VERSION whose package.json gained a postinstall script, with the
                                  version document's and the packument's integrity and shasum rewritten to match
                                  (a compromised mirror that re-signs what it serves)
        [--corrupt NAME@VERSION]  serve NAME@VERSION's tarball with its bytes changed, documents untouched
        [--fail NAME@VERSION:N]   answer 503 to the first N requests for NAME@VERSION's tarball (N=0: always)
        [--background]            return once the port accepts connections (the server keeps running)

Every tarball URL in the documents it serves points at the mirror itself, so all the traffic goes through it. The
log has one JSON line per request (method, path, status, what was done to it). The postinstall script writes the
uid it ran as to /tmp/qwenops-postinstall-ran: a test that finds the file knows a script ran, and as whom.

Standard library only.
"""
import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import socket
import ssl
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POSTINSTALL = "id -u > /tmp/qwenops-postinstall-ran"


def tampered_tarball(data):
    """The tarball with a postinstall script added to package/package.json (every other member as it was)."""
    source = tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as target:
        for member in source:
            content = source.extractfile(member).read() if member.isreg() else None
            if member.name == "package/package.json":
                manifest = json.loads(content)
                manifest.setdefault("scripts", {})["postinstall"] = POSTINSTALL
                content = json.dumps(manifest, indent=2).encode()
                member.size = len(content)
            target.addfile(member, io.BytesIO(content) if content is not None else None)
    return out.getvalue()


def corrupted(data):
    """The same length, other bytes: the tarball no longer has the integrity the lock and the registry give."""
    return data[:-64] + bytes(b ^ 0xFF for b in data[-64:])


def integrity_of(data):
    return ("sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(), hashlib.sha1(data).hexdigest())


class Mirror:
    def __init__(self, upstream, ca, log, tamper, corrupt, fail):
        self.upstream = upstream.rstrip("/")
        self.context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
        self.log_path, self.lock = log, threading.Lock()
        self.tamper, self.corrupt = set(tamper), set(corrupt)
        self.fail = dict((spec.rsplit(":", 1)[0], int(spec.rsplit(":", 1)[1])) for spec in fail)
        self.failed = {}
        self.tampered = {}  # NAME@VERSION -> (tarball bytes, integrity, shasum)
        self.base = None

    def log(self, **entry):
        if self.log_path:
            with self.lock, open(self.log_path, "a") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")

    def get(self, path, accept=None):
        request = urllib.request.Request(self.upstream + path, headers={"Accept": accept or "*/*"})
        with urllib.request.urlopen(request, context=self.context, timeout=120) as resp:
            return resp.read(), resp.headers.get("Content-Type", "application/octet-stream")

    def tampered_release(self, name, version, tarball_path):
        key = "%s@%s" % (name, version)
        with self.lock:
            if key not in self.tampered:
                data = tampered_tarball(self.get(tarball_path)[0])
                self.tampered[key] = (data,) + integrity_of(data)
            return self.tampered[key]

    def rewrite_version(self, doc):
        """Points the tarball at the mirror; re-signs a tampered release."""
        dist = doc.get("dist") or {}
        if not dist.get("tarball"):
            return doc
        path = urllib.parse.urlsplit(dist["tarball"]).path
        dist["tarball"] = self.base + path
        if "%s@%s" % (doc.get("name"), doc.get("version")) in self.tamper:
            dummy, dist["integrity"], dist["shasum"] = self.tampered_release(doc["name"], doc["version"], path)
            dist.pop("signatures", None)
        return doc

    def document(self, path, accept):
        body, ctype = self.get(path, accept)
        doc = json.loads(body)
        if isinstance(doc.get("versions"), dict):  # a packument
            for version in doc["versions"].values():
                self.rewrite_version(version)
        else:  # a version document
            self.rewrite_version(doc)
        return json.dumps(doc).encode(), ctype

    def tarball(self, path):
        """(status, bytes, what was done) for a tarball path /NAME/-/FILE-VERSION.tgz."""
        name = urllib.parse.unquote(path.split("/-/", 1)[0].lstrip("/"))
        version = path.rsplit("/", 1)[1][len(name.rsplit("/", 1)[-1]) + 1:-len(".tgz")]
        key = "%s@%s" % (name, version)
        if key in self.fail:
            with self.lock:
                self.failed[key] = self.failed.get(key, 0) + 1
                failing = self.fail[key] == 0 or self.failed[key] <= self.fail[key]
            if failing:
                return 503, b"mirror unavailable\n", "failed"
        if key in self.tamper:
            return 200, self.tampered_release(name, version, path)[0], "tampered"
        data = self.get(path)[0]
        if key in self.corrupt:
            return 200, corrupted(data), "corrupted"
        return 200, data, "passed"


def make_handler(mirror):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send(self, status, body, ctype="application/octet-stream"):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = urllib.parse.urlsplit(self.path).path
            try:
                if "/-/" in path and path.endswith(".tgz"):
                    status, body, done = mirror.tarball(path)
                    ctype = "application/octet-stream"
                else:
                    body, ctype = mirror.document(path, self.headers.get("Accept"))
                    status, done = 200, "document"
            except urllib.error.HTTPError as e:
                status, body, ctype, done = e.code, e.read(), "application/json", "upstream %d" % e.code
            except Exception as e:  # the test reads the log; npm sees a server error
                status, body, ctype, done = 502, ("mirror: %s\n" % e).encode(), "text/plain", "error: %s" % e
            mirror.log(method="GET", path=path, status=status, done=done)
            self.send(status, body, ctype)

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", default="https://registry.npmjs.org")
    parser.add_argument("--ca")
    parser.add_argument("--log")
    parser.add_argument("--tamper", action="append", default=[])
    parser.add_argument("--corrupt", action="append", default=[])
    parser.add_argument("--fail", action="append", default=[])
    parser.add_argument("--background", action="store_true")
    args = parser.parse_args(argv)
    if args.background:
        if os.fork():
            deadline = time.time() + 30
            while time.time() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", args.port), timeout=1).close()
                    return 0
                except OSError:
                    time.sleep(0.1)
            print("the mirror did not start", file=sys.stderr)
            return 1
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
    mirror = Mirror(args.upstream, args.ca, args.log, args.tamper, args.corrupt, args.fail)
    mirror.base = "http://127.0.0.1:%d" % args.port
    ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(mirror)).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
