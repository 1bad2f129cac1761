"""Where an install root may be: by name on the controller, by the host's directories and packages."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess
import tempfile

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._install_root import (
    ancestor_facts, package_owner, root_problems, system_directory)


@pytest.mark.root  # needs root: `nox -s unit-root` (tests/conftest.py)
def test_ancestors_along_the_path_and_its_real_path():
    base = tempfile.mkdtemp(prefix="qwenops-unit-", dir="/var/lib")
    try:
        os.mkdir(os.path.join(base, "real"), 0o755)
        os.symlink(os.path.join(base, "real"), os.path.join(base, "link"))
        facts = ancestor_facts(os.path.join(base, "link", "missing", "qwen"))
        paths = [f["path"] for f in facts]
        assert paths == ["/", "/var", "/var/lib", base, os.path.join(base, "link"), os.path.join(base, "real")]
        assert [f["kind"] for f in facts][-2:] == ["link", "dir"]
        assert facts[0] == {"path": "/", "kind": "dir", "uid": 0, "mode": "%04o" % (os.stat("/").st_mode & 0o7777)}
    finally:
        shutil.rmtree(base)


def ancestors(*entries):
    return [dict(zip(("path", "kind", "uid", "mode"), e)) for e in entries]


@pytest.mark.parametrize("facts, expected", [
    ({"ancestors": ancestors(("/", "dir", 0, "0755"), ("/srv", "dir", 0, "0755"))}, []),
    ({"ancestors": ancestors(("/", "dir", 0, "0755"), ("/tmp", "dir", 0, "1777"))},
     ["/tmp, on its way, is writable by its group and others (mode 1777)"]),
    ({"ancestors": ancestors(("/", "dir", 0, "0755"), ("/srv", "dir", 0, "0775"))},
     ["/srv, on its way, is writable by its group (mode 0775)"]),
    ({"ancestors": ancestors(("/", "dir", 0, "0755"), ("/home/alice", "dir", 1000, "0700"))},
     ["/home/alice, on its way, is owned by uid 1000, not root"]),
    ({"ancestors": ancestors(("/", "dir", 0, "0755"), ("/srv", "link", 1000, "0777"))},
     ["/srv, on its way, is owned by uid 1000, not root"]),
    ({"ancestors": ancestors(("/", "dir", 0, "0755"), ("/srv", "link", 0, "0777"))}, []),  # root's link: fine
    ({"exists": True, "directory": True, "uid": 1000}, ["exists and is owned by uid 1000, not root"]),
    ({"exists": True, "directory": False, "uid": 0}, ["exists and is not a directory"]),
    ({"package": "base-files"}, ["is a directory of the package base-files"]),
])
def test_root_problems(facts, expected):
    problems = root_problems("/srv/x", facts)
    assert len(problems) == len(expected) and all(e in p for e, p in zip(expected, problems)), problems
    assert all(p.startswith("qwen_code_install_root /srv/x") for p in problems)


@pytest.mark.parametrize("path, refused", [
    ("/opt/qwen-code", False), ("/srv/data", False), ("/usr/local/qwen-code", False), ("/var/lib/qwen", False),
    ("/opt", True), ("/usr/local/share", True), ("/usr/share/qwen", True), ("/var/lib/dpkg/x", True),
    ("/etc/qwen", True), ("/var/tmp/q", True), ("/root/q", True), ("/home/alice/q", True), ("/", True),
])
def test_system_directory(path, refused):
    assert bool(system_directory(path)) is refused


class Module(object):
    """What package_owner() needs of an AnsibleModule."""

    @staticmethod
    def get_bin_path(name):
        return shutil.which(name)

    @staticmethod
    def run_command(argv):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.skipif(not shutil.which("dpkg-query"), reason="a dpkg host")
def test_package_owner_asks_dpkg():
    assert package_owner(Module(), "/usr/sbin")
    assert package_owner(Module(), "/opt/qwenops-no-such-directory") is None
