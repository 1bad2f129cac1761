"""The collection is built with tests/tools/build-collection (the README's command): only what git tracks is
shipped. A scratch checkout (a copy of the tree, its files added to a git index of its own) gets what an online
ansible-lint run, npm, Molecule and pytest leave behind, a vars.yml with a key and a stray file in a role, none of
them tracked: the tarball built from it must hold none of it and stay small. A plain `ansible-galaxy collection
build` must still keep the tools' leftovers out (galaxy.yml's build_ignore)."""
import gzip
import os
import shutil
import subprocess
import sys
import tarfile
import uuid

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

ANSIBLE_GALAXY = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
# The collection builds to ~530 KB (with its tests and docs; 0.1.0 was ~450 KB). The leftovers planted below alone
# are over 1 MB of incompressible bytes.
MAX_BYTES = 768 * 1024
# Not copied at all: large, and left out of a build anyway (galaxy.yml, ansible-galaxy's own rules).
NOT_COPIED = {".git", ".venv", ".cache", "tests/output", "bench/results"}
LEFTOVERS = {
    # ansible-lint (online) and Molecule install other people's collections and roles here.
    ".ansible/collections/ansible_collections/community/docker/plugins/modules/docker_container.py": 900_000,
    "molecule/default/.ansible/tmp/x.yml": 1_000,
    "node_modules/left-pad/index.js": 50_000,
    "roles/qwen_code/node_modules/x/index.js": 1_000,
    "molecule/default/.cache/molecule/state.yml": 50_000,
    "molecule/default/tests/.pytest_cache/v/cache/lastfailed": 1_000,
    ".pytest_cache/v/cache/nodeids": 1_000,
    "plugins/modules/__pycache__/user_config.cpython-311.pyc": 10_000,
    "qwenops-qwen_code-0.0.1.tar.gz": 100_000,
    # tests/tools/release: its artifacts, and antsibull-changelog's cache of the plugins.
    "dist/qwen-code-image-0.0.1-qwen" + DEFAULT + ".cdx.json": 100_000,
    "dist/SHA256SUMS": 1_000,
    "changelogs/.plugin-cache.yaml": 10_000,
}
# Lying in a checkout, untracked, where no build_ignore pattern names them (and where one does: vars.yml).
KEY = "sk-or-v1-untracked-" + uuid.uuid4().hex  # made here: this file itself is shipped
UNTRACKED = {
    "vars.yml": "qwen_code_api_key: %s\n" % KEY,
    "roles/qwen_code/tasks/scratch.yml": "# %s\n" % KEY,
    "playbooks/vars/local.yml": "qwen_code_api_key: %s\n" % KEY,
}
BUILD = os.path.join("tests", "tools", "build-collection")


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A scratch checkout: this tree's files, tracked by a git index of their own, then the leftovers and the
    untracked files."""
    tree = tmp_path_factory.mktemp("tree") / "qwen_code"

    def ignore(directory, names):
        rel = os.path.relpath(directory, REPO)
        return [n for n in names if os.path.normpath(os.path.join(rel, n)) in NOT_COPIED]

    shutil.copytree(REPO, str(tree), ignore=ignore, symlinks=True)
    for args in (["init", "-q"], ["add", "-A"]):
        subprocess.run(["git", "-C", str(tree)] + args, check=True, capture_output=True, timeout=120)
    for path, size in LEFTOVERS.items():
        target = tree / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(os.urandom(size))
    for path, text in UNTRACKED.items():
        target = tree / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return tree


def build(command, cwd, out):
    env = dict(os.environ, PATH=os.path.dirname(ANSIBLE_GALAXY) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(command + ["--output-path", str(out)], cwd=str(cwd), env=env, capture_output=True,
                          text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (tarball,) = out.iterdir()
    with tarfile.open(str(tarball)) as tar:
        names = tar.getnames()
    return tarball, names


@pytest.fixture(scope="module")
def documented(checkout, tmp_path_factory):
    """The tarball the README's command builds in the scratch checkout."""
    return build([os.path.join(str(checkout), BUILD)], checkout, tmp_path_factory.mktemp("out"))


@pytest.fixture(scope="module")
def plain(checkout, tmp_path_factory):
    return build([ANSIBLE_GALAXY, "collection", "build", str(checkout)], checkout, tmp_path_factory.mktemp("out"))


@pytest.fixture(params=["documented", "plain"])
def built(request):
    return request.getfixturevalue(request.param)


pytestmark = pytest.mark.skipif(not os.path.exists(ANSIBLE_GALAXY),
                                reason="ansible-galaxy is not installed beside this Python")


def test_no_leftover_of_a_tool_is_shipped(built):
    _tarball, names = built
    for path in LEFTOVERS:
        assert path not in names, path
    for name in names:
        parts = name.split("/")
        for part in (".ansible", "node_modules", ".cache", ".pytest_cache", "__pycache__", ".venv", ".git"):
            assert part not in parts, name


def test_the_collection_itself_is_shipped(built):
    _tarball, names = built
    for path in ("MANIFEST.json", "FILES.json", "README.md", "roles/qwen_code/README.md",
                 "roles/qwen_code/meta/argument_specs.yml", "playbooks/provision.yml", "meta/runtime.yml",
                 "changelogs/changelog.yaml", "plugins/modules/user_config.py", "molecule/default/converge.yml"):
        assert path in names, path


def test_the_tarball_stays_small(built):
    tarball, _names = built
    assert tarball.stat().st_size < MAX_BYTES, "%d bytes: what was shipped by mistake?" % tarball.stat().st_size


def test_untracked_files_are_not_shipped(documented):
    tarball, names = documented
    for path in UNTRACKED:
        assert path not in names, path
    with gzip.open(str(tarball)) as f:
        assert KEY.encode() not in f.read(), "the key is in the tarball"


def test_the_readme_builds_with_the_same_command():
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    assert "`%s && ansible-galaxy collection install" % BUILD in readme
