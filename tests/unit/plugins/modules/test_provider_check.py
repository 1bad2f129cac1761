"""provider_check, the module: options, presets per protocol, failing or not, check mode, the key never in its output.
What the check finds is tested in tests/unit/plugins/module_utils/test__provider_check.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import pytest
import yaml
from werkzeug import Response

from ansible_collections.qwenops.qwen_code.plugins.module_utils._auth_types import AUTH_TYPES
from ansible_collections.qwenops.qwen_code.plugins.module_utils._presets import PROVIDER_PRESETS, preset_url
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO
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


@pytest.mark.parametrize("args, auth_type, host", [
    ({"provider": "openrouter"}, "openai", "openrouter.ai"),
    ({"base_url": "openrouter"}, "openai", "openrouter.ai"),
    ({"provider": "openrouter", "auth_type": "anthropic"}, "anthropic", "openrouter.ai"),
    ({"base_url": "dashscope_intl", "auth_type": "openai-responses"}, "openai-responses", "dashscope-intl.aliyuncs.com"),
    ({"provider": "coding_plan"}, "openai", "coding.dashscope.aliyuncs.com"),
    ({"base_url": "coding_plan_intl"}, "openai", "coding-intl.dashscope.aliyuncs.com"),
    ({"provider": "gemini", "auth_type": "gemini"}, "gemini", "generativelanguage.googleapis.com"),
    ({"provider": "vertex", "auth_type": "vertex-ai", "model": "gemini-2.5-flash"}, "vertex-ai",
     "aiplatform.googleapis.com"),
])
def test_module_presets(args, auth_type, host, tmp_path, connect_proxy):
    # The preset's host is never contacted: the proxy (on 127.0.0.1) refuses every tunnel.
    proxy = connect_proxy(reject="403 Forbidden")
    result = run_module(dict(args, api_key=KEY, fail_on_error=False), tmp_path,
                        env={"https_proxy": proxy.url, "HTTPS_PROXY": proxy.url, "no_proxy": "", "NO_PROXY": ""})
    name = args.get("provider") or args["base_url"]
    assert (result["base_url"], result["auth_type"]) == (preset_url(name, auth_type), auth_type)
    assert result["reason"] == "proxy", result["msg"]
    assert [line.rsplit(" ", 1)[0] for line in proxy.requests] == ["CONNECT %s:443" % host]


@pytest.mark.parametrize("args", [{"provider": "gemini"}, {"base_url": "gemini"},
                                  {"provider": "modelscope", "auth_type": "openai-responses"},
                                  {"provider": "anthropic", "auth_type": "vertex-ai", "model": "m"}])
def test_module_preset_without_the_protocol_fails_naming_both(args, tmp_path):
    result = run_module(dict(args, api_key=KEY, fail_on_error=False), tmp_path)
    name, auth_type = args.get("provider") or args["base_url"], args.get("auth_type", "openai")
    assert result["failed"] and result["reason"] == "invalid_input"
    assert result["msg"] == "the preset %s has no endpoint for auth_type %s (it has: %s): choose one of those, or " \
        "give base_url" % (name, auth_type, ", ".join(PROVIDER_PRESETS[name]))


@pytest.mark.parametrize("args, shown", [
    ({"provider": "nope"}, "provider"),
    ({"provider": "openai", "base_url": "http://127.0.0.1:9/v1"}, "not both"),
    ({"provider": "custom"}, "base_url"),
    ({}, "one of the following is required: base_url, provider"),
    ({"base_url": "http://127.0.0.1:9/v1", "probe": "chat"}, "model"),
    ({"base_url": "http://127.0.0.1:9/v1", "timeout": 0}, "timeout"),
    ({"base_url": "http://127.0.0.1:9", "auth_type": "vertex-ai"}, "auth_type is vertex-ai but all of the following "
                                                                   "are missing: model"),
    ({"base_url": "http://127.0.0.1:9", "auth_type": "claude"}, "auth_type"),
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


def google_only(answer):
    """A handler that answers like Google: 400 API_KEY_INVALID unless x-goog-api-key carries the key."""
    def handler(request):
        if request.headers.get("x-goog-api-key") != KEY or "Authorization" in request.headers:
            error = {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT",
                     "details": [{"reason": "API_KEY_INVALID"}]}
            return Response(json.dumps({"error": error}), 400, content_type="application/json")
        return Response(json.dumps(answer), 200, content_type="application/json")
    return handler


def test_module_gemini(httpserver, tmp_path):
    httpserver.expect_request("/v1beta/models").respond_with_handler(google_only({"models": [{"name": "models/g"}]}))
    result = run_module({"base_url": httpserver.url_for("/"), "auth_type": "gemini", "api_key": KEY, "model": "g"},
                        tmp_path)
    assert (result["reason"], result["auth_type"], result["model_found"]) == ("ok", "gemini", True), result["msg"]
    result = run_module({"base_url": httpserver.url_for("/"), "auth_type": "gemini", "api_key": KEY + "x",
                         "fail_on_error": False}, tmp_path)
    assert result["reason"] == "unauthorized" and "check GEMINI_API_KEY for this provider" in result["msg"]


def test_module_vertex_ai_counts_tokens(httpserver, tmp_path):
    httpserver.expect_request("/v1beta1/publishers/google/models/g:countTokens", method="POST").respond_with_handler(
        google_only({"totalTokens": 4}))
    result = run_module({"base_url": httpserver.url_for("/"), "auth_type": "vertex-ai", "api_key": KEY, "model": "g"},
                        tmp_path, check_mode=True)
    assert (result["reason"], result["model_found"], result["models_count"]) == ("ok", True, None), result["msg"]


@pytest.mark.parametrize("key_name, shown", [(None, "check ANTHROPIC_API_KEY for this provider"),
                                             ("the key of provider openrouter for alice (QWENOPS_KEY_OPENROUTER)",
                                              "check the key of provider openrouter for alice "
                                              "(QWENOPS_KEY_OPENROUTER) for this provider")])
def test_module_key_name(httpserver, tmp_path, key_name, shown):
    httpserver.expect_request("/v1/models").respond_with_json(
        {"type": "error", "error": {"type": "authentication_error", "message": "invalid bearer token"}}, status=401)
    args = {"base_url": httpserver.url_for("/"), "auth_type": "anthropic", "api_key": KEY, "fail_on_error": False}
    if key_name:
        args["key_name"] = key_name
    result = run_module(args, tmp_path)
    assert result["reason"] == "unauthorized" and shown in result["msg"]
    assert httpserver.log[0][0].headers["Authorization"] == "Bearer " + KEY  # a local host: not x-api-key


# Each preset in the documentation of the provider option: one description entry
#   V(<name>): C(<auth type>) U(<url>); C(<auth type>) U(<url>).
# with the protocols in the order of PROVIDER_PRESETS[name].
PRESET_ENTRY = re.compile(r"^V\(([a-z_]+)\): ((?:C\([a-z-]+\) U\([^)\s]+\))(?:; C\([a-z-]+\) U\([^)\s]+\))*)\.$")


def test_module_documentation_lists_every_preset_per_protocol():
    with open(os.path.join(REPO, "plugins", "modules", "provider_check.py")) as f:
        doc = yaml.safe_load(f.read().split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0])
    option = doc["options"]["provider"]
    documented = {}
    for entry in option["description"]:
        found = PRESET_ENTRY.match(entry)
        if found:
            documented[found.group(1)] = dict(re.findall(r"C\(([a-z-]+)\) U\(([^)]+)\)", found.group(2)))
    assert documented == PROVIDER_PRESETS
    assert [list(documented[name]) for name in PROVIDER_PRESETS] == [list(urls) for urls in PROVIDER_PRESETS.values()]
    assert sorted(option["choices"]) == sorted(list(PROVIDER_PRESETS) + ["custom"])
    assert doc["options"]["auth_type"]["choices"] == list(AUTH_TYPES)
