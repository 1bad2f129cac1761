"""Every protocol, a key per user and several providers for one user, with the real CLI (side_effect.yml ran it):
each answer came in the user's protocol with that user's own key, and no key is in any settings.json."""
import json
import re

import pytest

from molecule_verify import CANARY, stub_requests

# The stub's key file lists the keys in this order (molecule.yml: qwen_test_stub_keys).
KEYS = ["ann", "rose", "ada", "gem", "vera", "multi-openai", "multi-anthropic", "multi-gemini"]
PROTOCOL = {"ann": "openai", "rose": "openai-responses", "ada": "anthropic", "gem": "gemini", "vera": "vertex-ai",
            "multi-openai": "openai", "multi-anthropic": "anthropic", "multi-gemini": "gemini"}
USERS = ["ann", "rose", "ada", "gem", "vera", "multi"]


@pytest.mark.parametrize("owner", KEYS)
def test_each_key_was_used_in_its_own_protocol(host, owner):
    requests = [r for r in stub_requests(host) if r.get("key_index") == KEYS.index(owner)]
    turns = [r for r in requests if r["method"] == "POST"]
    assert turns, "no request with the key of %s" % owner
    assert all(r["protocol"] == PROTOCOL[owner] and r["auth_ok"] and r["status"] == 200 for r in turns), turns


def test_anthropic_key_went_as_bearer_to_a_host_that_is_not_anthropic(host):
    turns = [r for r in stub_requests(host) if r.get("protocol") == "anthropic" and r["method"] == "POST"]
    assert turns and {r["key_header"] for r in turns} == {"authorization"}, turns


@pytest.mark.parametrize("user", USERS)
def test_keys_live_only_in_the_users_env(host, user):
    env = host.file("/home/%s/.qwen/.env" % user)
    assert (env.user, env.mode) == (user, 0o600)
    names = re.findall(r"^([A-Z_]+)=", env.content_string, re.M)
    assert [n for n in names if n.startswith("QWENOPS_KEY_")], names
    settings = host.file("/home/%s/.qwen/settings.json" % user)
    assert CANARY not in settings.content_string
    data = json.loads(settings.content_string)
    for entries in data["modelProviders"].values():
        for entry in entries:
            assert entry["envKey"].startswith("QWENOPS_KEY_") and "apiKey" not in entry


def test_the_multi_provider_user_has_one_group_per_protocol(host):
    data = json.loads(host.file("/home/multi/.qwen/settings.json").content_string)
    assert sorted(data["modelProviders"]) == ["anthropic", "gemini", "openai"]
    assert data["security"]["auth"]["selectedType"] == "openai"
    assert data["model"]["name"] == "qwenops/stub-coder"


def test_responses_entry_says_its_wire_api(host):
    data = json.loads(host.file("/home/rose/.qwen/settings.json").content_string)
    assert data["modelProviders"]["openai"][0]["wireApi"] == "responses"
    assert data["security"]["auth"]["selectedType"] == "openai-responses"


def test_the_provider_check_asked_each_endpoint_and_key_once_per_run(host):
    # GET = the check's model lists (and countTokens for vertex-ai): every key was checked.
    checked = {r.get("key_index") for r in stub_requests(host)
               if r["method"] == "GET" or r["path"].endswith(":countTokens")}
    assert checked >= set(range(len(KEYS))), checked
