"""user_config: every user's ~/.qwen (0700), .env and settings.json (0600) in one call; owned by the user; merged,
masked, never following a link a user planted. Runs as root with throwaway accounts (as the module does on hosts)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import stat
import subprocess
import tempfile
import uuid

import pytest

from ansible_collections.qwenops.qwen_code.plugins.action.preflight import inputs_digest
from ansible_collections.qwenops.qwen_code.plugins.module_utils._config_inputs import SPEC
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module, syslog_capture
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

KEY = "sk-unit-" + uuid.uuid4().hex
ENV = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": "https://openrouter.ai/api/v1", "OPENAI_MODEL": "qwen/qwen3-coder"}
SETTINGS = {"$version": 4, "security": {"auth": {"selectedType": "openai"}}, "model": {"name": "qwen/qwen3-coder"}}

# needs root and useradd to create throwaway accounts: `nox -s unit-root` (tests/conftest.py)
pytestmark = pytest.mark.root


@pytest.fixture
def users(accounts):
    """Two throwaway accounts with homes under a reachable directory."""
    return [accounts(), accounts()]


def split_inputs(args):
    """user_config's arguments from flat ones: SPEC's keys go into its one option, inputs."""
    out = dict((k, v) for k, v in args.items() if k not in SPEC)
    out["inputs"] = dict((k, v) for k, v in args.items() if k in SPEC)
    return out


def run_user_config(args, tmp_path, **kwargs):
    return run_module("user_config", split_inputs(args), tmp_path, **kwargs)


def configure(users, tmp_path, check=False, diff=False, **over):
    a = {"users": [u.pw_name for u in users], "env": ENV, "settings": SETTINGS}
    a.update(over)
    return run_user_config(a, tmp_path, check=check, diff=diff)


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
    r = run_user_config({"users": ["nosuchuser-qwen"], "env": ENV, "settings": SETTINGS}, tmp_path)
    assert r["failed"] and "nosuchuser-qwen does not exist" in r["msg"] and r["failed_users"] == ["nosuchuser-qwen"]


def test_system_settings_are_roots_and_readable_by_all(users, tmp_path):
    path = tmp_path / "etc-qwen-code" / "settings.json"
    policy = {"$version": "4", "security": {"folderTrust": {"enabled": True}}}
    r = configure(users, tmp_path, system_settings=policy, system_settings_path=str(path))
    assert r["system"] == {str(path): ["directory", "settings"]}
    assert mode_owner(str(path)) == (0o644, 0, 0) and mode_owner(str(path.parent))[0] == 0o755
    assert json.load(open(str(path))) == {"$version": 4, "security": {"folderTrust": {"enabled": True}}}
    again = configure(users, tmp_path, system_settings=policy, system_settings_path=str(path))
    assert again["system"] == {str(path): []} and not again["changed"]
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


# The manifest and what is built on it: stale keys removed, offboarding, uninstall (issue 13).
def lifecycle_args(tmp_path, **over):
    base = dict(manifest_path=str(tmp_path / "var-lib" / "manifest.json"),
                system_settings={"$version": 4, "general": {"enableAutoUpdate": False}},
                system_settings_path=str(tmp_path / "etc" / "settings.json"),
                system_defaults_path=str(tmp_path / "etc" / "system-defaults.json"))
    base.update(over)
    return base


def lifecycle(users, tmp_path, **over):
    return configure(users, tmp_path, **lifecycle_args(tmp_path, **over))


def grep_tree(top, needle):
    found = []
    for root, dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                if needle.encode() in f.read():
                    found.append(path)
    return found


def test_manifest_records_digests_and_keys_but_no_secret(users, tmp_path):
    r = lifecycle(users, tmp_path, manifest_facts={"install_root": "/opt/qwen-code",
                                                   "active": {"cli": DEFAULT, "node": "22.23.3", "npm": "10.9.9"}})
    path = tmp_path / "var-lib" / "manifest.json"
    assert r["changed"] and r["manifest_changed"] and mode_owner(str(path)) == (0o600, 0, 0)
    assert mode_owner(str(path.parent))[0] == 0o700
    text = path.read_text()
    assert KEY not in text and KEY not in r["_raw"]
    manifest = json.loads(text)
    alice = manifest["users"][users[0].pw_name]
    assert alice["uid"] == users[0].pw_uid and alice["home"] == users[0].pw_dir
    env = open(os.path.join(users[0].pw_dir, ".qwen", ".env"), "rb").read()
    assert alice["files"][".env"]["digest"] == "sha256:" + __import__("hashlib").sha256(env).hexdigest()
    assert ["model", "name"] in alice["files"]["settings.json"]["keys"]
    assert manifest["history"] == [{"cli": DEFAULT, "node": "22.23.3", "npm": "10.9.9"}]
    assert ["general", "enableAutoUpdate"] in manifest["system"][str(tmp_path / "etc" / "settings.json")]["keys"]
    again = lifecycle(users, tmp_path, manifest_facts={"install_root": "/opt/qwen-code",
                                                       "active": {"cli": DEFAULT, "node": "22.23.3", "npm": "10.9.9"}})
    assert not again["changed"], again


def lifecycle_digest(users, tmp_path, **over):
    """The digest the controller works out of what lifecycle(**over) gives user_config (the preflight action's)."""
    given = dict(users=[u.pw_name for u in users], env=ENV, settings=SETTINGS)
    given.update(lifecycle_args(tmp_path, **over))
    return inputs_digest(split_inputs(given)["inputs"])


def test_the_inputs_digest_is_recorded_and_a_new_one_alone_is_no_change(users, tmp_path):
    """user_config records the digest of its inputs (the controller's digest of the same inputs); inputs that change
    the digest alone (purge, with nobody to offboard; an absent user without an account or a record) are no change."""
    facts = {"install_root": "/opt/qwen-code", "active": {"cli": DEFAULT, "node": "22.23.3", "npm": "10.9.9"}}
    path = tmp_path / "var-lib" / "manifest.json"
    one, two = lifecycle_digest(users, tmp_path), lifecycle_digest(users, tmp_path, purge=True)
    three = lifecycle_digest(users, tmp_path, purge=True, absent_users=["nosuchuser-qwen"])
    assert len(set([one, two, three])) == 3
    first = lifecycle(users, tmp_path, manifest_facts=facts)
    assert first["changed"] and json.loads(path.read_text())["inputs_digest"] == one
    other = lifecycle(users, tmp_path, manifest_facts=facts, purge=True)
    assert not other["changed"] and other["manifest_changed"], other
    assert json.loads(path.read_text())["inputs_digest"] == two
    kept = lifecycle(users, tmp_path, manifest_facts=facts, purge=True)  # the same inputs: the same digest
    assert not kept["changed"] and json.loads(path.read_text())["inputs_digest"] == two
    checked = lifecycle(users, tmp_path, manifest_facts=facts, purge=True, absent_users=["nosuchuser-qwen"], check=True)
    assert not checked["changed"] and json.loads(path.read_text())["inputs_digest"] == two


def test_no_digest_leaves_the_host(users, tmp_path):
    """The digests cover keys: unsalted, whoever reads a log could confirm a guessed key with them. The inputs' digest
    is worked out by the module itself (install_info takes the controller's as a no_log option), and neither it nor a
    file's digest is returned."""
    facts = {"install_root": "/opt/qwen-code", "active": {"cli": DEFAULT, "node": "22.23.3", "npm": "10.9.9"}}
    digest = lifecycle_digest(users, tmp_path)
    r = lifecycle(users, tmp_path, manifest_facts=facts, diff=True)
    recorded = json.loads((tmp_path / "var-lib" / "manifest.json").read_text())
    file_digest = recorded["users"][users[0].pw_name]["files"][".env"]["digest"]
    assert recorded["inputs_digest"] == digest and file_digest.startswith("sha256:")
    assert digest not in r["_raw"] and file_digest not in r["_raw"] and '"digest"' not in json.dumps(r["manifest"])
    info = run_module("install_info", {"manifest_path": str(tmp_path / "var-lib" / "manifest.json"), "drift": True,
                                       "users": [u.pw_name for u in users], "inputs_digest": digest}, tmp_path)
    # (the host has no release installed: only the users' files must be as recorded, digests compared on the host)
    assert info["inputs_current"] is True and not [p for p in info["problems"] if ".qwen" in p], info["problems"]
    assert digest not in info["_raw"] and file_digest not in info["_raw"]
    info = run_module("install_info", {"manifest_path": str(tmp_path / "var-lib" / "manifest.json"),
                                       "inputs_digest": "sha256:other"}, tmp_path)
    assert info["inputs_current"] is False and "sha256:other" not in info["_raw"]


def test_keys_the_role_no_longer_manages_are_removed_the_users_own_kept(users, tmp_path):
    lifecycle(users, tmp_path, system_settings={"$version": 4, "tools": {"approvalMode": "plan", "sandbox": True}},
              per_user_settings={users[0].pw_name: {"modelProviders": {"anthropic": [{"id": "c"}]}}})
    settings = os.path.join(users[0].pw_dir, ".qwen", "settings.json")
    data = json.load(open(settings))
    data["ui"] = {"theme": "mine"}
    with open(settings, "w") as f:
        json.dump(data, f)
    r = lifecycle(users, tmp_path, system_settings={"$version": 4, "tools": {"approvalMode": "plan"}})
    assert r["changed"]
    system = json.load(open(str(tmp_path / "etc" / "settings.json")))
    assert system == {"$version": 4, "tools": {"approvalMode": "plan"}}
    data = json.load(open(settings))
    assert "modelProviders" not in data and data["ui"] == {"theme": "mine"} and data["model"] == SETTINGS["model"]


def test_system_defaults_are_written_and_removed_when_no_longer_given(users, tmp_path):
    defaults = tmp_path / "etc" / "system-defaults.json"
    lifecycle(users, tmp_path, system_defaults={"$version": 4, "ui": {"theme": "GitHub"}})
    assert json.load(open(str(defaults))) == {"$version": 4, "ui": {"theme": "GitHub"}}
    assert mode_owner(str(defaults)) == (0o644, 0, 0)
    r = lifecycle(users, tmp_path)
    assert r["changed"] and not defaults.exists()
    assert not lifecycle(users, tmp_path)["changed"]


def test_offboarding_removes_the_key_and_credentials_and_keeps_the_users_own(users, tmp_path):
    lifecycle(users, tmp_path)
    carol = users[1]
    qdir = os.path.join(carol.pw_dir, ".qwen")
    settings = os.path.join(qdir, "settings.json")
    data = json.load(open(settings))
    data["ui"] = {"theme": "mine"}
    for name, text in (("settings.json", json.dumps(data)), ("oauth_creds.json", '{"access_token": "%s"}' % KEY),
                       ("settings.json.invalid-20260101000000", KEY), ("usage_record.jsonl", "{}\n")):
        with open(os.path.join(qdir, name), "w") as f:
            f.write(text)
    r = lifecycle(users[:1], tmp_path, absent_users=[carol.pw_name])
    assert r["changed"] and sorted(r["absent_users"][carol.pw_name]) == sorted(
        [".env", "oauth_creds.json", "settings.json.invalid-20260101000000", "settings"])
    assert grep_tree(carol.pw_dir, KEY) == []
    assert json.load(open(settings)) == {"ui": {"theme": "mine"}}
    assert os.path.exists(os.path.join(qdir, "usage_record.jsonl"))
    manifest = json.load(open(str(tmp_path / "var-lib" / "manifest.json")))
    assert carol.pw_name not in manifest["users"] and users[0].pw_name in manifest["users"]
    again = lifecycle(users[:1], tmp_path, absent_users=[carol.pw_name])
    assert not again["changed"], again
    assert grep_tree(users[0].pw_dir, KEY)  # the others keep theirs


def killed_runs_leftovers(pw, age):
    """What a run killed between writing a temporary file and renaming it leaves: each with a key, age seconds old."""
    qdir = os.path.join(pw.pw_dir, ".qwen")
    names = ("..env.a1b2c3d4", ".settings.json.zz_9x8y7", ".trustedFolders.json.qwerty12", ".oauth_creds.json.0a0a0a0a")
    paths = [os.path.join(qdir, name) for name in names]
    for path in paths:
        with open(path, "w") as f:
            f.write("OPENAI_API_KEY='%s'\n" % KEY)
        os.chown(path, pw.pw_uid, pw.pw_gid)
        os.utime(path, (os.stat(path).st_atime - age, os.stat(path).st_mtime - age))
    return paths


def test_configuring_removes_what_killed_runs_left_and_offboarding_all_of_it(users, tmp_path):
    lifecycle(users, tmp_path)
    alice, carol = users
    old = killed_runs_leftovers(alice, 3600)
    r = lifecycle(users, tmp_path)
    assert r["changed"] and not [p for p in old if os.path.lexists(p)], r["users"]
    assert sorted(r["users"][alice.pw_name]) == sorted("leftover " + os.path.basename(p) for p in old)
    # a young one may be another run's, still writing: configuring leaves it; offboarding removes it
    young = killed_runs_leftovers(carol, 0)
    lifecycle(users, tmp_path)
    assert all(os.path.lexists(p) for p in young)
    lifecycle(users[:1], tmp_path, absent_users=[carol.pw_name])
    assert not [p for p in young if os.path.lexists(p)] and grep_tree(carol.pw_dir, KEY) == []
    # a file of the user's own that merely looks alike stays
    mine = os.path.join(alice.pw_dir, ".qwen", ".env.backup")
    with open(mine, "w") as f:
        f.write("mine")
    lifecycle(users[:1], tmp_path)
    assert os.path.exists(mine)


def test_purge_removes_the_whole_qwen_dir_even_of_a_deleted_account(users, tmp_path):
    lifecycle(users, tmp_path)
    carol = users[1]
    subprocess.run(["userdel", carol.pw_name], check=True)  # the home stays, owned by a uid with no account
    r = lifecycle(users[:1], tmp_path, absent_users=[carol.pw_name], purge=True)
    assert r["absent_users"][carol.pw_name] == ["purged"]
    assert not os.path.lexists(os.path.join(carol.pw_dir, ".qwen")) and os.path.isdir(carol.pw_dir)


def test_offboarding_never_follows_a_planted_link(users, tmp_path):
    lifecycle(users, tmp_path)
    carol = users[1]
    victim = tempfile.mkdtemp(prefix="qwen-unit-victim-", dir="/var/tmp")
    with open(os.path.join(victim, ".env"), "w") as f:
        f.write("root's")
    qdir = os.path.join(carol.pw_dir, ".qwen")
    shutil.rmtree(qdir)
    os.symlink(victim, qdir)
    r = lifecycle(users[:1], tmp_path, absent_users=[carol.pw_name], purge=True)
    assert r["failed"] and r["failed_users"] == [carol.pw_name] and "refusing to follow" in r["msg"]
    assert open(os.path.join(victim, ".env")).read() == "root's"
    shutil.rmtree(victim)


def test_state_absent_removes_what_the_manifest_records_then_changes_nothing(users, tmp_path):
    etc = tmp_path / "etc"
    lifecycle(users, tmp_path, system_defaults={"$version": 4, "ui": {"theme": "GitHub"}})
    (etc / "ca-bundle.pem").write_text("not ours to remove here")
    r = run_user_config({"state": "absent", "manifest_path": str(tmp_path / "var-lib" / "manifest.json"),
                         "system_settings_path": str(etc / "settings.json"),
                         "system_defaults_path": str(etc / "system-defaults.json")}, tmp_path)
    assert r["changed"] and set(r["absent_users"]) == set(u.pw_name for u in users)
    assert not (etc / "settings.json").exists() and not (etc / "system-defaults.json").exists()
    assert not (tmp_path / "var-lib" / "manifest.json").exists()
    for u in users:
        assert grep_tree(u.pw_dir, KEY) == []
    assert (etc / "ca-bundle.pem").exists()
    (etc / "ca-bundle.pem").unlink()
    absent = {"state": "absent", "manifest_path": str(tmp_path / "var-lib" / "manifest.json"),
              "system_settings_path": str(etc / "settings.json"),
              "system_defaults_path": str(etc / "system-defaults.json")}
    assert run_user_config(absent, tmp_path)["changed"] and not etc.exists()  # the directory, left empty
    r = run_user_config(absent, tmp_path)
    assert not r["changed"], r


def test_key_rotation_leaves_the_old_key_nowhere_in_the_home(users, tmp_path):
    lifecycle(users, tmp_path)
    new = dict(ENV, OPENAI_API_KEY="sk-unit-rotated-" + uuid.uuid4().hex)
    r = lifecycle(users, tmp_path, env=new)
    assert r["changed"] and all(r["users"][u.pw_name] == ["env"] for u in users)
    for u in users:
        assert grep_tree(u.pw_dir, KEY) == [] and grep_tree(u.pw_dir, new["OPENAI_API_KEY"])


def test_a_managed_key_shadowing_a_per_user_key_is_warned_about(users, tmp_path):
    def warnings(r):  # plain strings, or (ansible-core 2.19+) summaries holding an event with the message
        return [w if isinstance(w, str) else json.dumps(w) for w in r.get("warnings", [])]
    r = lifecycle(users, tmp_path, system_settings={"$version": 4, "model": {"name": "enforced"}})
    assert any("model.name" in w and "outranks" in w for w in warnings(r)), r.get("warnings")
    r = lifecycle(users, tmp_path, system_settings={"$version": 4, "ui": {"theme": "x"}})
    assert not any("outranks" in w for w in warnings(r))


# What ansible-core 2.16's templating hands over (a lone "{{ 4 }}" renders as "4"), and what `-e name=false` gives.
AS_STRINGS = {"$version": "4", "security": {"folderTrust": {"enabled": "False"}},
              "privacy": {"usageStatisticsEnabled": "false"}, "telemetry": {"enabled": "no"},
              "general": {"enableAutoUpdate": "False"}, "tools": {"sandbox": "true"}}
AS_TYPES = {"$version": 4, "security": {"folderTrust": {"enabled": False}},
            "privacy": {"usageStatisticsEnabled": False}, "telemetry": {"enabled": False},
            "general": {"enableAutoUpdate": False}, "tools": {"sandbox": True}}


def test_types_the_cli_needs_are_written_whatever_templating_made_of_them(users, tmp_path):
    system = tmp_path / "etc-qwen-code" / "settings.json"
    defaults = tmp_path / "etc-qwen-code" / "system-defaults.json"
    own = {users[1].pw_name: {"$version": " 4", "security": {"auth": {"useExternal": "True"}}}}
    args = dict(settings={"$version": "4", "model": {"name": "4"}}, per_user_settings=own,
                system_settings=AS_STRINGS, system_settings_path=str(system),
                system_defaults={"$version": "4", "general": {"disableAutoUpdate": "true"}},
                system_defaults_path=str(defaults), manifest_path=str(tmp_path / "manifest.json"))
    r = configure(users, tmp_path, **args)
    assert r["changed"] and not r.get("failed"), r.get("msg")
    assert json.load(open(str(system))) == AS_TYPES
    assert json.load(open(str(defaults))) == {"$version": 4, "general": {"disableAutoUpdate": True}}
    first = json.load(open(os.path.join(users[0].pw_dir, ".qwen", "settings.json")))
    assert first == {"$version": 4, "model": {"name": "4"}}, "only the typed keys change type"
    second = json.load(open(os.path.join(users[1].pw_dir, ".qwen", "settings.json")))
    assert second == {"$version": 4, "model": {"name": "4"}, "security": {"auth": {"useExternal": True}}}
    assert mode_owner(os.path.join(users[1].pw_dir, ".qwen", "settings.json"))[0] == 0o600
    again = configure(users, tmp_path, **args)
    assert not again["changed"], again
    # The same settings with real types are the same files: a controller that keeps types changes nothing either.
    typed = dict(args)
    typed.update(settings={"$version": 4, "model": {"name": "4"}}, system_settings=AS_TYPES,
                 per_user_settings={users[1].pw_name: {"$version": 4, "security": {"auth": {"useExternal": True}}}},
                 system_defaults={"$version": 4, "general": {"disableAutoUpdate": True}})
    assert not configure(users, tmp_path, **typed)["changed"]


@pytest.mark.parametrize("option, bad, message", [
    ("settings", {"$version": "four"}, "settings: the setting $version must be an integer, not 'four'"),
    ("system_settings", {"privacy": {"usageStatisticsEnabled": "nope"}},
     "system_settings: the setting privacy.usageStatisticsEnabled must be a boolean (true or false), not 'nope'"),
    ("system_defaults", {"$version": True}, "system_defaults: the setting $version must be an integer, not True"),
])
def test_a_typed_setting_with_no_such_form_fails_before_any_change(users, tmp_path, option, bad, message):
    system = tmp_path / "etc-qwen-code" / "settings.json"
    r = configure(users, tmp_path, system_settings_path=str(system),
                  system_defaults_path=str(tmp_path / "etc-qwen-code" / "system-defaults.json"), **{option: bad})
    assert r["failed"] and r["msg"] == message
    assert not os.path.exists(str(system.parent)) and not os.path.exists(os.path.join(users[0].pw_dir, ".qwen"))


def test_a_users_typed_setting_with_no_such_form_names_the_user(users, tmp_path):
    r = configure(users, tmp_path, per_user_settings={users[0].pw_name: {"telemetry": {"enabled": "sometimes"}}})
    assert r["failed"] and r["msg"] == ("per_user_settings of %s: the setting telemetry.enabled must be a boolean "
                                        "(true or false), not 'sometimes'" % users[0].pw_name)


def test_secrets_of_the_users_settings_never_show_but_are_written(users, tmp_path):
    """qwen_code_settings reaches each user's settings (per_user_settings): a header with a key in it is written
    (the file is the user's, 0600) but shows nowhere - diff, results, invocation, the host's log."""
    canary = os.environ.get("QWEN_TEST_CANARY_KEY") or KEY
    mcp = {"tickets": {"httpUrl": "https://mcp.example/mcp",
                       "headers": {"Authorization": "Bearer " + canary, "X-API-Key": canary,
                                   "x-goog-api-key": canary}}}
    own = {u.pw_name: {"mcpServers": mcp, "ui": {"theme": "GitHub"}} for u in users}
    env, syslog = syslog_capture(tmp_path)
    r = run_user_config({"users": [u.pw_name for u in users], "env": ENV, "settings": SETTINGS,
                         "per_user_settings": own}, tmp_path, diff=True, env=env)
    # Booleans, so that a failure does not print the canary itself.
    leaked = canary in r["_raw"]
    assert not leaked, "a secret of the settings shows in the diff, the results or the invocation"
    assert r["changed"], r.get("msg")
    written = json.load(open(os.path.join(users[0].pw_dir, ".qwen", "settings.json")))["mcpServers"] == mcp
    assert written
    after = [d["after"] for d in r["diff"] if d["after_header"].endswith("settings.json")][0]
    assert '"X-API-Key": "********"' in after and '"theme": "GitHub"' in after
    if "invocation" in r:  # (modules of ansible-core 2.21 no longer return it)
        shown = r["invocation"]["module_args"]["inputs"]["per_user_settings"][users[0].pw_name]
        assert shown["ui"] == {"theme": "GitHub"}
        assert shown["mcpServers"]["tickets"]["headers"]["Authorization"] == "********"
    logged = syslog.read_text()
    leaked = canary in logged or KEY in logged
    assert not leaked and "Invoked with" in logged
