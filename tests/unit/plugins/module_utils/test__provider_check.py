"""_provider_check: provider_check() against real HTTP(S) servers and a real proxy on 127.0.0.1 (every reason, and
never the key), and its steps one by one."""
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


# --- the steps, one by one ---------------------------------------------------------------------------------

FIELDS = dict(base_url="https://p.example/api", host="p.example", port=443, timeout=10, model="m",
              url="https://p.example/api/models")
Failed = _provider_check._Failed


def answer(status, body=b"", headers=None):
    return _provider_check._Reply(status, body, headers or {}, 5, None)


@pytest.mark.parametrize("url, port", [("https://p.example/v1", 443), ("http://p.example/v1", 80),
                                       ("http://p.example:8080/v1", 8080)])
def test_checked_input_gives_the_parts_and_the_port(url, port):
    parts, found = _provider_check._checked_input(url, KEY, url)
    assert (parts.hostname, found) == ("p.example", port)


def test_checked_input_names_the_url_before_the_key():
    with pytest.raises(Failed) as failed:
        _provider_check._checked_input("ftp://p.example/v1", "", "ftp://p.example/v1")
    assert failed.value.reason == "invalid_url" and "'ftp://p.example/v1'" in failed.value.msg
    with pytest.raises(Failed) as failed:
        _provider_check._checked_input("https://p.example/v1", KEY + "\n", "https://p.example/v1")
    assert failed.value.reason == "invalid_key" and KEY not in failed.value.msg


def test_build_request_refuses_an_unusable_ca_path_for_https_only(tmp_path):
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(Failed) as failed:
        _provider_check._build_request("https", KEY, missing, True, 10, "agent")
    assert failed.value.reason == "invalid_ca_path" and missing in failed.value.msg
    assert _provider_check._build_request("http", KEY, missing, True, 10, "agent") is not None


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


def chat_probe(reply):
    provider = FakeProvider(reply)
    _provider_check._chat_probe(provider, "m", "https://p.example/api", KEY, FIELDS)
    return provider


def test_chat_probe_asks_for_one_token_of_the_model():
    provider = chat_probe(answer(200, b'{"choices": []}'))
    (method, path, payload), = provider.asked
    assert (method, path, payload["model"], payload["max_tokens"], payload["stream"]) == \
        ("POST", "/chat/completions", "m", 1, False)


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
