"""The tree a release installs is the same whatever the install code: every path under the install root, the CA
bundle's directory and the launcher, with its type, mode, owner and link target (not timestamps, sizes or contents,
which npm and the registry may vary), compared with the list captured after a converge by the role as it was before
the fetch-and-install work was rewritten for speed (issue 16: tests/integration/fixtures/installed-tree.txt).

Since qwen_code_node_headers (default false), the private Node is unpacked without its C headers (include/): the
default tree is the reference without them, and with the headers turned on it is the reference exactly.

A file missing, an extra file, another mode, owner or link target fails. To capture the list again (a new pinned
release), run test_installed_tree_is_the_reference_tree with QWEN_WRITE_TREE_FIXTURE=1 and
qwen_code_node_headers: true in its vars, on the code whose tree is the reference, and review the diff."""
import json
import os
import re

from conftest import GOOD_VARS, STUB_PORT, changed_counts
from harness import TEST_IMAGE, Container
from stub_harness import start_in_container
from releases import DEFAULT

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "installed-tree.txt")
# %P relative path, %y type, %m mode, %u:%g owner, %l link target. The staging of an install, if one were left,
# would show as an extra entry.
TREE = ("cd / && find opt/qwen-code etc/qwen-code usr/local/bin/qwen -xdev "
        "-printf '%p %y %m %u:%g %l\\n' | LC_ALL=C sort")
HEADERS = re.compile(r"^opt/qwen-code/node/[^/ ]+/include[/ ]")
NODE_DIR = "/opt/qwen-code/node/22.23.3"
MARKER = NODE_DIR + "/.qwenops-npm-unpack.json"


def reference(headers):
    with open(FIXTURE) as f:
        lines = set(f.read().splitlines())
    return lines if headers else set(line for line in lines if not HEADERS.match(line))


def assert_tree(host, want):
    tree = host.sh(TREE).stdout
    got = set(tree.splitlines())
    missing, extra = sorted(want - got), sorted(got - want)
    assert not missing and not extra, "installed tree differs from %s:\nmissing or changed:\n%s\nextra or changed:\n%s" % (
        FIXTURE, "\n".join(missing[:50]), "\n".join(extra[:50]))
    assert len(want) > 1000  # the whole release, not an empty or partial list
    return tree


def test_installed_tree_is_the_reference_tree(installed_host):
    want = reference(headers=False)
    assert len(reference(headers=True) - want) > 2700  # the headers are a part of the reference
    tree = assert_tree(installed_host, want)
    if os.environ.get("QWEN_WRITE_TREE_FIXTURE"):
        with open(FIXTURE, "w") as f:
            f.write(tree)


def test_node_headers_turned_on_give_the_reference_tree_exactly_and_stay_when_turned_off(runner):
    """The default leaves include/ out (the marker says so); qwen_code_node_headers: true unpacks Node again, whole:
    the tree is then the reference exactly, and the next run changes nothing; turned off again, nothing changes and
    the headers stay (a whole Node satisfies a request for less)."""
    host = Container(TEST_IMAGE, "headers")
    try:
        host.sh("useradd -m -s /bin/bash alice")
        start_in_container(host, GOOD_VARS["qwen_code_api_key"], GOOD_VARS["qwen_code_model"], port=STUB_PORT)
        run = runner.play(host, GOOD_VARS, "headers-off-first")
        assert run.returncode == 0, run.output[-3000:]
        assert host.sh("test -e %s/include" % NODE_DIR, check=False).returncode == 1
        assert json.loads(host.sh("cat %s" % MARKER).stdout)["excluded"] == ["include"]
        assert_tree(host, reference(headers=False))

        on = dict(GOOD_VARS, qwen_code_node_headers=True)
        run = runner.play(host, on, "headers-on")
        assert run.returncode == 0 and changed_counts(run.output) != [0], run.output[-3000:]
        assert "excluded" not in json.loads(host.sh("cat %s" % MARKER).stdout)
        assert_tree(host, reference(headers=True))
        assert host.sh("test -f %s/include/node/node.h" % NODE_DIR, check=False).returncode == 0

        run = runner.play(host, on, "headers-on-again")
        assert run.returncode == 0 and changed_counts(run.output) == [0], run.output[-3000:]
        run = runner.play(host, GOOD_VARS, "headers-off-again")
        assert run.returncode == 0 and changed_counts(run.output) == [0], run.output[-3000:]
        assert_tree(host, reference(headers=True))
        assert host.sh("qwen --version").stdout.strip() == DEFAULT
    finally:
        host.remove()
