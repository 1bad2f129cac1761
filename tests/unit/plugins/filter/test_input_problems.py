"""input_problems: the role's URL, proxy, path and token checks (what a regex with `$` or `^127\\.` let through)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.qwenops.qwen_code.plugins.filter.input_problems import input_problems, is_loopback

SECRET = "pw-CANARY-proxy"


@pytest.mark.parametrize("name,value,expected", [
    ("qwen_code_base_url", "https://openrouter.ai/api/v1\n", "is not a valid http(s) URL"),
    ("qwen_code_base_url", "http://127.attacker.example/v1", "plain http to a non-loopback host"),
    ("qwen_code_base_url", "http://127.0.0.1.attacker.example/v1", "plain http to a non-loopback host"),
    ("qwen_code_base_url", "https://user:pw@api.example.com/v1", "is not a valid http(s) URL"),
    ("qwen_code_base_url", "https://api.example.com/v1?x=1", "is not a valid http(s) URL"),
    ("qwen_code_base_url", "https://api.example.com:99999/v1", "is not a valid http(s) URL"),
    ("qwen_code_base_url", "https://api.example.com/v1'", "is not a valid http(s) URL"),
    ("qwen_code_https_proxy", "http://proxy.example.com:3128\n", "is not a proxy URL"),
    ("qwen_code_https_proxy", "http://proxy.example.com:3128/path", "is not a proxy URL"),
    ("qwen_code_http_proxy", "proxy.example.com:3128", "is not a proxy URL"),
    ("qwen_code_no_proxy", "localhost,'.corp.example'", "comma-separated list"),
    ("qwen_code_no_proxy", "localhost\n", "comma-separated list"),
    ("qwen_code_npm_registry", "https://u:p@npm.example.com/", "qwen_code_npm_auth_token"),
    ("qwen_code_install_root", "/opt/qwen-code\nrm -rf /", "is not a plain absolute path"),
    ("qwen_code_install_root", "opt/qwen-code", "must be an absolute path"),
    ("qwen_code_artifact_cache", "relative/cache", "qwen_code_artifact_cache 'relative/cache' must be an absolute"),
    ("qwen_code_install_root", "/opt/../etc", "is not a normalised path"),
    ("qwen_code_install_root", "/opt/qwen code", "is not a plain absolute path"),
    ("qwen_code_install_root", "/", "may not be / itself"),
    # what the review's uninstall would have removed: system directories and trees users write to
    ("qwen_code_install_root", "/usr/local", "is a directory of the filesystem hierarchy"),
    ("qwen_code_install_root", "/var/log", "is a directory of the filesystem hierarchy"),
    ("qwen_code_install_root", "/srv", "is a directory of the filesystem hierarchy"),
    ("qwen_code_install_root", "/usr/sbin", "in /usr"),
    ("qwen_code_install_root", "/usr/local/bin", "in /usr"),
    ("qwen_code_install_root", "/etc/ssl", "in /etc, which the operating system owns"),
    ("qwen_code_install_root", "/var/lib/dpkg", "in /var/lib/dpkg, which the operating system owns"),
    ("qwen_code_install_root", "/boot/efi", "in /boot"),
    ("qwen_code_install_root", "/tmp/x", "in /tmp, which users can write to"),
    ("qwen_code_install_root", "/home/alice/x", "in /home, which users can write to"),
    ("qwen_code_launcher_path", "/usr/local/bin/qwen$(id)", "is not a plain absolute path"),
    ("qwen_code_trusted_folders", ["/srv/work", "relative"], "qwen_code_trusted_folders entry"),
    ("qwen_code_trusted_folders", "/srv/work", "must be a list"),
    ("qwen_code_npm_auth_token", "npm_abc\n", "qwen_code_npm_auth_token holds whitespace"),
])
def test_refused_with_the_variables_name(name, value, expected):
    problems = input_problems({name: value})
    assert len(problems) == 1 and expected in problems[0] and problems[0].startswith(name), problems


@pytest.mark.parametrize("name,value", [
    ("qwen_code_base_url", "https://openrouter.ai/api/v1"),
    ("qwen_code_base_url", "http://127.0.0.1:18080/v1"),
    ("qwen_code_base_url", "http://localhost:8080/v1"),
    ("qwen_code_base_url", "http://[::1]:8080/v1"),
    ("qwen_code_https_proxy", "http://proxy.example.com:3128"),
    ("qwen_code_https_proxy", "http://user:%s@proxy.example.com:3128/" % SECRET),
    ("qwen_code_https_proxy", ""),
    ("qwen_code_no_proxy", "localhost,127.0.0.1,.corp.example,10.0.0.0/8,[::1],*"),
    ("qwen_code_npm_registry", "https://npm.corp.example/repository/npm/"),
    ("qwen_code_install_root", "/opt/qwen-code"),
    ("qwen_code_install_root", "/srv/data"),  # uninstall removes only what the role made there
    ("qwen_code_install_root", "/usr/local/qwen-code"),
    ("qwen_code_install_root", "/data/tools/qwen"),
    ("qwen_code_node_path", ""),
    ("qwen_code_trusted_folders", ["/srv/work", "/home/alice/src"]),
    ("qwen_code_npm_auth_token", "npm_AbC123"),
])
def test_accepted(name, value):
    assert input_problems({name: value}) == []


def test_insecure_base_url_allowed_when_asked():
    assert input_problems({"qwen_code_base_url": "http://llm.internal/v1"}, allow_insecure_base_url=True) == []


def test_never_quotes_a_proxy_password_or_a_token():
    problems = input_problems({"qwen_code_https_proxy": "http://u:%s@proxy/x" % SECRET,
                               "qwen_code_npm_auth_token": SECRET + "\n"})
    assert len(problems) == 2 and SECRET not in " ".join(problems)


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("127.9.9.9", True), ("localhost", True),
                                           ("[::1]", True), ("127.attacker.example", False), ("127.1", False),
                                           ("10.0.0.1", False)])
def test_loopback(host, loopback):
    assert is_loopback(host) is loopback


# The system settings files (/etc/qwen-code/settings.json and system-defaults.json) are 0644: every user reads them.
# The canary stands for a real key in each; no message may quote it.
CANARY = os.environ.get("QWEN_TEST_CANARY_KEY") or "sk-qwenops-CANARY-5c1e0b7d9a"
FIX = ("every user can read the system settings files, so give each as an environment variable reference (${NAME}, "
       "or \"Bearer ${NAME}\" in a header) and put the value in the user's environment or ~/.qwen/.env")


def servers(**server):
    return {"qwen_code_mcp_servers": {"tickets": dict({"httpUrl": "https://mcp.example/mcp"}, **server)}}


@pytest.mark.parametrize("values,where", [
    (servers(headers={"X-API-Key": CANARY}), "MCP server tickets: headers.X-API-Key"),
    (servers(headers={"x-goog-api-key": CANARY}), "MCP server tickets: headers.x-goog-api-key"),
    (servers(headers={"Authorization": "Bearer " + CANARY}), "MCP server tickets: headers.Authorization"),
    # Any literal header or environment value: a name says nothing about what a value is.
    (servers(headers={"X-Tenant": CANARY}), "MCP server tickets: headers.X-Tenant"),
    (servers(command="gh-mcp", env={"GITHUB_PAT": CANARY}), "MCP server tickets: env.GITHUB_PAT"),
    (servers(httpUrl="https://mcp.example/mcp?api_key=" + CANARY),
     "MCP server tickets: httpUrl (query parameter api_key)"),
    (servers(url="https://mcp.example/sse?page=2&access_token=" + CANARY),
     "MCP server tickets: url (query parameter access_token)"),
    (servers(url="https://bot:%s@mcp.example/sse" % CANARY), "MCP server tickets: url (password)"),
    (servers(command="srv", args=["--api-key=" + CANARY]), "MCP server tickets: args[0] (value of api-key)"),
    (servers(command="srv", args=["--port", "8080", "--token", CANARY]), "MCP server tickets: args[3]"),
    (servers(command="srv", args=["--header", "Authorization: Bearer " + CANARY]),
     "MCP server tickets: args[1] (value of Authorization)"),
    (servers(command="srv", args=["Bearer " + CANARY]), "MCP server tickets: args[0]"),
    (servers(oauth={"enabled": True, "clientSecret": CANARY}), "MCP server tickets: oauth.clientSecret"),
    (servers(headers={"X-API-Key": CANARY}, env={"T": CANARY}),
     "MCP server tickets: env.T, headers.X-API-Key"),
    # The same servers given through the managed or default settings land in the same file, under the same rule.
    ({"qwen_code_managed_settings": {"mcpServers": {"t": {"url": "https://x/s", "headers": {"X-API-Key": CANARY}}}}},
     "MCP server t: headers.X-API-Key"),
    ({"qwen_code_default_settings": {"mcpServers": {"t": {"command": "t", "env": {"T_TOKEN": CANARY}}}}},
     "MCP server t: env.T_TOKEN"),
    ({"qwen_code_managed_settings": {"security": {"auth": {"apiKey": CANARY}}}}, "security.auth.apiKey"),
    ({"qwen_code_managed_settings": {"security": {"auth": {"baseUrl": "https://x/v1?key=1&api-key=" + CANARY}}}},
     "security.auth.baseUrl (query parameter api-key)"),
    ({"qwen_code_default_settings": {"proxy": {"password": CANARY}, "auth": {"cookies": [CANARY]}}},
     "auth.cookies[0], proxy.password"),
])
def test_literal_secrets_in_the_system_files_are_refused(values, where):
    name = list(values)[0]
    problems = input_problems(values)
    leaked = CANARY in " ".join(problems)  # first, and a boolean: a failure must not print the canary either
    assert not leaked
    assert problems == ["%s holds a literal value where a secret may be, at %s: %s" % (name, where, FIX)]


@pytest.mark.parametrize("values", [
    servers(headers={"Authorization": "Bearer ${TICKETS_TOKEN}", "X-API-Key": "$TICKETS_KEY"}),
    servers(command="gh-mcp", env={"GITHUB_PAT": "${GITHUB_PAT}"}),
    servers(httpUrl="https://mcp.example/mcp?api_key=${TICKETS_KEY}&page=2"),
    servers(command="srv", args=["--api-key=${KEY}", "--token", "$TOKEN", "--port", "8080", "--token-file", "/t"]),
    servers(oauth={"enabled": True, "clientId": "qwen", "tokenUrl": "https://auth.example/token",
                   "authorizationUrl": "https://auth.example/authorize", "tokenParamName": "access_token"}),
    servers(timeout=30000, trust=False),
    {"qwen_code_managed_settings": {"model": {"sessionTokenLimit": 32000}, "security": {"auth": {"apiKey": "$K"}}}},
    {"qwen_code_default_settings": {"ui": {"theme": "GitHub"}}},
])
def test_references_and_other_values_are_accepted(values):
    assert input_problems(values) == []
