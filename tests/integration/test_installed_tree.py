"""The tree a release installs is the same whatever the install code: every path under the install root, the CA
bundle's directory and the launcher, with its type, mode, owner and link target (not timestamps, sizes or contents,
which npm and the registry may vary), compared with the list captured after a converge by the role as it was before
the fetch-and-install work was rewritten for speed (issue 16: tests/integration/fixtures/installed-tree.txt).

A file missing, an extra file, another mode, owner or link target fails. To capture the list again (a new pinned
release), run this test with QWEN_WRITE_TREE_FIXTURE=1 on the code whose tree is the reference, and review the
diff."""
import os

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "installed-tree.txt")
# %P relative path, %y type, %m mode, %u:%g owner, %l link target. The staging of an install, if one were left,
# would show as an extra entry.
TREE = ("cd / && find opt/qwen-code etc/qwen-code usr/local/bin/qwen -xdev "
        "-printf '%p %y %m %u:%g %l\\n' | LC_ALL=C sort")


def test_installed_tree_is_the_reference_tree(installed_host):
    tree = installed_host.sh(TREE).stdout
    if os.environ.get("QWEN_WRITE_TREE_FIXTURE"):
        with open(FIXTURE, "w") as f:
            f.write(tree)
    with open(FIXTURE) as f:
        expected = f.read()
    got, want = set(tree.splitlines()), set(expected.splitlines())
    missing, extra = sorted(want - got), sorted(got - want)
    assert not missing and not extra, "installed tree differs from %s:\nmissing or changed:\n%s\nextra or changed:\n%s" % (
        FIXTURE, "\n".join(missing[:50]), "\n".join(extra[:50]))
    assert len(want) > 1000  # the whole release, not an empty or partial list
