"""Helpers of the unit tests: certificates made on the fly, loopback servers, and running a module the way
Ansible does. Every server here listens on 127.0.0.1 only, and every loop is bounded.

Imported as ansible_collections.qwenops.qwen_code.tests.unit.helpers (conftest.py makes that importable under
plain pytest; ansible-test's collection loader does under `ansible-test units`).
"""
import datetime
import ipaddress
import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import threading

# The collection root (= the repository root), as seen through ansible_collections/qwenops/qwen_code, and the
# directory that holds that ansible_collections tree (a module run in a subprocess needs it on PYTHONPATH).
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(REPO)))


# --- certificates -------------------------------------------------------------------------------------------

def _make_ca(name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


def _make_leaf(ca_cert, ca_key, names, expired=False):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=10 if expired else 0)
    key = ec.generate_private_key(ec.SECP256R1())
    alt = []
    for n in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            alt.append(x509.DNSName(n))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def write_tls_files(directory):
    """Write PEM files into directory and return their paths: a private CA ('ca') and, signed by it, a server
    certificate for 127.0.0.1/localhost ('cert', 'key'), one for another name ('wrong_cert', 'wrong_key') and an
    expired one ('expired_cert', 'expired_key'); a second, unrelated CA ('other_ca') with its own 127.0.0.1
    certificate ('other_cert', 'other_key') stands for a public CA of the system store."""
    from cryptography.hazmat.primitives import serialization

    ca, ca_key = _make_ca("qwenops test CA")
    other_ca, other_ca_key = _make_ca("qwenops stand-in public CA")
    items = {"ca": (ca, None), "other_ca": (other_ca, None),
             "cert": _make_leaf(ca, ca_key, ["localhost", "127.0.0.1"]),
             "wrong_cert": _make_leaf(ca, ca_key, ["provider.example"]),
             "expired_cert": _make_leaf(ca, ca_key, ["localhost", "127.0.0.1"], expired=True),
             "other_cert": _make_leaf(other_ca, other_ca_key, ["localhost", "127.0.0.1"])}
    paths = {}
    for name, (cert, key) in items.items():
        paths[name] = os.path.join(str(directory), name + ".pem")
        with open(paths[name], "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        if key is not None:
            key_name = name.replace("cert", "key")
            paths[key_name] = os.path.join(str(directory), key_name + ".pem")
            with open(paths[key_name], "wb") as f:
                f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return paths


# --- loopback servers ---------------------------------------------------------------------------------------

class _LoopbackServer:
    """A TCP server on 127.0.0.1, on a port of its own, that hands every connection to _handle(conn) in a thread of
    its own until stop(). Subclasses set their own attributes before calling __init__ (it starts serving)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn = self.sock.accept()[0]
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        raise NotImplementedError

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()


class RawServer(_LoopbackServer):
    """A TCP server on 127.0.0.1 that answers each connection with fixed bytes (or nothing) and closes it."""

    def __init__(self, answer=b"", read_first=True):
        self.answer, self.read_first = answer, read_first
        super().__init__()

    def _handle(self, conn):
        with conn:
            conn.settimeout(2)
            try:
                if self.read_first:
                    conn.recv(65536)
                conn.sendall(self.answer)
            except OSError:
                pass


class ConnectProxy(_LoopbackServer):
    """A minimal HTTP proxy on 127.0.0.1: CONNECT tunnels (to 127.0.0.1 only) and plain absolute-URI GETs are
    recorded; with `reject` it answers every request with that status line instead."""

    def __init__(self, reject=None):
        self.reject = reject
        self.requests = []
        super().__init__()
        self.url = "http://127.0.0.1:%d" % self.port

    @staticmethod
    def _read_head(conn):
        """What a client sent up to the end of its request head (and maybe more), or None when it hung up."""
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return None
            head += chunk
        return head

    def _handle(self, conn):
        conn.settimeout(5)
        try:
            head = self._read_head(conn)
            if head is not None:
                self._answer(conn, head)
        except OSError:
            pass
        finally:
            conn.close()

    def _answer(self, conn, head):
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        self.requests.append(line)
        if self.reject:
            conn.sendall(("HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % self.reject).encode())
            return
        method, target = line.split(" ")[:2]
        if method != "CONNECT":
            conn.sendall(b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        host, port = target.rsplit(":", 1)
        if host not in ("127.0.0.1", "localhost"):
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        upstream = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self._pipe(conn, upstream)

    @staticmethod
    def _pipe(a, b):
        with b:
            for dummy in range(1000):  # bounded: a check makes a handful of round trips
                readable = select.select([a, b], [], [], 5)[0]
                if not readable:
                    return
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)


# --- an OpenAI-compatible provider for provider_check ------------------------------------------------------------

PROVIDER_KEY = "sk-unit-CANARY-31f4a"
PROVIDER_MODELS = {"object": "list",
                   "data": [{"id": m} for m in ("qwen/qwen3-coder", "qwen/qwen3-coder:free", "qwen/qwen-2.5-72b",
                                                "gpt-4o")]}


def bearer_only(answer, status=200):
    """A pytest-httpserver handler that answers like a provider: 401 unless the exact bearer key is sent."""
    from werkzeug import Response

    def handler(request):
        if request.headers.get("Authorization") != "Bearer " + PROVIDER_KEY:
            return Response(json.dumps({"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}),
                            401, content_type="application/json")
        return Response(json.dumps(answer), status, content_type="application/json")
    return handler


def base(server):
    """The base URL of a provider served by a pytest-httpserver."""
    return server.url_for("/v1")


def tls_provider(tls_pair, cert="cert"):
    """A started https provider on 127.0.0.1 with the certificate cert of write_tls_files() (stop it after use)."""
    import ssl
    from pytest_httpserver import HTTPServer

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_pair[cert], tls_pair[cert.replace("cert", "key")])
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    server.expect_request("/v1/models").respond_with_handler(bearer_only(PROVIDER_MODELS))
    return server


def run_module(name, args, tmp_path, check=False, diff=False, env=None, timeout=120):
    """Runs a module of this collection the way Ansible does (a JSON args file); returns its JSON result with the
    raw output under `_raw`. A module that takes over timeout seconds fails the test (subprocess.TimeoutExpired)."""
    path = tmp_path / ("%s-args.json" % name)
    module_args = dict(args)
    module_args["_ansible_check_mode"] = check
    module_args["_ansible_diff"] = diff
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    module = os.path.join(REPO, "plugins", "modules", name + ".py")
    # QWEN_UNIT_ANSIBLE_LIB runs the modules with another ansible-core's module_utils (an unpacked wheel), for
    # example the oldest one meta/runtime.yml allows; QWEN_UNIT_MODULE_PYTHON with another Python.
    if os.environ.get("QWEN_UNIT_MODULE_PYTHON"):  # not this Python's sys.path: its stdlib is another version
        import ansible
        paths = [os.environ.get("QWEN_UNIT_ANSIBLE_LIB") or os.path.dirname(os.path.dirname(ansible.__file__)),
                 COLLECTIONS_ROOT]
    else:
        paths = [os.environ.get("QWEN_UNIT_ANSIBLE_LIB", ""), COLLECTIONS_ROOT] + sys.path
    env = dict(env or {})
    # A test's own PYTHONPATH goes first (a collection tree of its own), before the paths above: never this Python's
    # sys.path when the modules run with another Python.
    paths.insert(0, env.pop("PYTHONPATH", ""))
    run_env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in paths if p))
    run_env.update(env)
    python = os.environ.get("QWEN_UNIT_MODULE_PYTHON") or sys.executable  # e.g. the oldest target Python
    out = subprocess.run([python, module, str(path)], capture_output=True, text=True, env=run_env,
                         check=False, timeout=timeout)
    try:
        result = json.loads(out.stdout)
    except ValueError:
        raise AssertionError("module %s printed no JSON: %s %s" % (name, out.stdout, out.stderr))
    assert "Traceback" not in out.stdout + out.stderr, out.stdout + out.stderr
    result["_raw"] = out.stdout + out.stderr
    return result


def syslog_capture(tmp_path):
    """(env for run_module, path): the module runs with a syslog module of the test's own first on its path, which
    writes to path what AnsibleModule logs (its "Invoked with ..." line, as a host's journal would get it)."""
    fake = tmp_path / "fake-syslog"
    fake.mkdir()
    log = tmp_path / "syslog.log"
    (fake / "syslog.py").write_text(
        "LOG_USER, LOG_INFO = 8, 6\n"
        "def openlog(*args, **kwargs):\n    pass\n"
        "def syslog(priority, message=None):\n"
        "    with open(%r, 'a') as f:\n        f.write('%%s\\n' %% (priority if message is None else message))\n"
        % str(log))
    return {"PYTHONPATH": str(fake)}, log


# --- npm_unpack / cli_install security tests: an authenticating proxy, a umask ---------------------------------

def collection_with(tmp_path, module_util, extra_source=None):
    """Environment for run_module that runs a module with some of the collection's module_utils extended (their
    text followed by the test's own source: a table of the test's own, say): a copy of the collection tree (links) in
    which only those files are replaced, first on PYTHONPATH. module_util names one (extended by extra_source), or
    is a dict {module_util: extra_source}."""
    extended = module_util if isinstance(module_util, dict) else {module_util: extra_source}
    root = type(tmp_path)(tempfile.mkdtemp(prefix="collection-with-%s-" % "-".join(sorted(extended)),
                                           dir=str(tmp_path)))
    base = root / "ansible_collections" / "qwenops" / "qwen_code"
    utils = base / "plugins" / "module_utils"
    utils.mkdir(parents=True)
    for name in os.listdir(REPO):
        if name != "plugins":
            os.symlink(os.path.join(REPO, name), str(base / name))
    for name in os.listdir(os.path.join(REPO, "plugins")):
        if name != "module_utils":
            os.symlink(os.path.join(REPO, "plugins", name), str(base / "plugins" / name))
    for name in os.listdir(os.path.join(REPO, "plugins", "module_utils")):
        if name[:-len(".py")] not in extended:
            os.symlink(os.path.join(REPO, "plugins", "module_utils", name), str(utils / name))
    for name, source in extended.items():
        with open(os.path.join(REPO, "plugins", "module_utils", name + ".py")) as f:
            text = f.read()
        (utils / (name + ".py")).write_text(text + "\n" + source + "\n")
    return {"PYTHONPATH": str(root)}  # run_module puts it first


class AuthProxy(ConnectProxy):
    """A ConnectProxy that demands Basic proxy credentials (407 without the right ones) and records every
    Proxy-Authorization it got; besides CONNECT tunnels it forwards plain absolute-URI http:// requests to
    127.0.0.1, the way a proxy serves an http:// registry."""

    def __init__(self, user="proxy-user", password="proxy-s3cret"):
        import base64
        self.user, self.password = user, password
        self.expected = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.auth_seen = []
        super().__init__()
        self.auth_url = "http://%s:%s@127.0.0.1:%d" % (user, password, self.port)

    def _answer(self, conn, head):
        head, rest = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.requests.append(lines[0])
        headers = [h.split(":", 1) for h in lines[1:] if ":" in h]
        auth = [v.strip() for k, v in headers if k.strip().lower() == "proxy-authorization"]
        self.auth_seen.append(auth[0] if auth else None)
        if not auth or auth[0] != self.expected:
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"t\"\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        method, target = lines[0].split(" ")[:2]
        path = None
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
        elif target.startswith("http://"):
            from urllib.parse import urlsplit
            parts = urlsplit(target)
            host, port = parts.hostname, parts.port or 80
            path = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        else:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        if host not in ("127.0.0.1", "localhost"):
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        upstream = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
        if method == "CONNECT":
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            kept = ["%s:%s" % (k, v) for k, v in headers
                    if k.strip().lower() not in ("proxy-authorization", "proxy-connection", "connection")]
            request = "\r\n".join(["%s %s HTTP/1.1" % (method, path)] + kept + ["Connection: close", "", ""])
            upstream.sendall(request.encode("latin-1") + rest)
        self._pipe(conn, upstream)


class umask:  # pylint: disable=invalid-name
    """`with umask(0o077):` runs the body (and the modules it starts: a child inherits the umask) with this umask."""

    def __init__(self, mask):
        self.mask, self.old = mask, None

    def __enter__(self):
        self.old = os.umask(self.mask)
        return self

    def __exit__(self, *exc):
        os.umask(self.old)


class ScenarioServer:
    """An HTTP server on 127.0.0.1 (optionally TLS) that answers by path prefix, one prefix per scenario.

    routes maps (scenario, method, path) to (status, headers, body): a request for /<scenario><path> gets exactly that
    (body as bytes, or str sent as UTF-8; "{origin}" in a header value becomes this server's http://127.0.0.1:PORT).
    Anything else gets a JSON 404. Every request is recorded in `requests` as (scenario, method, path (with the
    query), authorization header, all headers by lower-case name, body). With an ssl.SSLContext the TLS handshake
    happens in the request's own thread.
    """

    def __init__(self, routes, context=None):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.routes, self.requests = routes, []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _answer(self):
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                sent = self.rfile.read(length) if length else b""
                scenario, dummy, rest = self.path.lstrip("/").partition("/")
                sent_headers = dict((name.lower(), value) for name, value in self.headers.items())
                owner.requests.append((scenario, self.command, "/" + rest, self.headers.get("Authorization"),
                                       sent_headers, sent))
                default = (404, [("Content-Type", "application/json")], '{"error": {"message": "no such route"}}')
                status, headers, body = owner.routes.get((scenario, self.command, "/" + rest), default)
                body = body.encode("utf-8") if isinstance(body, str) else body
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value.replace("{origin}", owner.origin))
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            do_GET = do_POST = _answer

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request, client_address):
                request.settimeout(10)
                if context is not None:
                    request = context.wrap_socket(request, server_side=True)
                super().finish_request(request, client_address)

            def handle_error(self, request, client_address):  # a client refusing the certificate is expected
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.origin = "%s://127.0.0.1:%d" % ("https" if context else "http", self.port)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def url(self, scenario, path="/v1"):
        return "%s/%s%s" % (self.origin, scenario, path)

    def hits(self, scenario):
        return [r for r in self.requests if r[0] == scenario]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
