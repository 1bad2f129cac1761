"""A fleet's whole life, phase by phase, in this order (the tests of this file depend on the ones before them):
enforced policy, key rotation, offboarding, rollback and upgrade with pruning, the report, uninstall (twice) and a
clean reinstall (twice). Each phase is one real ansible-playbook run of the collection's playbooks against both
hosts of the scenario (Molecule's inventory); the checks then look at each host. The tests take no `host` fixture
(testinfra would run the whole file host by host): each checks every host itself. Extra variables go in a 0600 file,
never on a command line; each run's output goes to tests/output/logs, which the canary stage greps."""
import json
import os
import re
import subprocess
import tempfile

import testinfra

from molecule_verify import CANARY, as_user, stub_requests
from releases import DEFAULT

INVENTORY = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory")
LOGS = os.path.join(os.environ.get("QWEN_REPO", "."), "tests", "output", "logs")
USERS = ["alice", "bob", "carol"]
ROTATED = CANARY + "-rotated"
REPORT_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "report")
_RUNS = {}

# Run on a host with python3: every file that holds the stub's key number N (a line of its key file, read there, so
# that the key is never on a command line), where the key is not followed by "-rotated" when OLD_ONLY; the stub's
# own key file, /proc, /sys and /dev excepted.
FIND_KEY = r"""
import os, sys
n, old_only = int(sys.argv[1]), sys.argv[2] == "1"
key = open("/opt/qwen-stub/expected-key", "rb").read().split(b"\n")[n]
hits = []
for top, dirs, files in os.walk("/"):
    if top in ("/proc", "/sys", "/dev", "/opt/qwen-stub"):
        dirs[:] = []
        continue
    for name in files:
        path = os.path.join(top, name)
        try:
            if os.path.islink(path) or not os.path.isfile(path) or os.path.getsize(path) > 64 << 20:
                continue
            data = open(path, "rb").read()
        except OSError:
            continue
        at = data.find(key)
        while at >= 0:
            if not (old_only and data[at + len(key):at + len(key) + 8] == b"-rotated"):
                hits.append(path)
                break
            at = data.find(key, at + 1)
print("\n".join(hits))
"""


def every_host():
    return testinfra.get_hosts(["ansible://all"], ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def play(phase, extra=None, playbook="qwenops.qwen_code.provision", check=False, before=None, snapshot=None):
    """Run a playbook against every host of the scenario once per phase; returns {host: changed count}, and with
    snapshot (a command) also {host: (its output before, after)} under "snapshots". before: a command run on every
    host first."""
    if phase in _RUNS:
        return _RUNS[phase]
    hosts = every_host()
    for h in hosts:
        if before:
            assert h.run(before).rc == 0, before
    shots = dict((name_of(h), h.run(snapshot).stdout) for h in hosts) if snapshot else {}
    fd, vars_file = tempfile.mkstemp(prefix="lifecycle-", suffix=".json")
    # The role's smoke test (qwen as each user after a change) is converge's: here every phase that needs qwen to
    # answer asks it itself (ask), with the stub checking which key came.
    with os.fdopen(fd, "w") as f:
        json.dump(dict({"qwen_code_smoke_test": False}, **(extra or {})), f)
    cmd = ["ansible-playbook", "-i", INVENTORY, playbook, "-e", "@" + vars_file] + (["--check"] if check else [])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    finally:
        os.unlink(vars_file)
    os.makedirs(LOGS, exist_ok=True)
    with open(os.path.join(LOGS, "lifecycle-%s.log" % phase), "w") as f:
        f.write(done.stdout + done.stderr)
    assert done.returncode == 0, "%s failed:\n%s" % (phase, (done.stdout + done.stderr)[-6000:])
    recap = dict((m.group(1), int(m.group(2)))
                 for m in re.finditer(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", done.stdout, re.M))
    assert recap, done.stdout[-3000:]
    if snapshot:
        recap["snapshots"] = dict((name_of(h), (shots[name_of(h)], h.run(snapshot).stdout)) for h in hosts)
    _RUNS[phase] = recap
    return recap


def name_of(host):
    return host.backend.get_hostname()


def files_with_key(host, n, old_only=False):
    out = host.run("python3 -c %s %d %d" % (_quote(FIND_KEY), n, 1 if old_only else 0))
    assert out.rc == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line]


def _quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def ask(host, user):
    out = host.run(as_user(user, "cd /tmp && echo test | qwen -p summarize"))
    assert out.rc == 0 and "QWENOPS-STUB-ANSWER" in out.stdout, (user, out.rc, out.stderr[-2000:])


def system_file(host, name):
    return json.loads(host.file("/etc/qwen-code/" + name).content_string)


# --- enforced policy (converge and side_effect ran) ------------------------------------------------------------
def test_the_managed_model_wins_over_each_users_own():
    for host in every_host():
        turns = [r for r in stub_requests(host) if r["method"] == "POST"]
        assert turns and {r["model"] for r in turns} == {"qwenops/stub-managed"}, {r["model"] for r in turns}
        for user in USERS:
            own = json.loads(host.file("/home/%s/.qwen/settings.json" % user).content_string)
            assert own["model"]["name"] == "qwenops/stub-coder"  # what the user's own file says loses


def test_policy_is_in_root_owned_system_files_without_a_key():
    for host in every_host():
        for name in ("settings.json", "system-defaults.json"):
            f = host.file("/etc/qwen-code/" + name)
            assert (f.user, f.mode) == ("root", 0o644) and CANARY not in f.content_string
        system = system_file(host, "settings.json")
        assert system["model"] == {"name": "qwenops/stub-managed"}
        assert system["tools"]["approvalMode"] == "default" and system["tools"]["exclude"] == ["web_fetch"]
        assert system["general"]["enableAutoUpdate"] is False and system["privacy"]["usageStatisticsEnabled"] is False
        assert system_file(host, "system-defaults.json") == {"$version": 4, "ui": {"theme": "GitHub"}}


def test_the_manifest_is_roots_and_holds_no_key():
    for host in every_host():
        f = host.file("/var/lib/qwen-code/manifest.json")
        assert (f.user, f.mode) == ("root", 0o600) and host.file("/var/lib/qwen-code").mode == 0o700
        manifest = json.loads(f.content_string)
        assert CANARY not in f.content_string and sorted(manifest["users"]) == USERS
        assert manifest["active"]["cli"] == DEFAULT


# --- key rotation ---------------------------------------------------------------------------------------------
def test_rotation_replaces_the_key_everywhere_in_one_run():
    recap = play("rotate", {"qwen_test_key": ROTATED})
    for host in every_host():
        assert recap[name_of(host)] > 0
        before = len(stub_requests(host))
        for user in USERS:
            ask(host, user)
        turns = [r for r in stub_requests(host)[before:] if r["method"] == "POST"]
        assert turns and {r["key_index"] for r in turns} == {1}, turns
        assert files_with_key(host, 0, old_only=True) == []
        assert len(files_with_key(host, 1)) == len(USERS)  # each user's .env, nowhere else


# --- offboarding ----------------------------------------------------------------------------------------------
def test_offboarding_leaves_no_key_in_the_users_home():
    play("offboard", {"qwen_test_key": ROTATED, "qwen_code_users": ["alice", "bob"],
                      "qwen_code_users_absent": ["carol"]},
         before="install -o carol -m 0600 /dev/null /home/carol/.qwen/oauth_creds.json")
    for host in every_host():
        assert not host.file("/home/carol/.qwen/.env").exists
        assert not host.file("/home/carol/.qwen/oauth_creds.json").exists
        assert not [p for p in files_with_key(host, 1) if p.startswith("/home/carol/")]
        if host.file("/home/carol/.qwen/settings.json").exists:
            left = json.loads(host.file("/home/carol/.qwen/settings.json").content_string)
            assert "modelProviders" not in left and "model" not in left
        manifest = json.loads(host.file("/var/lib/qwen-code/manifest.json").content_string)
        assert sorted(manifest["users"]) == ["alice", "bob"]


# --- a rollback, then an upgrade that keeps only the active release --------------------------------------------
def test_rollback_installs_beside_and_switches():
    play("rollback", {"qwen_test_key": ROTATED, "qwen_code_users": ["alice", "bob"], "qwen_code_version": "0.23.4"})
    for host in every_host():
        assert sorted(host.file("/opt/qwen-code/cli").listdir()) == ["0.23.4", DEFAULT]
        out = host.run(as_user("alice", "qwen --version"))
        assert out.rc == 0 and out.stdout.strip() == "0.23.4", out.stdout
        ask(host, "alice")


def test_upgrade_with_keep_releases_1_leaves_only_the_active_release():
    play("upgrade", {"qwen_test_key": ROTATED, "qwen_code_users": ["alice", "bob"], "qwen_code_keep_releases": 1})
    for host in every_host():
        assert host.file("/opt/qwen-code/cli").listdir() == [DEFAULT]
        assert host.file("/opt/qwen-code/node").listdir() == ["22.23.3"]
        out = host.run(as_user("alice", "qwen --version"))
        assert out.stdout.strip() == DEFAULT
        ask(host, "bob")


# --- the report -----------------------------------------------------------------------------------------------
SNAPSHOT = ("sha256sum /home/alice/.qwen/.env /home/alice/.qwen/settings.json /etc/qwen-code/settings.json "
            "/var/lib/qwen-code/manifest.json /usr/local/bin/qwen; ls -la --time-style=+%s /home/*/.qwen")


def test_the_report_flags_a_deleted_env_and_changes_nothing():
    checked = play("report-check", {"qwen_code_report_dir": REPORT_DIR + "-check"},
                   playbook="qwenops.qwen_code.report", check=True, before="rm -f /home/bob/.qwen/.env",
                   snapshot=SNAPSHOT)
    done = play("report", {"qwen_code_report_dir": REPORT_DIR}, playbook="qwenops.qwen_code.report",
                snapshot=SNAPSHOT)
    for host in every_host():
        for run in (checked, done):
            first, then = run["snapshots"][name_of(host)]
            assert first == then and "/home/alice/.qwen/.env" in first
        assert not host.file("/home/bob/.qwen/.env").exists
        with open(os.path.join(REPORT_DIR, "qwen-report.json")) as f:
            report = f.read()
        assert CANARY not in report
        text = json.dumps(json.loads(report))
        assert name_of(host) in text and "bob" in text and ".env" in text
        with open(os.path.join(REPORT_DIR, "qwen-report.md")) as f:
            table = f.read()
        row = [line for line in table.splitlines() if name_of(host) in line]
        assert row and "bob" in row[0], table


# --- uninstall, twice, then a clean reinstall, twice -----------------------------------------------------------
def test_uninstall_leaves_nothing_and_needs_no_key():
    play("uninstall", {"qwen_code_state": "absent", "qwen_code_providers": [], "qwen_code_api_key": "",
                       "qwen_code_users": ["alice", "bob"], "qwen_code_users_absent": ["carol"]})
    for host in every_host():
        for path in ("/usr/local/bin/qwen", "/opt/qwen-code", "/etc/qwen-code", "/var/lib/qwen-code"):
            assert not host.file(path).exists, path
        assert files_with_key(host, 0) == [] and files_with_key(host, 1) == []
        for user in USERS:
            assert host.file("/home/%s" % user).is_directory  # the homes and the users' own files stay


def test_a_second_uninstall_changes_nothing():
    recap = play("uninstall-again", {"qwen_code_state": "absent", "qwen_code_providers": [], "qwen_code_api_key": "",
                                     "qwen_code_users": ["alice", "bob"], "qwen_code_users_absent": ["carol"]})
    for host in every_host():
        assert recap[name_of(host)] == 0, recap


def test_present_installs_again_cleanly_and_idempotently():
    # In waves of one host (qwen_code_serial, max_fail_percentage 0): the second host installs after the first.
    recap = play("reinstall", {"qwen_test_key": ROTATED, "qwen_code_serial": 1, "qwen_code_max_fail_percentage": 0})
    assert all(recap[name_of(h)] > 0 for h in every_host()), recap
    for host in every_host():
        for user in USERS:
            ask(host, user)
        recap = play("reinstall-again", {"qwen_test_key": ROTATED})
        assert recap[name_of(host)] == 0, recap
