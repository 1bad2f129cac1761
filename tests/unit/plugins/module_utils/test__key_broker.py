"""The key broker's names (plugins/module_utils/_key_broker.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils import _key_broker


def test_a_token_depends_on_key_user_provider_and_endpoint_and_shows_none_of_them():
    token = _key_broker.token_for("sk-secret", "alice", "or", "https://openrouter.ai/api/v1")
    assert token.startswith("qwb-") and len(token) == 52 and "secret" not in token
    assert token == _key_broker.token_for("sk-secret", "alice", "or", "https://openrouter.ai/api/v1")
    others = [_key_broker.token_for("sk-other", "alice", "or", "https://openrouter.ai/api/v1"),
              _key_broker.token_for("sk-secret", "bob", "or", "https://openrouter.ai/api/v1"),
              _key_broker.token_for("sk-secret", "alice", "x", "https://openrouter.ai/api/v1"),
              _key_broker.token_for("sk-secret", "alice", "or", "https://example.com/v1")]
    assert len(set(others + [token])) == 5


@pytest.mark.parametrize("upstream, url", [
    ("https://openrouter.ai/api/v1", "http://127.0.0.1:1009/or/api/v1"),
    ("https://openrouter.ai/api/v1/", "http://127.0.0.1:1009/or/api/v1"),
    ("https://api.anthropic.com", "http://127.0.0.1:1009/or"),
    ("http://127.0.0.1:18080", "http://127.0.0.1:1009/or"),
])
def test_the_broker_url_keeps_the_endpoints_path(upstream, url):
    assert _key_broker.broker_url(1009, "or", upstream) == url


@pytest.mark.parametrize("port, ok", [(1009, True), (1, True), (1023, True), (0, False), (1024, False),
                                      (8080, False), (True, False), ("80", False)])
def test_only_a_port_root_alone_can_bind(port, ok):
    assert (_key_broker.port_problem(port) is None) == ok


def test_the_config_is_canonical_and_names_uids():
    routes = [dict(token="qwb-b", user="bob", provider="p", protocol="gemini", upstream="https://g", key="k2"),
              dict(token="qwb-a", user="alice", provider="p", protocol="openai", upstream="https://o", key="k1")]
    data = _key_broker.config(1009, routes, {"alice": 1001, "bob": 1002}, https_proxy="http://proxy:3128",
                              ca_file="/etc/ssl/ca.pem")
    assert data["listen"] == {"host": "127.0.0.1", "port": 1009}
    assert [(r["user"], r["uid"]) for r in data["routes"]] == [("alice", 1001), ("bob", 1002)]
    assert data["upstream"]["https_proxy"] == "http://proxy:3128" and data["upstream"]["ca_file"] == "/etc/ssl/ca.pem"
    text = _key_broker.dumps(data)
    assert json.loads(text) == data and text == _key_broker.dumps(_key_broker.config(
        1009, list(reversed(routes)), {"alice": 1001, "bob": 1002}, https_proxy="http://proxy:3128",
        ca_file="/etc/ssl/ca.pem"))
