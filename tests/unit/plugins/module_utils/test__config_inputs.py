"""_config_inputs: user_config's inputs in one SPEC, normalised and digested the same way on the controller (the
preflight action) and on the host (user_config); the role passes exactly SPEC's keys; config_current."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible_collections.qwenops.qwen_code.plugins.action import preflight
from ansible_collections.qwenops.qwen_code.plugins.module_utils import _config_inputs
from ansible_collections.qwenops.qwen_code.plugins.module_utils._config_inputs import (
    SPEC, config_current, configured_and_absent, digest, normalise)
from ansible_collections.qwenops.qwen_code.plugins.modules import user_config
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
ROLE = os.path.join(REPO, "roles", "qwen_code")

# A value other than the default for every input (a test below fails when SPEC gains one without a value here).
OTHER = {
    "users": ["nosuchuser-qwen-a"],
    "env": {"HTTPS_PROXY": "http://proxy:3128"},
    "settings": {"$version": 4},
    "per_user_env": {"nosuchuser-qwen-a": {"OPENAI_API_KEY": "sk-unit-other"}},
    "per_user_settings": {"nosuchuser-qwen-a": {"model": {"name": "m"}}},
    "trusted_folders": {"/srv/code": "TRUST_FOLDER"},
    "system_settings": {"telemetry": {"enabled": False}},
    "system_settings_path": "/etc/qwen-code-other/settings.json",
    "system_defaults": {"ui": {"theme": "dark"}},
    "system_defaults_path": "/etc/qwen-code-other/system-defaults.json",
    "absent_users": ["nosuchuser-qwen-b"],
    "purge": True,
    "oauth_users": ["nosuchuser-qwen-a"],
    "manifest_path": "/var/lib/qwen-code-other/manifest.json",
}


def test_every_input_has_a_value_to_test_with():
    assert sorted(OTHER) == sorted(SPEC)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_every_input_changes_the_digest(name):
    base = digest(normalise({}))
    assert digest(normalise({name: OTHER[name]})) != base, name
    assert preflight.inputs_digest({name: OTHER[name]}) == digest(normalise({name: OTHER[name]}))


def test_normalise_gives_every_input_its_type_and_default_and_is_idempotent():
    given = {"users": ["alice"], "purge": "yes",
             "settings": {"$version": "4", "privacy": {"usageStatisticsEnabled": "False"}},
             "per_user_settings": {"alice": {"$version": "4"}}, "system_defaults": {"$version": " 4"}}
    n = normalise(given)
    assert sorted(n) == sorted(SPEC)
    assert n["purge"] is True and n["settings"]["$version"] == 4
    assert n["settings"]["privacy"]["usageStatisticsEnabled"] is False
    assert n["per_user_settings"]["alice"]["$version"] == 4 and n["system_defaults"]["$version"] == 4
    assert n["system_settings_path"] == "/etc/qwen-code/settings.json" and n["env"] == {} and n["manifest_path"] is None
    assert normalise(n) == n
    assert given["settings"]["$version"] == "4", "the caller's inputs are left alone"
    # What templating may make of the same inputs has the same digest.
    assert digest(n) == digest(normalise(dict(given, purge=True, settings={"$version": 4, "privacy": {
        "usageStatisticsEnabled": False}})))


def test_the_digest_leaves_out_what_is_no_input_and_shows_no_key():
    n = normalise({"env": {"OPENAI_API_KEY": "sk-unit-secret"}})
    d = digest(n)
    assert d.startswith("sha256:") and len(d) == len("sha256:") + 64 and "sk-unit-secret" not in d
    assert digest(dict(n, manifest_facts={"install_root": "/opt/x"})) == d


@pytest.mark.parametrize("inputs, message", [
    ({"users": "alice,bob", "purge": "perhaps"}, "purge"),
    ({"unknown": 1}, "unknown"),
    ({"settings": {"$version": "four"}}, "settings: the setting $version must be"),
    ({"per_user_settings": {"alice": {"$version": "x"}}}, "per_user_settings of alice: the setting $version"),
    ({"per_user_settings": {"alice": "openai"}}, "per_user_settings: the settings of alice must be a dict"),
    ({"per_user_env": {"alice": ["sk-unit"]}}, "env of alice: it must be a dict of variables"),
    ({"trusted_folders": {"srv": "TRUST_FOLDER"}}, "trusted_folders: 'srv' is not an absolute path"),
    ({"trusted_folders": {"/srv\n": "TRUST_FOLDER"}}, "is not an absolute path"),
    ({"trusted_folders": {"/srv": "TRUST"}}, "trusted_folders: the level of /srv must be one of TRUST_FOLDER"),
])
def test_normalise_names_what_is_wrong(inputs, message):
    with pytest.raises(ValueError) as e:
        normalise(inputs)
    assert message in str(e.value)
    # The controller's digest of inputs user_config refuses is empty: the host is then not current, and user_config
    # names the problem.
    assert preflight.inputs_digest(inputs) == ""


def test_configured_and_absent():
    assert configured_and_absent(["bob", "alice", "carol"], ["carol", "alice", "dave"]) == ["alice", "carol"]
    assert configured_and_absent([], ["alice"]) == [] and configured_and_absent(None, None) == []


@pytest.mark.parametrize("host, needs, current", [
    ({"problems": [], "inputs_current": True}, {"cli": False, "node": "False"}, True),
    ({"problems": [], "inputs_current": True}, {}, True),
    ({}, {}, False),  # not read (no drift)
    ({"problems": ["/home/a/.qwen/.env: changed"], "inputs_current": True}, {}, False),
    ({"problems": [], "inputs_current": True, "manifest_error": "not ours"}, {}, False),
    ({"problems": [], "inputs_current": False}, {}, False),
    ({"problems": []}, {}, False),
    ({"problems": [], "inputs_current": True}, {"cli": True}, False),
    ({"problems": [], "inputs_current": True}, {"launcher": "True"}, False),
])
def test_config_current(host, needs, current):
    assert config_current(host, needs) is current


def test_user_config_takes_spec_as_its_one_inputs_option(monkeypatch):
    seen = {}

    class Stop(Exception):
        pass

    def capture(argument_spec, **kwargs):
        seen.update(argument_spec)
        raise Stop()

    monkeypatch.setattr(user_config, "AnsibleModule", capture)
    with pytest.raises(Stop):
        user_config.main()
    assert seen["inputs"]["options"] is SPEC and seen["inputs"]["no_log"] is True
    assert not set(seen) & set(SPEC), "an input is also an option of its own"
    doc = yaml.safe_load(user_config.DOCUMENTATION)
    assert sorted(doc["options"]["inputs"]["suboptions"]) == sorted(SPEC)
    for name, spec in SPEC.items():
        assert doc["options"]["inputs"]["suboptions"][name]["type"] == spec["type"], name


def _role_vars():
    with open(os.path.join(ROLE, "vars", "main.yml")) as f:
        return yaml.safe_load(f)


def test_the_role_passes_exactly_specs_keys_in_one_structure():
    assert sorted(_role_vars()["__qwen_code_config_inputs"]) == sorted(SPEC)
    with open(os.path.join(ROLE, "tasks", "configure-users.yml")) as f:
        tasks = yaml.safe_load(f)
    calls = [t["qwenops.qwen_code.user_config"] for t in tasks if "qwenops.qwen_code.user_config" in t]
    assert calls == [{"inputs": "{{ __qwen_code_config_inputs }}",
                      "manifest_facts": "{{ __qwen_code_manifest_facts }}"}]
    # The controller's digest is of the same structure: the preflight action evaluates it by that name.
    assert preflight.CONFIG_INPUTS == "__qwen_code_config_inputs"


def test_every_other_call_of_the_role_passes_only_specs_keys():
    for name in sorted(os.listdir(os.path.join(ROLE, "tasks"))):
        with open(os.path.join(ROLE, "tasks", name)) as f:
            tasks = yaml.safe_load(f) or []
        for task in tasks:
            args = task.get("qwenops.qwen_code.user_config") if isinstance(task, dict) else None
            if args is None:
                continue
            assert set(args) <= {"inputs", "state", "manifest_facts", "header"}, (name, sorted(args))
            if isinstance(args["inputs"], dict):
                assert set(args["inputs"]) <= set(SPEC), (name, sorted(args["inputs"]))


@pytest.mark.root  # the module reads the manifest only when it is root's: nox -s unit-root (tests/conftest.py)
def test_every_input_reaches_the_module_and_its_recorded_digest(tmp_path):
    """The module records the digest of what it was given, equal to the controller's of the same inputs: every input
    of SPEC reaches it (a value the module did not see would give another digest)."""
    inputs = dict(OTHER, users=[], per_user_env={}, per_user_settings={}, oauth_users=[],
                  system_settings_path=str(tmp_path / "etc" / "settings.json"),
                  system_defaults_path=str(tmp_path / "etc" / "system-defaults.json"),
                  manifest_path=str(tmp_path / "var" / "manifest.json"))
    r = run_module("user_config", {"inputs": inputs}, tmp_path)
    assert r["changed"] and not r.get("failed"), r.get("msg")
    with open(inputs["manifest_path"]) as f:
        recorded = json.load(f)["inputs_digest"]
    assert recorded == preflight.inputs_digest(inputs) != ""
    assert recorded not in r["_raw"] and "inputs_digest" not in r["manifest"]
    for name in SPEC:
        changed = dict(inputs, **{name: OTHER[name]}) if inputs[name] != OTHER[name] else dict(inputs)
        assert (preflight.inputs_digest(changed) != recorded) is (changed != inputs), name


def test_the_module_and_the_preflight_use_one_digest():
    assert preflight.inputs_digest({}) == _config_inputs.digest(_config_inputs.normalise({}))
