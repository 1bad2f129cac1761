"""oauth_creds_info: facts about credentials, never the tokens."""
import hashlib
import json
import os
import time

import pytest

from conftest import run_module

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
    os.chmod(p, mode)
    return p


def no_tokens(r):
    assert ACCESS not in r["_raw"] and REFRESH not in r["_raw"]


def test_valid_file(tmp_path):
    p = write(tmp_path, creds())
    r = run_module("oauth_creds_info", {"path": str(p)}, tmp_path)
    assert r["exists"] and r["valid"] and not r["expired"] and 3500 < r["expires_in"] <= 3600
    assert r["mode"] == "0600" and r["owner"] and r["resource_url"] == "portal.qwen.ai"
    assert r["refresh_token_sha256"] == hashlib.sha256(REFRESH.encode()).hexdigest()[:16]
    assert not r["lock_present"]
    no_tokens(r)


def test_expired(tmp_path):
    p = write(tmp_path, creds(expiry_date=int((time.time() - 60) * 1000)))
    r = run_module("oauth_creds_info", {"path": str(p)}, tmp_path)
    assert r["valid"] and r["expired"] and r["expires_in"] < 0


@pytest.mark.parametrize("data, reason", [
    ("{not json", "not valid JSON"),
    ("[]", "must be a JSON object"),
    (creds(refresh_token=None), "refresh_token must be a non-empty string"),
    ({k: v for k, v in creds().items() if k != "token_type"}, "token_type is missing"),
    (creds(expiry_date="tomorrow"), "expiry_date must be a number"),
    (creds(expiry_date=int(time.time()) + 3600), "looks like seconds"),
    (creds(access_token=""), "access_token must be a non-empty string"),
])
def test_invalid_is_reported_not_failed(tmp_path, data, reason):
    p = write(tmp_path, data)
    r = run_module("oauth_creds_info", {"path": str(p)}, tmp_path)
    assert not r.get("failed") and r["valid"] is False and reason in r["invalid_reason"]
    no_tokens(r)
    r = run_module("oauth_creds_info", {"path": str(p), "fail_on_invalid": True}, tmp_path)
    assert r["failed"] and reason in r["msg"]
    no_tokens(r)


def test_missing_file(tmp_path):
    r = run_module("oauth_creds_info", {"path": str(tmp_path / "none.json")}, tmp_path)
    assert r["exists"] is False and r["valid"] is False


def test_lock_is_reported(tmp_path):
    p = write(tmp_path, creds())
    (p.parent / "oauth_creds.lock").write_text("uuid")
    r = run_module("oauth_creds_info", {"path": str(p)}, tmp_path)
    assert r["lock_present"] and r["lock_age"] >= 0


def test_content_as_dict_and_string(tmp_path):
    for content in (creds(), json.dumps(creds())):
        r = run_module("oauth_creds_info", {"content": content}, tmp_path)
        assert r["valid"] and "exists" not in r
        no_tokens(r)


def test_user_home(tmp_path):
    r = run_module("oauth_creds_info", {"user": "root"}, tmp_path)
    assert r["path"] == os.path.expanduser("~root") + "/.qwen/oauth_creds.json"
