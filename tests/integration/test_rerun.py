"""A run with nothing to change changes nothing and sends no request anywhere: not to a registry, not to the
provider (the checks run after a change), from neither the controller nor the host. Check mode on a fresh host
reports what it would do and changes nothing, not even the controller's artifact cache."""
import re

import pytest

from conftest import GOOD_VARS, changed_counts
from harness import TEST_IMAGE, Container, docker
from stub_harness import requests_in

OFFLINE = ["unshare", "--net"]


def stub_requests(host):
    return len(requests_in(host))


def test_rerun_with_no_network_anywhere_changes_nothing(runner, installed_host):
    good = installed_host.good_vars
    assert good["qwen_code_verify_provider"] and good["qwen_code_smoke_test"]  # checks on: they must not run
    asked = stub_requests(installed_host)
    docker("network", "disconnect", "bridge", installed_host.name)
    try:
        assert installed_host.sh("ls /sys/class/net").stdout.split() == ["lo"]
        run = runner.play(installed_host, good, "rerun-offline", wrap=OFFLINE)
    finally:
        docker("network", "connect", "bridge", installed_host.name)
    assert run.returncode == 0, run.output[-3000:]
    assert changed_counts(run.output) == [0], run.output[-2000:]
    assert stub_requests(installed_host) == asked, "a run with nothing to change asked the provider"


def test_verify_always_checks_on_every_run(runner, installed_host):
    asked = stub_requests(installed_host)
    run = runner.play(installed_host, dict(installed_host.good_vars, qwen_code_verify="always"), "rerun-verify-always")
    assert run.returncode == 0, run.output[-3000:]
    assert "changed=0" in run.output
    assert stub_requests(installed_host) > asked


@pytest.mark.parametrize("cached", [False, True], ids=["registry", "artifact-cache"])
def test_check_mode_on_a_fresh_host_reports_and_changes_nothing(runner, tmp_path, cached):
    host = Container(TEST_IMAGE, "check")
    try:
        host.sh("useradd -m -s /bin/bash alice")
        before = host.snapshot()
        variables = dict(GOOD_VARS, **({"qwen_code_artifact_cache": str(tmp_path / "cache")} if cached else {}))
        run = runner.play(host, variables, "check-mode-fresh-%s" % ("cache" if cached else "registry"),
                          extra_args=["--check"])
        assert run.returncode == 0, run.output[-3000:]
        assert changed_counts(run.output)[0] > 0
        assert host.snapshot() == before
        assert not (tmp_path / "cache").exists(), "check mode fetched into the controller's cache"
    finally:
        host.remove()


USER_CONFIG = "Write the system settings and, for each user"


def task_status(output, name):
    """ok, changed, skipping or fatal: what the task whose name starts with name reported (one host)."""
    block = output.split("TASK [qwenops.qwen_code.qwen_code : %s" % name, 1)[1]
    return re.search(r"^(ok|changed|skipping|fatal):", block, re.M).group(1)


def test_a_rerun_skips_the_users_files_unless_something_moved(runner, installed_host):
    """With the inputs of last time (their digest in the manifest) and every file as recorded, user_config is not
    called; a file's mode, a deleted file, the system settings' mode or another input each make it run and restore
    what the role sets, and the run after that skips it again."""
    # The smoke test (qwen as each user after a change) is not what this test is about: off, it spares a qwen run per
    # user in each of the runs that change something (it is no input of user_config's, so the digest stays).
    good = dict(installed_host.good_vars, qwen_code_smoke_test=False)
    run = runner.play(installed_host, good, "rerun-config-current")
    assert run.returncode == 0 and changed_counts(run.output) == [0], run.output[-3000:]
    assert task_status(run.output, USER_CONFIG) == "skipping"
    # (name, what moves, probe, what the run restores, other inputs, then a run that must skip user_config again.)
    # The run that skips is asked after the third and the last case only: it finds every file and the manifest as
    # the cases before it left them, so a restore that left anything out of step (alice's .env, bob's ~/.qwen, the
    # system file's mode) would make it run user_config again.
    cases = [
        ("alice-env-mode", "chmod 0644 /home/alice/.qwen/.env", "stat -c %a /home/alice/.qwen/.env", "600", None,
         False),
        ("bob-dir-mode", "chmod 0755 /home/bob/.qwen", "stat -c %a /home/bob/.qwen", "700", None, False),
        ("bob-env-deleted", "rm /home/bob/.qwen/.env", "stat -c %a /home/bob/.qwen/.env", "600", None, True),
        ("system-mode", "chmod 0666 /etc/qwen-code/settings.json", "stat -c %a /etc/qwen-code/settings.json", "644",
         None, False),
        ("an-input", "true", "grep -c usageStatisticsEnabled.:.true /etc/qwen-code/settings.json", "1",
         {"qwen_code_usage_statistics": True}, True),
    ]
    for name, break_it, probe, want, other, again_too in cases:
        installed_host.sh(break_it)
        variables = dict(good, **(other or {}))
        run = runner.play(installed_host, variables, "rerun-config-%s" % name)
        assert run.returncode == 0, run.output[-3000:]
        assert task_status(run.output, USER_CONFIG) == "changed" and changed_counts(run.output) != [0], name
        assert installed_host.sh(probe).stdout.strip() == want, name
        if not again_too:
            continue
        again = runner.play(installed_host, variables, "rerun-config-%s-again" % name)
        assert again.returncode == 0 and changed_counts(again.output) == [0], again.output[-3000:]
        assert task_status(again.output, USER_CONFIG) == "skipping", name
    # Back to the session's inputs for the other tests.
    run = runner.play(installed_host, good, "rerun-config-restored")
    assert run.returncode == 0 and task_status(run.output, USER_CONFIG) == "changed", run.output[-3000:]


def test_a_rerun_gives_the_install_root_its_owner_and_mode_back(runner, installed_host):
    """The first install creates the install root without a call of its own (the first unpack makes it root's 0755);
    one that exists as anything else is given root's group and 0755 back by the next run (a user could not run the
    CLI under a 0700 root), and the run after that changes nothing."""
    good = dict(installed_host.good_vars, qwen_code_smoke_test=False)  # as above
    assert installed_host.sh("stat -c '%a %U %G' /opt/qwen-code").stdout.strip() == "755 root root"
    installed_host.sh("chmod 0700 /opt/qwen-code && chgrp daemon /opt/qwen-code")
    run = runner.play(installed_host, good, "rerun-install-root")
    assert run.returncode == 0 and changed_counts(run.output) != [0], run.output[-3000:]
    assert installed_host.sh("stat -c '%a %U %G' /opt/qwen-code").stdout.strip() == "755 root root"
    again = runner.play(installed_host, good, "rerun-install-root-again")
    assert again.returncode == 0 and changed_counts(again.output) == [0], again.output[-3000:]
