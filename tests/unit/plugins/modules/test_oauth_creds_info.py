"""oauth_creds_info: facts about qwen OAuth credentials, never the tokens."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import hashlib
import json
import os
import pwd
import shutil
import tempfile
import time

import pytest
from ansible.module_utils.common.parameters import PASS_VARS

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module

ACCESS, REFRESH = "at-CANARY-access-7d1", "rt-CANARY-refresh-9e2"


def creds(**over):
    c = {"access_token": ACCESS, "refresh_token": REFRESH, "token_type": "Bearer",
         "expiry_date": int((time.time() + 3600) * 1000), "resource_url": "portal.qwen.ai"}
    c.update(over)
    return c


def write(tmp_path, data, mode=0o600):
    d = tmp_path / ".qwen"
    d.mkdir(exist_ok=True)
    p = d / "oauth_creds.json"
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    os.chmod(str(p), mode)
    return p


# needs root and useradd to create throwaway accounts: `nox -s unit-root` (tests/conftest.py)
needs_accounts = pytest.mark.root


def info(args, tmp_path, **kwargs):
    r = run_module("oauth_creds_info", args, tmp_path, **kwargs)
    assert ACCESS not in r["_raw"] and REFRESH not in r["_raw"]
    assert r.get("changed") is False or r.get("failed")
    return r


def test_valid_file(tmp_path):
    p = write(tmp_path, creds())
    r = info({"path": str(p)}, tmp_path)
    assert r["exists"] and r["valid"] and not r["expired"] and 3500 < r["expires_in"] <= 3600
    assert r["mode"] == "0600" and r["size"] == p.stat().st_size
    assert r["owner"] == pwd.getpwuid(os.getuid()).pw_name and r["group"] == grp.getgrgid(os.getgid()).gr_name
    assert (r["token_type"], r["resource_url"]) == ("Bearer", "portal.qwen.ai")
    assert r["refresh_token_sha256"] == hashlib.sha256(REFRESH.encode()).hexdigest()[:16]
    assert r["access_token_sha256"] == hashlib.sha256(ACCESS.encode()).hexdigest()[:16]
    assert r["expiry_date"] == creds()["expiry_date"] or abs(r["expiry_date"] - creds()["expiry_date"]) < 5000
    assert r["lock_present"] is False and "lock_age" not in r and "invalid_reason" not in r


def test_mode_is_reported_as_found(tmp_path):
    p = write(tmp_path, creds(), mode=0o644)
    assert info({"path": str(p)}, tmp_path)["mode"] == "0644"


def test_expired(tmp_path):
    p = write(tmp_path, creds(expiry_date=int((time.time() - 60) * 1000)))
    r = info({"path": str(p)}, tmp_path)
    assert r["valid"] and r["expired"] and -70 <= r["expires_in"] < 0


def test_float_expiry_and_no_resource_url(tmp_path):
    data = creds(expiry_date=(time.time() + 100) * 1000.0)
    del data["resource_url"]
    r = info({"path": str(write(tmp_path, data))}, tmp_path)
    assert r["valid"] and isinstance(r["expiry_date"], int) and "resource_url" not in r


INVALID = [
    ("{not json", "not valid JSON"),
    ("", "not valid JSON"),
    (b"\xff\xfe".decode("latin-1"), "not valid JSON"),
    ("[]", "must be a JSON object, not a list"),
    ("null", "must be a JSON object, not null"),
    (creds(refresh_token=None), "refresh_token must be a non-empty string, not null"),
    ({k: v for k, v in creds().items() if k != "token_type"}, "token_type is missing"),
    (creds(expiry_date="tomorrow"), "expiry_date must be a number of milliseconds since the epoch, not a string"),
    (creds(expiry_date=True), "expiry_date must be a number of milliseconds since the epoch, not a boolean"),
    ('{"access_token": "a", "refresh_token": "r", "token_type": "Bearer", "expiry_date": NaN}', "not finite"),
    ('{"access_token": "a", "refresh_token": "r", "token_type": "Bearer", "expiry_date": Infinity}', "not finite"),
    (creds(expiry_date=int(time.time()) + 3600), "looks like seconds"),
    (creds(access_token=""), "access_token must be a non-empty string, not an empty string"),
    (creds(access_token="   "), "access_token must be a non-empty string"),
    (creds(token_type=1), "token_type must be a non-empty string, not an integer"),
    (creds(resource_url=["x"]), "resource_url must be a string, not a list"),
]


@pytest.mark.parametrize("data, reason", INVALID)
def test_invalid_file_is_reported_not_failed(tmp_path, data, reason):
    p = write(tmp_path, data)
    r = info({"path": str(p)}, tmp_path)
    assert not r.get("failed") and r["valid"] is False and reason in r["invalid_reason"]
    assert r["exists"] and r["mode"] == "0600"
    assert "refresh_token_sha256" not in r and "expired" not in r
    r = info({"path": str(p), "fail_on_invalid": True}, tmp_path)
    assert r["failed"] and reason in r["msg"] and r["valid"] is False


# Ansible masks a no_log string wherever it appears in the output: content "null" would turn "not null" into
# "not ********". That is Ansible's doing, and the right thing for a secret.
@pytest.mark.parametrize("data, reason", [(d, r) for d, r in INVALID if d != "null"])
def test_invalid_content_is_reported_not_failed(tmp_path, data, reason):
    r = info({"content": data}, tmp_path)
    assert not r.get("failed") and r["valid"] is False and reason in r["invalid_reason"]
    r = info({"content": data, "fail_on_invalid": True}, tmp_path)
    assert r["failed"] and reason in r["msg"]


def test_missing_file(tmp_path):
    r = info({"path": str(tmp_path / "none.json")}, tmp_path)
    assert r["exists"] is False and r["valid"] is False and "does not exist" in r["invalid_reason"]
    assert "mode" not in r and r["lock_present"] is False
    r = info({"path": str(tmp_path / "none.json"), "fail_on_invalid": True}, tmp_path)
    assert r["failed"] and "does not exist" in r["msg"]


def test_unreadable_path_is_reported(tmp_path):
    (tmp_path / ".qwen" / "oauth_creds.json").mkdir(parents=True)
    r = info({"path": str(tmp_path / ".qwen" / "oauth_creds.json")}, tmp_path)
    assert r["valid"] is False and "cannot read" in r["invalid_reason"] and r["exists"]


def test_lock_is_reported(tmp_path):
    p = write(tmp_path, creds())
    lock = p.parent / "oauth_creds.lock"
    lock.write_text("c0ffee00-uuid")
    old = time.time() - 40
    os.utime(str(lock), (old, old))
    r = info({"path": str(p)}, tmp_path)
    assert r["lock_present"] and 39 <= r["lock_age"] <= 60


def test_content_as_dict_and_string_reports_public_fields_unmasked(tmp_path):
    data = creds()
    for content in (data, json.dumps(data)):
        r = info({"content": content}, tmp_path)
        assert r["valid"] and not set(r) & {"exists", "path", "mode", "owner", "lock_present"}
        expected = ("Bearer", "portal.qwen.ai", data["expiry_date"])
        assert (r["token_type"], r["resource_url"], r["expiry_date"]) == expected
        assert r["refresh_token_sha256"] == hashlib.sha256(REFRESH.encode()).hexdigest()[:16]


def test_content_tokens_stay_masked_in_the_invocation(tmp_path):
    # From ansible-core 2.21 a module returns its invocation only when asked to (_ansible_inject_invocation, which the
    # INJECT_INVOCATION setting sets); earlier cores always return it, and reject the option they do not know.
    args = {"content": creds()}
    if "inject_invocation" in PASS_VARS:
        args["_ansible_inject_invocation"] = True
    r = info(args, tmp_path)
    args = r["invocation"]["module_args"]["content"]
    assert args["access_token"] == args["refresh_token"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_a_public_field_inside_a_token_stays_masked(tmp_path):
    # If the token type happened to be part of a token, showing it could reveal part of the token: keep it masked.
    r = info({"content": creds(token_type="CANARY")}, tmp_path)
    assert r["valid"] and r["token_type"] != "CANARY"


def test_user_home(tmp_path):
    r = info({"user": "root"}, tmp_path)
    assert r["path"] == os.path.join(pwd.getpwnam("root").pw_dir, ".qwen", "oauth_creds.json")


def test_default_user_is_the_one_running_the_module(tmp_path):
    r = info({}, tmp_path, env={"HOME": str(tmp_path)})
    assert r["path"] == os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".qwen", "oauth_creds.json")


def test_unknown_user_fails(tmp_path):
    r = info({"user": "no-such-user-qwen"}, tmp_path)
    assert r["failed"] and "no-such-user-qwen does not exist" in r["msg"]


@pytest.mark.parametrize("args", [{"content": "{}", "path": "/x"}, {"content": "{}", "user": "root"}])
def test_content_excludes_path_and_user(args, tmp_path):
    r = info(args, tmp_path)
    assert r["failed"] and "mutually exclusive" in r["msg"]


def test_check_mode(tmp_path):
    p = write(tmp_path, creds())
    r = info({"path": str(p)}, tmp_path, check=True)
    assert r["valid"] and r["changed"] is False


# --- security review: root never reads through a user's path ----------------------------------------------------

@pytest.fixture
def root_only():
    """A directory only root may enter, holding root's own oauth_creds.json (valid credentials) and keys (not
    JSON: a parser's message would say where it stopped)."""
    private = tempfile.mkdtemp(prefix="qwen-unit-root-only-", dir="/var/tmp")
    os.chmod(private, 0o700)
    with open(os.path.join(private, "oauth_creds.json"), "w") as f:
        json.dump(creds(), f)
    with open(os.path.join(private, "keys"), "w") as f:
        f.write('{"k": -----BEGIN PRIVATE KEY-----')
    yield private
    shutil.rmtree(private, ignore_errors=True)


def plant(pw, name, target):
    """pw's ~/.qwen/<name> (or ~/.qwen itself, for name None) as a link to target, planted by pw."""
    qwen = os.path.join(pw.pw_dir, ".qwen")
    if name:
        os.mkdir(qwen, 0o700)
        os.chown(qwen, pw.pw_uid, pw.pw_gid)
    link = os.path.join(qwen, name) if name else qwen
    os.symlink(target, link)
    os.lchown(link, pw.pw_uid, pw.pw_gid)


@needs_accounts
@pytest.mark.parametrize("name, target", [("oauth_creds.json", "oauth_creds.json"), ("oauth_creds.json", "keys"),
                                          (None, "")])
def test_a_link_to_roots_file_is_not_read(accounts, root_only, tmp_path, name, target):
    alice = accounts("qoi")
    plant(alice, name, os.path.join(root_only, target))
    r = info({"user": alice.pw_name}, tmp_path)
    assert not r.get("failed") and r["valid"] is False, r
    # Nothing of root's file: not whether it is valid, not where a parser stopped, not its owner, mode or size.
    assert "JSON" not in r["invalid_reason"] and "line" not in r["invalid_reason"], r["invalid_reason"]
    assert "refresh_token_sha256" not in r and r.get("owner") != "root", json.dumps(r)
    assert r.get("size") != os.path.getsize(os.path.join(root_only, target or "oauth_creds.json"))


@pytest.mark.parametrize("as_user", [pytest.param(True, marks=pytest.mark.root), False])
def test_a_fifo_is_not_waited_for(accounts, homes, tmp_path, as_user):
    if as_user:
        alice = accounts("qoi")
        qwen = os.path.join(alice.pw_dir, ".qwen")
        os.mkdir(qwen, 0o700)
        os.chown(qwen, alice.pw_uid, alice.pw_gid)
        args = {"user": alice.pw_name}
    else:
        qwen = str(tmp_path / ".qwen")
        os.mkdir(qwen)
        args = {"path": os.path.join(qwen, "oauth_creds.json")}
    fifo = os.path.join(qwen, "oauth_creds.json")
    os.mkfifo(fifo, 0o600)
    if as_user:
        os.chown(fifo, alice.pw_uid, alice.pw_gid)
    started = time.time()
    r = info(args, tmp_path, timeout=30)
    assert time.time() - started < 20
    assert not r.get("failed") and r["valid"] is False and r["exists"] is True, r
    assert "not a regular file" in r["invalid_reason"], r["invalid_reason"]
