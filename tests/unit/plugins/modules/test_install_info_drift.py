"""install_info manifest and drift: a host compared with the record the role wrote, every user's files read as that
user (real throwaway accounts, real homes, a real manifest), and no value of a file in the result."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._manifest import file_digest, managed_digest, render
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

KEY = "sk-drift-CANARY-" + uuid.uuid4().hex[:8]
ACCESS, REFRESH = "at-drift-CANARY-access", "rt-drift-CANARY-refresh"
ENV = "# Managed by Ansible\nOPENAI_API_KEY='%s'\nOPENAI_MODEL='qwen/qwen3-coder'\n" % KEY
SETTINGS = {"$version": 4, "security": {"auth": {"selectedType": "openai"}}, "model": {"name": "qwen/qwen3-coder"}}
SETTINGS_KEYS = [["$version"], ["model", "name"], ["security", "auth", "selectedType"]]
TRUSTED = {"/srv/work": "TRUST_FOLDER"}
SYSTEM = {"general": {"enableAutoUpdate": False}, "privacy": {"usageStatisticsEnabled": False}}
SYSTEM_KEYS = [["general", "enableAutoUpdate"], ["privacy", "usageStatisticsEnabled"]]

# needs root and useradd to create throwaway accounts: `nox -s unit-root` (tests/conftest.py)
pytestmark = pytest.mark.root


def write_as(pw, relative, text, mode=0o600):
    path = os.path.join(pw.pw_dir, relative)
    d = os.path.dirname(path)
    if not os.path.isdir(d):
        os.mkdir(d, 0o700)
        os.chown(d, pw.pw_uid, pw.pw_gid)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


def expiry_in_an_hour():
    return int((time.time() + 3600) * 1000)


def configure(pw, oauth=True, expiry=None):
    """The user's files as the role writes them, and the manifest's record of them (OAuth credentials that expire
    at expiry, in ms; by default an hour after now)."""
    write_as(pw, ".qwen/.env", ENV)
    write_as(pw, ".qwen/settings.json", json.dumps(SETTINGS, indent=2))
    write_as(pw, ".qwen/trustedFolders.json", json.dumps(TRUSTED))
    files = {".env": {"digest": file_digest(ENV)},
             "settings.json": {"keys": SETTINGS_KEYS, "digest": managed_digest(SETTINGS, SETTINGS_KEYS)},
             "trustedFolders.json": {"keys": [["/srv/work"]], "digest": managed_digest(TRUSTED, [["/srv/work"]])}}
    if oauth:
        write_as(pw, ".qwen/oauth_creds.json", json.dumps({
            "access_token": ACCESS, "refresh_token": REFRESH, "token_type": "Bearer",
            "expiry_date": expiry or expiry_in_an_hour()}))
        files["oauth_creds.json"] = {"deployed": True}
    return {"uid": pw.pw_uid, "gid": pw.pw_gid, "home": pw.pw_dir, "files": files}


@pytest.fixture
def host(tmp_path):
    """A host's root-owned parts: install root with the active release, launcher, system settings."""
    root = tmp_path / "opt"
    (root / "cli" / DEFAULT).mkdir(parents=True)
    (root / "node" / "22.23.3").mkdir(parents=True)
    launcher = tmp_path / "qwen"
    launcher.write_text("#!/bin/sh\nexec %s/cli/%s/bin/qwen\n" % (root, DEFAULT))
    system = tmp_path / "etc-settings.json"
    system.write_text(json.dumps(SYSTEM))
    manifest = {"install_root": str(root),
                "launcher": {"path": str(launcher), "sha256": hashlib.sha256(launcher.read_bytes()).hexdigest()},
                "active": {"cli": DEFAULT, "node": "22.23.3", "npm": "10.9.9"},
                "history": [{"cli": DEFAULT, "node": "22.23.3", "npm": "10.9.9"}],
                "system": {str(system): {"keys": SYSTEM_KEYS, "digest": managed_digest(SYSTEM, SYSTEM_KEYS)}},
                "users": {}}
    return dict(root=root, launcher=launcher, system=system, manifest=manifest, tmp=tmp_path)


def drift(host, users=(), **over):
    path = host["tmp"] / "manifest.json"
    path.write_text(render(host["manifest"]))
    args = {"install_root": str(host["root"]), "manifest_path": str(path), "drift": True, "users": list(users)}
    args.update(over)
    r = run_module("install_info", args, host["tmp"], check=True)
    for secret in (KEY, ACCESS, REFRESH):
        assert secret not in r["_raw"]
    assert r["changed"] is False and not r.get("failed"), r.get("msg")
    return r


def test_all_ok(host, accounts):
    alice = accounts("qud")
    expiry = expiry_in_an_hour()  # now, not when the file was imported: a long session may run it minutes later
    host["manifest"]["users"][alice.pw_name] = configure(alice, expiry=expiry)
    r = drift(host)
    assert r["problems"] == []
    assert r["manifest"]["active"]["cli"] == DEFAULT and "manifest_error" not in r
    d = r["drift"]
    assert d["system"] == {str(host["system"]): "ok"}
    assert d["launcher"] == {"path": str(host["launcher"]), "state": "ok"} and d["ca_bundle"] == {}
    assert d["active"]["cli_exists"] and d["active"]["node_exists"]
    user = d["users"][alice.pw_name]
    assert user["account_exists"] and user["recorded"] and user["qwen_dir"] and user["uid"] == alice.pw_uid
    assert user["files"] == {".env": "ok", "settings.json": "ok", "trustedFolders.json": "ok",
                             "oauth_creds.json": "ok"}
    assert user["oauth"]["expiry_date"] == expiry and not user["oauth"]["expired"]
    assert 3500 < user["oauth"]["expires_in"] <= 3600
    assert set(user["oauth"]) == {"expiry_date", "expires_in", "expired"}


def test_each_kind_of_drift_is_named(host, accounts):
    alice, bob = accounts("qud"), accounts("qud")
    host["manifest"]["users"][alice.pw_name] = configure(alice)
    host["manifest"]["users"][bob.pw_name] = configure(bob, oauth=False)
    os.unlink(os.path.join(alice.pw_dir, ".qwen", ".env"))
    write_as(alice, ".qwen/trustedFolders.json", "{not json")
    edited = dict(SETTINGS, model={"name": "hand-edited"})
    write_as(alice, ".qwen/settings.json", json.dumps(edited))
    write_as(bob, ".qwen/.env", ENV + "EXTRA=1\n")
    extra = dict(SETTINGS, ui={"theme": "GitHub"})  # what a user adds is no drift
    write_as(bob, ".qwen/settings.json", "// the CLI allows comments\n" + json.dumps(extra))
    r = drift(host)
    assert r["drift"]["users"][alice.pw_name]["files"] == {
        ".env": "missing", "settings.json": "drifted", "trustedFolders.json": "invalid", "oauth_creds.json": "ok"}
    assert r["drift"]["users"][bob.pw_name]["files"] == {
        ".env": "drifted", "settings.json": "ok", "trustedFolders.json": "ok"}
    assert "oauth" not in r["drift"]["users"][bob.pw_name]
    assert sorted(r["problems"]) == sorted([
        "%s: ~/.qwen/.env is missing" % alice.pw_name,
        "%s: ~/.qwen/settings.json differs from what the role wrote" % alice.pw_name,
        "%s: ~/.qwen/trustedFolders.json is not valid JSON" % alice.pw_name,
        "%s: ~/.qwen/.env differs from what the role wrote" % bob.pw_name])
    assert "hand-edited" not in r["_raw"] and "EXTRA" not in r["_raw"]


def test_system_launcher_and_release_drift(host, accounts):
    host["system"].write_text(json.dumps(dict(SYSTEM, general={"enableAutoUpdate": True})))
    host["launcher"].write_text("#!/bin/sh\nexec something-else\n")
    shutil.rmtree(str(host["root"] / "cli" / DEFAULT))
    r = drift(host)
    assert r["drift"]["system"] == {str(host["system"]): "drifted"}
    assert r["drift"]["launcher"]["state"] == "drifted"
    assert r["drift"]["active"]["cli_exists"] is False and r["drift"]["active"]["node_exists"] is True
    assert sorted(r["problems"]) == sorted([
        "%s differs from what the role wrote" % host["system"],
        "%s differs from what the role wrote" % host["launcher"],
        "the active cli release %s is missing from %s/cli" % (DEFAULT, host["root"])])
    os.unlink(str(host["system"]))
    assert drift(host)["drift"]["system"] == {str(host["system"]): "missing"}


def test_expired_oauth_and_no_token_in_result(host, accounts):
    alice = accounts("qud")
    host["manifest"]["users"][alice.pw_name] = configure(alice)
    past = int((time.time() - 120) * 1000)
    write_as(alice, ".qwen/oauth_creds.json", json.dumps({
        "access_token": ACCESS, "refresh_token": REFRESH, "token_type": "Bearer", "expiry_date": past}))
    oauth = drift(host)["drift"]["users"][alice.pw_name]["oauth"]
    assert oauth["expired"] is True and oauth["expiry_date"] == past and -130 <= oauth["expires_in"] < 0
    write_as(alice, ".qwen/oauth_creds.json", '{"refresh_token": "%s", "expiry_date": NaN}' % REFRESH)
    user = drift(host)["drift"]["users"][alice.pw_name]
    assert user["oauth"] == {"expiry_date": None, "expires_in": None, "expired": None}
    assert user["files"]["oauth_creds.json"] == "ok"  # deployed and there: its tokens are the CLI's to rotate


def test_deleted_account_is_still_checked_as_its_uid(host, accounts):
    alice = accounts("qud")
    host["manifest"]["users"][alice.pw_name] = configure(alice)
    subprocess.run(["userdel", alice.pw_name], check=True)  # the home stays, owned by the bare uid
    os.unlink(os.path.join(alice.pw_dir, ".qwen", ".env"))
    r = drift(host)
    user = r["drift"]["users"][alice.pw_name]
    assert user["account_exists"] is False and user["uid"] == alice.pw_uid and user["qwen_dir"]
    assert user["files"][".env"] == "missing" and user["files"]["settings.json"] == "ok"
    assert "%s: the account no longer exists (its files were checked as uid %d)" % (
        alice.pw_name, alice.pw_uid) in r["problems"]


def test_a_link_to_roots_files_is_not_followed_as_root(host, accounts):
    """~/.qwen -> a root-only directory holding files that match the manifest: root would call them ok; the
    user may not read them, so they are unreadable, and nothing of them is returned."""
    alice = accounts("qud")
    host["manifest"]["users"][alice.pw_name] = configure(alice)
    private = tempfile.mkdtemp(prefix="qwen-unit-root-only-", dir="/var/tmp")
    try:
        os.chmod(private, 0o700)
        for name in (".env", "settings.json", "trustedFolders.json", "oauth_creds.json"):
            shutil.copy(os.path.join(alice.pw_dir, ".qwen", name), os.path.join(private, name))
            os.chown(os.path.join(private, name), 0, 0)
        shutil.rmtree(os.path.join(alice.pw_dir, ".qwen"))
        os.symlink(private, os.path.join(alice.pw_dir, ".qwen"))
        os.lchown(os.path.join(alice.pw_dir, ".qwen"), alice.pw_uid, alice.pw_gid)
        r = drift(host)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    user = r["drift"]["users"][alice.pw_name]
    assert set(user["files"].values()) == {"unreadable"}
    assert "oauth" not in user
    assert "%s: ~/.qwen/.env cannot be read" % alice.pw_name in r["problems"]


def test_users_not_in_the_manifest(host, accounts):
    bob = accounts("qud")
    r = drift(host, users=[bob.pw_name, "nosuchuser-qwen"])
    assert r["drift"]["users"][bob.pw_name]["recorded"] is False
    assert r["drift"]["users"]["nosuchuser-qwen"] == {"account_exists": False, "recorded": False}
    assert sorted(r["problems"]) == sorted([
        "%s: not in the manifest (the role has not configured this user here)" % bob.pw_name,
        "nosuchuser-qwen: no such account"])


def test_no_manifest_and_a_manifest_that_is_not_ours(tmp_path):
    args = {"install_root": str(tmp_path), "manifest_path": str(tmp_path / "none.json")}
    r = run_module("install_info", args, tmp_path)
    assert r["manifest"] == {} and "manifest_error" not in r and "drift" not in r and "problems" not in r
    r = run_module("install_info", dict(args, drift=True), tmp_path)
    assert r["problems"] == ["no manifest: the role has not recorded this host"]
    bad = tmp_path / "bad.json"
    for text in ('{"format": 2}', "\xff{not json"):
        bad.write_text(text)
        r = run_module("install_info", dict(args, manifest_path=str(bad), drift=True), tmp_path)
        assert not r.get("failed") and r["manifest"] == {} and str(bad) in r["manifest_error"]
        assert r["problems"] == ["manifest: " + r["manifest_error"]]
    os.chown(str(bad), 65534, 65534)
    bad.write_text(render({}))
    r = run_module("install_info", dict(args, manifest_path=str(bad)), tmp_path)
    assert r["manifest"] == {} and "not a regular file of root" in r["manifest_error"]


def test_modes_and_owners_other_than_the_roles_are_named(host, accounts):
    """What user_config sets (~/.qwen 0700, its files 0600, the user's own; the system files root's 0644) is part of
    the record: the role's re-run skips user_config only when drift finds nothing."""
    alice = accounts("qud")
    host["manifest"]["users"][alice.pw_name] = configure(alice)
    qwen = os.path.join(alice.pw_dir, ".qwen")
    os.chmod(qwen, 0o755)
    os.chmod(os.path.join(qwen, ".env"), 0o644)
    os.chown(os.path.join(qwen, "trustedFolders.json"), alice.pw_uid + 1, alice.pw_gid)
    os.chown(os.path.join(qwen, "settings.json"), alice.pw_uid, alice.pw_gid + 1)  # user_config restores the group
    os.chmod(os.path.join(qwen, "oauth_creds.json"), 0o644)  # the CLI's file once deployed: not the role's to judge
    os.chmod(str(host["system"]), 0o666)
    r = drift(host)
    assert r["drift"]["users"][alice.pw_name]["modes"] == [".", ".env", "settings.json", "trustedFolders.json"]
    for line in ["%s: ~/.qwen is not the user's own directory with mode 0700" % alice.pw_name,
                 "%s: ~/.qwen/.env is not the user's own file with mode 0600" % alice.pw_name,
                 "%s: ~/.qwen/trustedFolders.json is not the user's own file with mode 0600" % alice.pw_name,
                 "%s: ~/.qwen/settings.json is not the user's own file with mode 0600" % alice.pw_name,
                 "%s is not root's own file with mode 0644" % host["system"]]:
        assert line in r["problems"], r["problems"]
    assert not any("oauth_creds" in p for p in r["problems"])
