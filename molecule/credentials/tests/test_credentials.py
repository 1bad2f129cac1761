"""Deployed OAuth credentials: private files, the CLI's rotated tokens kept, and qwen using the access token."""
import hashlib
import json

import pytest

from molecule_verify import CANARY, stub_requests


def fp(token):
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def creds(host, user):
    f = host.file("/home/%s/.qwen/oauth_creds.json" % user)
    assert (f.user, f.group, f.mode) == (user, user, 0o600)
    assert host.file("/home/%s/.qwen" % user).mode == 0o700
    return json.loads(f.content_string)


def test_alice_holds_the_deployed_credentials(host):
    data = creds(host, "alice")
    assert fp(data["refresh_token"]) == fp(CANARY + "-alice-refresh")
    assert data["resource_url"] == "localhost:18443" and data["expiry_date"] == 4102444800000


def test_bob_keeps_the_tokens_the_cli_rotated(host):
    data = creds(host, "bob")
    assert data["refresh_token"] == "rotated-refresh-bob"
    assert data["expiry_date"] == 4102531200000


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_settings_select_qwen_oauth(host, user):
    settings = json.loads(host.file("/home/%s/.qwen/settings.json" % user).content_string)
    assert settings["security"]["auth"]["selectedType"] == "qwen-oauth"
    assert settings["$version"] == 3


def test_qwen_authenticated_with_the_deployed_access_token(host):
    log = stub_requests(host)
    chats = [r for r in log if r["path"] == "/v1/chat/completions"]
    # The stub only accepts `Authorization: Bearer <alice's deployed access_token>`, over TLS.
    assert chats and all(r["auth_ok"] and r["status"] == 200 for r in chats), log


def test_the_module_sees_what_the_cli_sees(host):
    info = host.ansible("qwenops.qwen_code.oauth_creds_info", "user=alice", check=False)
    assert info["valid"] and not info["expired"] and info["mode"] == "0600"
    assert info["refresh_token_sha256"] == fp(CANARY + "-alice-refresh")
    assert CANARY not in json.dumps(info)
