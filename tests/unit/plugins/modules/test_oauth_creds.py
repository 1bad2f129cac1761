"""oauth_creds: atomic 0600 deploy that never clobbers tokens the CLI has rotated, honouring its lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import time

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module

# acts as root (owner checks, become): `nox -s unit-root` (tests/conftest.py)
pytestmark = pytest.mark.root

NOW_MS = int(time.time() * 1000)


def creds(refresh="rt-CANARY-one", expiry=NOW_MS + 3600000, access="at-CANARY-one"):
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expiry_date": expiry,
            "resource_url": "localhost:18443"}


def deploy(tmp_path, content, **extra):
    args = {"user": "root", "path": str(tmp_path / "oauth_creds.json"), "content": content, "lock_wait": 2}
    args.update(extra)
    result = run_module("oauth_creds", args, tmp_path)
    assert "CANARY" not in result["_raw"], "a token reached the output"
    return result


def on_disk(tmp_path):
    return json.loads((tmp_path / "oauth_creds.json").read_text())


def test_writes_0600_atomically_then_unchanged(tmp_path):
    r = deploy(tmp_path, creds())
    assert r["changed"] and r["action"] == "written"
    assert on_disk(tmp_path) == creds()
    assert stat.S_IMODE(os.stat(tmp_path / "oauth_creds.json").st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["oauth_creds-args.json", "oauth_creds.json"]  # no temp, no lock left
    r = deploy(tmp_path, json.dumps(creds()))
    assert not r["changed"] and r["action"] == "unchanged"


def test_keeps_a_file_the_cli_refreshed_later(tmp_path):
    deploy(tmp_path, creds())
    rotated = creds(refresh="rt-CANARY-rotated", access="at-CANARY-new", expiry=NOW_MS + 7200000)
    (tmp_path / "oauth_creds.json").write_text(json.dumps(rotated))
    r = deploy(tmp_path, creds())
    assert not r["changed"] and r["action"] == "kept_newer"
    assert "qwen_code_oauth_creds_force" in r["msg"]
    assert on_disk(tmp_path) == rotated


def test_keeps_another_refresh_token_with_the_same_expiry(tmp_path):
    other = creds(refresh="rt-CANARY-other")
    (tmp_path / "oauth_creds.json").write_text(json.dumps(other))
    r = deploy(tmp_path, creds())
    assert r["action"] == "kept_newer" and on_disk(tmp_path) == other


def test_newer_deployment_replaces_and_force_overrides(tmp_path):
    (tmp_path / "oauth_creds.json").write_text(json.dumps(creds(expiry=NOW_MS - 1000)))
    r = deploy(tmp_path, creds())
    assert r["changed"] and r["action"] == "written"
    (tmp_path / "oauth_creds.json").write_text(json.dumps(creds(refresh="rt-CANARY-x", expiry=NOW_MS + 9000000)))
    r = deploy(tmp_path, creds(), force=True)
    assert r["changed"] and on_disk(tmp_path) == creds()


def test_replaces_an_invalid_file(tmp_path):
    (tmp_path / "oauth_creds.json").write_text("{broken")
    assert deploy(tmp_path, creds())["action"] == "written"


def test_invalid_input_fails_and_changes_nothing(tmp_path):
    (tmp_path / "oauth_creds.json").write_text(json.dumps(creds()))
    before = (tmp_path / "oauth_creds.json").read_bytes()
    bad = creds()
    del bad["token_type"]
    r = deploy(tmp_path, bad)
    assert r["failed"] and "token_type is missing" in r["msg"]
    r = deploy(tmp_path, "not json")
    assert r["failed"] and "not valid JSON" in r["msg"]
    assert (tmp_path / "oauth_creds.json").read_bytes() == before


def test_waits_for_a_fresh_lock_and_ignores_a_stale_one(tmp_path):
    lock = tmp_path / "oauth_creds.lock"
    lock.write_text("held-by-qwen")
    start = time.time()
    r = deploy(tmp_path, creds())
    assert r["failed"] and "held by a running qwen" in r["msg"] and time.time() - start >= 2
    assert not (tmp_path / "oauth_creds.json").exists() and lock.read_text() == "held-by-qwen"
    old = time.time() - 60
    os.utime(lock, (old, old))
    r = deploy(tmp_path, creds())
    assert r["changed"] and not lock.exists()


def test_check_mode_writes_nothing(tmp_path):
    args = {"user": "root", "path": str(tmp_path / "oauth_creds.json"), "content": creds()}
    r = run_module("oauth_creds", args, tmp_path, check=True)
    assert r["changed"] and not (tmp_path / "oauth_creds.json").exists()


def test_gives_up_at_the_deadline_when_the_lock_cannot_be_made(tmp_path):
    """A directory the module cannot create the lock in: it fails at once with the reason, never spins."""
    locked = tmp_path / "ro"
    locked.mkdir()
    (locked / "oauth_creds.lock").mkdir()  # EEXIST, and lstat works, but it can never be removed as a file
    old = time.time() - 60
    os.utime(locked / "oauth_creds.lock", (old, old))
    start = time.time()
    r = run_module("oauth_creds", {"user": "root", "path": str(locked / "oauth_creds.json"), "content": creds(),
                                   "lock_wait": 2}, tmp_path)
    assert r["failed"] and "held by a running qwen" in r["msg"]
    assert 2 <= time.time() - start < 10
