"""The key broker (roles/qwen_code/files/qwen-key-broker.js) in front of the stub provider: streaming in every
protocol with the real key swapped in, the peer-uid check, the allow-list, HTTPS through a CONNECT proxy with a
custom CA, limits and failures, reload, the three ways it starts, and a log that never holds a secret."""
import datetime
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import counting_proxy
import stub_harness
from conftest import (BROKER, MODEL, PROMPT, SECRETS, config, fake_token, free_port, route, secret,
                      wait_health)

pytestmark = pytest.mark.root

CHAT = json.dumps({"model": MODEL, "stream": True, "messages": [{"role": "user", "content": PROMPT}]})
RESPONSES = json.dumps({"model": MODEL, "stream": True, "input": PROMPT})
MESSAGES = json.dumps({"model": MODEL, "max_tokens": 16, "stream": True,
                       "messages": [{"role": "user", "content": PROMPT}]})
GEMINI = json.dumps({"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]})


class Tokens:
    def __init__(self):
        for name in ("oai", "oresp", "anth", "gem", "vtx", "b_oai", "echo", "hold", "cut", "stall", "refused",
                     "limited"):
            setattr(self, name, secret(fake_token()))


@pytest.fixture(scope="module")
def tokens():
    return Tokens()


@pytest.fixture(scope="module")
def main_broker(brokers, accounts, stub, keys, tokens, misbehaving):
    a, b = accounts["qwb-test-a"][0], accounts["qwb-test-b"][0]
    mis = "http://127.0.0.1:%d" % misbehaving.port
    routes = [
        route(tokens.oai, a, "oai", "openai", stub.url, keys.openai, "alice"),
        route(tokens.oresp, a, "oresp", "openai-responses", stub.url, keys.openai, "alice"),
        route(tokens.anth, a, "anth", "anthropic", stub.base, keys.anthropic, "alice"),
        route(tokens.gem, a, "gem", "gemini", stub.base, keys.gemini, "alice"),
        route(tokens.vtx, a, "vtx", "vertex-ai", stub.base, keys.vertex, "alice"),
        route(tokens.b_oai, b, "oai", "openai", stub.url, keys.openai, "bob"),
        route(tokens.echo, a, "echo", "gemini", mis + "/echo", keys.gemini, "alice"),
    ]
    return brokers("main", config(routes, limits={"max_streams": 400, "max_streams_per_user": 300}))


def stub_count(stub):
    return len(stub.requests())


def bearer(token):
    return {"Authorization": "Bearer " + token, "Content-Type": "application/json"}


# --- basics ------------------------------------------------------------------------------------------------------

def test_health_needs_no_token(main_broker, client):
    r = client.one(main_broker, "GET", "/_broker/health", user="qwb-test-b")
    assert r["status"] == 200 and json.loads(r["body"]) == {"ok": True, "routes": 7}


STREAMS = {
    # protocol: (path, headers(token), body, what the streamed answer contains, key attribute, header upstream)
    "openai": ("/oai/v1/chat/completions", bearer, CHAT, "[DONE]", "openai", "authorization"),
    "openai-responses": ("/oresp/v1/responses", bearer, RESPONSES, "response.completed", "openai", "authorization"),
    "anthropic": ("/anth/v1/messages", lambda t: dict(bearer(t), **{"anthropic-version": "2023-06-01"}), MESSAGES,
                  "message_stop", "anthropic", "authorization"),
    "gemini": ("/gem/v1beta/models/m1:streamGenerateContent?alt=sse",
               lambda t: {"x-goog-api-key": t, "Content-Type": "application/json"}, GEMINI, "STOP", "gemini",
               "x-goog-api-key"),
    "vertex-ai": ("/vtx/v1beta1/publishers/google/models/m1:streamGenerateContent?alt=sse",
                  lambda t: {"x-goog-api-key": t, "Content-Type": "application/json"}, GEMINI, "STOP", "vertex",
                  "x-goog-api-key"),
}
TOKEN_OF = {"openai": "oai", "openai-responses": "oresp", "anthropic": "anth", "gemini": "gem", "vertex-ai": "vtx"}


@pytest.mark.parametrize("protocol", sorted(STREAMS))
def test_streams_with_the_real_key(protocol, main_broker, client, stub, keys, tokens):
    path, headers, body, marker, key_attr, header = STREAMS[protocol]
    before = stub_count(stub)
    r = client.one(main_broker, "POST", path, headers(getattr(tokens, TOKEN_OF[protocol])), body)
    assert r["status"] == 200, r
    assert r["error"] is None and marker in r["body"]
    assert "text/event-stream" in r["headers"]["content-type"]
    seen = stub.requests()[before:]
    assert len(seen) == 1 and seen[0]["auth_ok"] and seen[0]["status"] == 200
    assert seen[0]["key_index"] == keys.all().index(getattr(keys, key_attr))  # the real key, not the token
    assert seen[0]["key_header"] == header


def test_gemini_token_in_the_key_parameter(main_broker, client, stub, keys, tokens):
    before = stub_count(stub)
    r = client.one(main_broker, "POST", "/gem/v1beta/models/m1:generateContent?key=" + tokens.gem,
                   {"Content-Type": "application/json"}, GEMINI)
    assert r["status"] == 200, r
    seen = stub.requests()[before:]
    assert [(s["key_index"], s["key_header"]) for s in seen] == [(keys.all().index(keys.gemini), "x-goog-api-key")]


def test_models_lists_pass(main_broker, client, tokens):
    assert client.one(main_broker, "GET", "/oai/v1/models", bearer(tokens.oai))["status"] == 200
    r = client.one(main_broker, "GET", "/anth/v1/models", dict(bearer(tokens.anth), **{"anthropic-version": "1"}))
    assert r["status"] == 200
    assert client.one(main_broker, "GET", "/gem/v1beta/models", {"x-goog-api-key": tokens.gem})["status"] == 200


def test_headers_and_query_sent_upstream(main_broker, client, misbehaving, keys, tokens):
    """The key parameter, the client's credentials and cookies are dropped; other headers pass unchanged."""
    r = client.one(main_broker, "POST", "/echo/echo/v1beta/models/m1:countTokens?alt=sse&key=%s&x=1" % tokens.echo,
                   {"Cookie": "session=1", "X-Custom": "kept", "Authorization": "Bearer " + tokens.echo,
                    "Content-Type": "application/json", "Connection": "keep-alive, X-Hop", "X-Hop": "dropped"},
                   GEMINI)
    assert r["status"] == 200, r
    seen = [s for s in misbehaving.seen if s["path"].startswith("/echo/")][-1]
    assert seen["path"] == "/echo/v1beta/models/m1:countTokens?alt=sse&x=1"
    h = seen["headers"]
    assert h["x-goog-api-key"] == keys.gemini and h["x-custom"] == "kept" and h["content-type"] == "application/json"
    assert h["host"] == "127.0.0.1:%d" % misbehaving.port
    for gone in ("cookie", "authorization", "x-hop", "x-api-key"):
        assert gone not in h
    assert tokens.echo not in json.dumps(seen)


# --- who may ask -------------------------------------------------------------------------------------------------

def test_token_from_another_account(main_broker, client, stub, tokens):
    before = stub_count(stub)
    for user in ("qwb-test-b", None):  # another account, and root
        r = client.one(main_broker, "POST", "/oai/v1/chat/completions", bearer(tokens.oai), CHAT, user=user)
        assert r["status"] == 403 and "token not valid for this account" in r["body"]
        assert json.loads(r["body"])["error"]["type"] == "broker_error"
    r = client.one(main_broker, "POST", "/oai/v1/chat/completions", bearer(tokens.b_oai), CHAT, user="qwb-test-b")
    assert r["status"] == 200  # b's own token works for b
    assert stub_count(stub) == before + 1


def test_unknown_or_missing_token(main_broker, client, stub):
    before = stub_count(stub)
    assert client.one(main_broker, "POST", "/oai/v1/chat/completions", bearer(fake_token()), CHAT)["status"] == 401
    assert client.one(main_broker, "POST", "/oai/v1/chat/completions", {}, CHAT)["status"] == 401
    assert stub_count(stub) == before


@pytest.mark.parametrize("method,path,status", [
    ("POST", "/oai/v1/files", 403),
    ("POST", "/oai/v1/batches", 403),
    ("POST", "/oai/v1/fine_tuning/jobs", 403),
    ("GET", "/oai/v1/organization/admin_api_keys", 403),
    ("DELETE", "/oai/v1/models/m1", 403),
    ("GET", "/oai/v1/chat/completions", 403),
    ("POST", "/oai/v1/../v1/chat/completions", 400),
    ("POST", "/oai/v1/./chat/completions", 400),
    ("POST", "/oai/v1/%2e%2e/v1/chat/completions", 400),
    ("POST", "/oai/v1/chat%2Fcompletions", 400),
    ("POST", "/oai/v1//chat/completions", 400),
    ("POST", "/oai/v1\\chat/completions", 400),
    ("POST", "/anth/v1/messages", 403),  # another provider's path with the oai token
    ("POST", "/oai/v1/chat/completions/", 400),
])
def test_allow_list(method, path, status, main_broker, client, stub, tokens):
    before = stub_count(stub)
    r = client.one(main_broker, method, path, bearer(tokens.oai), CHAT)
    assert r["status"] == status, r
    if status == 403 and not path.startswith("/anth"):
        assert "not an endpoint allowed by the broker" in r["body"]
    assert stub_count(stub) == before


def test_pure_functions(node):
    script = """
    const b = require(%s);
    const out = {
      anth: b.authHeaderFor('anthropic', 'api.anthropic.com', 'K'), apex: b.authHeaderFor('anthropic', 'anthropic.com', 'K'),
      other: b.authHeaderFor('anthropic', 'anthropic.com.example', 'K'), oai: b.authHeaderFor('openai', 'x', 'K'),
      gem: b.authHeaderFor('gemini', 'x', 'K'),
      np: [b.bypassesProxy(['example.com'], 'api.example.com'), b.bypassesProxy(['example.com'], 'notexample.com'),
           b.bypassesProxy(['*'], 'x')],
      hex: [b.procHex('127.0.0.1'), b.procHex('::ffff:127.0.0.1')],
      strip: b.stripKeyParam('alt=sse&key=abc&keyx=1'),
    };
    console.log(JSON.stringify(out));
    """ % json.dumps(BROKER)
    out = json.loads(subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout)
    assert out["anth"] == ["x-api-key", "K"] and out["apex"] == ["x-api-key", "K"]
    assert out["other"] == ["authorization", "Bearer K"] and out["oai"] == ["authorization", "Bearer K"]
    assert out["gem"] == ["x-goog-api-key", "K"]
    assert out["np"] == [True, False, True]
    little = sys.byteorder == "little"
    assert out["hex"] == (["0100007F", "0000000000000000FFFF00000100007F"] if little else
                          ["7F000001", "00000000000000000000FFFF7F000001"])
    assert out["strip"] == "?alt=sse&keyx=1"


# --- HTTPS through a CONNECT proxy ---------------------------------------------------------------------------------

def make_ca_and_leaf(directory):
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qwb test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {n: os.path.join(directory, n) for n in ("ca.pem", "cert.pem", "key.pem")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert.pem"], "wb") as f:
        f.write(leaf.public_bytes(serialization.Encoding.PEM))
    with open(paths["key.pem"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


@pytest.fixture(scope="module")
def tls_setup(tmp_path_factory, keys):
    """A TLS stub on 127.0.0.1 (certificate for localhost from a throwaway CA) and a CONNECT proxy with credentials
    that lets through localhost:<that port> only."""
    d = str(tmp_path_factory.mktemp("tls"))
    paths = make_ca_and_leaf(d)
    keyfile = os.path.join(d, "key")
    with open(os.open(keyfile, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(keys.tls + "\n")
    log = os.path.join(d, "log.jsonl")
    started = subprocess.run([sys.executable, stub_harness.STUB] +
                             stub_harness.options(0, keyfile, MODEL, log=log) +
                             ["--tls-cert", paths["cert.pem"], "--tls-key", paths["key.pem"],
                              "--port-file", os.path.join(d, "port"), "--pidfile", os.path.join(d, "pid"),
                              "--output", os.path.join(d, "output")], capture_output=True, text=True, check=False)
    assert started.returncode == 0, started.stderr
    with open(os.path.join(d, "port")) as f:
        port = int(f.read())
    password = secret("proxy-pw-" + fake_token()[4:20])
    server, counters = counting_proxy.serve(0, allowed=("localhost",), credentials="qwb:" + password, ports=(port,))
    yield {"port": port, "log": log, "ca": paths["ca.pem"], "proxy": server.server_address[1], "password": password,
           "counters": counters}
    server.shutdown()
    with open(os.path.join(d, "pid")) as f:
        os.kill(int(f.read()), signal.SIGTERM)


def tls_broker(brokers, name, accounts, keys, token, tls_setup, ca=True, password=None):
    upstream = {"https_proxy": "http://qwb:%s@127.0.0.1:%d" % (password or tls_setup["password"], tls_setup["proxy"]),
                "no_proxy": "example.invalid", "ca_file": tls_setup["ca"] if ca else ""}
    routes = [route(token, accounts["qwb-test-a"][0], "tls", "openai", "https://localhost:%d/v1" % tls_setup["port"],
                    keys.tls)]
    return brokers(name, config(routes, upstream=upstream))


def test_https_through_connect_proxy_with_ca(brokers, accounts, keys, client, tls_setup):
    token = secret(fake_token())
    b = tls_broker(brokers, "tls", accounts, keys, token, tls_setup)
    before = tls_setup["counters"].snapshot()["connections"]
    r = client.one(b, "POST", "/tls/v1/chat/completions", bearer(token), CHAT)
    assert r["status"] == 200 and "[DONE]" in r["body"], r
    snap = tls_setup["counters"].snapshot()
    assert snap["connections"] == before + 1 and snap["hosts"]["localhost"]["down"] > 0
    with open(tls_setup["log"]) as f:
        seen = [json.loads(line) for line in f if line.strip()]
    assert seen[-1]["key_index"] == 0 and seen[-1]["key_header"] == "authorization"


def test_https_without_the_ca_or_proxy_credentials_is_502(brokers, accounts, keys, client, tls_setup):
    token = secret(fake_token())
    b = tls_broker(brokers, "tls-noca", accounts, keys, token, tls_setup, ca=False)
    r = client.one(b, "POST", "/tls/v1/chat/completions", bearer(token), CHAT)
    assert r["status"] == 502 and "localhost" in r["body"], r
    b2 = tls_broker(brokers, "tls-badauth", accounts, keys, token, tls_setup, password=secret("wrong-" + fake_token()))
    unauthorized = tls_setup["counters"].snapshot()["unauthorized"]
    r = client.one(b2, "POST", "/tls/v1/chat/completions", bearer(token), CHAT)
    assert r["status"] == 502 and "407" in r["body"], r
    assert tls_setup["counters"].snapshot()["unauthorized"] == unauthorized + 1


# --- limits and failures -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def limited(brokers, accounts, stub, keys, tokens, misbehaving):
    a = accounts["qwb-test-a"][0]
    mis = "http://127.0.0.1:%d" % misbehaving.port
    routes = [route(tokens.limited, a, "oai", "openai", stub.url, keys.openai),
              route(tokens.hold, a, "hold", "openai", mis + "/hold/v1", keys.openai),
              route(tokens.cut, a, "cut", "openai", mis + "/cut/v1", keys.openai),
              route(tokens.stall, a, "stall", "openai", mis + "/stall/v1", keys.openai),
              route(tokens.refused, a, "refused", "openai", "http://127.0.0.1:%d/v1" % free_port(), keys.openai)]
    limits = {"max_body_bytes": 4000, "max_streams_per_user": 2, "headers_timeout_ms": 1500,
              "connect_timeout_ms": 1000}
    return brokers("limited", config(routes, limits=limits))


def test_oversized_body_is_413(limited, client, stub, tokens):
    before = stub_count(stub)
    big = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "x" * 5000}]})
    r = client.one(limited, "POST", "/oai/v1/chat/completions", bearer(tokens.limited), big)
    assert r["status"] == 413, r
    assert stub_count(stub) == before


def test_oversized_chunked_body_is_413(limited, tokens):
    """Chunked, no Content-Length: the broker counts while streaming and answers 413 (or closes the connection
    while the client still sends: both outcomes are accepted, and the broker's log must show the 413)."""
    code = r'''
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", %d, timeout=10)
c.putrequest("POST", "/oai/v1/chat/completions")
c.putheader("Authorization", "Bearer %s")
c.putheader("Transfer-Encoding", "chunked")
c.endheaders()
try:
    for dummy in range(10):
        c.send(b"3e8\r\n" + b"x" * 1000 + b"\r\n")
    c.send(b"0\r\n\r\n")
    print(c.getresponse().status)
except OSError as e:
    print("closed", type(e).__name__)
''' % (limited.port, tokens.limited)
    entry = pwd.getpwnam("qwb-test-a")
    out = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, user=entry.pw_uid,
                         group=entry.pw_gid, extra_groups=[], cwd="/", check=False, timeout=20)
    assert out.stdout.strip() in ("413", "closed BrokenPipeError", "closed ConnectionResetError"), out
    assert any(e.get("status") == 413 or e.get("error", "").startswith("request body over")
               for e in limited.requests())


def test_too_many_streams_per_user_is_429(limited, client, tokens):
    spec = {"port": limited.port, "method": "POST", "path": "/hold/hold/v1/chat/completions",
            "headers": bearer(tokens.hold), "body": CHAT}
    results = client.run([spec, spec, dict(spec, delay=0.5)])
    assert sorted(r["status"] for r in results) == [200, 200, 429], results
    assert all("[DONE]" in r["body"] for r in results if r["status"] == 200)


def test_slow_client_headers_are_dropped(limited):
    s = socket.create_connection(("127.0.0.1", limited.port))
    s.sendall(b"POST /oai/v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(5)
    t0 = time.monotonic()
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    assert time.monotonic() - t0 < 4.5  # closed, not left hanging
    assert data == b"" or data.startswith(b"HTTP/1.1 408")
    s.close()


def test_stalled_upstream_is_504(limited, client, tokens):
    r = client.one(limited, "POST", "/stall/stall/v1/chat/completions", bearer(tokens.stall), CHAT)
    assert r["status"] == 504 and "no response headers" in r["body"] and "127.0.0.1" in r["body"], r
    assert 1.3 < r["total"] < 4


def test_unreachable_upstream_is_502(limited, client, tokens):
    r = client.one(limited, "POST", "/refused/v1/chat/completions", bearer(tokens.refused), CHAT)
    assert r["status"] == 502 and "ECONNREFUSED" in r["body"], r
    assert json.loads(r["body"])["error"]["type"] == "broker_error"


def test_upstream_closing_mid_stream_is_a_truncation(limited, client, tokens):
    r = client.one(limited, "POST", "/cut/cut/v1/chat/completions", bearer(tokens.cut), CHAT)
    assert r["status"] == 200 and "partial" in r["body"]
    assert r["error"] == "IncompleteRead", r


def test_200_concurrent_streams(main_broker, client, tokens):
    spec = {"port": main_broker.port, "method": "POST", "path": "/oai/v1/chat/completions",
            "headers": bearer(tokens.oai), "body": CHAT, "timeout": 40}
    results = client.run([spec] * 200, timeout=90)
    assert [r["status"] for r in results] == [200] * 200, [r for r in results if r["status"] != 200][:3]
    assert all("[DONE]" in r["body"] and r["error"] is None for r in results)


# --- reload and stop -----------------------------------------------------------------------------------------------

def test_sighup_rotates_the_key_without_dropping_a_stream(brokers, accounts, client, stub, keys, misbehaving):
    a = accounts["qwb-test-a"][0]
    token, hold_token = secret(fake_token()), secret(fake_token())
    mis = "http://127.0.0.1:%d" % misbehaving.port

    def conf(key):
        return config([route(token, a, "oai", "openai", stub.url, key),
                       route(hold_token, a, "hold", "openai", mis + "/hold/v1", key)])
    b = brokers("reload", conf(keys.openai))
    spec = {"port": b.port, "method": "POST", "path": "/hold/hold/v1/chat/completions", "headers": bearer(hold_token),
            "body": CHAT}
    uid, gid = accounts["qwb-test-a"]
    from conftest import CLIENT, CLIENT_PYTHON
    holding = subprocess.Popen([CLIENT_PYTHON, "-c", CLIENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, user=uid, group=gid, extra_groups=[], cwd="/")
    holding.stdin.write(json.dumps([spec]))
    holding.stdin.close()
    deadline = time.monotonic() + 5
    while not any(s["path"].startswith("/hold/") and s["headers"].get("authorization") == "Bearer " + keys.openai
                  for s in misbehaving.seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    b.write_config(conf(keys.rotated))
    b.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while not [e for e in b.log() if e.get("event") == "reload"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e["ok"] for e in b.log() if e.get("event") == "reload"] == [True]
    before = stub_count(stub)
    r = client.one(b, "POST", "/oai/v1/chat/completions", bearer(token), CHAT)
    assert r["status"] == 200
    assert stub.requests()[before]["key_index"] == keys.all().index(keys.rotated)
    old = json.loads(holding.stdout.read())[0]
    holding.wait(10)
    assert old["status"] == 200 and old["error"] is None and "[DONE]" in old["body"]  # finished on its old route
    # a bad new config keeps the old one
    with open(b.config_path, "w") as f:
        f.write("{not json " + keys.openai)
    b.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while len([e for e in b.log() if e.get("event") == "reload"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [e["ok"] for e in b.log() if e.get("event") == "reload"] == [True, False]
    assert client.one(b, "POST", "/oai/v1/chat/completions", bearer(token), CHAT)["status"] == 200
    assert b.stop() == 0  # SIGTERM: exit 0


@pytest.mark.parametrize("broken,field", [
    ({"protocol": "smtp"}, "routes[0].protocol"),
    ({"upstream": "ftp://x"}, "routes[0].upstream"),
    ({"uid": -1}, "routes[0].uid"),
    ({"extra": 1}, "routes[0].extra"),
])
def test_bad_config_exits_2_without_the_key(broken, field, node, workdir, keys, tokens):
    r = route(tokens.oai, 1, "oai", "openai", "https://x.example/v1", keys.openai)
    r.update(broken)
    path = os.path.join(workdir, "bad.json")
    with open(path, "w") as f:
        json.dump(config([r]), f)
    out = subprocess.run([node, BROKER, "serve", "--config", path, "--listen", "127.0.0.1:%d" % free_port()],
                         capture_output=True, text=True, timeout=10, check=False)
    assert out.returncode == 2 and field in out.stderr, out
    assert keys.openai not in out.stdout + out.stderr and tokens.oai not in out.stdout + out.stderr


def test_invalid_json_config_does_not_echo_it(node, workdir, keys):
    path = os.path.join(workdir, "bad2.json")
    with open(path, "w") as f:
        f.write('{"version": 1, "routes": [{"key": "%s" x}]}' % keys.openai)
    out = subprocess.run([node, BROKER, "serve", "--config", path, "--listen", "127.0.0.1:%d" % free_port()],
                         capture_output=True, text=True, timeout=10, check=False)
    assert out.returncode == 2 and "not valid JSON" in out.stderr
    assert keys.openai not in out.stdout + out.stderr


# --- the supervisor and systemd socket activation ---------------------------------------------------------------------

def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def status_field(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].split()
    return None


def wait_for(predicate, timeout=10, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def test_supervisor(node, workdir, accounts, keys, client, stub):
    uid, gid = accounts["qwb-test-broker"]
    a = accounts["qwb-test-a"][0]
    token = secret(fake_token())
    port = free_port()
    d = os.path.join(workdir, "sup")
    os.makedirs(d, mode=0o755)
    cfg = os.path.join(d, "broker.json")
    conf = config([route(token, a, "oai", "openai", stub.url, keys.openai)])
    conf["listen"]["port"] = port
    with open(cfg, "w") as f:
        json.dump(conf, f)
    os.chown(cfg, 0, gid)
    os.chmod(cfg, 0o640)
    log, pidfile = os.path.join(d, "log", "broker.log"), os.path.join(d, "broker.pid")
    base = [node, BROKER, "supervise", "--config", cfg, "--log", log, "--pidfile", pidfile]
    refused = subprocess.run(base + ["--user", "root"], capture_output=True, text=True, timeout=10, check=False)
    assert refused.returncode == 2 and "must not be root" in refused.stderr
    not_root = subprocess.run(base + ["--user", "qwb-test-broker"], capture_output=True, text=True, timeout=10,
                              check=False, user=a, group=gid, extra_groups=[], cwd="/")
    assert not_root.returncode == 2 and "must run as root" in not_root.stderr

    sup = subprocess.Popen(base + ["--user", "qwb-test-broker"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_health(port, sup)
        with open(pidfile) as f:
            assert int(f.read()) == sup.pid
        kids = children(sup.pid)
        assert len(kids) == 1
        child = kids[0]
        assert status_field(child, "Uid") == [str(uid)] * 4 and status_field(child, "Gid") == [str(gid)] * 4
        assert status_field(child, "Groups") == []
        b = type("B", (), {"port": port})
        assert client.one(b, "POST", "/oai/v1/chat/completions", bearer(token), CHAT)["status"] == 200

        # The supervisor does not serve: with the child stopped, a connection waits in the queue, unanswered.
        os.kill(child, signal.SIGSTOP)
        r = client.one(b, "GET", "/_broker/health", timeout=1.5)
        assert r["status"] is None and "timed out" in r["error"], r
        os.kill(child, signal.SIGCONT)
        assert client.one(b, "GET", "/_broker/health")["status"] == 200

        os.kill(child, signal.SIGKILL)
        t0 = time.monotonic()
        new = wait_for(lambda: [p for p in children(sup.pid) if p != child], timeout=8)
        assert new, "the child was not restarted"
        wait_health(port, timeout=8)
        assert time.monotonic() - t0 < 5
        assert client.one(b, "POST", "/oai/v1/chat/completions", bearer(token), CHAT)["status"] == 200

        os.kill(sup.pid, signal.SIGHUP)

        def reloaded():
            with open(log) as f:
                return [line for line in f if '"event":"reload"' in line]
        assert wait_for(reloaded, timeout=5)
        assert os.stat(log).st_mode & 0o777 == 0o640
        with open(log) as f:
            text = f.read()
        assert '"endpoint":"chat/completions"' in text and keys.openai not in text and token not in text
    finally:
        sup.send_signal(signal.SIGTERM)
        sup.wait(20)
    assert sup.returncode == 0
    assert not os.path.exists(pidfile)
    assert wait_for(lambda: not os.path.exists("/proc/%d" % new[0]) or
                    status_field(new[0], "State")[0] == "Z", timeout=5)


def test_two_supervisors_at_once_one_port(node, workdir, accounts, keys, stub):
    """Two supervisors started together on one port (two containers with --network host): one serves, the other
    exits 1 before it writes its pidfile (the entrypoint then tries the next port). bind() alone would let both
    through (SO_REUSEADDR, neither listening yet), and the loser's clients would reach the winner's broker."""
    a = accounts["qwb-test-a"][0]
    port = free_port()
    procs = []
    for name in ("one", "two"):
        d = os.path.join(workdir, "race-" + name)
        os.makedirs(d, mode=0o755)
        cfg = os.path.join(d, "broker.json")
        conf = config([route(secret(fake_token()), a, "oai", "openai", stub.url, keys.openai)])
        conf["listen"]["port"] = port
        with open(cfg, "w") as f:
            json.dump(conf, f)
        os.chmod(cfg, 0o640)
        os.chown(cfg, 0, accounts["qwb-test-broker"][1])
        procs.append((os.path.join(d, "broker.pid"), [node, BROKER, "supervise", "--config", cfg, "--user",
                                                      "qwb-test-broker", "--log", os.path.join(d, "broker.log"),
                                                      "--pidfile", os.path.join(d, "broker.pid")]))
    started = [(pidfile, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
               for pidfile, cmd in procs]
    try:
        wait_health(port)
        assert wait_for(lambda: sum(p.poll() is not None for pidfile, p in started) == 1, timeout=8), \
            "both supervisors still run on one port"
        (lost_pidfile, lost), = [(f, p) for f, p in started if p.poll() is not None]
        assert lost.returncode == 1 and "cannot" in lost.stderr.read(), lost.returncode
        assert not os.path.exists(lost_pidfile)
        (won_pidfile, won), = [(f, p) for f, p in started if p.poll() is None]
        with open(won_pidfile) as f:
            assert int(f.read()) == won.pid
    finally:
        for pidfile, p in started:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(20)


def test_systemd_socket_activation(node, workdir, accounts, keys, client, stub):
    token = secret(fake_token())
    a = accounts["qwb-test-a"][0]
    cfg = os.path.join(workdir, "systemd.json")
    with open(cfg, "w") as f:
        json.dump(config([route(token, a, "oai", "openai", stub.url, keys.openai)]), f)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    out = open(os.path.join(workdir, "systemd.stdout"), "wb")
    pid = os.fork()
    if pid == 0:  # the child: fd 3 is the socket, LISTEN_PID its own pid, then node in its place
        try:
            os.dup2(sock.fileno(), 3)
            os.dup2(out.fileno(), 1)
            env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()))
            os.execve(node, [node, BROKER, "serve", "--config", cfg], env)
        finally:
            os._exit(127)
    sock.close()
    out.close()
    try:
        wait_health(port)
        b = type("B", (), {"port": port})
        assert client.one(b, "POST", "/oai/v1/chat/completions", bearer(token), CHAT)["status"] == 200
        with open(os.path.join(workdir, "systemd.stdout")) as f:
            start = json.loads(f.readline())
        assert start["event"] == "start" and start["how"] == "systemd" and start["routes"] == 1
    finally:
        os.kill(pid, signal.SIGTERM)
        dummy, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# --- the log ---------------------------------------------------------------------------------------------------------

def test_log_lines_hold_no_secret(brokers, main_broker, workdir):
    """One line per request, with the fields of the brief; no key, token, proxy password or prompt in any output."""
    entries = main_broker.requests()
    assert len(entries) >= 200
    for e in entries:
        assert {"ts", "user", "uid", "provider", "endpoint", "method", "status", "bytes_in", "bytes_out",
                "ms"} <= set(e)
    assert any(e["endpoint"] == "chat/completions" and e["status"] == 200 and e["user"] == "alice" for e in entries)
    assert any(e["status"] == 403 and e["user"] == "alice" and e["uid"] is not None for e in entries)
    texts = []
    for name in os.listdir(workdir):
        if name.endswith((".stdout", ".stderr")):
            with open(os.path.join(workdir, name)) as f:
                texts.append((name, f.read()))
    for sup_log in [os.path.join(workdir, "sup", "log", "broker.log")]:
        if os.path.exists(sup_log):
            with open(sup_log) as f:
                texts.append(("supervisor", f.read()))
    assert len(texts) >= 5
    for name, text in texts:
        for s in SECRETS + [PROMPT]:
            assert s not in text, "%s holds a secret or the prompt" % name


@pytest.mark.parametrize("protocol, base, method, path, allowed", [
    # model ids as qwen sends them, with a slash (qwen/qwen3-coder)
    ("gemini", "", "POST", "/v1beta/models/qwenops/stub-coder:streamGenerateContent", True),
    ("gemini", "", "POST", "/v1beta/models/gemini-2.5-pro:countTokens", True),
    ("gemini", "", "POST", "/v1beta/models/m:deleteEverything", False),
    ("gemini", "", "POST", "/v1beta/files", False),
    ("vertex-ai", "", "POST", "/v1beta1/publishers/google/models/qwen/coder:generateContent", True),
    ("vertex-ai", "", "POST", "/v1beta1/publishers/qwen/models/coder:streamGenerateContent", True),
    ("vertex-ai", "", "POST", "/v1beta1/projects/p/locations/l/batchPredictionJobs", False),
    ("openai", "/api/v1", "GET", "/api/v1/models/qwen/qwen3-coder", True),
    ("openai", "/api/v1", "POST", "/api/v1/chat/completions", True),
    ("openai", "/api/v1", "POST", "/api/v1/responses", True),  # an openai entry may have wireApi responses
    ("openai-responses", "/v1", "POST", "/v1/responses", True),
    ("openai", "/api/v1", "POST", "/v1/chat/completions", False),  # outside the endpoint's path
    ("anthropic", "", "POST", "/v1/messages/count_tokens", True),
    ("anthropic", "", "POST", "/v1/messages/batches", False),
])
def test_the_allow_list_by_protocol(node, protocol, base, method, path, allowed):
    script = """
    const b = require(%s);
    const hit = b.allowList(%s, %s).some(([m, re]) => m === %s && re.test(%s));
    console.log(JSON.stringify(hit));
    """ % tuple(json.dumps(v) for v in (BROKER, protocol, base, method, path))
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) is allowed
