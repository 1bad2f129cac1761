"""_oauth: the credentials checked like the CLI checks them, the file read, and the CLI's lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import stat
import time

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._oauth import (
    LOCK_STALE_SECONDS, LockBusy, acquire_lock, default_path, inspect_oauth_creds, load_creds, lock_path,
    read_existing, release_lock, token_fingerprint)

CREDS = {"access_token": "at-CANARY-access-7d1", "refresh_token": "rt-CANARY-refresh-9e2", "token_type": "Bearer",
         "expiry_date": 2 * 10 ** 12}


def test_inspect_is_pure_and_uses_now():
    r = inspect_oauth_creds(CREDS, now=2 * 10 ** 9 - 10)
    assert r["valid"] and r["expires_in"] == 10 and r["expired"] is False
    r = inspect_oauth_creds(CREDS, now=2 * 10 ** 9)
    assert r["expired"] is True and r["expires_in"] == 0


def test_inspect_returns_fingerprints_never_tokens():
    r = inspect_oauth_creds(dict(CREDS, resource_url="portal.qwen.ai"), now=0)
    assert r["refresh_token_sha256"] == token_fingerprint(CREDS["refresh_token"])
    assert len(r["refresh_token_sha256"]) == 16
    assert r["resource_url"] == "portal.qwen.ai"
    assert CREDS["access_token"] not in json.dumps(r) and CREDS["refresh_token"] not in json.dumps(r)


@pytest.mark.parametrize("data, reason", [
    ([], "a JSON object, not a list"),
    (dict(CREDS, expiry_date=2 * 10 ** 9), "looks like seconds"),
    (dict(CREDS, token_type=""), "token_type must be a non-empty string, not an empty string"),
    (dict(CREDS, expiry_date=True), "not a boolean"),
    (dict(CREDS, resource_url=1), "resource_url must be a string"),
])
def test_inspect_says_what_is_wrong(data, reason):
    r = inspect_oauth_creds(data)
    assert r["valid"] is False and reason in r["invalid_reason"]


def test_paths():
    assert default_path("/home/alice") == "/home/alice/.qwen/oauth_creds.json"
    assert lock_path("/srv/qwen/oauth_creds.json") == "/srv/qwen/oauth_creds.lock"


def test_load_and_read_existing(tmp_path):
    path = str(tmp_path / "oauth_creds.json")
    with pytest.raises(OSError):
        load_creds(path)
    assert read_existing(path) == (None, None, None)
    (tmp_path / "oauth_creds.json").write_bytes(b"{not json")
    raw, data, problem = load_creds(path)
    assert (raw, data) == (b"{not json", None) and problem.startswith("not valid JSON: ")
    assert read_existing(path) == (None, None, b"{not json")
    (tmp_path / "oauth_creds.json").write_text(json.dumps(CREDS))
    data, info, raw = read_existing(path)
    assert data == CREDS and info["valid"] and raw == json.dumps(CREDS).encode()


def test_lock_is_created_private_and_released_only_by_its_holder(tmp_path):
    lock = str(tmp_path / "oauth_creds.lock")
    token = acquire_lock(lock, 1)
    assert stat.S_IMODE(os.lstat(lock).st_mode) == 0o600 and open(lock).read() == token
    release_lock(lock, "someone else's token")
    assert os.path.exists(lock)
    release_lock(lock, token)
    assert not os.path.exists(lock)


def test_a_fresh_lock_is_waited_for_until_the_deadline(tmp_path):
    lock = tmp_path / "oauth_creds.lock"
    lock.write_text("held-by-qwen")
    with pytest.raises(LockBusy) as busy:
        acquire_lock(str(lock), 0)
    assert "held by a running qwen" in str(busy.value) and lock.read_text() == "held-by-qwen"


def test_a_stale_lock_is_taken_over(tmp_path):
    lock = tmp_path / "oauth_creds.lock"
    lock.write_text("left by a killed qwen")
    old = time.time() - LOCK_STALE_SECONDS - 5
    os.utime(str(lock), (old, old))
    token = acquire_lock(str(lock), 5)
    assert lock.read_text() == token
