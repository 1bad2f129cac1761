"""provider_check against real HTTP(S) servers and a real proxy on 127.0.0.1: every reason, and never the key."""
import json
import os
import socket
import ssl

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from ansible_collections.qwenops.qwen_code.plugins.module_utils import _provider_check, _transport
from ansible_collections.qwenops.qwen_code.plugins.module_utils._presets import PROVIDER_PRESETS
from ansible_collections.qwenops.qwen_code.plugins.module_utils._provider_check import MESSAGES, close_matches, provider_check

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module as run_collection_module

KEY = "sk-unit-CANARY-31f4a"
MODEL_IDS = ("qwen/qwen3-coder", "qwen/qwen3-coder:free", "qwen/qwen-2.5-72b", "gpt-4o")
MODELS = {"object": "list", "data": [{"id": m} for m in MODEL_IDS]}

pytestmark = pytest.mark.usefixtures("no_proxy_env")


def bearer_only(answer, status=200):
    """A handler that answers like a provider: 401 unless the exact bearer key is sent."""
    def handler(request):
        if request.headers.get("Authorization") != "Bearer " + KEY:
            return Response(json.dumps({"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}),
                            401, content_type="application/json")
        return Response(json.dumps(answer), status, content_type="application/json")
    return handler


def base(server):
    return server.url_for("/v1")


def assert_no_key(result):
    assert KEY not in json.dumps(result)


def check(*args, **kwargs):
    result = provider_check(*args, **kwargs)
    assert_no_key(result)
    assert set(result) >= {"reason", "msg", "status", "latency_ms", "model_found", "models_count", "url",
                           "base_url", "proxy"}
    assert result["reason"] == "ok" or result["reason"] in MESSAGES or result["reason"] == "tls"
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
    assert "qwen_code_api_key" in r["msg"] and str(status) in r["msg"]


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

def test_dns_failure(monkeypatch):
    # No DNS query leaves the machine: the resolver itself is replaced for this one name.
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "no-such-provider.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
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

def tls_server_for(tls_pair, cert="cert"):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_pair[cert], tls_pair[cert.replace("cert", "key")])
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    server.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    return server


@pytest.fixture
def tls_server(tls_pair):
    servers = []

    def start(cert="cert"):
        servers.append(tls_server_for(tls_pair, cert))
        return servers[-1]
    yield start
    for server in servers:
        server.clear()
        server.stop()


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


def test_proxy_name_does_not_resolve(tls_server, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "proxy.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.setenv("https_proxy", "http://proxy.invalid:3128")
    r = check(base(tls_server()), KEY)
    assert r["reason"] == "proxy" and "cannot resolve the proxy http://proxy.invalid:3128" in r["msg"]


# --- the module --------------------------------------------------------------------------------------------

def run_module(args, tmp_path, check_mode=False, env=None):
    result = run_collection_module("provider_check", args, tmp_path, check=check_mode, env=env)
    assert KEY not in result["_raw"]
    return result


def test_module_fails_with_reason_status_latency_and_hides_the_key(httpserver, tmp_path):
    httpserver.expect_request("/v1/models").respond_with_json({"error": {"message": KEY}}, status=401)
    result = run_module({"base_url": base(httpserver), "api_key": KEY, "model": "m"}, tmp_path)
    assert result["failed"] and result["reason"] == "unauthorized" and result["status"] == 401
    assert isinstance(result["latency_ms"], int) and result["msg"] and result["changed"] is False


def test_module_register_mode(tmp_path):
    result = run_module({"base_url": "not a url", "api_key": KEY, "fail_on_error": False}, tmp_path)
    assert not result.get("failed") and result["reason"] == "invalid_url" and result["changed"] is False


def test_module_key_with_newline_never_printed(tmp_path):
    result = run_module({"base_url": "http://127.0.0.1:9/v1", "api_key": KEY + "\n"}, tmp_path)
    assert result["failed"] and result["reason"] == "invalid_key"


def test_module_check_mode(httpserver, tmp_path):
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    result = run_module({"base_url": base(httpserver), "api_key": KEY, "model": "gpt-4o"}, tmp_path, check_mode=True)
    assert result["reason"] == "ok" and result["changed"] is False and result["model_found"] is True


@pytest.mark.parametrize("args", [{"provider": "openrouter"}, {"base_url": "openrouter"}])
def test_module_presets(args, tmp_path, connect_proxy):
    # The preset's host is never contacted: the proxy (on 127.0.0.1) refuses every tunnel.
    proxy = connect_proxy(reject="403 Forbidden")
    result = run_module(dict(args, api_key=KEY, fail_on_error=False), tmp_path,
                        env={"https_proxy": proxy.url, "HTTPS_PROXY": proxy.url, "no_proxy": "", "NO_PROXY": ""})
    assert result["base_url"] == PROVIDER_PRESETS["openrouter"] and result["reason"] == "proxy"
    assert [line.rsplit(" ", 1)[0] for line in proxy.requests] == ["CONNECT openrouter.ai:443"]


@pytest.mark.parametrize("args, shown", [
    ({"provider": "nope"}, "provider"),
    ({"provider": "openai", "base_url": "http://127.0.0.1:9/v1"}, "not both"),
    ({"provider": "custom"}, "base_url"),
    ({}, "one of the following is required: base_url, provider"),
    ({"base_url": "http://127.0.0.1:9/v1", "probe": "chat"}, "model"),
    ({"base_url": "http://127.0.0.1:9/v1", "timeout": 0}, "timeout"),
])
def test_module_rejects_contradictory_options(args, shown, tmp_path):
    result = run_module(dict(args, api_key=KEY, fail_on_error=False), tmp_path)
    assert result["failed"] and shown in result["msg"]


def test_module_ca_path_is_additive(tls_server, tls_pair, tmp_path):
    public, private = tls_server("other_cert"), tls_server("cert")
    system = {"SSL_CERT_FILE": tls_pair["other_ca"], "SSL_CERT_DIR": str(tmp_path / "none")}
    for server in (public, private):
        result = run_module({"base_url": base(server), "api_key": KEY, "ca_path": tls_pair["ca"]}, tmp_path,
                            env=system)
        assert result["reason"] == "ok", result["msg"]
    result = run_module({"base_url": base(private), "api_key": KEY, "fail_on_error": False}, tmp_path, env=system)
    assert result["reason"] == "tls"


def test_module_custom_provider_uses_base_url(httpserver, tmp_path):
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    result = run_module({"provider": "custom", "base_url": base(httpserver), "api_key": KEY}, tmp_path)
    assert result["reason"] == "ok" and result["models_count"] == 4
