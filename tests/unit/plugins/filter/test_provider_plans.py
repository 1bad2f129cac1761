"""provider_plans: the users' providers, keys and settings as the role writes them; every bad input named."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.qwenops.qwen_code.plugins.filter.provider_plans import key_variable, provider_plans, user_names
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

KEY = "sk-plans-CANARY"
RELEASE = {"version": DEFAULT, "auth_types": ["openai", "openai-responses", "anthropic", "gemini", "vertex-ai"],
           "wire_api": True}
SINGLE = {"auth_type": "openai", "provider": "openrouter", "base_url": "", "api_key": KEY, "model": "qwen/qwen3-coder"}


def plans(users, release=None, **defaults):
    release = release or RELEASE
    values = dict(SINGLE, providers=[], allow_insecure_base_url=False)
    values.update(defaults)
    return provider_plans(users, values, release)


def test_single_provider_for_every_user():
    out = plans(["alice", "bob"])
    assert out["problems"] == [] and out["names"] == ["alice", "bob"]
    alice = dict(env=out["env"]["alice"], settings=out["settings"]["alice"])
    assert alice["env"] == {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "https://openrouter.ai/api/v1",
                            "OPENAI_MODEL": "qwen/qwen3-coder", "QWENOPS_KEY_OPENROUTER": KEY}
    assert alice["settings"] == {
        "security": {"auth": {"selectedType": "openai"}}, "model": {"name": "qwen/qwen3-coder"},
        "modelProviders": {"openai": [{"id": "qwen/qwen3-coder", "name": "qwen/qwen3-coder (openrouter)",
                                       "baseUrl": "https://openrouter.ai/api/v1", "envKey": "QWENOPS_KEY_OPENROUTER"}]}}
    assert KEY not in json.dumps(alice["settings"])
    assert len(out["checks"]) == 1 and out["checks"][0]["users"] == ["alice", "bob"]
    assert "QWENOPS_KEY_OPENROUTER" in out["checks"][0]["key_name"] and KEY not in out["checks"][0]["key_name"]


def test_per_user_key_overrides_only_that_user():
    out = plans(["alice", {"name": "bob", "api_key": "sk-bob"}])
    assert out["env"]["alice"]["QWENOPS_KEY_OPENROUTER"] == KEY
    assert out["env"]["bob"]["QWENOPS_KEY_OPENROUTER"] == "sk-bob"
    assert len(out["checks"]) == 2


def test_several_providers_one_per_protocol_group():
    providers = [
        {"name": "or", "provider": "openrouter", "api_key": "k1", "models": ["m1", "m2"]},
        {"name": "claude", "auth_type": "anthropic", "provider": "anthropic", "api_key": "k2", "models": ["c1"]},
        {"name": "gem", "auth_type": "gemini", "provider": "gemini", "api_key": "k3", "models": ["g1"]},
        {"name": "resp", "auth_type": "openai-responses", "provider": "openai", "api_key": "k4", "models": ["r1"]},
    ]
    out = plans([{"name": "carol", "providers": providers}])
    assert out["problems"] == []
    carol = dict(env=out["env"]["carol"], settings=out["settings"]["carol"])
    groups = carol["settings"]["modelProviders"]
    assert [e["id"] for e in groups["openai"]] == ["m1", "m2", "r1"]
    assert groups["openai"][2]["wireApi"] == "responses" and "wireApi" not in groups["openai"][0]
    assert groups["anthropic"] == [{"id": "c1", "name": "c1 (claude)", "baseUrl": "https://api.anthropic.com",
                                    "envKey": "QWENOPS_KEY_CLAUDE"}]
    assert groups["gemini"][0]["baseUrl"] == "https://generativelanguage.googleapis.com"
    assert carol["settings"]["security"]["auth"]["selectedType"] == "openai"
    assert carol["settings"]["model"] == {"name": "m1"}
    assert {k: carol["env"][k] for k in ("QWENOPS_KEY_OR", "QWENOPS_KEY_CLAUDE", "QWENOPS_KEY_GEM")} == \
        {"QWENOPS_KEY_OR": "k1", "QWENOPS_KEY_CLAUDE": "k2", "QWENOPS_KEY_GEM": "k3"}
    assert len(out["checks"]) == 4


def test_top_level_providers_for_users_without_their_own():
    providers = [{"name": "anth", "auth_type": "anthropic", "provider": "custom", "base_url": "http://127.0.0.1:9",
                  "api_key": "k", "models": ["c"]}]
    out = plans(["alice", {"name": "bob", "providers": [dict(providers[0], api_key="kb")]}], providers=providers)
    assert out["problems"] == []
    assert out["env"]["alice"]["ANTHROPIC_API_KEY"] == "k"
    assert out["env"]["alice"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
    assert out["env"]["bob"]["QWENOPS_KEY_ANTH"] == "kb"


def test_qwen_oauth_users_get_no_provider():
    out = plans(["alice"], auth_type="qwen-oauth", api_key="", model="")
    assert out["problems"] == [] and out["env"]["alice"] == {}
    assert out["settings"]["alice"] == {"security": {"auth": {"selectedType": "qwen-oauth"}}}
    assert out["checks"] == []


@pytest.mark.parametrize("users,defaults,expected", [
    (["alice"], {"api_key": ""}, "qwen_code_api_key is empty"),
    (["alice"], {"api_key": KEY + "\n"}, "stray newline"),
    (["alice"], {"model": "qwen coder"}, "qwen_code_model must be"),
    (["alice"], {"provider": "custom"}, "qwen_code_provider is 'custom' but qwen_code_base_url is empty"),
    (["alice"], {"auth_type": "gemini"}, "qwen_code_provider openrouter has no gemini endpoint"),
    (["alice"], {"auth_type": "anthropic", "provider": "custom", "base_url": "https://llm.example.com/v1"},
     "ends in /v1"),
    ([{"name": "bob", "api_key": ""}], {}, "qwen_code_users[bob].api_key is empty"),
    ([{"name": "bob", "apikey": "x"}], {}, "qwen_code_users[bob] has unknown keys apikey"),
    ([{"nom": "bob"}], {}, "qwen_code_users[0] must be an account name"),
    (["alice", "alice"], {}, "qwen_code_users names alice twice"),
    ([], {}, "qwen_code_users must be a non-empty list"),
    ([{"name": "c", "providers": [{"name": "a", "api_key": "k", "models": []}]}], {},
     "qwen_code_users[c].providers[a].models must be a non-empty list"),
    ([{"name": "c", "providers": [{"name": "a", "provider": "openai", "models": ["m"]}]}], {},
     "qwen_code_users[c].providers[a].api_key is empty"),
    ([{"name": "c", "providers": [{"name": "a", "provider": "openai", "api_key": "k", "models": ["m"]},
                                  {"name": "a", "provider": "openai", "api_key": "k", "models": ["n"]}]}], {},
     "has two providers named a"),
    ([{"name": "c", "providers": [{"name": "a", "provider": "openai", "api_key": "k", "models": ["m"]},
                                  {"name": "b", "auth_type": "openai-responses", "provider": "openai", "api_key": "k",
                                   "models": ["m"]}]}], {}, "model m is in both a and b"),
    ([{"name": "c", "providers": [{"name": "a", "auth_type": "bogus", "api_key": "k", "models": ["m"]}]}], {},
     "is not a protocol the qwen CLI speaks"),
])
def test_bad_input_is_named_and_never_shows_a_key(users, defaults, expected):
    out = plans(users, **defaults)
    assert any(expected in p for p in out["problems"]), out["problems"]
    assert not any(KEY in p for p in out["problems"])


def test_a_protocol_the_release_lacks_is_refused():
    old = {"version": "0.23.4", "auth_types": ["openai", "anthropic", "gemini", "vertex-ai"], "wire_api": False}
    out = plans(["alice"], release=old, auth_type="openai-responses", provider="openai")
    assert any("is not supported by qwen 0.23.4" in p for p in out["problems"])


def test_names_and_key_variables():
    assert user_names(["a", {"name": "b", "api_key": KEY}, 3]) == ["a", "b", None]
    assert key_variable("my-provider.x") == "QWENOPS_KEY_MY_PROVIDER_X"


def test_proxies_and_qwen_code_settings_reach_every_user():
    out = plans(["alice"], proxy_env={"HTTPS_PROXY": "http://p:3128"}, settings={"model": {"name": "mine"}, "ui": {}})
    alice = dict(env=out["env"]["alice"], settings=out["settings"]["alice"])
    assert alice["env"]["HTTPS_PROXY"] == "http://p:3128"
    assert alice["settings"]["model"] == {"name": "mine"} and alice["settings"]["ui"] == {}
    assert out["users"]["alice"] == {"auth_type": "openai", "providers": [
        {"name": "openrouter", "auth_type": "openai", "models": ["qwen/qwen3-coder"]}]}


def _provider(name, key="k", base_url="https://llm.example.com/v1", models=("m",), provider="custom", **more):
    return dict(name=name, provider=provider, base_url=base_url, api_key=key, models=list(models), **more)


@pytest.mark.parametrize("users,providers,expected", [
    ([{"name": "c", "providers": [_provider("prod-x", "k1", models=["m1"]), _provider("prod_x", "k2", models=["m2"])]}],
     [], "qwen_code_users[c].providers[prod-x] and qwen_code_users[c].providers[prod_x] would both keep their key "
         "in QWENOPS_KEY_PROD_X"),
    (["alice", "bob"], [_provider("Prod-X", "k1", models=["m1"]), _provider("prod-x", "k2", models=["m2"])],
     "qwen_code_providers[Prod-X] and qwen_code_providers[prod-x] would both keep their key in QWENOPS_KEY_PROD_X"),
    (["alice"], [_provider("a", "k1", models=["m1"]), _provider("a", "k2", models=["m2"])],
     "qwen_code_providers has two providers named a"),
])
def test_two_providers_with_one_key_variable_are_refused(users, providers, expected):
    out = plans(users, providers=providers)
    # Once, however many users the list reaches.
    assert len([p for p in out["problems"] if expected in p]) == 1, out["problems"]
    assert not any(k in p for p in out["problems"] for k in ("k1", "k2", KEY))
    # Nothing is written for the user, and nothing asked on their behalf.
    assert out["env"] == {} and out["settings"] == {} and out["checks"] == []


@pytest.mark.parametrize("users,providers", [
    ([{"name": "c", "providers": [_provider("prod-x", "k1", models=["m1"]), _provider("prod-y", "k2", models=["m2"])]}],
     []),
    ([{"name": "c", "providers": [_provider("prodx", "k1", models=["m1"]), _provider("prod_x", "k2", models=["m2"])]}],
     []),
    # A user's own providers replace qwen_code_providers for that user: the two never share a .env.
    (["alice", {"name": "bob", "providers": [_provider("prod_x", "k2")]}], [_provider("prod-x", "k1")]),
    (["alice", {"name": "bob", "providers": [_provider("Prod-X", "k2")]}], [_provider("prod-x", "k1")]),
])
def test_distinct_key_variables_are_not_refused(users, providers):
    out = plans(users, providers=providers)
    assert out["problems"] == []
    for name in out["names"]:
        assert sorted(k for k in out["env"][name] if k.startswith("QWENOPS_KEY_")) == sorted(
            e["envKey"] for entries in out["settings"][name]["modelProviders"].values() for e in entries)


def _sent(out, name):
    """What user name's files send where, worked out here apart from the filter: (protocol, endpoint, key) for each
    modelProviders entry (the key read from the .env through its envKey) and for the selected protocol's own
    variables."""
    env, settings = out["env"][name], out["settings"][name]
    protocol = {("openai", None): "openai", ("openai", "responses"): "openai-responses"}
    sent = set()
    for group, entries in settings.get("modelProviders", {}).items():
        for e in entries:
            sent.add((protocol.get((group, e.get("wireApi")), group), e["baseUrl"], env[e["envKey"]]))
    selected = settings["security"]["auth"]["selectedType"]
    prefix = {"openai": "OPENAI", "openai-responses": "OPENAI", "anthropic": "ANTHROPIC"}[selected]
    sent.add((selected, env[prefix + "_BASE_URL"], env[prefix + "_API_KEY"]))
    return sent


@pytest.mark.parametrize("users,defaults", [
    (["alice", "bob", {"name": "carol", "api_key": "sk-carol"}], {}),
    (["alice", {"name": "carol", "providers": [
        _provider("or", "k1", base_url="", provider="openrouter", models=["m1", "m2"]),
        _provider("claude", "k2", base_url="", provider="anthropic", auth_type="anthropic", models=["c1"]),
        _provider("resp", "k1", base_url="", provider="openai", auth_type="openai-responses", models=["r1"])]}],
     {"providers": [_provider("a", "k1", models=["m1"]), _provider("b", "k3", models=["m2"])]}),
    # qwen_code_settings outranks the role's entries in the file: the check asks where the key really goes.
    (["alice"], {"settings": {"modelProviders": {"openai": [
        {"id": "qwen/qwen3-coder", "baseUrl": "https://elsewhere.example.com/v1",
         "envKey": "QWENOPS_KEY_OPENROUTER"}]}}}),
])
def test_the_checks_ask_what_the_files_send(users, defaults):
    out = plans(users, **defaults)
    assert out["problems"] == []
    for name in out["names"]:
        asked = set((c["auth_type"], c["base_url"], c["api_key"]) for c in out["checks"] if name in c["users"])
        assert asked == _sent(out, name), name
    assert len(set((c["auth_type"], c["base_url"], c["api_key"]) for c in out["checks"])) == len(out["checks"])


def test_a_check_names_every_variable_that_holds_its_key():
    elsewhere = {"id": "qwen/qwen3-coder", "baseUrl": "https://elsewhere.example.com/v1",
                 "envKey": "QWENOPS_KEY_OPENROUTER"}
    out = plans(["alice"], settings={"modelProviders": {"openai": [elsewhere]}})
    names = dict((c["base_url"], c["key_name"]) for c in out["checks"])
    assert names == {"https://elsewhere.example.com/v1": "the key of openrouter for alice (QWENOPS_KEY_OPENROUTER)",
                     "https://openrouter.ai/api/v1": "the key of openrouter for alice (OPENAI_API_KEY)"}


BROKER = {"port": 1009}


def test_isolation_gives_each_user_tokens_and_the_broker_instead_of_keys_and_endpoints():
    providers = [dict(name="or", auth_type="openai", base_url="https://openrouter.ai/api/v1", api_key=KEY,
                      models=["m1"]),
                 dict(name="an", auth_type="anthropic", base_url="https://api.anthropic.com", api_key=KEY + "-an",
                      models=["m2"])]
    out = plans(["alice", {"name": "bob", "providers": providers[:1]}], providers=providers, key_broker=BROKER,
                proxy_env={"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": "corp"})
    assert out["problems"] == []
    text = json.dumps([out["env"], out["settings"]])
    assert KEY not in text
    alice = out["env"]["alice"]
    assert alice["OPENAI_BASE_URL"] == "http://127.0.0.1:1009/or/api/v1"
    assert alice["OPENAI_API_KEY"] == alice["QWENOPS_KEY_OR"] and alice["QWENOPS_KEY_OR"].startswith("qwb-")
    assert alice["NO_PROXY"] == "corp,127.0.0.1" and alice["HTTPS_PROXY"] == "http://proxy:3128"
    urls = dict((e["envKey"], e["baseUrl"]) for group in out["settings"]["alice"]["modelProviders"].values()
                for e in group)
    assert urls == {"QWENOPS_KEY_OR": "http://127.0.0.1:1009/or/api/v1", "QWENOPS_KEY_AN": "http://127.0.0.1:1009/an"}
    # A token per user and provider; the broker's routes hold the keys, the checks stay on the provider itself
    routes = dict(((r["user"], r["provider"]), r) for r in out["routes"])
    assert sorted(routes) == [("alice", "an"), ("alice", "or"), ("bob", "or")]
    assert routes[("alice", "or")]["token"] != routes[("bob", "or")]["token"]
    expected = dict(token=out["env"]["alice"]["QWENOPS_KEY_AN"], user="alice", provider="an", protocol="anthropic",
                    upstream="https://api.anthropic.com", key=KEY + "-an")
    assert routes[("alice", "an")] == expected
    assert sorted((c["base_url"], c["api_key"]) for c in out["checks"]) == [
        ("https://api.anthropic.com", KEY + "-an"), ("https://openrouter.ai/api/v1", KEY)]
    # The same inputs give the same tokens (a re-run changes nothing); a rotated key gives new ones
    assert plans(["alice"], providers=providers, key_broker=BROKER)["env"]["alice"] == dict(
        (k, v) for k, v in alice.items() if "PROXY" not in k)
    rotated = [dict(providers[0], api_key="sk-new")]
    assert plans(["alice"], providers=rotated, key_broker=BROKER)["env"]["alice"]["QWENOPS_KEY_OR"] != \
        alice["QWENOPS_KEY_OR"]


def test_without_isolation_there_are_no_routes():
    assert plans(["alice"])["routes"] == []


def test_isolation_refuses_qwen_oauth_users():
    out = plans(["alice", {"name": "bob", "auth_type": "qwen-oauth"}], key_broker=BROKER)
    assert out["problems"] == [
        "qwen_code_users[bob] signs in with qwen-oauth, whose tokens the key broker cannot hold (qwen refreshes them "
        "itself): give bob a provider with a key, or set qwen_code_key_isolation: false"]
