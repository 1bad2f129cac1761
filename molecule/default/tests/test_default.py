"""What a user and an auditor can check on a provisioned host (Debian 12 and 13, users alice and bob)."""
import hashlib
import json
import re

import pytest

from molecule_verify import CANARY, as_user, stub_requests
from releases import DEFAULT

USERS = ["alice", "bob"]
MODEL = "qwenops/stub-coder"
CANARY_SHA = hashlib.sha256(CANARY.encode()).hexdigest()


def env_file(host, user):
    f = host.file("/home/%s/.qwen/.env" % user)
    content = f.content_string
    values = dict(re.findall(r"^([A-Z_]+)='([^']*)'$", content, re.M))
    return f, values


@pytest.mark.parametrize("user", USERS)
def test_qwen_dir_is_private(host, user):
    d = host.file("/home/%s/.qwen" % user)
    assert d.is_directory
    assert (d.user, d.group, d.mode) == (user, user, 0o700)


@pytest.mark.parametrize("user", USERS)
def test_env_file_holds_key_url_model_and_is_0600(host, user):
    f, values = env_file(host, user)
    assert (f.user, f.group, f.mode) == (user, user, 0o600)
    # Compare digests, so a failing assertion can never print the key.
    assert hashlib.sha256(values["OPENAI_API_KEY"].encode()).hexdigest() == CANARY_SHA
    assert values["OPENAI_BASE_URL"] == "http://127.0.0.1:18080/v1"
    assert values["OPENAI_MODEL"] == MODEL


@pytest.mark.parametrize("user", USERS)
def test_settings_json(host, user):
    f = host.file("/home/%s/.qwen/settings.json" % user)
    assert (f.user, f.group, f.mode) == (user, user, 0o600)
    settings = json.loads(f.content_string)
    assert settings["$version"] == 4
    assert settings["security"]["auth"]["selectedType"] == "openai"
    assert settings["model"]["name"] == MODEL
    assert CANARY not in f.content_string


def test_system_settings_enforce_the_policy_for_every_user(host):
    """/etc/qwen-code/settings.json outranks users' and workspaces' settings: folder trust on, nothing sent out,
    no self-update. Root's, readable by all, never a secret."""
    f = host.file("/etc/qwen-code/settings.json")
    assert (f.user, f.group, f.mode) == ("root", "root", 0o644)
    system = json.loads(f.content_string)
    assert system["$version"] == 4
    assert system["security"]["folderTrust"]["enabled"] is True
    assert system["privacy"]["usageStatisticsEnabled"] is False
    assert system["general"]["enableAutoUpdate"] is False
    assert system["telemetry"]["enabled"] is False
    assert CANARY not in f.content_string


@pytest.mark.parametrize("user", USERS)
def test_every_folder_is_untrusted(host, user):
    f = host.file("/home/%s/.qwen/trustedFolders.json" % user)
    assert (f.user, f.mode) == (user, 0o600)
    assert json.loads(f.content_string) == {"/": "DO_NOT_TRUST"}


def test_launcher_runs_the_pinned_release_on_the_private_node(host):
    launcher = host.file("/usr/local/bin/qwen")
    assert (launcher.user, launcher.mode) == ("root", 0o755)
    assert "/opt/qwen-code/node/22." in launcher.content_string
    assert "/opt/qwen-code/cli/" + DEFAULT + "/" in launcher.content_string
    assert "NODE_EXTRA_CA_CERTS" in launcher.content_string
    out = host.check_output(as_user("alice", "qwen --version"))
    assert out.strip().endswith(DEFAULT)


def test_host_node_is_untouched(host):
    # The private runtime never lands on PATH: the host's own node (none here) stays as it was.
    assert not host.exists("node")
    assert not host.file("/usr/bin/node").exists


def test_vendored_ripgrep_is_executable(host):
    found = host.check_output(
        "find /opt/qwen-code/cli/" + DEFAULT + " -type f -name rg -path '*ripgrep*linux*'").split()
    assert found, "no vendored ripgrep found"
    for path in found:
        assert host.file(path).mode & 0o111 == 0o111, path


def test_no_partial_install_left(host):
    assert host.check_output("ls /opt/qwen-code/cli") == DEFAULT


@pytest.mark.parametrize("user", USERS)
def test_qwen_answers_from_any_directory(host, user):
    before = len(stub_requests(host))
    cmd = host.run(as_user(user, 'cd /var/tmp && echo test | qwen -p "summarize"'))
    assert cmd.rc == 0, cmd.stderr
    assert "QWENOPS-STUB-ANSWER" in cmd.stdout
    assert CANARY not in cmd.stdout + cmd.stderr
    assert "Ripgrep not available" not in cmd.stdout + cmd.stderr
    requests = stub_requests(host)[before:]
    chats = [r for r in requests if r["path"].endswith("/chat/completions")]
    assert chats, requests
    # The stub checked `Authorization: Bearer <configured key>` and the model on every call.
    assert all(r["auth_ok"] and r["model"] == MODEL and r["status"] == 200 for r in chats), chats


def test_stub_saw_the_provider_check(host):
    requests = stub_requests(host)
    assert any(r["path"].endswith("/models") and r["auth_ok"] for r in requests)
