"""The image's `check` (image/check.mjs, Node) and provider_check (Python) against ONE table of stub providers.

Every row is run twice: provider_check() in this process, and `node image/check.mjs --json [--chat]` with the provider
in its environment (OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_MODEL; the key is never on a command line) and the
messages exported as image/build.yml exports them (QWEN_CHECK_MESSAGES). Both must give the row's reason and the same
message, and neither may show the canary key (QWEN_TEST_CANARY_KEY, or a default), not even in part: no 8-character
piece of it may appear, which catches a key cut in two by a snippet.

Normalised before comparing, because they cannot be identical:
- the latency of an `ok` ("answered in N ms"): two different clocks and HTTP stacks;
- the {detail} of failures below HTTP (rows with stack=True: TLS verification and handshake errors, a connection
  closed without an answer, a non-HTTP answer): it is the text of OpenSSL/ssl.py or Node's undici, which word the
  same error differently. Everything around it must still be identical, and row-specific words (`expect`) must be
  in both messages.

Node >= 20 must be on PATH: without it this test fails (a skipped parity check would pass silently).
"""
import json
import os
import re
import shutil
import socket
import ssl
import subprocess

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._provider_check import MESSAGES, key_problem, provider_check
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO, RawServer, ScenarioServer

pytestmark = pytest.mark.usefixtures("no_proxy_env")

KEY = os.environ.get("QWEN_TEST_CANARY_KEY") or "sk-qwenops-CANARY-7f3e9a1c5b2d"
PIECE = 8
PIECES = sorted({KEY[i:i + PIECE] for i in range(max(1, len(KEY) - PIECE + 1))})
CHECK_MJS = os.path.join(REPO, "image", "check.mjs")
MODEL = "qwen/qwen3-coder"
IDS = ("qwen/qwen3-coder", "qwen/qwen3-coder:free", "Qwen/Qwen3-Coder-480B-A35B-Instruct", "qwen-plus",
       "qwen3-coder-plus", "gpt-4o", "o1", "o3", "deepseek/deepseek-chat", "qwen/qwen-2.5-72b-instruct",
       "meta-llama/llama-3.1-70b-instruct", "mistralai/mistral-large", "anthropic/claude-3.5-sonnet")
PAD = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore " * 3
JSON_TYPE = [("Content-Type", "application/json")]


def models(*ids):
    return 200, JSON_TYPE, json.dumps({"object": "list", "data": [{"id": i} for i in (ids or IDS)]})


def error(status, message=None, headers=(), **fields):
    body = dict(fields)
    if message is not None:
        body["error"] = {"message": message}
    return status, JSON_TYPE + list(headers), json.dumps(body)


def text(status, body, content_type="text/plain", headers=()):
    return status, [("Content-Type", content_type)] + list(headers), body


def echo_at(position, tail=" (request id 5c1f; see the provider's status page for more)"):
    """A provider's error text with the key starting at `position`: across the 80- or 160-character cut."""
    return PAD[:position] + KEY + tail


def escaped_echo_at(position):
    """A JSON error whose message spells the key with a \\u escape: only JSON decoding reveals it."""
    body = json.dumps({"error": {"message": echo_at(position)}})
    return body.replace(KEY, "\\u%04x" % ord(KEY[0]) + KEY[1:])


OK_CHAT = (200, JSON_TYPE, json.dumps({"choices": [{"message": {"role": "assistant", "content": "pong"}}]}))
GET, POST = "GET", "POST"


def row(name, reason, routes=None, **options):
    return pytest.param(dict(options, name=name, reason=reason, routes=routes or {}), id=name)


# One row per scenario: routes are served under /<name>; base is the stub's /<name>/v1 unless given ("literal:",
# "path:" under /<name>, or a server of the `net` fixture); expect: words both messages must contain.
SCENARIOS = [
    # --- answers ---------------------------------------------------------------------------------------------
    row("ok-models", "ok", {(GET, "/v1/models"): models()}, expect=[", offers qwen/qwen3-coder."]),
    row("ok-no-model", "ok", {(GET, "/v1/models"): models()}, model=""),
    row("ok-trailing-slash", "ok", {(GET, "/v1/models"): models()}, base="path:/v1/"),
    row("ok-chat", "ok", {(GET, "/v1/models"): models(), (POST, "/v1/chat/completions"): OK_CHAT}, chat=True,
        expect=["completes a chat"]),
    row("ok-ids-not-all-strings", "ok", {(GET, "/v1/models"): (200, JSON_TYPE, json.dumps(
        {"data": [{"id": 5}, "x", None, {"name": "y"}, {"id": MODEL}]}))}),
    row("unauthorized-401-echo", "unauthorized",
        {(GET, "/v1/models"): error(401, "Incorrect API key provided: " + KEY)}, expect=["HTTP 401"]),
    row("unauthorized-403", "unauthorized", {(GET, "/v1/models"): text(403, "Forbidden")}, expect=["HTTP 403"]),
    row("not-found-no-version", "not_found", {(GET, "/models"): text(404, "Not Found")}, base="path:",
        expect=["/v1."]),
    row("not-found-endpoint-pasted", "not_found", {}, base="path:/v1/chat/completions",
        expect=["must stop before /chat/completions"]),
    row("not-found-v1", "not_found", {}),
    row("rate-limited", "rate_limited", {(GET, "/v1/models"): error(
        429, "Rate limit exceeded: free-models-per-day", headers=[("Retry-After", "30")])},
        expect=["retry after 30 s.", "It says: Rate limit exceeded"]),
    row("rate-limited-bare", "rate_limited", {(GET, "/v1/models"): text(429, "")}),
    row("server-error-text", "server_error", {(GET, "/v1/models"): text(500, "oops")}, expect=["It says: oops"]),
    row("server-error-html", "server_error", {(GET, "/v1/models"): text(
        503, "<html>\n<head><title>503 Service Temporarily Unavailable</title></head>\n<body>" + PAD + "</body>",
        "text/html")}, expect=["..."]),
    row("server-error-string-error", "server_error", {(GET, "/v1/models"): (502, JSON_TYPE, json.dumps(
        {"error": "upstream timed out"}))}, expect=["It says: upstream timed out"]),
    row("http-error-json", "http_error", {(GET, "/v1/models"): error(400, "bad request")},
        expect=["HTTP 400 (bad request)"]),
    row("http-error-code-only", "http_error", {(GET, "/v1/models"): (422, JSON_TYPE, json.dumps(
        {"error": {"code": 400, "type": "invalid"}}))}),
    row("http-error-top-message", "http_error", {(GET, "/v1/models"): (418, JSON_TYPE, json.dumps(
        {"error": None, "message": "I'm a teapot"}))}, expect=["I'm a teapot"]),
    row("http-error-201", "http_error", {(GET, "/v1/models"): (201, JSON_TYPE, "{}")}),
    row("redirect-302-credentials", "redirect", {(GET, "/v1/models"): text(302, "", headers=[(
        "Location", "https://user:pw@elsewhere.example/v1/models?api_key=" + KEY)])},
        expect=["HTTP 302", "https://elsewhere.example/v1/models?api_key=********"]),
    row("redirect-301-no-location", "redirect", {(GET, "/v1/models"): text(301, "")}, expect=["an unknown place"]),
    row("redirect-307-relative", "redirect", {(GET, "/v1/models"): text(307, "", headers=[(
        "Location", "/redirect-target/v1/models")])}, expect=["to /redirect-target/v1/models"]),
    row("redirect-308-here", "redirect", {(GET, "/v1/models"): text(308, "", headers=[(
        "Location", "{origin}/redirect-target/v1/models")])}, expect=["HTTP 308"]),
    row("bad-html", "bad_response", {(GET, "/v1/models"): text(200, "<html>login page</html>", "text/html")},
        expect=["(<html>login page</html>)"]),
    row("bad-empty", "bad_response", {(GET, "/v1/models"): text(200, "")}, expect=["(an empty answer)"]),
    row("bad-blank", "bad_response", {(GET, "/v1/models"): text(200, " \r\n\t\x0b ")}, expect=["an empty answer"]),
    row("bad-object", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, '{"object": "list"}')},
        expect=['JSON without a "data" list of models: {"object": "list"}']),
    row("bad-list", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, '[{"id": "m"}]')},
        expect=['JSON without a "data" list']),
    row("bad-data-not-a-list", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, '{"data": {"id": "m"}}')},
        expect=['JSON without a "data" list']),
    row("bad-null", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, "null")}, expect=["(null)"]),
    row("bad-nan", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, '{"data": NaN}')},
        expect=['({"data": NaN})']),
    row("bad-bom", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, "\ufeff" + models()[2])}),
    row("bad-binary", "bad_response", {(GET, "/v1/models"): text(
        200, b"\xff\xfe binary \xed\xa0\x80 x \xf0\x9f\x98 end \xc3", "application/octet-stream")},
        expect=["binary"]),
    row("bad-long-unicode", "bad_response", {(GET, "/v1/models"): text(
        200, "\u00e9t\u00e9 " * 10 + "\U0001f600" * 100)}, expect=["..."]),
    row("bad-odd-whitespace", "bad_response", {(GET, "/v1/models"): text(
        200, "a\x1cb\x85c\u00a0d\u3000e\ufeff f\u200bg\u2028h")}),
    # --- models ----------------------------------------------------------------------------------------------
    row("model-typo", "model_not_found", {(GET, "/v1/models"): models()}, model="qwen/qwen3-codr",
        expect=["'qwen/qwen3-codr'", "close matches: qwen/qwen3-coder"]),
    row("model-substring", "model_not_found", {(GET, "/v1/models"): models()}, model="qwen3-coder"),
    row("model-case", "model_not_found", {(GET, "/v1/models"): models()}, model="QWEN/QWEN3-CODER"),
    row("model-gpt4o", "model_not_found", {(GET, "/v1/models"): models()}, model="gpt4o", expect=["gpt-4o"]),
    row("model-llama", "model_not_found", {(GET, "/v1/models"): models()}, model="llama-3-70b"),
    row("model-claude", "model_not_found", {(GET, "/v1/models"): models()}, model="claude-3-5-sonnet"),
    row("model-deepseek", "model_not_found", {(GET, "/v1/models"): models()}, model="deepseek-chat-v3"),
    row("model-short", "model_not_found", {(GET, "/v1/models"): models()}, model="o4"),
    row("model-nothing-similar", "model_not_found", {(GET, "/v1/models"): models()}, model="zzzz-9",
        expect=["it lists 13 models, none similar"]),
    row("model-quote", "model_not_found", {(GET, "/v1/models"): models()}, model="it's-qwen",
        expect=['"it\'s-qwen"']),
    row("model-non-ascii", "model_not_found", {(GET, "/v1/models"): models()}, model="qwen/qw\u00e9n3-c\u00f6der"),
    row("model-duplicates", "model_not_found", {(GET, "/v1/models"): models(
        "qwen-max", "qwen-max", "Qwen-Max", "qwen-maxi", "qwen-plus", "qwen-turbo", "qwen-long", "qwq-32b")},
        model="qwen-mx"),
    row("model-many-similar", "model_not_found", {(GET, "/v1/models"): models(
        *["qwen/qwen3-coder-%d" % i for i in range(12)])}, model="qwen/qwen3-coder"),
    row("model-empty-list", "model_not_found", {(GET, "/v1/models"): models("x")[:2] + ('{"data": []}',)},
        expect=["it lists 0 models"]),
    row("model-long-name", "model_not_found", {(GET, "/v1/models"): models(
        "a" * 150 + "b" * 100, "ab" * 120, "a" * 240 + "c")}, model="a" * 120 + "b" * 120),
    # --- the chat probe --------------------------------------------------------------------------------------
    row("chat-model-404", "model_not_found", {(GET, "/v1/models"): models("m"), (POST, "/v1/chat/completions"): (
        404, JSON_TYPE, json.dumps({"error": {"code": "model_not_found", "message": "The model `m` does not exist"}}))},
        model="m", chat=True, expect=["the chat call says: The model `m` does not exist"]),
    row("chat-model-400", "model_not_found", {(GET, "/v1/models"): models("m"), (POST, "/v1/chat/completions"): error(
        400, "m is not a valid model ID")}, model="m", chat=True),
    row("chat-model-newline", "model_not_found", {(GET, "/v1/models"): models("m"),
                                                  (POST, "/v1/chat/completions"): error(400, "model\nothing found")},
        model="m", chat=True),
    row("chat-400-other", "http_error", {(GET, "/v1/models"): models("m"), (POST, "/v1/chat/completions"): error(
        400, "max_tokens too small")}, model="m", chat=True),
    row("chat-rate-limited", "rate_limited", {(GET, "/v1/models"): models("m"), (POST, "/v1/chat/completions"): error(
        429, "quota")}, model="m", chat=True, expect=["It says: quota"]),
    row("chat-server-error", "server_error", {(GET, "/v1/models"): models("m"),
                                              (POST, "/v1/chat/completions"): text(500, "")}, model="m", chat=True),
    row("chat-not-json", "bad_response", {(GET, "/v1/models"): models("m"),
                                          (POST, "/v1/chat/completions"): text(200, "<html>")},
        model="m", chat=True, expect=["/chat/completions", "(<html>)"]),
    row("chat-empty", "bad_response", {(GET, "/v1/models"): models("m"),
                                       (POST, "/v1/chat/completions"): text(200, "")},
        model="m", chat=True, expect=["(empty)"]),
    row("chat-no-choices", "bad_response", {(GET, "/v1/models"): models("m"),
                                            (POST, "/v1/chat/completions"): (200, JSON_TYPE, '{"id": "x"}')},
        model="m", chat=True),
    # --- the key echoed by the provider: masked before any cut -------------------------------------------------
    row("echo-80-text", "server_error", {(GET, "/v1/models"): text(500, echo_at(70))}, expect=["********"]),
    row("echo-160-json", "server_error", {(GET, "/v1/models"): error(500, echo_at(150))}, expect=["********"]),
    row("echo-160-escaped", "server_error", {(GET, "/v1/models"): (502, JSON_TYPE, escaped_echo_at(150))},
        expect=["********"]),
    row("echo-80-bad-response", "bad_response", {(GET, "/v1/models"): text(200, echo_at(70), "text/html")},
        expect=["********"]),
    row("echo-80-json-without-data", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, json.dumps(
        {"object": "list", "note": echo_at(40)}))}, expect=["********"]),
    row("echo-160-top-message", "http_error", {(GET, "/v1/models"): (400, JSON_TYPE, json.dumps(
        {"message": echo_at(150)}))}, expect=["********"]),
    row("echo-80-code-only", "http_error", {(GET, "/v1/models"): (400, JSON_TYPE, json.dumps(
        {"error": {"code": 7, "param": PAD[:40] + KEY}}))}, expect=["********"]),
    row("echo-429-retry-after", "rate_limited", {(GET, "/v1/models"): error(
        429, echo_at(150), headers=[("Retry-After", KEY)])}, expect=["retry after ******** s."]),
    row("echo-chat-model", "model_not_found", {(GET, "/v1/models"): models("m"), (POST, "/v1/chat/completions"): (
        404, JSON_TYPE, json.dumps({"error": {"code": "model_not_found", "message": echo_at(150)}}))},
        model="m", chat=True, expect=["********"]),
    row("echo-chat-bad-response", "bad_response", {(GET, "/v1/models"): models("m"),
                                                   (POST, "/v1/chat/completions"): text(200, echo_at(70))},
        model="m", chat=True, expect=["********"]),
    row("echo-model-ids", "model_not_found", {(GET, "/v1/models"): models(KEY + "/coder", "qwen/" + KEY)},
        model="qwen/coder"),
    # --- inputs: refused before any request ----------------------------------------------------------------------
    row("url-empty", "invalid_url", base="literal:", expect=["''"]),
    row("url-no-scheme", "invalid_url", base="literal:openrouter.ai/api/v1"),
    row("url-ftp", "invalid_url", base="literal:ftp://x/v1"),
    row("url-no-host", "invalid_url", base="literal:http://"),
    row("url-space", "invalid_url", base="literal:https://exa mple.com/v1"),
    row("url-open-bracket", "invalid_url", base="literal:http://[::1/v1"),
    row("url-ipv4-in-brackets", "invalid_url", base="literal:http://[127.0.0.1]/v1"),
    row("url-port-range", "invalid_url", base="literal:http://127.0.0.1:99999/v1"),
    row("url-port-name", "invalid_url", base="literal:http://127.0.0.1:port/v1"),
    row("url-query-key", "invalid_url", base="literal:https://host.example/v1?key=" + KEY, expect=["key=********"]),
    row("url-fragment", "invalid_url", base="literal:https://host.example/v1#frag"),
    row("url-newline", "invalid_url", base="literal:https://host.example/v1\n", expect=["\\n'"]),
    row("url-userinfo-key", "invalid_url", base="literal:https://user:%s@example.com/v1" % KEY,
        expect=["'https://example.com/v1'"]),
    row("url-user-key", "invalid_url", base="literal:https://%s@example.com/v1" % KEY),
    row("url-upper-credentials", "invalid_url", base="literal:HTTPS://user:pw@Example.COM:8443/v1",
        expect=["'https://Example.COM:8443/v1'"]),
    row("url-nfkc", "invalid_url", base="literal:https://exa\u2100mple.com/v1"),
    row("url-quote", "invalid_url", base="literal:https://ex'ample.com/v 1", expect=['"https://ex\'ample.com/v 1"']),
    row("url-control", "invalid_url", base="literal:https://host.example/v1\x7f\u200b x"),
    row("key-empty", "invalid_key", key="", expect=["is empty"]),
    row("key-blank", "invalid_key", key=" \t ", expect=["is empty"]),
    row("key-newline", "invalid_key", key=KEY + "\n", expect=["position %d of %d" % (len(KEY) + 1, len(KEY) + 1)]),
    row("key-leading-space", "invalid_key", key=" " + KEY, expect=["position 1 of"]),
    row("key-quote-mark", "invalid_key", key=KEY[:5] + "\u2019" + KEY[5:], expect=["non-ASCII character at position 6"]),
    row("key-nbsp", "invalid_key", key=KEY + "\u00a0", expect=["whitespace"]),
    row("key-nel", "invalid_key", key=KEY[:3] + "\x85" + KEY[3:], expect=["whitespace or a control character"]),
    row("key-del", "invalid_key", key=KEY + "\x7f", expect=["control character"]),
    row("key-astral", "invalid_key", key=KEY + "\U0001f511", expect=["position %d of %d" % ((len(KEY) + 1,) * 2)]),
    # --- below HTTP ----------------------------------------------------------------------------------------------
    row("connection-refused", "connection_refused", base="refused", expect=["refused the connection"]),
    row("timeout", "timeout", base="silent", timeout=1, expect=["within 1 s"]),
    row("closed-without-answer", "connection_reset", base="reset", stack=True, expect=["closed the connection"]),
    row("not-http", "bad_response", base="not_http", stack=True, expect=["not an HTTP answer"]),
    row("tls-untrusted", "tls", {(GET, "/v1/models"): models()}, base="tls", stack=True,
        expect=["TLS verification of 127.0.0.1 failed"]),
    row("tls-trusted", "ok", {(GET, "/v1/models"): models()}, base="tls", trust=True),
    row("tls-wrong-name", "tls", {(GET, "/v1/models"): models()}, base="tls_wrong", trust=True, stack=True,
        expect=["is for another name"]),
    row("tls-expired", "tls", {(GET, "/v1/models"): models()}, base="tls_expired", trust=True, stack=True,
        expect=["clock is wrong"]),
    row("tls-to-plain-http", "tls", {(GET, "/v1/models"): models()}, base="https_to_plain", stack=True,
        expect=["handshake", "http://"]),
]


def _check_canary():
    problem = key_problem(KEY)
    if problem or len(KEY) < 16 or not re.match(r"^[A-Za-z0-9._~-]+$", KEY):
        pytest.fail("QWEN_TEST_CANARY_KEY must be 16 or more characters of A-Z a-z 0-9 . _ ~ - (a / would split "
                    "the URLs that carry the key)", pytrace=False)
    clash = [p for p in PIECES if p in json.dumps(MESSAGES) or p in PAD]
    if clash:
        pytest.fail("the canary key shares %r with the messages or the padding: choose another one" % clash,
                    pytrace=False)


@pytest.fixture(scope="module")
def node():
    path = shutil.which("node")
    if not path:
        pytest.fail("no `node` on PATH: the check parity test needs Node 20 or later (image/check.mjs runs on Node); "
                    "install it (Debian: apt-get install nodejs) rather than skipping this test", pytrace=False)
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False, timeout=30).stdout
    found = re.match(r"v(\d+)\.", version.strip())
    if not found or int(found.group(1)) < 20:
        pytest.fail("`node` on PATH (%s) is %r: the check parity test needs Node 20 or later" % (path, version.strip()),
                    pytrace=False)
    return path


@pytest.fixture(scope="module")
def messages_file(tmp_path_factory):
    """MESSAGES exported as image/build.yml exports them to /etc/qwen-code/check-messages.json."""
    path = tmp_path_factory.mktemp("check") / "check-messages.json"
    path.write_text(json.dumps(MESSAGES, indent=1) + "\n")
    return str(path)


@pytest.fixture(scope="module")
def net(tls_pair):
    routes = {}
    for param in SCENARIOS:
        scenario = param.values[0]
        routes.update(((scenario["name"],) + k, v) for k, v in scenario["routes"].items())
    started = []

    def tls(cert):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls_pair[cert], tls_pair[cert.replace("cert", "key")])
        started.append(ScenarioServer(routes, context))
        return started[-1]
    stub = ScenarioServer(routes)
    started.append(stub)
    servers = {"tls": tls("cert"), "tls_wrong": tls("wrong_cert"), "tls_expired": tls("expired_cert")}
    raw = [RawServer(b""), RawServer(b"SSH-2.0-OpenSSH_9.2\r\n", read_first=False)]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts into the backlog, never answers
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    refused_port = free.getsockname()[1]
    free.close()
    yield dict(stub=stub, servers=servers, ca=tls_pair["ca"],
               urls={"refused": "http://127.0.0.1:%d/v1" % refused_port,
                     "silent": "http://127.0.0.1:%d/v1" % silent.getsockname()[1],
                     "reset": "http://127.0.0.1:%d/v1" % raw[0].port,
                     "not_http": "http://127.0.0.1:%d/v1" % raw[1].port})
    silent.close()
    for server in started + raw:
        server.stop()


def base_url(scenario, net):
    base, name = scenario.get("base"), scenario["name"]
    if base is None:
        return net["stub"].url(name)
    if base.startswith("literal:"):
        return base[len("literal:"):]
    if base.startswith("path:"):
        return net["stub"].url(name, base[len("path:"):])
    if base in net["servers"]:
        return net["servers"][base].url(name)
    if base == "https_to_plain":
        return net["stub"].url(name).replace("http://", "https://")
    return net["urls"][base]


def run_node(node, messages_file, scenario, base, tmp_path, ca):
    argv = [node, CHECK_MJS, "--json"] + (["--chat"] if scenario.get("chat") else [])
    assert not any(p in " ".join(argv) for p in PIECES)  # the key travels in the environment only
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "QWEN_CHECK_MESSAGES": messages_file,
           "QWEN_CHECK_TIMEOUT": str(scenario.get("timeout", 10)), "OPENAI_BASE_URL": base,
           "OPENAI_API_KEY": scenario.get("key", KEY), "OPENAI_MODEL": scenario.get("model", MODEL)}
    if ca:
        env["NODE_EXTRA_CA_CERTS"] = ca
    out = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=60)
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and not out.stderr, "check.mjs printed %r %r" % (out.stdout, out.stderr)
    result = json.loads(lines[0])
    assert out.returncode == (0 if result["reason"] == "ok" else 1), out
    return result, out.stdout + out.stderr


def _detail_pattern(template):
    pattern = re.escape(template).replace(re.escape("{detail}"), "(?P<detail>.*)")
    return re.compile(re.sub(r"\\\{\w+(?:!r)?\\\}", ".*?", pattern), re.S)


DETAIL_PATTERNS = [_detail_pattern(t) for t in MESSAGES.values() if "{detail}" in t]


def normalise(msg, stack):
    """The message with what differs between the two stacks by necessity replaced (see the module docstring)."""
    msg = re.sub(r" answered in \d+ ms", " answered in <n> ms", msg)
    if stack:
        for pattern in DETAIL_PATTERNS:
            found = pattern.fullmatch(msg)
            if found:
                return msg[:found.start("detail")] + "<detail>" + msg[found.end("detail"):]
    return msg


def leaked(text):
    return [p for p in PIECES if p in text]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_check_and_provider_check_agree(scenario, net, node, messages_file, tmp_path):
    _check_canary()
    name, ca = scenario["name"], net["ca"] if scenario.get("trust") else None
    base = base_url(scenario, net)
    py = provider_check(base, scenario.get("key", KEY), model=scenario.get("model", MODEL),
                        probe="chat" if scenario.get("chat") else "models", timeout=scenario.get("timeout", 10),
                        ca_path=ca)
    js, js_output = run_node(node, messages_file, scenario, base, tmp_path, ca)

    assert not leaked(json.dumps(py)), "provider_check shows the key: %s" % py["msg"]
    assert not leaked(js_output), "check.mjs shows the key: %s" % js_output
    assert (py["reason"], js["reason"]) == (scenario["reason"],) * 2, (py["msg"], js["msg"])
    stack = scenario.get("stack", False)
    assert normalise(js["msg"], stack) == normalise(py["msg"], stack)
    for words in scenario.get("expect", ()):
        assert words in py["msg"] and words in js["msg"], (words, py["msg"], js["msg"])
    if scenario["reason"] == "model_not_found" and "close_matches" in js and py.get("close_matches"):
        assert js["close_matches"] == py["close_matches"]

    hits = net["stub"].hits(name) + [h for s in net["servers"].values() for h in s.hits(name)]
    if scenario["reason"] in ("invalid_url", "invalid_key"):
        assert not hits, "a refused input still reached the provider: %s" % hits
    assert all(hit[3] == "Bearer " + KEY for hit in hits)
    assert not net["stub"].hits("redirect-target"), "a redirect was followed"
