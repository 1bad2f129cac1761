"""_user_files.normalise_managed: the settings whose type the CLI depends on get that type, whatever the controller's
templating made of them (ansible-core 2.16 renders a lone "{{ 4 }}" as "4"; `-e name=false` is a string)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_files import (
    TYPED_SETTINGS, normalise_managed, plan_settings)


@pytest.mark.parametrize("given, written", [
    ("4", 4), (" 4\n", 4), (4, 4), ("2", 2),
])
def test_version_is_an_integer(given, written):
    out = normalise_managed({"$version": given})["$version"]
    assert out == written and isinstance(out, int) and not isinstance(out, bool)


@pytest.mark.parametrize("given, written", [
    ("true", True), ("True", True), ("yes", True), ("on", True), ("1", True), (1, True), (True, True),
    ("false", False), ("False", False), ("no", False), ("off", False), ("0", False), (0, False), (False, False),
])
@pytest.mark.parametrize("path", [p for p, kind in TYPED_SETTINGS.items() if kind == "bool"])
def test_switches_are_booleans(path, given, written):
    managed = value = {}
    for key in path[:-1]:
        value = value.setdefault(key, {})
    value[path[-1]] = given
    out = normalise_managed(managed)
    for key in path:
        out = out[key]
    assert out is written


@pytest.mark.parametrize("given, written", [("true", True), ("False", False), ("docker", "docker"),
                                            ("podman", "podman"), (True, True)])
def test_sandbox_takes_a_boolean_or_a_command(given, written):
    assert normalise_managed({"tools": {"sandbox": given}})["tools"]["sandbox"] == written


def test_other_keys_and_the_callers_dict_are_left_alone():
    managed = {"$version": "4", "model": {"name": "4"}, "ui": {"hideTips": "true"}, "general": "not a dict",
               "privacy": {"usageStatisticsEnabled": "false", "other": "1"}}
    out = normalise_managed(managed)
    assert out == {"$version": 4, "model": {"name": "4"}, "ui": {"hideTips": "true"}, "general": "not a dict",
                   "privacy": {"usageStatisticsEnabled": False, "other": "1"}}
    assert managed["$version"] == "4" and managed["privacy"]["usageStatisticsEnabled"] == "false"
    typed = {"$version": 4, "telemetry": {"enabled": False}}
    assert normalise_managed(typed) is typed, "nothing to change: no copy"


@pytest.mark.parametrize("managed, message", [
    ({"$version": "4.0"}, "the setting $version must be an integer, not '4.0'"),
    ({"$version": False}, "the setting $version must be an integer, not False"),
    ({"$version": None}, "the setting $version must be an integer, not None"),
    ({"telemetry": {"enabled": "maybe"}}, "the setting telemetry.enabled must be a boolean (true or false), not 'maybe'"),
    ({"general": {"enableAutoUpdate": 2}}, "the setting general.enableAutoUpdate must be a boolean (true or false), "
                                           "not 2"),
    ({"tools": {"sandbox": None}}, "the setting tools.sandbox must be a boolean (true or false), not None"),
])
def test_a_value_with_no_such_form_is_refused(managed, message):
    with pytest.raises(ValueError) as e:
        normalise_managed(managed)
    assert str(e.value) == message


def test_a_file_with_the_typed_values_is_no_change(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"$version": 4, "security": {"folderTrust": {"enabled": true}}}\n')
    plan = plan_settings(str(path), {"$version": "4", "security": {"folderTrust": {"enabled": "True"}}})
    assert not plan["changed"] and plan["desired"] == {"$version": 4, "security": {"folderTrust": {"enabled": True}}}
