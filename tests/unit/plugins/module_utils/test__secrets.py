"""_secrets: the one rule of what a secret is in qwen settings (names, references, where it sits), and the only
place that rule is written."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._secrets import (
    MASK, is_env_reference, is_secret_name, mask, secret_values, secrets_in)
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

CANARY = os.environ.get("QWEN_TEST_CANARY_KEY") or "sk-qwenops-CANARY-5c1e0b7d9a"


@pytest.mark.parametrize("name", [
    "apiKey", "api_key", "api-key", "APIKEY", "X-API-Key", "x-api-key", "x-goog-api-key", "OPENAI_API_KEY",
    "Authorization", "Proxy-Authorization", "token", "access_token", "X-Auth-Token", "GITHUB_TOKEN", "tokens",
    "secret", "clientSecret", "secrets", "password", "PASSWORD", "passwd", "db_passwd", "credential", "credentials",
    "cookie", "Cookies",
])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", [
    # Names of places and of names: an OAuth server's URLs, the name of a query parameter, files.
    "tokenUrl", "authorizationUrl", "redirectUri", "tokenParamName", "token-file", "passwordPath",
    "baseUrl", "envKey", "model", "selectedType", "command", "Accept", "keyboard", "monkey",
])
def test_other_names(name):
    assert not is_secret_name(name)


@pytest.mark.parametrize("value,reference", [
    ("$TOKEN", True), ("${TOKEN}", True), ("Bearer ${TOKEN}", True), ("bearer $T", True), ("Basic ${CREDS}", True),
    ("${TOKEN}\n", False), ("$TOKEN x", False), ("Bearer sk-1", False), ("prefix-${TOKEN}", False), ("$", False),
    ("${1X}", False), (4, False),
])
def test_env_references(value, reference):
    assert is_env_reference(value) is reference


SERVER = {
    "command": "npx",
    "args": ["-y", "@corp/mcp", "--api-key=" + CANARY, "--token", CANARY, "--header", "X-API-Key: " + CANARY,
             "Bearer " + CANARY, "https://mcp.example/sse?api_key=" + CANARY + "&page=1",
             "--token", "${T}", "--api-key=$K", "--verbose", "GITHUB_TOKEN=" + CANARY],
    "env": {"GITHUB_PAT": CANARY, "REFERENCE": "${GITHUB_PAT}", "RETRIES": 3},
    "headers": {"X-API-Key": CANARY, "x-goog-api-key": CANARY, "Authorization": "Bearer " + CANARY,
                "X-Reference": "Bearer ${T}"},
    "httpUrl": "https://user:%s@mcp.example/mcp?token=%s&x=1" % (CANARY, CANARY),
    "oauth": {"clientId": "public", "clientSecret": CANARY, "tokenUrl": "https://auth.example/token",
              "tokenParamName": "access_token"},
    "timeout": 30000,
}


def test_where_secrets_are():
    found = [(path, part) for path, part, _secret in secrets_in({"s": SERVER})]
    assert found == [
        (("s", "args", 2), "value of api-key"),
        (("s", "args", 4), None),
        (("s", "args", 6), "value of X-API-Key"),
        (("s", "args", 7), None),
        (("s", "args", 8), "query parameter api_key"),
        (("s", "args", 13), "value of GITHUB_TOKEN"),
        (("s", "env", "GITHUB_PAT"), None),
        (("s", "headers", "Authorization"), None),
        (("s", "headers", "X-API-Key"), None),
        (("s", "headers", "x-goog-api-key"), None),
        (("s", "httpUrl"), "password"),
        (("s", "httpUrl"), "query parameter token"),
        (("s", "oauth", "clientSecret"), None),
    ]


def test_mask_leaves_no_secret_and_keeps_the_rest():
    masked = mask({"mcpServers": {"s": SERVER}})
    leaked = CANARY in repr(masked)  # a boolean: a failure must not print the canary
    assert not leaked
    server = masked["mcpServers"]["s"]
    assert server["args"][:5] == ["-y", "@corp/mcp", "--api-key=" + MASK, "--token", MASK]
    assert server["args"][8] == "https://mcp.example/sse?api_key=%s&page=1" % MASK
    assert server["args"][9:13] == ["--token", "${T}", "--api-key=$K", "--verbose"]
    assert server["env"] == {"GITHUB_PAT": MASK, "REFERENCE": "${GITHUB_PAT}", "RETRIES": 3}
    assert server["headers"]["X-Reference"] == "Bearer ${T}" and server["headers"]["Authorization"] == MASK
    assert server["httpUrl"] == "https://user:%s@mcp.example/mcp?token=%s&x=1" % (MASK, MASK)
    assert server["oauth"]["tokenUrl"] == "https://auth.example/token" and server["oauth"]["clientId"] == "public"
    unchanged = SERVER["env"]["GITHUB_PAT"] == CANARY
    assert server["timeout"] == 30000 and unchanged, "mask changed its input"


def test_secret_values_hold_the_credential_alone_too():
    both = secret_values({"headers": {"Authorization": "Bearer " + CANARY}}) == {"Bearer " + CANARY, CANARY}
    assert both


@pytest.mark.parametrize("settings", [
    {"security": {"auth": {"apiKey": "${OPENAI_API_KEY}"}}},
    {"model": {"sessionTokenLimit": 32000, "generationConfig": {"samplingParams": {"max_tokens": 4096}}}},
    {"security": {"auth": {"useExternal": True}}, "ui": {"theme": "GitHub"}},
    {"mcpServers": {"s": {"command": "srv", "args": ["--port", "8080", "--token-file", "/run/secrets/t"]}}},
])
def test_no_secret(settings):
    assert secrets_in(settings) == [] and mask(settings) == settings


# What a second copy of the rule looks like: a regex naming two or more kinds of secret.
_KINDS = ("key", "token", "secret", "passw", "authoriz", "credential", "cookie")


def test_the_rule_is_written_once():
    """Every checker and masker imports _secrets: a regex of secret names anywhere else in plugins/ is a second
    copy, which would drift from this one (as api_?key|token|secret|password in _user_files once did from the
    longer list in input_problems)."""
    copies = []
    for root, _dirs, files in os.walk(os.path.join(REPO, "plugins")):
        for name in files:
            path = os.path.join(root, name)
            if not name.endswith(".py") or path.endswith(os.path.join("module_utils", "_secrets.py")):
                continue
            with open(path) as f:
                text = f.read()
            for pattern in re.findall(r"re\.compile\(\s*r?[\"']([^\"']*)", text):
                if sum(kind in pattern.lower() for kind in _KINDS) >= 2:
                    copies.append("%s: %s" % (os.path.relpath(path, REPO), pattern))
    assert copies == []
