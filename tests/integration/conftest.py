"""Fixtures that drive real ansible-playbook runs against throwaway Debian containers (tests/tools/harness.py)."""
import os
import re
import shutil

import pytest

import harness
from harness import REPO, TEST_IMAGE, Container
from stub_harness import start_in_container

LOGS = os.path.join(REPO, "tests", "output", "logs", "integration")
CANARY = os.environ["QWEN_TEST_CANARY_KEY"]
STUB_PORT = 18090
GOOD_VARS = {
    "qwen_code_users": ["alice"],
    "qwen_code_provider": "custom",
    "qwen_code_base_url": "http://127.0.0.1:%d/v1" % STUB_PORT,
    "qwen_code_api_key": CANARY,
    "qwen_code_model": "qwenops/stub-coder",
    "qwen_code_ca_bundle": "/etc/ssl/certs/ca-certificates.crt",
    "qwen_code_verify_provider": False,
}

# qwen_code_settings with headers that carry the canary (hyphenated names, a scheme word before it), under a key qwen
# ignores, so that no request goes anywhere with them: written into each user's settings.json (0600), shown nowhere,
# not in the -vvv --diff output of the good run either.
SETTINGS_WITH_HEADERS = {"qwenopsCanary": {"headers": {"Authorization": "Bearer " + CANARY, "X-API-Key": CANARY,
                                                       "x-goog-api-key": CANARY}}}


def changed_counts(output):
    """The changed= count of each host in a play's recap."""
    return [int(n) for n in re.findall(r"changed=(\d+)", output.split("PLAY RECAP")[-1])]


class Runner:
    def __init__(self, tmp_path_factory):
        self.dir = tmp_path_factory.mktemp("runs")
        os.makedirs(LOGS, exist_ok=True)

    def play(self, container, variables, name, extra_args=(), sample_ps=False, env=None, wrap=()):
        """Runs the provision playbook at -vvv against one container (or a list of them), its output logged as
        tests/output/logs/integration/<name>.log; wrap is a command prefix, such as ["unshare", "-n"] for a
        controller without any network."""
        containers = container if isinstance(container, list) else [container]
        proc = harness.play(containers, variables, self.dir, name, extra_args=["-vvv"] + list(extra_args), env=env,
                            wrap=wrap, sample_ps=sample_ps)
        with open(os.path.join(LOGS, "%s.log" % name), "w") as f:
            f.write(proc.output)
        return proc


@pytest.fixture(scope="session")
def runner(tmp_path_factory):
    return Runner(tmp_path_factory)


@pytest.fixture(scope="session")
def installed_host(runner):
    """A Debian 12 container with a working install made by a good run (at -vvv, with --diff, ps sampled)."""
    c = Container(TEST_IMAGE, "good")
    try:
        c.sh("useradd -m -s /bin/bash alice && useradd -m -s /bin/bash bob && useradd -M -d /home/nohome nohome")
        # alice has the top-level key; bob a key of his own, on another protocol (the canary is in both, so the
        # checks below that it never shows cover a per-user key too).
        start_in_container(c, "%s\n%s-bob" % (CANARY, CANARY), GOOD_VARS["qwen_code_model"], port=STUB_PORT)
        bob = {"name": "bob", "providers": [{
            "name": "stub-anthropic", "auth_type": "anthropic", "base_url": "http://127.0.0.1:%d" % STUB_PORT,
            "api_key": CANARY + "-bob", "models": [GOOD_VARS["qwen_code_model"]]}]}
        good = dict(GOOD_VARS, qwen_code_users=["alice", bob], qwen_code_verify_provider=True,
                    qwen_code_verify_probe="chat", qwen_code_smoke_test=True, qwen_code_settings=SETTINGS_WITH_HEADERS)
        c.good_vars = good
        c.first_run = runner.play(c, good, "good-first-run", extra_args=["--diff"], sample_ps=True)
        assert c.first_run.returncode == 0, c.first_run.output[-3000:]
        yield c
    finally:
        c.remove()


@pytest.fixture(scope="session")
def other_os_host():
    """A host the chosen Node method cannot serve: a Rocky 9-like userland without apt (Debian's rootfs with Rocky's
    /etc/os-release and no apt front ends), whose inventory asks for the distro method (apt only). The
    collection runs on any glibc Linux, so "another OS" alone is no longer a refusal; musl and old glibc are refused
    in the unit tests of _host_facts."""
    c = Container(TEST_IMAGE, "otheros")
    try:
        # (Debian's /etc/os-release is a link to /usr/lib/os-release: both go before the new file is written.)
        c.sh("useradd -m alice; rm -f /etc/debian_version /usr/bin/apt /usr/bin/apt-get /etc/os-release "
             "/usr/lib/os-release; printf '%s\\n' 'NAME=\"Rocky Linux\"' 'ID=\"rocky\"' "
             "'ID_LIKE=\"rhel centos fedora\"' 'VERSION_ID=\"9.4\"' > /etc/os-release")
        c.host_vars = {"qwen_code_node_method": "distro"}
        yield c
    finally:
        c.remove()


def pytest_sessionstart(session):
    if shutil.which("docker") is None:
        raise pytest.UsageError("docker is required (run through tests/all)")
    # The platform image (built locally when no registry answers), so this suite runs on its own too.
    harness.ensure_test_image("bookworm")
