"""user_config: every user's ~/.qwen (0700), .env and settings.json (0600) in one call; owned by the user; merged,
masked, never following a link a user planted. Runs as root with throwaway accounts (as the module does on hosts)."""
import json
import os
import shutil
import stat
import uuid

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module

KEY = "sk-unit-" + uuid.uuid4().hex
ENV = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "https://openrouter.ai/api/v1", "OPENAI_MODEL": "qwen/qwen3-coder"}
SETTINGS = {"$version": 4, "security": {"auth": {"selectedType": "openai"}}, "model": {"name": "qwen/qwen3-coder"}}

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("useradd"),
                                reason="needs root and useradd to create throwaway accounts (CI runs as root)")


@pytest.fixture
def users(accounts):
    """Two throwaway accounts with homes under a reachable directory."""
    return [accounts(), accounts()]


def configure(users, tmp_path, check=False, diff=False, **over):
    a = {"users": [u.pw_name for u in users], "env": ENV, "settings": SETTINGS}
    a.update(over)
    return run_module("user_config", a, tmp_path, check=check, diff=diff)


def mode_owner(path):
    st = os.lstat(path)
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def test_configures_every_user_then_changes_nothing(users, tmp_path):
    r = configure(users, tmp_path)
    assert r["changed"], r.get("msg")
    for pw in users:
        qwen = os.path.join(pw.pw_dir, ".qwen")
        assert r["users"][pw.pw_name] == ["directory", "env", "settings"]
        assert mode_owner(qwen) == (0o700, pw.pw_uid, pw.pw_gid)
        assert mode_owner(qwen + "/.env") == (0o600, pw.pw_uid, pw.pw_gid)
        assert mode_owner(qwen + "/settings.json") == (0o600, pw.pw_uid, pw.pw_gid)
        env = open(qwen + "/.env").read()
        assert "OPENAI_API_KEY='%s'\n" % KEY in env and env.startswith("# Managed by Ansible")
        assert env.index("OPENAI_API_KEY") < env.index("OPENAI_BASE_URL") < env.index("OPENAI_MODEL")
        assert json.load(open(qwen + "/settings.json")) == SETTINGS
        assert not [f for f in os.listdir(qwen) if f.startswith(".") and f != ".env"], "temporary files left"
    again = configure(users, tmp_path)
    assert not again["changed"] and again["users"] == {pw.pw_name: [] for pw in users}


def test_keeps_what_users_and_the_cli_wrote(users, tmp_path):
    configure(users, tmp_path)
    path = os.path.join(users[0].pw_dir, ".qwen", "settings.json")
    data = json.load(open(path))
    data["ui"] = {"theme": "GitHub"}
    data["model"]["name"] = "edited-by-hand"
    with open(path, "w") as f:  # compact, other key order: the way the CLI saves it
        f.write(json.dumps(dict(reversed(list(data.items())))))
    r = configure(users, tmp_path)
    after = json.load(open(path))
    assert r["users"][users[0].pw_name] == ["settings"]
    assert after["ui"] == {"theme": "GitHub"} and after["model"]["name"] == "qwen/qwen3-coder"
    with open(path, "w") as f:
        f.write(json.dumps(after, separators=(",", ":")))
    assert not configure(users, tmp_path)["changed"], "reformatting alone is not a change"


def test_fixes_loose_modes_and_owners(users, tmp_path):
    configure(users, tmp_path)
    qwen = os.path.join(users[0].pw_dir, ".qwen")
    os.chmod(qwen + "/.env", 0o644)
    os.chown(qwen + "/settings.json", 0, 0)  # as after a `sudo qwen` that kept HOME
    os.chmod(qwen + "/settings.json", 0o644)
    os.chmod(qwen, 0o755)
    before = open(qwen + "/settings.json").read()
    r = configure(users, tmp_path)
    assert r["users"][users[0].pw_name] == ["directory", "env", "settings"]
    assert mode_owner(qwen + "/.env")[0] == 0o600 and mode_owner(qwen)[0] == 0o700
    assert mode_owner(qwen + "/settings.json") == (0o600, users[0].pw_uid, users[0].pw_gid)
    assert open(qwen + "/settings.json").read() == before


def test_a_file_the_user_cannot_read_fails_that_user_only(users, tmp_path):
    configure(users, tmp_path)
    qwen = os.path.join(users[0].pw_dir, ".qwen")
    os.chown(qwen + "/settings.json", 0, 0)
    os.chmod(qwen + "/settings.json", 0o600)
    configure(users, tmp_path, env=dict(ENV, OPENAI_MODEL="other"))
    r = configure(users, tmp_path)
    assert r["failed"] and r["failed_users"] == [users[0].pw_name]
    assert "cannot be read" in r["msg"] and "chown %d:%d" % (users[0].pw_uid, users[0].pw_gid) in r["msg"]
    assert r["users"] == {users[1].pw_name: ["env"]}, "the other user is configured all the same"
    assert mode_owner(qwen + "/settings.json") == (0o600, 0, 0)


def test_a_qwen_dir_of_another_owner_is_refused_with_the_fix(users, tmp_path):
    qwen = os.path.join(users[0].pw_dir, ".qwen")
    os.mkdir(qwen, 0o755)
    r = configure(users, tmp_path)
    assert r["failed"] and r["failed_users"] == [users[0].pw_name]
    assert "belongs to uid 0" in r["msg"] and "chown -R" in r["msg"]
    assert r["users"][users[1].pw_name] == ["directory", "env", "settings"]
    assert mode_owner(qwen) == (0o755, 0, 0) and os.listdir(qwen) == []


def test_refuses_a_qwen_dir_linked_to_someone_elses_directory(users, tmp_path):
    victim = tmp_path / "root-owned"
    victim.mkdir()
    os.chmod(victim, 0o755)
    os.symlink(str(victim), os.path.join(users[0].pw_dir, ".qwen"))
    r = configure(users[:1], tmp_path)
    assert r["failed"] and "symbolic link" in r["msg"] and "refusing" in r["msg"]
    assert os.listdir(victim) == [] and mode_owner(victim) == (0o755, 0, 0)


def test_follows_a_qwen_dir_linked_to_the_users_own_directory(users, tmp_path):
    pw = users[0]
    elsewhere = os.path.join(pw.pw_dir, "qwen-data")
    os.mkdir(elsewhere)
    os.chown(elsewhere, pw.pw_uid, pw.pw_gid)
    os.symlink(elsewhere, os.path.join(pw.pw_dir, ".qwen"))
    r = configure(users[:1], tmp_path)
    assert r["changed"], r.get("msg")
    assert os.path.islink(os.path.join(pw.pw_dir, ".qwen"))
    assert json.load(open(os.path.join(elsewhere, "settings.json"))) == SETTINGS


def test_replaces_planted_file_links_without_touching_their_targets(users, tmp_path):
    configure(users, tmp_path)
    qwen = os.path.join(users[0].pw_dir, ".qwen")
    target = tmp_path / "secret-of-root"
    target.write_text("root only\n")
    os.chmod(target, 0o600)
    for name in (".env", "settings.json"):
        os.unlink(os.path.join(qwen, name))
        os.symlink(str(target), os.path.join(qwen, name))
    r = configure(users, tmp_path)
    assert r["users"][users[0].pw_name] == ["env", "settings"]
    assert target.read_text() == "root only\n" and mode_owner(target) == (0o600, 0, 0)
    assert not os.path.islink(qwen + "/.env") and not os.path.islink(qwen + "/settings.json")


def test_check_mode_writes_nothing(users, tmp_path):
    r = configure(users, tmp_path, check=True)
    assert r["changed"] and r["users"][users[0].pw_name] == ["directory", "env", "settings"]
    assert not os.path.exists(os.path.join(users[0].pw_dir, ".qwen"))


def test_diff_masks_every_env_value_and_the_key_never_shows(users, tmp_path):
    r = configure(users, tmp_path, diff=True)
    assert KEY not in r["_raw"]
    env_diffs = [d for d in r["diff"] if d["after_header"].endswith("/.env")]
    assert len(env_diffs) == 2 and "OPENAI_API_KEY=********" in env_diffs[0]["after"]
    assert "openrouter.ai" not in env_diffs[0]["after"]
    settings_diffs = [d for d in r["diff"] if d["after_header"].endswith("settings.json")]
    assert '"selectedType": "openai"' in settings_diffs[0]["after"]


def test_invalid_settings_are_saved_aside(users, tmp_path):
    configure(users, tmp_path)
    path = os.path.join(users[0].pw_dir, ".qwen", "settings.json")
    with open(path, "w") as f:
        f.write("{not json")
    r = configure(users, tmp_path)
    backup = r["backup_files"][users[0].pw_name]
    assert open(backup).read() == "{not json" and json.load(open(path)) == SETTINGS
    assert "saved aside" in r["_raw"]


def test_a_value_a_dotenv_line_cannot_hold_fails_without_showing_it(users, tmp_path):
    bad = dict(ENV, OPENAI_API_KEY=KEY + "'\nX=1")
    r = configure(users, tmp_path, env=bad)
    assert r["failed"] and "OPENAI_API_KEY" in r["msg"] and KEY not in r["_raw"]
    assert not os.path.exists(os.path.join(users[0].pw_dir, ".qwen"))


def test_unknown_user_fails(users, tmp_path):
    r = run_module("user_config", {"users": ["nosuchuser-qwen"], "env": ENV, "settings": SETTINGS}, tmp_path)
    assert r["failed"] and "nosuchuser-qwen does not exist" in r["msg"] and r["failed_users"] == ["nosuchuser-qwen"]


def test_system_settings_are_roots_and_readable_by_all(users, tmp_path):
    path = tmp_path / "etc-qwen-code" / "settings.json"
    policy = {"$version": "4", "security": {"folderTrust": {"enabled": True}}}
    r = configure(users, tmp_path, system_settings=policy, system_settings_path=str(path))
    assert r["system"] == ["directory", "settings"]
    assert mode_owner(str(path)) == (0o644, 0, 0) and mode_owner(str(path.parent))[0] == 0o755
    assert json.load(open(str(path))) == {"$version": 4, "security": {"folderTrust": {"enabled": True}}}
    again = configure(users, tmp_path, system_settings=policy, system_settings_path=str(path))
    assert again["system"] == [] and not again["changed"]
    os.chmod(str(path.parent), 0o777)
    r = configure(users, tmp_path, system_settings=policy, system_settings_path=str(path))
    assert r["failed"] and "only root can write to" in r["msg"]


def test_trusted_folders_are_merged_keeping_the_users_own(users, tmp_path):
    rules = {"/": "DO_NOT_TRUST", "/srv/work": "TRUST_FOLDER"}
    configure(users, tmp_path, trusted_folders=rules)
    path = os.path.join(users[0].pw_dir, ".qwen", "trustedFolders.json")
    assert json.load(open(path)) == rules and mode_owner(path) == (0o600, users[0].pw_uid, users[0].pw_gid)
    mine = dict(rules, **{"/home/me/project": "TRUST_FOLDER"})
    with open(path, "w") as f:
        json.dump(mine, f)
    r = configure(users, tmp_path, trusted_folders=rules)
    assert r["users"][users[0].pw_name] == [] and json.load(open(path)) == mine
    r = configure(users, tmp_path, trusted_folders={"relative": "TRUST_FOLDER"})
    assert r["failed"] and "not an absolute path" in r["msg"]


def test_a_user_without_a_home_fails_alone(users, tmp_path):
    shutil.rmtree(users[0].pw_dir)
    r = configure(users, tmp_path)
    assert r["failed"] and r["failed_users"] == [users[0].pw_name] and "does not exist" in r["msg"]
    assert r["users"] == {users[1].pw_name: ["directory", "env", "settings"]}


def test_per_user_env_and_settings(users, tmp_path):
    env = {users[1].pw_name: {"QWENOPS_KEY_X": KEY + "-bob"}}
    settings = {users[1].pw_name: {"model": {"name": "other"}, "modelProviders": {"anthropic": [{"id": "c"}]}}}
    r = configure(users, tmp_path, per_user_env=env, per_user_settings=settings)
    assert r["changed"] and KEY not in r["_raw"]
    first, second = (os.path.join(u.pw_dir, ".qwen") for u in users)
    assert "OPENAI_API_KEY='%s'" % KEY in open(first + "/.env").read()
    assert open(second + "/.env").read().endswith("QWENOPS_KEY_X='%s-bob'\n" % KEY)
    assert json.load(open(first + "/settings.json")) == SETTINGS
    theirs = json.load(open(second + "/settings.json"))
    assert theirs["model"] == {"name": "other"} and theirs["modelProviders"] == {"anthropic": [{"id": "c"}]}
