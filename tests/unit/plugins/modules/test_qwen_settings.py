"""qwen_settings: merge, never clobber; semantic comparison; atomic 0600; secrets masked in diffs."""
import json
import os
import stat

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module

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
