"""qwen_settings: merge, never clobber; semantic comparison; atomic 0600; secrets masked in diffs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module, syslog_capture

MANAGED = {"$version": 4, "security": {"auth": {"selectedType": "openai"}}, "model": {"name": "m"}}


def settings_args(path, **extra):
    a = {"path": str(path), "settings": MANAGED, "mode": "0600"}
    a.update(extra)
    return a


def test_creates_file_0600(tmp_path):
    path = tmp_path / "settings.json"
    r = run_module("qwen_settings", settings_args(path), tmp_path)
    assert r["changed"]
    assert json.loads(path.read_text()) == MANAGED
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".settings.")]


def test_keeps_unmanaged_keys_and_user_edits(tmp_path):
    path = tmp_path / "settings.json"
    auth = {"selectedType": "qwen-oauth", "useExternal": True}
    path.write_text(json.dumps({"ui": {"theme": "dark"}, "security": {"auth": auth}}))
    r = run_module("qwen_settings", settings_args(path), tmp_path)
    data = json.loads(path.read_text())
    assert r["changed"]
    assert data["ui"] == {"theme": "dark"}
    assert data["security"]["auth"] == {"selectedType": "openai", "useExternal": True}


def test_reformatted_file_is_not_a_change(tmp_path):
    path = tmp_path / "settings.json"
    run_module("qwen_settings", settings_args(path), tmp_path)
    # What the CLI does when it saves: same content, other formatting and key order, plus its own keys.
    content = dict(reversed(list(MANAGED.items())))
    content["ide"] = {"hasSeenNudge": True}
    path.write_text(json.dumps(content, separators=(",", ":")))
    os.chmod(path, 0o600)
    r = run_module("qwen_settings", settings_args(path), tmp_path)
    assert not r["changed"]


def test_comments_are_accepted_and_kept_when_nothing_changes(tmp_path):
    path = tmp_path / "settings.json"
    text = '// managed by hand too\n{"$version": 4, /* auth */ "security": {"auth": {"selectedType": "openai"}},' \
           ' "model": {"name": "m"}, "url": "http://x//y"}\n'
    path.write_text(text)
    os.chmod(path, 0o600)
    r = run_module("qwen_settings", settings_args(path), tmp_path)
    assert not r["changed"] and path.read_text() == text


def test_invalid_json_is_saved_aside_and_replaced(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{broken")
    r = run_module("qwen_settings", settings_args(path), tmp_path)
    assert r["changed"] and os.path.exists(r["backup_file"])
    assert json.loads(path.read_text()) == MANAGED
    assert "not valid JSON" in json.dumps(r.get("warnings"))


def test_mode_is_fixed(tmp_path):
    path = tmp_path / "settings.json"
    run_module("qwen_settings", settings_args(path), tmp_path)
    os.chmod(path, 0o644)
    r = run_module("qwen_settings", settings_args(path), tmp_path)
    assert r["changed"] and stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_diff_masks_secrets_and_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "settings.json"
    secret = "sk-settings-CANARY-1"
    managed = dict(MANAGED, security={"auth": {"selectedType": "openai", "apiKey": secret}})
    r = run_module("qwen_settings", {"path": str(path), "settings": managed}, tmp_path, check=True, diff=True)
    assert r["changed"] and not path.exists()
    assert secret not in json.dumps(r["diff"]) and "********" in r["diff"]["after"]


def test_an_invalid_file_survives_a_full_disk(tmp_path, monkeypatch):
    """The new file is written before the invalid one is put aside: when the write fails (here a file-size limit
    stands in for a full disk), the user keeps the old file instead of none."""
    import sys
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    wrapper = tmp_path / "python-with-ulimit"
    wrapper.write_text("#!/bin/sh\nulimit -f 2\nexec %s \"$@\"\n" % sys.executable)
    os.chmod(wrapper, 0o755)
    big = dict(MANAGED, padding="x" * 4096)
    monkeypatch.setenv("QWEN_UNIT_MODULE_PYTHON", str(wrapper))
    r = run_module("qwen_settings", settings_args(path, settings=big), tmp_path)
    monkeypatch.delenv("QWEN_UNIT_MODULE_PYTHON")
    assert r["failed"], r
    assert path.read_text() == "{not json"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".settings.json.")], "temporary file left"
    r = run_module("qwen_settings", settings_args(path, settings=big), tmp_path)
    assert r["changed"] and open(r["backup_file"]).read() == "{not json"
    assert json.loads(path.read_text())["padding"] == "x" * 4096


@pytest.mark.root  # needs root: `nox -s unit-root` (tests/conftest.py)
def test_as_another_user_a_planted_link_gets_only_that_users_rights(tmp_path):
    """Run as root with user=nobody: the file is read and written as nobody, so a path through a directory nobody
    cannot write is refused instead of written as root."""
    root_dir = tmp_path / "root-only"
    root_dir.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(root_dir, 0o755)
    r = run_module("qwen_settings", settings_args(root_dir / "settings.json", user="nobody"), tmp_path)
    assert r["failed"] and "Permission denied" in r["msg"], r
    assert os.listdir(root_dir) == []


def test_typed_keys_are_written_in_the_type_the_cli_reads(tmp_path):
    path = str(tmp_path / "settings.json")
    managed = {"$version": "4", "security": {"folderTrust": {"enabled": "False"}},
               "general": {"enableAutoUpdate": "false"}, "tools": {"sandbox": "docker"}}
    r = run_module("qwen_settings", {"path": path, "settings": managed}, tmp_path)
    assert r["changed"], r.get("msg")
    assert json.load(open(path)) == {"$version": 4, "security": {"folderTrust": {"enabled": False}},
                                     "general": {"enableAutoUpdate": False}, "tools": {"sandbox": "docker"}}
    assert not run_module("qwen_settings", {"path": path, "settings": managed}, tmp_path)["changed"]
    r = run_module("qwen_settings", {"path": path, "settings": {"telemetry": {"enabled": "perhaps"}}}, tmp_path)
    assert r["failed"] and "telemetry.enabled must be a boolean" in r["msg"]
    assert "telemetry" not in json.load(open(path))


CANARY = os.environ.get("QWEN_TEST_CANARY_KEY") or "sk-qwenops-CANARY-5c1e0b7d9a"
# An ad-hoc call's secrets: the key, and headers with the canary (hyphenated names, a scheme word before it).
WITH_SECRETS = dict(MANAGED, security={"auth": {"selectedType": "openai", "apiKey": CANARY}},
                    mcpServers={"tickets": {"httpUrl": "https://mcp.example/mcp",
                                            "headers": {"Authorization": "Bearer " + CANARY, "X-API-Key": CANARY}}})


@pytest.mark.root  # needs root: `nox -s unit-root` (tests/conftest.py)
def test_secrets_never_show_but_are_written(tmp_path):
    path = tmp_path / "settings.json"
    env, syslog = syslog_capture(tmp_path)
    r = run_module("qwen_settings", settings_args(path, settings=WITH_SECRETS), tmp_path, diff=True, env=env)
    # Booleans, so that a failure does not print the canary itself.
    leaked = CANARY in r["_raw"]
    assert not leaked, "a secret shows in the diff, the results or the invocation"
    written = json.loads(path.read_text()) == WITH_SECRETS
    assert r["changed"] and written
    headers = r["settings"]["mcpServers"]["tickets"]["headers"]
    assert headers == {"Authorization": "********", "X-API-Key": "********"}
    assert '"X-API-Key": "********"' in r["diff"]["after"]
    # What is no secret still shows, in the invocation too (which modules of ansible-core 2.21 no longer return).
    if "invocation" in r:
        assert r["invocation"]["module_args"]["settings"]["model"] == {"name": "m"}
        assert r["invocation"]["module_args"]["settings"]["security"]["auth"]["apiKey"] == "********"
    logged = syslog.read_text()
    leaked = CANARY in logged
    assert not leaked and "Invoked with" in logged and "settings=NOT_LOGGING_PARAMETER" in logged
    again = run_module("qwen_settings", settings_args(path, settings=WITH_SECRETS), tmp_path, diff=True, env=env)
    leaked = CANARY in again["_raw"] + syslog.read_text()
    assert not again["changed"] and not leaked
