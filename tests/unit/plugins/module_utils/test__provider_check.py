"""_provider_check: provider_check() against real HTTP(S) servers and a real proxy on 127.0.0.1 (every reason, and
never the key), and its steps one by one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket

import pytest
from werkzeug import Response

from ansible_collections.qwenops.qwen_code.plugins.module_utils import _provider_check, _transport
from ansible_collections.qwenops.qwen_code.plugins.module_utils._provider_check import (
    MESSAGES, close_matches, provider_check)
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import PROVIDER_KEY as KEY
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import PROVIDER_MODELS as MODELS
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import base, bearer_only

pytestmark = pytest.mark.usefixtures("no_proxy_env")


def assert_no_key(result):
    assert KEY not in json.dumps(result)


def check(*args, **kwargs):
    result = provider_check(*args, **kwargs)
    assert_no_key(result)
    assert set(result) >= {"reason", "msg", "status", "latency_ms", "model_found", "models_count", "url",
                           "base_url", "proxy"}
    assert result["reason"] in MESSAGES or result["reason"] in ("tls", "invalid_input")
    return result


# --- ok ---------------------------------------------------------------------------------------------------

def test_ok_models(httpserver):
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    r = check(base(httpserver), KEY, model="qwen/qwen3-coder")
    assert r["reason"] == "ok", r["msg"]
    assert (r["status"], r["model_found"], r["models_count"]) == (200, True, 4)
    assert isinstance(r["latency_ms"], int) and r["latency_ms"] >= 0
    assert r["url"] == base(httpserver) + "/models" and r["proxy"] is None


def test_ok_without_model_checks_only_the_key(httpserver):
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    r = check(base(httpserver) + "/", KEY)
    assert r["reason"] == "ok" and r["model_found"] is None and r["models_count"] == 4


def test_ok_chat_probe(httpserver):
    seen = []

    def chat(request):
        seen.append(request.get_json())
        return bearer_only({"choices": [{"message": {"content": "p"}}]})(request)
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(chat)
    r = check(base(httpserver), KEY, model="gpt-4o", probe="chat")
    assert r["reason"] == "ok", r["msg"]
    assert r["url"].endswith("/v1/chat/completions") and "completes a chat" in r["msg"]
    assert seen[0]["model"] == "gpt-4o" and seen[0]["max_tokens"] == 1


def test_netrc_does_not_replace_the_bearer_key(httpserver, tmp_path, monkeypatch):
    (tmp_path / ".netrc").write_text("machine 127.0.0.1 login someone password other\n")
    os.chmod(str(tmp_path / ".netrc"), 0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    assert check(base(httpserver), KEY)["reason"] == "ok"


# --- HTTP answers ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [401, 403])
def test_wrong_key(httpserver, status):
    httpserver.expect_request("/v1/models").respond_with_json({"error": {"message": "No auth"}}, status=status)
    r = check(base(httpserver), KEY, model="gpt-4o")
    assert (r["reason"], r["status"]) == ("unauthorized", status)
    assert "check OPENAI_API_KEY for this provider" in r["msg"] and str(status) in r["msg"]


def test_the_messages_name_the_key_as_told(httpserver):
    httpserver.expect_request("/v1/models").respond_with_json({"error": {"message": "No auth"}}, status=401)
    name = "the key of provider openrouter for alice (QWENOPS_KEY_OPENROUTER)"
    r = check(base(httpserver), KEY, key_name=name)
    assert r["msg"].endswith("(HTTP 401): check %s for this provider (OpenRouter keys start with sk-or-, ModelScope "
                             "keys with ms-)." % name)
    r = check(base(httpserver), KEY + " ", key_name=name)
    assert r["reason"] == "invalid_key" and r["msg"].endswith(": check %s." % name)


def test_the_key_echoed_by_the_provider_is_masked(httpserver):
    httpserver.expect_request("/v1/models").respond_with_json({"error": {"message": "bad key " + KEY}}, status=500)
    r = check(base(httpserver), KEY)
    assert r["reason"] == "server_error" and "********" in r["msg"]


def _echo(position):
    return ("lorem ipsum dolor sit amet " * 8)[:position] + KEY + " and more"


@pytest.mark.parametrize("status, body, content_type", [
    (500, _echo(70), "text/plain"),  # the key crosses the 80-character cut of a body
    (500, json.dumps({"error": {"message": _echo(150)}}), "application/json"),  # ... the 160-character cut
    (502, json.dumps({"error": {"message": _echo(150)}}).replace(KEY, "\\u0073" + KEY[1:]), "application/json"),
    (400, json.dumps({"message": _echo(150)}), "application/json"),
    (200, _echo(70), "text/html"),  # bad_response
])
def test_a_key_echoed_across_a_snippet_cut_is_masked_before_the_cut(httpserver, status, body, content_type):
    assert KEY[0] == "s"  # the escaped row spells it \u0073
    httpserver.expect_request("/v1/models").respond_with_data(body, status=status, content_type=content_type)
    r = check(base(httpserver), KEY)
    assert "********" in r["msg"] and KEY[:8] not in json.dumps(r), r["msg"]


def test_the_key_in_a_redirect_location_is_masked(httpserver):
    httpserver.expect_request("/v1/models").respond_with_data(
        "", status=302, headers={"Location": "https://elsewhere.example/v1?key=" + KEY})
    r = check(base(httpserver), KEY)
    assert r["reason"] == "redirect" and "to https://elsewhere.example/v1?key=********: set" in r["msg"]


@pytest.mark.parametrize("body, detail", [
    (b'{"error": {"message": "m", "code": "c"}}', "m"),
    (b'{"error": {"message": "", "code": "c"}}', "c"),
    (b'{"error": {"code": 400}}', '{"error": {"code": 400}}'),  # no string: the body itself
    (b'{"error": null, "message": "top"}', "top"),
    (b'{"error": "plain"}', "plain"),
    (b'{"error": NaN}', '{"error": NaN}'),  # not JSON (as for JavaScript's JSON.parse)
    (b'{"error": "a \\ud800 b"}', "a \ufffd b"),
    (b"\xff oops", "\ufffd oops"),
    (b"[" * 100000, "[" * 80 + "..."),  # too deep for json: no RecursionError
])
def test_error_detail(body, detail):
    assert _provider_check._error_detail(body) == detail


def test_a_blank_key_masks_nothing():
    r = provider_check("http://127.0.0.1:9/v1", " ")
    assert r["reason"] == "invalid_key" and r["msg"].startswith("The API key is empty: check")


def test_wrong_base_url_404_suggests_v1(httpserver):
    httpserver.expect_request("/models").respond_with_data("Not Found", status=404)
    r = check(httpserver.url_for("/"), KEY, model="gpt-4o")
    assert (r["reason"], r["status"]) == ("not_found", 404)
    assert "Try %s/v1." % httpserver.url_for("/").rstrip("/") in r["msg"]


def test_base_url_with_the_endpoint_pasted_in(httpserver):
    httpserver.expect_request("/v1/chat/completions/models").respond_with_data("Not Found", status=404)
    r = check(base(httpserver) + "/chat/completions", KEY)
    assert r["reason"] == "not_found" and "must stop before /chat/completions: try %s." % base(httpserver) in r["msg"]


def test_rate_limited(httpserver):
    httpserver.expect_request("/v1/models").respond_with_json(
        {"error": {"message": "Rate limit exceeded: free-models-per-day"}}, status=429, headers={"Retry-After": "30"})
    r = check(base(httpserver), KEY)
    assert (r["reason"], r["status"]) == ("rate_limited", 429)
    assert "free tier" in r["msg"] and "retry after 30 s" in r["msg"] and "free-models-per-day" in r["msg"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error(httpserver, status):
    httpserver.expect_request("/v1/models").respond_with_data("oops", status=status)
    r = check(base(httpserver), KEY)
    assert (r["reason"], r["status"]) == ("server_error", status)


def test_other_status(httpserver):
    httpserver.expect_request("/v1/models").respond_with_json({"error": {"message": "bad request"}}, status=400)
    r = check(base(httpserver), KEY)
    assert (r["reason"], r["status"]) == ("http_error", 400) and "bad request" in r["msg"]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirect_is_reported_not_followed(httpserver, status):
    hits = []
    httpserver.expect_request("/v1/models").respond_with_data(
        "", status=status, headers={"Location": "https://user:pw@elsewhere.example/v1/models"})
    httpserver.expect_request("/elsewhere").respond_with_handler(lambda r: hits.append(r) or Response("{}"))
    r = check(base(httpserver), KEY)
    assert (r["reason"], r["status"]) == ("redirect", status)
    assert "https://elsewhere.example/v1/models" in r["msg"] and "pw@" not in r["msg"]
    assert not hits


def test_model_not_offered_lists_close_matches(httpserver):
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    r = check(base(httpserver), KEY, model="qwen/qwen3-codr")
    assert (r["reason"], r["model_found"], r["models_count"]) == ("model_not_found", False, 4)
    assert "'qwen/qwen3-codr'" in r["msg"]
    assert r["close_matches"][:2] == ["qwen/qwen3-coder", "qwen/qwen3-coder:free"]
    assert "close matches: qwen/qwen3-coder" in r["msg"]


def test_model_not_offered_and_nothing_similar(httpserver):
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    r = check(base(httpserver), KEY, model="llama-3-70b")
    assert r["reason"] == "model_not_found" and r["close_matches"] == []
    assert "it lists 4 models, none similar" in r["msg"]


def test_close_matches():
    ids = ["qwen/qwen3-coder", "qwen/qwen3-coder:free", "Qwen/Qwen3-Coder-480B-A35B-Instruct", "qwen-plus",
           "qwen3-coder-plus", "gpt-4o", "o1", "o3", "deepseek/deepseek-chat"]
    assert close_matches("qwen3-coder", ids)[:3] == ["qwen/qwen3-coder", "qwen/qwen3-coder:free",
                                                     "Qwen/Qwen3-Coder-480B-A35B-Instruct"]
    assert "gpt-4o" in close_matches("gpt4o", ids)
    assert close_matches("qwen/QWEN3-CODER", ids)[0] == "qwen/qwen3-coder"
    assert len(close_matches("q", ids * 3)) == 5
    assert close_matches("mistral-large", ids) == []


@pytest.mark.parametrize("status, error", [
    (404, {"code": "model_not_found", "message": "The model `m` does not exist"}),
    (400, {"message": "m is not a valid model ID"}),
])
def test_model_not_found_on_chat(httpserver, status, error):
    httpserver.expect_request("/v1/models").respond_with_json({"data": [{"id": "m"}]})
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        {"error": error}, status=status)
    r = check(base(httpserver), KEY, model="m", probe="chat")
    assert (r["reason"], r["status"], r["model_found"]) == ("model_not_found", status, False)


def test_chat_rejected_after_models_listed(httpserver):
    httpserver.expect_request("/v1/models").respond_with_json({"data": [{"id": "m"}]})
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        {"error": {"message": "quota"}}, status=429)
    r = check(base(httpserver), KEY, model="m", probe="chat")
    assert r["reason"] == "rate_limited" and r["url"].endswith("/chat/completions")


@pytest.mark.parametrize("body, content_type, shown", [
    ("<html>login page</html>", "text/html", "login page"),
    ("", "application/json", "an empty answer"),
    ('{"object": "list"}', "application/json", 'JSON without a "data" list'),
    ('[{"id": "m"}]', "application/json", 'JSON without a "data" list'),
    (b"\xff\xfe binary", "application/octet-stream", "binary"),
])
def test_non_json_or_unexpected_answer(httpserver, body, content_type, shown):
    httpserver.expect_request("/v1/models").respond_with_data(body, content_type=content_type)
    r = check(base(httpserver), KEY)
    assert (r["reason"], r["status"]) == ("bad_response", 200) and shown in r["msg"]


def test_chat_answer_not_json(httpserver):
    httpserver.expect_request("/v1/models").respond_with_json({"data": [{"id": "m"}]})
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_data("<html>")
    r = check(base(httpserver), KEY, model="m", probe="chat")
    assert r["reason"] == "bad_response"


# --- inputs ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["", None, "openrouter.ai/api/v1", "ftp://x/v1", "http://", "https://exa mple.com/v1",
                                 "http://[::1/v1", "http://127.0.0.1:99999/v1", "http://127.0.0.1:port/v1",
                                 "https://host/v1?key=x", "https://host/v1#frag", "https://host/v1\n",
                                 "https://user:%s@example.com/v1" % KEY, "https://%s@example.com/v1" % KEY])
def test_malformed_url_never_raises(url):
    r = check(url, KEY)
    assert r["reason"] == "invalid_url" and r["latency_ms"] is None
    assert "https://host[:port]/path" in r["msg"]


@pytest.mark.parametrize("key, shown", [("", "is empty"), ("   ", "is empty"),
                                        (KEY + "\n", "position 21 of 21"), (" " + KEY, "position 1 of 21"),
                                        (KEY[:5] + "\u2019" + KEY[5:], "non-ASCII character at position 6")])
def test_unusable_key_is_named_never_shown(httpserver, key, shown):
    r = check(base(httpserver), key)
    assert r["reason"] == "invalid_key" and shown in r["msg"]
    assert KEY not in r["msg"] and not httpserver.log


# --- connections -------------------------------------------------------------------------------------------

@pytest.fixture
def unresolvable(monkeypatch):
    """unresolvable(name): that name does not resolve. No DNS query leaves the machine: the resolver itself is
    replaced."""
    names, real = set(), socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return names.add


def test_dns_failure(unresolvable):
    unresolvable("no-such-provider.invalid")
    r = check("https://no-such-provider.invalid/v1", KEY)
    assert r["reason"] == "dns" and "Cannot resolve no-such-provider.invalid" in r["msg"]
    assert r["status"] is None and isinstance(r["latency_ms"], int)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused():
    port = free_port()
    r = check("http://127.0.0.1:%d/v1" % port, KEY)
    assert r["reason"] == "connection_refused" and "127.0.0.1:%d refused" % port in r["msg"]


def test_timeout():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)  # accepts into the backlog, never answers
    try:
        r = check("http://127.0.0.1:%d/v1" % s.getsockname()[1], KEY, timeout=1)
    finally:
        s.close()
    assert r["reason"] == "timeout" and "within 1 s" in r["msg"]
    assert 900 <= r["latency_ms"] < 5000


def test_unreachable(monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(101, "Network is unreachable")
    monkeypatch.setattr(socket, "create_connection", fail)
    r = check("http://127.0.0.1:9/v1", KEY)
    assert r["reason"] == "unreachable" and "No route to 127.0.0.1:9" in r["msg"]


def test_closed_without_answer(raw_server):
    server = raw_server(b"")
    r = check("http://127.0.0.1:%d/v1" % server.port, KEY)
    assert r["reason"] == "connection_reset" and "closed the connection" in r["msg"]


def test_not_http_at_all(raw_server):
    server = raw_server(b"SSH-2.0-OpenSSH_9.2\r\n", read_first=False)
    r = check("http://127.0.0.1:%d/v1" % server.port, KEY)
    assert r["reason"] == "bad_response" and "not an HTTP answer" in r["msg"]


# --- TLS ---------------------------------------------------------------------------------------------------

def test_tls_untrusted_ca(tls_server):
    r = check(base(tls_server()), KEY, model="gpt-4o")
    assert r["reason"] == "tls" and r["status"] is None
    assert "qwen_code_ca_bundle" in r["msg"] and "certificate" in r["msg"]


def test_tls_trusted_via_ca_path(tls_server, tls_pair):
    r = check(base(tls_server()), KEY, model="gpt-4o", ca_path=tls_pair["ca"])
    assert r["reason"] == "ok", r["msg"]


def test_tls_hostname_mismatch(tls_server, tls_pair):
    r = check(base(tls_server("wrong_cert")), KEY, ca_path=tls_pair["ca"])
    assert r["reason"] == "tls" and "for another name" in r["msg"] and "127.0.0.1" in r["msg"]


def test_tls_expired_certificate(tls_server, tls_pair):
    r = check(base(tls_server("expired_cert")), KEY, ca_path=tls_pair["ca"])
    assert r["reason"] == "tls" and "expired" in r["msg"] and "clock" in r["msg"]


def test_tls_validate_certs_off(tls_server):
    r = check(base(tls_server()), KEY, model="gpt-4o", validate_certs=False)
    assert r["reason"] == "ok"


def test_https_to_a_plain_http_port(httpserver):
    r = check(base(httpserver).replace("http://", "https://"), KEY)
    assert r["reason"] == "tls" and "handshake" in r["msg"] and "http://" in r["msg"]


def test_http_to_a_tls_port(tls_server):
    r = check(base(tls_server()).replace("https://", "http://"), KEY)
    assert r["reason"] in ("connection_reset", "bad_response"), r["msg"]


@pytest.mark.parametrize("content, shown", [(None, "No such file"), ("not a certificate\n", "")])
def test_unusable_ca_path(tls_server, tmp_path, content, shown):
    path = tmp_path / "bundle.pem"
    if content is not None:
        path.write_text(content)
    r = check(base(tls_server()), KEY, ca_path=str(path))
    assert r["reason"] == "invalid_ca_path" and str(path) in r["msg"] and shown in r["msg"]


@pytest.fixture
def system_store_is_other_ca(tls_pair, monkeypatch):
    """Make OpenSSL's default store hold only the stand-in public CA, as a system store would."""
    monkeypatch.setenv("SSL_CERT_FILE", tls_pair["other_ca"])
    monkeypatch.setenv("SSL_CERT_DIR", os.path.dirname(tls_pair["other_ca"]) + "/no-such-dir")


def test_ca_path_is_added_to_the_system_store(tls_server, tls_pair, system_store_is_other_ca):
    public, private = tls_server("other_cert"), tls_server("cert")
    assert check(base(public), KEY)["reason"] == "ok"
    assert check(base(private), KEY)["reason"] == "tls"
    # Like NODE_EXTRA_CA_CERTS: the bundle extends the system store, it does not replace it.
    assert check(base(private), KEY, ca_path=tls_pair["ca"])["reason"] == "ok"
    assert check(base(public), KEY, ca_path=tls_pair["ca"])["reason"] == "ok"


def test_ca_path_is_additive_on_ansible_core_2_16_too(tls_server, tls_pair, system_store_is_other_ca, monkeypatch):
    """ansible-core 2.16's Request takes no SSL context: a temporary bundle of system + ca_path stands in."""
    real = _transport.Request
    bundles = []

    def request_without_context(**kwargs):
        if "context" in kwargs:
            raise TypeError("__init__() got an unexpected keyword argument 'context'")
        bundles.append(kwargs.get("ca_path"))
        return real(**kwargs)
    monkeypatch.setattr(_transport, "Request", request_without_context)
    public, private = tls_server("other_cert"), tls_server("cert")
    assert check(base(private), KEY, ca_path=tls_pair["ca"])["reason"] == "ok"
    assert check(base(public), KEY, ca_path=tls_pair["ca"])["reason"] == "ok"
    assert bundles[0] and bundles[0] != tls_pair["ca"] and os.path.exists(bundles[0])


# --- proxies -----------------------------------------------------------------------------------------------

def test_http_proxy_from_environment(httpserver, monkeypatch):
    """Plain-HTTP requests go through http_proxy like the CLI's: the 'proxy' here is the local server itself."""
    seen = []

    def handler(request):
        seen.append(request.url)
        return bearer_only(MODELS)(request)
    httpserver.expect_request("/v1/models").respond_with_handler(handler)
    monkeypatch.setenv("http_proxy", httpserver.url_for("/"))
    r = check("http://provider.example/v1", KEY, model="gpt-4o")
    assert r["reason"] == "ok", r["msg"]
    assert seen and seen[0].startswith("http://provider.example/v1/models")
    assert r["proxy"] == httpserver.url_for("/")


def test_https_through_a_connect_proxy_with_private_ca(tls_server, tls_pair, connect_proxy, monkeypatch):
    server, proxy = tls_server(), connect_proxy()
    monkeypatch.setenv("https_proxy", "http://user:secret@127.0.0.1:%d" % proxy.port)
    r = check(base(server), KEY, model="gpt-4o", ca_path=tls_pair["ca"])
    assert r["reason"] == "ok", r["msg"]
    assert [line.rsplit(" ", 1)[0] for line in proxy.requests] == ["CONNECT 127.0.0.1:%d" % server.port]
    assert r["proxy"] == "http://127.0.0.1:%d" % proxy.port


def test_no_proxy_is_honoured(httpserver, connect_proxy, monkeypatch):
    proxy = connect_proxy()
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    r = check(base(httpserver), KEY)
    assert r["reason"] == "ok" and r["proxy"] is None and not proxy.requests


def test_proxy_refuses_the_tunnel(tls_server, connect_proxy, monkeypatch):
    server, proxy = tls_server(), connect_proxy(reject="407 Proxy Authentication Required")
    monkeypatch.setenv("https_proxy", "http://user:secret@127.0.0.1:%d" % proxy.port)
    r = check(base(server), KEY)
    assert r["reason"] == "proxy" and "407" in r["msg"] and "secret" not in json.dumps(r)


def test_proxy_down(tls_server, monkeypatch):
    port = free_port()
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:%d" % port)
    r = check(base(tls_server()), KEY)
    assert r["reason"] == "proxy" and "the proxy http://127.0.0.1:%d refused" % port in r["msg"]


def test_proxy_name_does_not_resolve(tls_server, unresolvable, monkeypatch):
    unresolvable("proxy.invalid")
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    r = check(base(tls_server()), KEY)
    assert r["reason"] == "proxy" and "cannot resolve the proxy http://proxy.invalid:3128" in r["msg"]


# --- the other protocols, against real servers -------------------------------------------------------------

CLAUDE_LIST = {"data": [{"type": "model", "id": "claude-sonnet-4-5"}, {"type": "model", "id": "claude-opus-4-1"}],
               "has_more": False}
GEMINI_LIST = {"models": [{"name": "models/gemini-2.5-flash"}, {"name": "models/gemini-2.5-pro"}], "nextPageToken": ""}
CANDIDATES = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Po"}]}, "finishReason": "MAX_TOKENS"}]}
API_KEY_INVALID = {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                             "status": "INVALID_ARGUMENT", "details": [
                                 {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]}}


def keyed(headers, answer, status=200, seen=None, absent=("Authorization", "x-api-key", "x-goog-api-key")):
    """A handler that answers like a provider of another protocol: 401 unless exactly these headers came, and none of
    the other key headers. Appends (path, query, JSON body) of each request to seen."""
    def handler(request):
        if seen is not None:
            seen.append((request.path, request.query_string.decode(), request.get_json(silent=True)))
        wrong = [h for h, v in headers.items() if request.headers.get(h) != v]
        wrong += [h for h in absent if h not in headers and h in request.headers]
        if wrong:
            return Response(json.dumps({"error": {"message": "wrong headers %s" % wrong}}), 401,
                            content_type="application/json")
        return Response(json.dumps(answer), status, content_type="application/json")
    return handler


GOOGLE_KEY = {"x-goog-api-key": KEY}
ANTHROPIC_BEARER = {"Authorization": "Bearer " + KEY, "anthropic-version": "2023-06-01"}
ANTHROPIC_NATIVE = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


@pytest.fixture
def anthropic_com(monkeypatch):
    """api.anthropic.com resolves to 127.0.0.1 in this process: the check meets Anthropic's own host name on a local
    server (no DNS query leaves the machine for it)."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real("127.0.0.1" if host == "api.anthropic.com" else host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_openai_responses_lists_models_and_posts_to_v1_responses(httpserver):
    seen = []
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    httpserver.expect_request("/v1/responses", method="POST").respond_with_handler(
        keyed({"Authorization": "Bearer " + KEY}, {"output": []}, seen=seen))
    r = check(base(httpserver) + "/", KEY, model="gpt-4o", probe="chat", auth_type="openai-responses")
    assert (r["reason"], r["auth_type"], r["models_count"]) == ("ok", "openai-responses", 4), r["msg"]
    assert r["url"] == httpserver.url_for("/v1/responses")
    sent = {"model": "gpt-4o", "input": "Reply with one word.", "max_output_tokens": 16, "stream": False}
    assert seen == [("/v1/responses", "", sent)]


def test_anthropic_sends_bearer_to_any_other_host(httpserver):
    seen = []
    httpserver.expect_request("/api/v1/models").respond_with_handler(keyed(ANTHROPIC_BEARER, CLAUDE_LIST, seen=seen))
    httpserver.expect_request("/api/v1/messages", method="POST").respond_with_handler(
        keyed(ANTHROPIC_BEARER, {"type": "message", "content": []}, seen=seen))
    r = check(httpserver.url_for("/api"), KEY, model="claude-sonnet-4-5", probe="chat", auth_type="anthropic")
    assert (r["reason"], r["models_count"], r["model_found"]) == ("ok", 2, True), r["msg"]
    assert seen == [("/api/v1/models", "limit=1000", None),
                    ("/api/v1/messages", "", {"model": "claude-sonnet-4-5", "max_tokens": 1,
                                              "messages": [{"role": "user", "content": "Reply with one word."}]})]


def test_anthropic_sends_x_api_key_to_anthropic_com(httpserver, anthropic_com):
    httpserver.expect_request("/v1/models").respond_with_handler(keyed(ANTHROPIC_NATIVE, CLAUDE_LIST))
    httpserver.expect_request("/v1/messages", method="POST").respond_with_handler(
        keyed(ANTHROPIC_NATIVE, {"content": []}))
    url = "http://api.anthropic.com:%d" % httpserver.port
    r = check(url, KEY, model="claude-opus-4-1", probe="chat", auth_type="anthropic")
    assert r["reason"] == "ok", r["msg"]
    httpserver.clear()
    httpserver.expect_request("/v1/models").respond_with_json(
        {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}, status=401)
    r = check(url, KEY, auth_type="anthropic")
    assert r["reason"] == "unauthorized" and "check ANTHROPIC_API_KEY for this provider" in r["msg"]


@pytest.mark.parametrize("suffix", ["/v1", "/v1/", "/api/v1"])
def test_anthropic_base_url_ending_in_v1_is_refused_before_any_request(httpserver, suffix):
    r = check(httpserver.url_for(suffix), KEY, auth_type="anthropic")
    root = httpserver.url_for(suffix).rstrip("/")
    assert (r["reason"], r["url"], r["latency_ms"]) == ("invalid_url", None, None) and not httpserver.log
    assert r["msg"] == ("The base URL %r ends in /v1, which the anthropic protocol appends itself (the requests would "
                        "go to %s/v1/...): set it to %s." % (httpserver.url_for(suffix), root, root[:-3]))


def test_gemini_lists_models_without_their_prefix_and_generates_content(httpserver):
    seen = []
    httpserver.expect_request("/v1beta/models").respond_with_handler(keyed(GOOGLE_KEY, GEMINI_LIST, seen=seen))
    httpserver.expect_request("/v1beta/models/gemini-2.5-pro:generateContent", method="POST").respond_with_handler(
        keyed(GOOGLE_KEY, CANDIDATES, seen=seen))
    r = check(httpserver.url_for("/"), KEY, model="gemini-2.5-pro", probe="chat", auth_type="gemini")
    assert (r["reason"], r["models_count"], r["model_found"]) == ("ok", 2, True), r["msg"]
    assert seen == [("/v1beta/models", "pageSize=1000", None),
                    ("/v1beta/models/gemini-2.5-pro:generateContent", "", {
                        "contents": [{"role": "user", "parts": [{"text": "Reply with one word."}]}],
                        "generationConfig": {"maxOutputTokens": 1}})]
    r = check(httpserver.url_for("/"), KEY, model="gemini-2.5-flsh", auth_type="gemini")
    assert r["reason"] == "model_not_found" and r["close_matches"][0] == "gemini-2.5-flash"


@pytest.mark.parametrize("auth_type, path", [
    ("gemini", "/v1beta/models"),
    ("vertex-ai", "/v1beta1/publishers/google/models/gemini-2.5-flash:countTokens"),
])
def test_google_400_api_key_invalid_is_a_rejected_key(httpserver, auth_type, path):
    httpserver.expect_request(path).respond_with_json(API_KEY_INVALID, status=400)
    r = check(httpserver.url_for("/"), KEY, model="gemini-2.5-flash", auth_type=auth_type)
    assert (r["reason"], r["status"]) == ("unauthorized", 400)
    assert "check %s for this provider" % ("GEMINI_API_KEY" if auth_type == "gemini" else "GOOGLE_API_KEY") in r["msg"]


def test_vertex_ai_counts_tokens_of_the_model_instead_of_listing(httpserver):
    seen = []
    model_path = "/v1beta1/publishers/google/models/gemini-2.5-flash"
    httpserver.expect_request(model_path + ":countTokens", method="POST").respond_with_handler(
        keyed(GOOGLE_KEY, {"totalTokens": 5}, seen=seen))
    httpserver.expect_request(model_path + ":generateContent", method="POST").respond_with_handler(
        keyed(GOOGLE_KEY, CANDIDATES, seen=seen))
    r = check(httpserver.url_for("/"), KEY, model="gemini-2.5-flash", probe="chat", auth_type="vertex-ai")
    assert (r["reason"], r["models_count"], r["model_found"]) == ("ok", None, True), r["msg"]
    contents = [{"role": "user", "parts": [{"text": "Reply with one word."}]}]
    assert seen == [(model_path + ":countTokens", "", {"contents": contents}),
                    (model_path + ":generateContent", "", {"contents": contents,
                                                           "generationConfig": {"maxOutputTokens": 1}})]


@pytest.mark.parametrize("body, content_type, reason", [
    (json.dumps({"error": {"code": 404, "status": "NOT_FOUND", "message": (
        "Publisher Model `projects/1/locations/us-central1/publishers/google/models/gemini-9` was not found or your "
        "project does not have access to it.")}}), "application/json", "model_not_found"),
    ("<html><title>Error 404 (Not Found)!!1</title>", "text/html", "not_found"),
])
def test_vertex_ai_404_names_the_model_or_the_url(httpserver, body, content_type, reason):
    httpserver.expect_request("/v1beta1/publishers/google/models/gemini-9:countTokens").respond_with_data(
        body, status=404, content_type=content_type)
    r = check(httpserver.url_for("/"), KEY, model="gemini-9", auth_type="vertex-ai")
    assert (r["reason"], r["status"]) == (reason, 404), r["msg"]
    assert ("countTokens call says: Publisher Model" in r["msg"]) == (reason == "model_not_found")


def test_vertex_ai_needs_a_model(httpserver):
    r = check(httpserver.url_for("/"), KEY, auth_type="vertex-ai")
    assert r["reason"] == "invalid_input" and "no model list" in r["msg"] and not httpserver.log


def test_an_unknown_auth_type_is_refused():
    r = check("https://p.example", KEY, auth_type="openai-chat")
    assert r["reason"] == "invalid_input" and r["msg"] == (
        "The auth type 'openai-chat' is not one the check knows: use one of openai, openai-responses, anthropic, "
        "gemini, vertex-ai.")


@pytest.mark.parametrize("auth_type, path", [
    ("openai", "/v1/models"),
    ("openai-responses", "/v1/models"),
    ("anthropic", "/v1/models"),
    ("gemini", "/v1beta/models"),
    ("vertex-ai", "/v1beta1/publishers/google/models/m:countTokens"),
])
def test_key_headers_the_provider_echoes_are_masked(httpserver, auth_type, path):
    """A provider that shows the request's headers (x-api-key, x-goog-api-key, Authorization) in an error."""
    def echo(request):
        return Response(json.dumps({"error": {"message": json.dumps(dict(request.headers))}}), 500,
                        content_type="application/json")
    httpserver.expect_request(path).respond_with_handler(echo)
    root = httpserver.url_for("/v1" if auth_type.startswith("openai") else "/")
    r = check(root, KEY, model="m", auth_type=auth_type)
    assert r["reason"] == "server_error" and "********" in r["msg"], r["msg"]


# --- the steps, one by one ---------------------------------------------------------------------------------

def fields(auth_type="openai", **more):
    """The message fields _provider_check gives the steps, for auth_type."""
    spec = _provider_check._PROTOCOLS[auth_type]
    return dict(dict(base_url="https://p.example/api", host="p.example", port=443, timeout=10, model="m",
                     url="https://p.example/api/models", key_name="KEY_VAR", auth_type=auth_type,
                     example=spec["example"], expected=spec["expected"], url_rule=spec["url_rule"]), **more)


FIELDS = fields()
Failed = _provider_check._Failed


def answer(status, body=b"", headers=None):
    return _provider_check._Reply(status, body, headers or {}, 5, None)


@pytest.mark.parametrize("url, port", [("https://p.example/v1", 443), ("http://p.example/v1", 80),
                                       ("http://p.example:8080/v1", 8080)])
def test_checked_input_gives_the_parts_and_the_port(url, port):
    parts, found = _provider_check._checked_input(url, KEY, url, "openai", None, "KEY_VAR")
    assert (parts.hostname, found) == ("p.example", port)


def test_checked_input_names_the_url_before_the_key():
    with pytest.raises(Failed) as failed:
        _provider_check._checked_input("ftp://p.example/v1", "", "ftp://p.example/v1", "openai", None, "KEY_VAR")
    assert failed.value.reason == "invalid_url" and "'ftp://p.example/v1'" in failed.value.msg
    with pytest.raises(Failed) as failed:
        _provider_check._checked_input("https://p.example/v1", KEY + "\n", "https://p.example/v1", "openai", None,
                                       "KEY_VAR")
    assert failed.value.reason == "invalid_key" and KEY not in failed.value.msg and "check KEY_VAR." in failed.value.msg


def test_build_request_refuses_an_unusable_ca_path_for_https_only(tmp_path):
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(Failed) as failed:
        _provider_check._build_request("https", {"x-goog-api-key": KEY}, missing, True, 10, "agent")
    assert failed.value.reason == "invalid_ca_path" and missing in failed.value.msg
    assert _provider_check._build_request("http", {"x-goog-api-key": KEY}, missing, True, 10, "agent") is not None


class FakeRequest:
    """Stands in for ansible's Request: open() returns or raises what it was given."""

    def __init__(self, outcome):
        self.outcome, self.calls = outcome, []

    def open(self, method, url, data=None, headers=None):
        self.calls.append((method, url, data, headers))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class FakeResponse:
    headers = {"X": "y"}

    def __init__(self, body):
        self.body = body

    def getcode(self):
        return 200

    def read(self):
        return self.body


class UnreadableBody:
    def read(self, *args):
        raise OSError("connection reset while reading")

    def close(self):
        pass


def test_call_masks_the_key_out_of_the_body_and_sends_json():
    request = FakeRequest(FakeResponse(b"you sent " + KEY.encode()))
    reply = _provider_check._call(request, "POST", "http://p.example/v1/chat/completions", KEY, {"a": 1})
    assert (reply.status, reply.body, reply.error) == (200, b"you sent ********", None)
    assert isinstance(reply.latency_ms, int)
    assert request.calls == [("POST", "http://p.example/v1/chat/completions", b'{"a": 1}',
                              {"Content-Type": "application/json"})]


def test_call_keeps_an_http_error_status_even_when_its_body_cannot_be_read():
    from urllib.error import HTTPError
    error = HTTPError("http://p.example/v1/models", 502, "Bad Gateway", {}, UnreadableBody())
    reply = _provider_check._call(FakeRequest(error), "GET", "http://p.example/v1/models", KEY)
    assert (reply.status, reply.body, reply.error) == (502, b"", None)


def test_call_returns_a_failure_below_http_instead_of_raising():
    refused = ConnectionRefusedError(111, "Connection refused")
    reply = _provider_check._call(FakeRequest(refused), "GET", "http://p.example/v1/models", KEY)
    assert reply.status is None and reply.error is refused and isinstance(reply.latency_ms, int)


@pytest.mark.parametrize("error, proxy, reason, shown", [
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), None, "dns", "Cannot resolve p.example"),
    (ConnectionRefusedError(111, "Connection refused"), None, "connection_refused", "p.example:443 refused"),
    (ConnectionRefusedError(111, "Connection refused"), "http://proxy.example:3128", "proxy",
     "the proxy http://proxy.example:3128 refused"),
    (socket.timeout("timed out"), None, "timeout", "within 10 s"),
])
def test_connection_failure(error, proxy, reason, shown):
    failure = _provider_check._connection_failure(error, proxy, KEY, FIELDS)
    assert failure.reason == reason and shown in failure.msg, failure.msg


ERROR_BODY = json.dumps({"error": {"message": "slow down"}}).encode()


@pytest.mark.parametrize("status, headers, reason, shown", [
    (302, {"Location": "https://u:pw@elsewhere.example/v1"}, "redirect", "to https://elsewhere.example/v1: set"),
    (307, {}, "redirect", "to an unknown place"),
    (401, {}, "unauthorized", "rejected the API key (HTTP 401)"),
    (403, {}, "unauthorized", "rejected the API key (HTTP 403)"),
    (404, {}, "not_found", "(HTTP 404): the base URL is probably wrong; OpenAI-compatible URLs usually end in the API "
                           "version, such as /v1 or /compatible-mode/v1. Try https://p.example/api/v1."),
    (429, {"Retry-After": "30"}, "rate_limited", "retry after 30 s. It says: slow down"),
    (503, {}, "server_error", "HTTP 503: the provider has a problem; try again later. It says: slow down"),
    (418, {}, "http_error", "answered HTTP 418 (slow down)."),
])
def test_http_failure(status, headers, reason, shown):
    failure = _provider_check._http_failure(answer(status, ERROR_BODY, headers), "https://p.example/api", KEY,
                                            FIELDS)
    assert failure.reason == reason and shown in failure.msg, failure.msg


def test_http_failure_masks_the_key_in_the_headers_it_quotes():
    failure = _provider_check._http_failure(answer(429, b"", {"Retry-After": KEY}), "https://p.example/api", KEY,
                                            FIELDS)
    assert KEY not in failure.msg and "retry after ******** s" in failure.msg


def test_model_ids_keeps_the_string_ids_only():
    body = json.dumps({"data": [{"id": "a"}, {"id": 3}, "b", {"name": "c"}, {"id": "d"}]}).encode()
    assert _provider_check._model_ids(body, KEY, FIELDS) == ["a", "d"]


@pytest.mark.parametrize("body, shown", [
    (b"", "an empty answer"),
    (b"<html>login</html>", "(<html>login</html>)"),
    (b'{"data": {}}', 'JSON without a "data" list of models'),
    (b'[{"id": "a"}]', 'JSON without a "data" list of models'),
])
def test_model_ids_refuses_anything_but_a_model_list(body, shown):
    with pytest.raises(Failed) as failed:
        _provider_check._model_ids(body, KEY, FIELDS)
    assert failed.value.reason == "bad_response" and shown in failed.value.msg


def test_match_model():
    assert _provider_check._match_model("m", ["x", "m"], FIELDS) is None
    with pytest.raises(Failed) as failed:
        _provider_check._match_model("qwen3-codr", ["qwen3-coder", "gpt-4o"], dict(FIELDS, model="qwen3-codr"))
    assert failed.value.extra == {"close_matches": ["qwen3-coder"]}
    assert failed.value.msg == "The provider does not offer the model 'qwen3-codr': close matches: qwen3-coder."
    with pytest.raises(Failed) as failed:
        _provider_check._match_model("llama", ["gpt-4o", "o1"], FIELDS)
    assert failed.value.msg.endswith("(it lists 2 models, none similar).")


class FakeProvider:
    """Stands in for _Provider: every request gets the same reply."""

    def __init__(self, reply):
        self.reply, self.asked = reply, []

    def ask(self, method, path, payload=None):
        self.asked.append((method, path, payload))
        return self.reply


def chat_probe(reply, auth_type="openai", base_url="https://p.example/api"):
    provider = FakeProvider(reply)
    _provider_check._chat_probe(provider, "m", base_url, KEY, fields(auth_type))
    return provider


def test_chat_probe_asks_for_one_token_of_the_model():
    provider = chat_probe(answer(200, b'{"choices": []}'))
    (method, url, payload), = provider.asked
    assert (method, url, payload["model"], payload["max_tokens"], payload["stream"]) == \
        ("POST", "https://p.example/api/chat/completions", "m", 1, False)


@pytest.mark.parametrize("reply, reason, extra", [
    (answer(404, b'{"error": {"code": "model_not_found"}}'), "model_not_found",
     {"model_found": False, "close_matches": []}),
    (answer(400, b'{"message": "m is not a valid model ID"}'), "model_not_found",
     {"model_found": False, "close_matches": []}),
    (answer(400, b'{"error": {"message": "max_tokens too small"}}'), "http_error", {}),
    (answer(200, b"<html>"), "bad_response", {}),
    (answer(200, b'{"object": "chat.completion"}'), "bad_response", {}),
])
def test_chat_probe_failures(reply, reason, extra):
    with pytest.raises(Failed) as failed:
        chat_probe(reply)
    assert (failed.value.reason, failed.value.extra) == (reason, extra), failed.value.msg


@pytest.mark.parametrize("auth_type, base_url, model, urls", [
    ("openai", "https://p.example/v1/", "m", (
        "https://p.example/v1/models", None, "https://p.example/v1/chat/completions")),
    ("openai-responses", "https://p.example/v1/", "m", (
        "https://p.example/v1/models", None, "https://p.example/v1/responses")),
    ("openai-responses", "https://p.example/compatible-mode", "m", (
        "https://p.example/compatible-mode/models", None, "https://p.example/compatible-mode/v1/responses")),
    ("anthropic", "https://p.example/apps/anthropic", "m", (
        "https://p.example/apps/anthropic/v1/models?limit=1000", None, "https://p.example/apps/anthropic/v1/messages")),
    ("gemini", "https://p.example", "gemini-2.5-flash", (
        "https://p.example/v1beta/models?pageSize=1000", None,
        "https://p.example/v1beta/models/gemini-2.5-flash:generateContent")),
    ("vertex-ai", "https://p.example/", "a b/c", (
        None, "https://p.example/v1beta1/publishers/google/models/a%20b%2Fc:countTokens",
        "https://p.example/v1beta1/publishers/google/models/a%20b%2Fc:generateContent")),
])
def test_urls_are_built_as_the_cli_builds_them(auth_type, base_url, model, urls):
    assert _provider_check._urls(auth_type, base_url, model) == urls


@pytest.mark.parametrize("hostname, native", [
    ("api.anthropic.com", True), ("anthropic.com", True), ("API.Anthropic.COM.", True), ("eu.api.anthropic.com", True),
    ("anthropic.com.evil.example", False), ("myanthropic.com", False), ("openrouter.ai", False), ("127.0.0.1", False),
    (None, False),
])
def test_auth_headers_anthropic(hostname, native):
    headers = _provider_check._auth_headers("anthropic", KEY, hostname)
    key = {"x-api-key": KEY} if native else {"Authorization": "Bearer " + KEY}
    assert headers == dict(key, **{"anthropic-version": "2023-06-01"})


@pytest.mark.parametrize("auth_type, headers", [
    ("openai", {"Authorization": "Bearer " + KEY}),
    ("openai-responses", {"Authorization": "Bearer " + KEY}),
    ("gemini", {"x-goog-api-key": KEY}),
    ("vertex-ai", {"x-goog-api-key": KEY}),
])
def test_auth_headers(auth_type, headers):
    assert _provider_check._auth_headers(auth_type, KEY, "api.anthropic.com") == headers


def test_chat_payloads():
    contents = [{"role": "user", "parts": [{"text": "Reply with one word."}]}]
    message = [{"role": "user", "content": "Reply with one word."}]
    payload = _provider_check._chat_payload
    assert payload("openai", "m") == {"model": "m", "max_tokens": 1, "stream": False, "messages": message}
    assert payload("openai-responses", "m") == {"model": "m", "input": "Reply with one word.",
                                                "max_output_tokens": 16, "stream": False}
    assert payload("anthropic", "m") == {"model": "m", "max_tokens": 1, "messages": message}
    assert payload("gemini", "m") == payload("vertex-ai", "m") == {"contents": contents,
                                                                   "generationConfig": {"maxOutputTokens": 1}}


@pytest.mark.parametrize("status, body, rejected", [
    (401, b"", True),
    (403, b"<html>", True),
    (400, json.dumps(API_KEY_INVALID).encode(), True),
    (400, json.dumps({"error": {"status": "INVALID_ARGUMENT", "details": [{"reason": "BAD_REQUEST"}]}}).encode(),
     False),
    (400, b'{"error": {"details": "API_KEY_INVALID"}}', False),
    (400, b'{"error": {"message": "API_KEY_INVALID"}}', False),
    (404, json.dumps(API_KEY_INVALID).encode(), False),
    (400, b"API_KEY_INVALID", False),
])
def test_key_rejected(status, body, rejected):
    assert _provider_check._key_rejected(status, body) is rejected


@pytest.mark.parametrize("body, detail", [
    (json.dumps({"type": "error", "error": {"type": "not_found_error", "message": "model: claude-x"}}).encode(),
     "model: claude-x"),
    (json.dumps(API_KEY_INVALID).encode(), "API key not valid. Please pass a valid API key."),
    (json.dumps({"error": {"code": 429, "message": "", "status": "RESOURCE_EXHAUSTED"}}).encode(),
     '{"error": {"code": 429, "message": "", "status": "RESOURCE_EXHAUSTED"}}'),
])
def test_error_detail_reads_anthropic_and_google_errors(body, detail):
    assert _provider_check._error_detail(body) == detail


@pytest.mark.parametrize("auth_type, url", [
    ("anthropic", "https://p.example/v1"), ("anthropic", "https://p.example/apps/anthropic/v1//"),
    ("gemini", "https://p.example/v1beta"), ("vertex-ai", "https://p.example/v1beta1/"),
])
def test_checked_input_refuses_the_version_the_protocol_appends(auth_type, url):
    with pytest.raises(Failed) as failed:
        _provider_check._checked_input(url, "", url, auth_type, "m", "KEY_VAR")  # the URL before the key
    assert failed.value.reason == "invalid_url" and "which the %s protocol appends itself" % auth_type in \
        failed.value.msg


@pytest.mark.parametrize("auth_type, url", [
    ("openai", "https://p.example/v1"), ("openai-responses", "https://p.example/v1"),
    ("anthropic", "https://p.example/v1/messages"), ("gemini", "https://p.example/v1"),
    ("vertex-ai", "https://p.example/v1beta"),
])
def test_checked_input_leaves_other_versions_to_the_provider(auth_type, url):
    assert _provider_check._checked_input(url, KEY, url, auth_type, "m", "KEY_VAR")[1] == 443


def test_checked_input_order_auth_type_url_key_model():
    checked = _provider_check._checked_input
    with pytest.raises(Failed) as failed:
        checked("not a url", "", "not a url", "chat", None, None)
    assert failed.value.reason == "invalid_input" and "'chat'" in failed.value.msg
    with pytest.raises(Failed) as failed:
        checked("not a url", "", "not a url", "gemini", None, "GEMINI_API_KEY")
    assert failed.value.msg.endswith("for example https://generativelanguage.googleapis.com.")
    with pytest.raises(Failed) as failed:
        checked("https://p.example", "", "https://p.example", "vertex-ai", None, "GOOGLE_API_KEY")
    assert failed.value.msg == "The API key is empty: check GOOGLE_API_KEY."
    with pytest.raises(Failed) as failed:
        checked("https://p.example", KEY, "https://p.example", "vertex-ai", "", "GOOGLE_API_KEY")
    assert failed.value.reason == "invalid_input" and "GOOGLE_MODEL" in failed.value.msg
    assert checked("https://p.example", KEY, "https://p.example", "gemini", None, "GEMINI_API_KEY")[1] == 443


@pytest.mark.parametrize("auth_type, body, ids", [
    ("anthropic", CLAUDE_LIST, ["claude-sonnet-4-5", "claude-opus-4-1"]),
    ("gemini", {"models": [{"name": "models/a"}, {"name": "b"}, {"name": 3}, {"id": "c"}, {"name": "models/"}]},
     ["a", "b", ""]),
    ("openai-responses", {"data": [{"id": "a"}]}, ["a"]),
])
def test_model_ids_per_protocol(auth_type, body, ids):
    assert _provider_check._model_ids(json.dumps(body).encode(), KEY, fields(auth_type)) == ids


def test_model_ids_names_the_protocols_list():
    with pytest.raises(Failed) as failed:
        _provider_check._model_ids(json.dumps({"data": []}).encode(), KEY, fields("gemini"))
    assert 'JSON without a "models" list of models' in failed.value.msg and "a Gemini JSON answer" in failed.value.msg


@pytest.mark.parametrize("auth_type, base_url, path", [
    ("openai", "https://p.example/api", " Try https://p.example/api/v1."),
    ("openai-responses", "https://p.example/v1/responses",
     " The base URL must stop before /responses: try https://p.example/v1."),
    ("anthropic", "https://p.example/api", ""),
    ("anthropic", "https://p.example/api/v1/messages/",
     " The base URL must stop before /v1/messages: try https://p.example/api."),
    ("gemini", "https://p.example/v1", " The base URL must stop before /v1: try https://p.example."),
    ("gemini", "https://p.example/v1beta/models", " The base URL must stop before /v1beta/models: try https://p.example."),
    ("vertex-ai", "https://p.example/v1beta1/publishers/google/models",
     " The base URL must stop before /v1beta1/publishers/google/models: try https://p.example."),
    ("vertex-ai", "https://p.example", ""),
])
def test_not_found_hint_per_protocol(auth_type, base_url, path):
    assert _provider_check._not_found_hint(base_url, auth_type) == path


@pytest.mark.parametrize("auth_type, answer_body, url", [
    ("openai-responses", b'{"output": []}', "https://p.example/v1/responses"),
    ("anthropic", b'{"content": []}', "https://p.example/v1/v1/messages"),
    ("gemini", b'{"candidates": []}', "https://p.example/v1/v1beta/models/m:generateContent"),
    ("vertex-ai", b'{"candidates": []}', "https://p.example/v1/v1beta1/publishers/google/models/m:generateContent"),
])
def test_chat_probe_per_protocol(auth_type, answer_body, url):
    provider = chat_probe(answer(200, answer_body), auth_type, "https://p.example/v1")
    assert [asked[:2] for asked in provider.asked] == [("POST", url)]
    with pytest.raises(Failed) as failed:
        chat_probe(answer(200, b'{"choices": []}'), auth_type, "https://p.example/v1")
    assert failed.value.reason == "bad_response" and _provider_check._PROTOCOLS[auth_type]["expected"] in \
        failed.value.msg


@pytest.mark.parametrize("reply, reason", [
    (answer(200, b'{"totalTokens": 0}'), None),
    (answer(200, b'{"totalTokens": 2.5}'), None),
    (answer(200, b'{"totalTokens": "5"}'), "bad_response"),
    (answer(200, b'{"totalTokens": false}'), "bad_response"),
    (answer(200, b'{"candidates": []}'), "bad_response"),
    (answer(404, b'{"error": {"code": 404, "message": "Publisher Model m not found.", "status": "NOT_FOUND"}}'),
     "model_not_found"),
    (answer(404, b'{"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}}'), "not_found"),
    (answer(400, json.dumps(dict(API_KEY_INVALID, note="model not valid")).encode()), "unauthorized"),
    (answer(403, b'{"error": {"message": "model m not found"}}'), "unauthorized"),
])
def test_count_tokens(reply, reason):
    provider = FakeProvider(reply)
    url = "https://p.example/v1beta1/publishers/google/models/m:countTokens"
    if reason is None:
        _provider_check._count_tokens(provider, url, "https://p.example", KEY, fields("vertex-ai"))
    else:
        with pytest.raises(Failed) as failed:
            _provider_check._count_tokens(provider, url, "https://p.example", KEY, fields("vertex-ai"))
        assert failed.value.reason == reason, failed.value.msg
    contents = [{"role": "user", "parts": [{"text": "Reply with one word."}]}]
    assert provider.asked == [("POST", url, {"contents": contents})]
