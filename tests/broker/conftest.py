"""Fixtures of the key broker's tests: Node, throwaway accounts, the stub provider, misbehaving upstreams, brokers
started on a free loopback port, and a client run under another uid (the broker checks the peer's uid)."""
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
for _d in ("tools", "stub_provider"):
    if os.path.join(REPO, "tests", _d) not in sys.path:
        sys.path.insert(0, os.path.join(REPO, "tests", _d))

from stub_harness import LocalStub  # noqa: E402  (after the path above)

BROKER = os.path.join(REPO, "roles", "qwen_code", "files", "qwen-key-broker.js")
CLIENT_PYTHON = "/usr/bin/python3"  # readable by every account, unlike a venv under /root
USERS = ("qwb-test-a", "qwb-test-b", "qwb-test-broker")
MODEL = "m1"
PROMPT = "PROMPT-CANARY-" + secrets.token_hex(6)
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fake_key(tag):
    return "sk-qwenops-broker-TEST-%s-%s" % (tag, secrets.token_hex(8))


def fake_token():
    return "qwb-" + secrets.token_hex(24)


# Every secret the tests hand out, so the log checks can look for all of them.
SECRETS = []


def secret(value):
    SECRETS.append(value)
    return value


def node_binary():
    node = os.environ.get("QWEN_TEST_NODE") or shutil.which("node")
    if not node:
        pytest.fail("the key broker's tests need Node: set QWEN_TEST_NODE or put node on PATH")
    return node


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def node():
    return node_binary()


@pytest.fixture(scope="session")
def accounts():
    """{name: (uid, gid)} of the throwaway system accounts (created when missing)."""
    if os.geteuid() != 0:
        pytest.fail("the key broker's tests run as root: they act as other accounts for the peer-uid check")
    out = {}
    for name in USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                           check=True)
        entry = pwd.getpwnam(name)
        out[name] = (entry.pw_uid, entry.pw_gid)
    return out


@pytest.fixture(scope="session")
def workdir():
    """A directory every account can traverse (pytest's tmp_path is root-only)."""
    path = tempfile.mkdtemp(prefix="qwb-test-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Keys:
    def __init__(self):
        self.openai, self.anthropic, self.gemini = fake_key("oai"), fake_key("anth"), fake_key("gem")
        self.vertex, self.rotated, self.tls = fake_key("vtx"), fake_key("rot"), fake_key("tls")
        for k in self.all():
            secret(k)

    def all(self):
        return [self.openai, self.anthropic, self.gemini, self.vertex, self.rotated, self.tls]


@pytest.fixture(scope="session")
def keys():
    return Keys()


@pytest.fixture(scope="session")
def stub(keys, tmp_path_factory):
    """The stub provider, expecting every test key (key_index in its log says which one came)."""
    s = LocalStub(tmp_path_factory.mktemp("stub"), key="\n".join(keys.all()) + "\n", model=MODEL)
    yield s
    s.stop()


class Misbehaving(socketserver.ThreadingTCPServer):
    """An upstream that misbehaves by path: /stall/... never answers, /cut/... sends half a chunked stream and
    closes, /hold/... streams one event, waits HOLD seconds, then finishes, /echo/... answers {} at once. It records the path
    (with the query) and the headers of each request."""
    daemon_threads = True
    allow_reuse_address = True
    HOLD = 1.5

    def __init__(self):
        self.seen = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), MisbehavingHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()
        self.port = self.server_address[1]


class MisbehavingHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = self.request.recv(65536)
            if not chunk:
                break
            body += chunk
        with self.server.lock:
            self.server.seen.append({"path": path, "headers": headers})
        sse = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"

        def chunk_of(text):
            return b"%x\r\n%s\r\n" % (len(text), text)
        if path.startswith("/echo/"):
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                                 b"Connection: close\r\n\r\n{}")
        elif path.startswith("/stall/"):
            time.sleep(8)
        elif path.startswith("/cut/"):
            self.request.sendall(sse + chunk_of(b"data: {\"partial\": true}\n\n"))
            time.sleep(0.2)
            self.request.shutdown(socket.SHUT_RDWR)
        elif path.startswith("/hold/"):
            self.request.sendall(sse + chunk_of(b"data: first\n\n"))
            time.sleep(self.server.HOLD)
            self.request.sendall(chunk_of(b"data: [DONE]\n\n") + b"0\r\n\r\n")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def misbehaving():
    server = Misbehaving()
    yield server
    server.shutdown()


class Broker:
    """A broker started with `serve --listen 127.0.0.1:PORT` on a config written to workdir."""

    def __init__(self, node, workdir, name, config, extra_args=(), listen=True):
        self.node, self.name = node, name
        self.config_path = os.path.join(workdir, name + ".json")
        self.write_config(config)
        self.port = free_port()
        self.stdout = os.path.join(workdir, name + ".stdout")
        self.stderr = os.path.join(workdir, name + ".stderr")
        args = [node, BROKER, "serve", "--config", self.config_path]
        if listen:
            args += ["--listen", "127.0.0.1:%d" % self.port]
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(args + list(extra_args), stdout=out, stderr=err)
        wait_health(self.port, self.proc)

    def write_config(self, config):
        self.config = config
        tmp = self.config_path + ".tmp"
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640), "w") as f:
            json.dump(config, f)
        os.replace(tmp, self.config_path)

    def log(self):
        with open(self.stdout) as f:
            return [json.loads(line) for line in f if line.strip()]

    def requests(self):
        return [e for e in self.log() if "event" not in e and e.get("endpoint") != "health"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def wait_health(port, proc=None, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("the broker exited with %s" % proc.returncode)
        try:
            with OPENER.open("http://127.0.0.1:%d/_broker/health" % port, timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the broker did not answer on port %d" % port)


@pytest.fixture(scope="session")
def brokers(node, workdir):
    """start(name, config) -> Broker; all are stopped at the end, their stdout kept for the log checks."""
    started = []

    def start(name, config, **kw):
        b = Broker(node, workdir, name, config, **kw)
        started.append(b)
        return b
    start.all = started
    yield start
    for b in started:
        b.stop()


def route(token, uid, provider, protocol, upstream, key, user="someone"):
    return {"token": token, "uid": uid, "user": user, "provider": provider, "protocol": protocol,
            "upstream": upstream, "key": key}


def config(routes, limits=None, upstream=None):
    c = {"version": 1, "listen": {"host": "127.0.0.1", "port": 1009}, "routes": routes}
    if limits:
        c["limits"] = limits
    if upstream:
        c["upstream"] = upstream
    return c


# The client: run by /usr/bin/python3 under the account's uid; reads a JSON list of requests on stdin, runs them in
# threads (each after its "delay"), prints a JSON list of results.
CLIENT = r'''
import http.client, json, sys, threading, time
specs = json.load(sys.stdin)
results = [None] * len(specs)
def one(i, spec):
    time.sleep(spec.get("delay", 0))
    t0 = time.monotonic()
    r = {"status": None, "body": "", "error": None}
    try:
        c = http.client.HTTPConnection("127.0.0.1", spec["port"], timeout=spec.get("timeout", 20))
        body = spec.get("body")
        c.request(spec["method"], spec["path"], body=None if body is None else body.encode(),
                  headers=spec.get("headers", {}))
        resp = c.getresponse()
        r["status"] = resp.status
        r["headers"] = {k.lower(): v for k, v in resp.getheaders()}
        r["ttfb"] = time.monotonic() - t0
        data = b""
        try:
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                data += chunk
        except Exception as e:
            r["error"] = type(e).__name__
        r["body"] = data.decode("utf-8", "replace")
        c.close()
    except Exception as e:
        r["error"] = type(e).__name__ + ": " + str(e)
    r["total"] = time.monotonic() - t0
    results[i] = r
threads = [threading.Thread(target=one, args=(i, s)) for i, s in enumerate(specs)]
for t in threads:
    t.start()
for t in threads:
    t.join()
json.dump(results, sys.stdout)
'''


class Client:
    def __init__(self, accounts):
        self.accounts = accounts

    def run(self, specs, user="qwb-test-a", timeout=60):
        kwargs = {}
        if user is not None:
            uid, gid = self.accounts[user]
            kwargs = {"user": uid, "group": gid, "extra_groups": []}
        out = subprocess.run([CLIENT_PYTHON, "-c", CLIENT], input=json.dumps(specs), capture_output=True, text=True,
                             timeout=timeout, check=False, cwd="/", **kwargs)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def one(self, broker, method, path, headers=None, body=None, user="qwb-test-a", **spec):
        spec.update(port=broker.port, method=method, path=path, headers=headers or {}, body=body)
        return self.run([spec], user=user)[0]


@pytest.fixture(scope="session")
def client(accounts):
    return Client(accounts)
