"""provider_check, the module: options, presets, failing or not, check mode, the key never in its output. What the
check finds is tested in tests/unit/plugins/module_utils/test__provider_check.py."""
import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._presets import PROVIDER_PRESETS
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import PROVIDER_KEY as KEY
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import PROVIDER_MODELS as MODELS
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import base, bearer_only
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module as run_collection_module

pytestmark = pytest.mark.usefixtures("no_proxy_env")


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
