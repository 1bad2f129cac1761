"""provider_check against real HTTP(S) servers on 127.0.0.1: every failure reason, and never the key."""
import json
import socket
import ssl

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from ansible_collections.qwenops.qwen_code.plugins.module_utils import qwen_code
from ansible_collections.qwenops.qwen_code.plugins.module_utils.qwen_code import provider_check

from conftest import run_module as run_collection_module

KEY = "sk-unit-CANARY-31f4a"
MODEL_IDS = ("qwen/qwen3-coder", "qwen/qwen3-coder:free", "qwen/qwen-2.5-72b", "gpt-4o")
MODELS = {"object": "list", "data": [{"id": m} for m in MODEL_IDS]}


def bearer_only(handler_json, status=200):
    def handler(request):
        if request.headers.get("Authorization") != "Bearer " + KEY:
            return Response(json.dumps({"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}),
                            401, content_type="application/json")
        return Response(json.dumps(handler_json), status, content_type="application/json")
    return handler


def base(server):
    return server.url_for("/v1")


def assert_no_key(result):
    assert KEY not in json.dumps(result)


def test_ok_models(httpserver):
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    r = provider_check(base(httpserver), KEY, model="qwen/qwen3-coder")
    assert r["reason"] == "ok", r["msg"]
    assert (r["status"], r["model_found"], r["models_count"]) == (200, True, 4)
    assert isinstance(r["latency_ms"], int)
    assert_no_key(r)


def test_ok_chat_probe(httpserver):
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_handler(
        bearer_only({"choices": [{"message": {"content": "p"}}]}))
    r = provider_check(base(httpserver), KEY, model="gpt-4o", probe="chat")
    assert r["reason"] == "ok", r["msg"]
    assert r["url"].endswith("/v1/chat/completions")


@pytest.mark.parametrize("status", [401, 403])
def test_wrong_key(httpserver, status):
    httpserver.expect_request("/v1/models").respond_with_json({"error": {"message": "No auth"}}, status=status)
    r = provider_check(base(httpserver), KEY, model="gpt-4o")
    assert (r["reason"], r["status"]) == ("unauthorized", status)
    assert "qwen_code_api_key" in r["msg"]
    assert_no_key(r)


def test_wrong_base_url_404(httpserver):
    httpserver.expect_request("/models").respond_with_data("Not Found", status=404)
    r = provider_check(httpserver.url_for("/"), KEY, model="gpt-4o")
    assert r["reason"] == "not_found"
    assert "/v1" in r["msg"]


def test_rate_limited(httpserver):
    httpserver.expect_request("/v1/models").respond_with_json({"error": {"message": "quota"}}, status=429)
    r = provider_check(base(httpserver), KEY)
    assert r["reason"] == "rate_limited" and "429" in r["msg"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error(httpserver, status):
    httpserver.expect_request("/v1/models").respond_with_data("oops", status=status)
    r = provider_check(base(httpserver), KEY)
    assert (r["reason"], r["status"]) == ("server_error", status)


def test_model_not_offered_lists_close_matches(httpserver):
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    r = provider_check(base(httpserver), KEY, model="qwen/qwen3-codr")
    assert r["reason"] == "model_not_found" and r["model_found"] is False
    assert "qwen/qwen3-codr" in r["msg"]
    assert "qwen/qwen3-coder" in r["close_matches"]


def test_model_not_found_on_chat(httpserver):
    httpserver.expect_request("/v1/models").respond_with_json({"data": [{"id": "m"}]})
    httpserver.expect_request("/v1/chat/completions", method="POST").respond_with_json(
        {"error": {"code": "model_not_found", "message": "The model `m` does not exist"}}, status=404)
    r = provider_check(base(httpserver), KEY, model="m", probe="chat")
    assert r["reason"] == "model_not_found"


def test_non_json_answer(httpserver):
    httpserver.expect_request("/v1/models").respond_with_data("<html>login page</html>", content_type="text/html")
    r = provider_check(base(httpserver), KEY)
    assert r["reason"] == "bad_response" and "login page" in r["msg"]


@pytest.mark.parametrize("url", ["", "openrouter.ai/api/v1", "ftp://x/v1", "http://", "https://exa mple.com/v1",
                                 "http://[::1/v1", "https://user:%s@example.com/v1" % KEY])
def test_malformed_url_never_raises(url):
    r = provider_check(url, KEY)
    assert r["reason"] == "invalid_url"
    assert_no_key(r)


def test_dns_failure(monkeypatch):
    # No DNS query leaves the machine: the resolver itself is replaced for this one name.
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "no-such-provider.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    r = provider_check("https://no-such-provider.invalid/v1", KEY)
    assert r["reason"] == "dns" and "no-such-provider.invalid" in r["msg"]


def test_connection_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = provider_check("http://127.0.0.1:%d/v1" % port, KEY)
    assert r["reason"] == "connection_refused" and str(port) in r["msg"]


def test_timeout():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)  # accepts into the backlog, never answers
    try:
        r = provider_check("http://127.0.0.1:%d/v1" % s.getsockname()[1], KEY, timeout=1)
    finally:
        s.close()
    assert r["reason"] == "timeout"


@pytest.fixture
def tls_server(tls_pair):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_pair["cert"], tls_pair["key"])
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    server.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    yield server
    server.clear()
    server.stop()


def test_tls_untrusted_ca(tls_server):
    r = provider_check(base(tls_server), KEY, model="gpt-4o")
    assert r["reason"] == "tls"
    assert "qwen_code_ca_bundle" in r["msg"]


def test_tls_trusted_via_ca_path(tls_server, tls_pair):
    r = provider_check(base(tls_server), KEY, model="gpt-4o", ca_path=tls_pair["ca"])
    assert r["reason"] == "ok", r["msg"]


def test_ca_path_is_added_to_the_system_store(tls_pair):
    # The bundle must extend the public roots, not replace them (like NODE_EXTRA_CA_CERTS).
    context = qwen_code.extra_ca_context(tls_pair["ca"])
    assert len(context.get_ca_certs()) > 1


def test_tls_validate_certs_off(tls_server):
    r = provider_check(base(tls_server), KEY, model="gpt-4o", validate_certs=False)
    assert r["reason"] == "ok"


def test_proxy_from_environment(httpserver, monkeypatch):
    """Requests go through http_proxy like the CLI's: the 'proxy' here is the local server itself."""
    seen = []

    def handler(request):
        seen.append(request.url)
        return bearer_only(MODELS)(request)
    httpserver.expect_request("/v1/models").respond_with_handler(handler)
    monkeypatch.setenv("http_proxy", httpserver.url_for("/"))
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    r = provider_check("http://provider.example/v1", KEY, model="gpt-4o")
    assert r["reason"] == "ok", r["msg"]
    assert seen and seen[0].startswith("http://provider.example/v1/models")


def run_module(args, tmp_path):
    result = run_collection_module("provider_check", args, tmp_path, check=args.pop("_check", False))
    assert KEY not in result["_raw"]
    return result


def test_module_fails_with_reason_and_hides_the_key(httpserver, tmp_path):
    httpserver.expect_request("/v1/models").respond_with_json({"error": {"message": KEY}}, status=401)
    result = run_module({"base_url": base(httpserver), "api_key": KEY, "model": "m"}, tmp_path)
    assert result["failed"] and result["reason"] == "unauthorized"


def test_module_register_mode_and_preset(tmp_path, monkeypatch):
    result = run_module({"base_url": "not a url", "api_key": KEY, "fail_on_error": False}, tmp_path)
    assert not result.get("failed") and result["reason"] == "invalid_url"
    result = run_module({"provider": "nope", "api_key": KEY}, tmp_path)
    assert result["failed"] and "provider" in result["msg"]


def test_module_check_mode(httpserver, tmp_path):
    httpserver.expect_request("/v1/models").respond_with_handler(bearer_only(MODELS))
    result = run_module({"base_url": base(httpserver), "api_key": KEY, "model": "gpt-4o", "_check": True}, tmp_path)
    assert result["reason"] == "ok" and result["changed"] is False
