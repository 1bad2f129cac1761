"""qwen_code_key_isolation, after side_effect.yml (dumps, attacks, a killed broker, rotation, offboarding, isolation
off and on again): the broker runs as its own account from a root-bound port, holds the keys where no user can read
them, and the provider received the real keys in every protocol while the users' files hold only tokens."""
import json
import re
import time

import pytest

from molecule_verify import CANARY, as_user, stub_requests

# The stub's key file lists the keys in this order (molecule.yml: qwen_test_stub_keys).
KEYS = ["alice-openai", "alice-anthropic", "bob-responses", "bob-gemini", "alice-openai-rotated"]
PROTOCOL = {"alice-openai": "openai", "alice-anthropic": "anthropic", "bob-responses": "openai-responses",
            "bob-gemini": "gemini", "alice-openai-rotated": "openai"}
# The canary as a pattern that is not itself the canary (every log is searched for it).
PATTERN = CANARY[:-1] + "[" + CANARY[-1] + "]"


def systemd(host):
    return host.file("/run/systemd/system").is_directory


@pytest.mark.parametrize("owner", KEYS)
def test_the_provider_got_each_real_key_in_its_protocol(host, owner):
    turns = [r for r in stub_requests(host) if r.get("key_index") == KEYS.index(owner) and r["method"] == "POST"]
    assert turns, "no request with the key of %s" % owner
    assert all(r["protocol"] == PROTOCOL[owner] and r["auth_ok"] for r in turns), turns


def test_the_provider_never_saw_a_token(host):
    refused = [r for r in stub_requests(host) if not r.get("auth_ok")]
    assert not refused, refused


def test_the_broker_sent_each_protocols_own_header(host):
    headers = {}
    for r in stub_requests(host):
        if r["method"] == "POST" and r.get("key_index") is not None:
            headers.setdefault(r["protocol"], set()).add(r["key_header"])
    # anthropic: Bearer, as the CLI itself sends to a host that is not anthropic.com
    assert headers == {"openai": {"authorization"}, "openai-responses": {"authorization"},
                       "anthropic": {"authorization"}, "gemini": {"x-goog-api-key"}}, headers


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_the_users_files_hold_tokens_and_the_broker(host, user):
    env = host.file("/home/%s/.qwen/.env" % user).content_string
    assert CANARY not in env
    values = dict(re.findall(r"^(QWENOPS_KEY_\w+)='([^']*)'", env, re.M))
    assert values and all(re.match(r"^qwb-[0-9a-f]{48}$", v) for v in values.values()), sorted(values)
    settings = json.loads(host.file("/home/%s/.qwen/settings.json" % user).content_string)
    urls = [e["baseUrl"] for entries in settings["modelProviders"].values() for e in entries]
    assert urls and all(u.startswith("http://127.0.0.1:1009/") for u in urls), urls


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_no_file_the_user_can_read_holds_a_key(host, user):
    found = host.run(as_user(user, "grep -rlsE '%s' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev; true"
                             % PATTERN))
    assert found.stdout.strip() == "", found.stdout


def test_the_keys_are_the_brokers_alone(host):
    config = host.file("/etc/qwen-code/broker/config.json")
    assert (config.user, config.group, config.mode) == ("root", "qwen-broker", 0o640)
    directory = host.file("/etc/qwen-code/broker")
    assert (directory.user, directory.group, directory.mode) == ("root", "qwen-broker", 0o750)
    account = host.user("qwen-broker")
    assert account.uid != 0 and account.shell.endswith(("nologin", "false"))


def test_the_broker_serves_as_its_account_never_root(host):
    pids = host.check_output("pgrep -u qwen-broker -f qwen-key-broker.js").split()
    assert pids
    for pid in pids:
        status = host.file("/proc/%s/status" % pid).content_string
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        assert set(uids) == {str(host.user("qwen-broker").uid)}, status
    if systemd(host):
        shown = host.check_output("systemctl show -p User -p NoNewPrivileges -p ProtectSystem -p ProtectHome "
                                  "qwen-key-broker.service")
        assert "User=qwen-broker" in shown and "NoNewPrivileges=yes" in shown and "ProtectSystem=strict" in shown
        assert host.check_output("systemctl is-active qwen-key-broker.socket") == "active"
    else:
        # The supervisor: root, holding the port, serving nothing itself
        supervisor = host.file("/run/qwen-key-broker.pid").content_string.strip()
        assert host.check_output("ps -o user= -p %s" % supervisor) == "root"


def test_the_port_is_the_brokers_on_127_0_0_1_only(host):
    listening = host.check_output("cat /proc/net/tcp /proc/net/tcp6")
    # 1009 = 0x3F1; state 0A = LISTEN
    rows = [line.split() for line in listening.splitlines()[1:] if line.split()[1:2] and line.split()[3] == "0A"]
    on_port = [r[1] for r in rows if r[1].endswith(":03F1")]
    assert on_port == ["0100007F:03F1"], on_port


def test_the_brokers_log_holds_no_key_and_no_token(host):
    # One request of alice's now (the supervisor's log began again when isolation was turned off and on)
    probe = host.run(as_user("alice", "sed -n \"s/^QWENOPS_KEY_A_OPENAI=.\\(qwb-[0-9a-f]*\\).*/\\1/p\" ~/.qwen/.env "
                                      "| python3 /opt/qwenops-probe.py POST /a-openai/v1/chat/completions"))
    assert probe.stdout.strip() == "200", probe.stderr
    for dummy in range(50):  # the line is written once the request has finished
        if systemd(host):
            log = host.check_output("journalctl -u qwen-key-broker --no-pager -o cat")
        else:
            log = host.file("/var/log/qwen-key-broker/broker.log").content_string
        if '"user":"alice"' in log.replace(" ", ""):
            break
        time.sleep(0.1)
    assert '"user":"alice"' in log.replace(" ", "") and CANARY not in log and "qwb-" not in log
