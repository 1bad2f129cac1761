"""Hard failures on one host: the registry gone during an upgrade, a run killed mid-install, two runs at once,
and a user's own settings. After each, the host is left with a working qwen."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest

from conftest import GOOD_VARS
from harness import TEST_IMAGE, Container, write_inventory, write_vars
from releases import DEFAULT

LAUNCHER_CHECK = "runuser -l alice -c 'qwen --version'"


@pytest.fixture(scope="module")
def host(runner):
    c = Container(TEST_IMAGE, "faults")
    try:
        c.sh("useradd -m -s /bin/bash alice")
        first = runner.play(c, GOOD_VARS, "faults-first-run")
        assert first.returncode == 0, first.output[-3000:]
        yield c
    finally:
        c.remove()


def version(host):
    return host.sh(LAUNCHER_CHECK).stdout.strip()


def staging_dirs(host, release):
    return host.sh("ls -A /opt/qwen-code/cli | grep '^.%s.partial' || true" % release).stdout.split()


def test_registry_unreachable_during_upgrade_keeps_the_old_version(runner, host):
    launcher = host.sh("cat /usr/local/bin/qwen").stdout
    run = runner.play(host, dict(GOOD_VARS, qwen_code_version="0.23.4", qwen_code_npm_registry="http://127.0.0.1:9"),
                      "fault-registry-unreachable")
    assert run.returncode != 0
    assert "Connection refused" in run.output and "0.23.4" in run.output
    assert version(host) == DEFAULT
    assert host.sh("cat /usr/local/bin/qwen").stdout == launcher
    assert staging_dirs(host, "0.23.4") == []


def test_run_killed_mid_install_then_next_run_converges(runner, host, tmp_path):
    varsfile = write_vars(tmp_path / "vars.yml", dict(GOOD_VARS, qwen_code_version="0.23.4"))
    inventory = write_inventory(tmp_path / "inv.yml", [host])
    proc = subprocess.Popen(["ansible-playbook", "-i", str(inventory), "qwenops.qwen_code.provision",
                             "-e", "@%s" % varsfile], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline:
        # npm is busy in this run's staging prefix: kill the run there (controller and the npm inside the host).
        if host.sh("ls -d /opt/qwen-code/cli/.0.23.4.partial-*/lib 2>/dev/null || true").stdout.strip():
            break
        time.sleep(0.3)
    else:
        pytest.fail("the install never started")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    host.sh("pkill -9 -f '[n]pm-cli.js' || true")
    assert version(host) == DEFAULT, "a killed upgrade must leave the old version answering"
    assert not host.sh("test -e /opt/qwen-code/cli/0.23.4 && echo yes || true").stdout.strip()
    run = runner.play(host, dict(GOOD_VARS, qwen_code_version="0.23.4"), "fault-after-kill")
    assert run.returncode == 0, run.output[-3000:]
    assert version(host) == "0.23.4"
    # Switching back is instant: the default release is still installed beside it.
    back = runner.play(host, GOOD_VARS, "fault-switch-back")
    assert back.returncode == 0 and version(host) == DEFAULT


def test_two_runs_at_once_leave_one_working_install(runner, host):
    results = {}

    def converge(name):
        results[name] = runner.play(host, dict(GOOD_VARS, qwen_code_version="0.21.10"), name)

    threads = [threading.Thread(target=converge, args=("fault-concurrent-%d" % i,)) for i in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.returncode == 0 for r in results.values()), [r.output[-2000:] for r in results.values()]
    assert version(host) == "0.21.10"
    assert staging_dirs(host, "0.21.10") == []
    settings = json.loads(host.sh("cat /home/alice/.qwen/settings.json").stdout)
    assert settings["model"]["name"] == GOOD_VARS["qwen_code_model"]
    assert "OPENAI_MODEL=" in host.sh("cat /home/alice/.qwen/.env").stdout


def test_users_own_settings_survive_a_run(runner, host):
    path = "/home/alice/.qwen/settings.json"
    settings = json.loads(host.sh("cat %s" % path).stdout)
    settings["ui"] = {"theme": "GitHub"}           # the user's own key
    settings["model"]["name"] = "something-else"   # a managed key, edited by hand
    host.sh("cat > %s <<'EOF'\n%s\nEOF" % (path, json.dumps(settings)))
    run = runner.play(host, GOOD_VARS, "fault-user-settings")
    assert run.returncode == 0
    after = json.loads(host.sh("cat %s" % path).stdout)
    assert after["ui"] == {"theme": "GitHub"}
    assert after["model"]["name"] == GOOD_VARS["qwen_code_model"]
