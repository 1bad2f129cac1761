"""playbooks/report.yml against localhost (connection local) and a host that cannot be reached, in --check: the
report files are written on the controller all the same, with a row for each host, and nothing else changes."""
import hashlib
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._manifest import managed_digest, render
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


@pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook is not beside this Python")
def test_report_in_check_mode(tmp_path):
    collections = tmp_path / "collections"
    os.makedirs(str(collections / "ansible_collections" / "qwenops"))
    os.symlink(REPO, str(collections / "ansible_collections" / "qwenops" / "qwen_code"))
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"general": {"enableAutoUpdate": True}}))  # the role wrote false
    launcher = tmp_path / "qwen"
    launcher.write_text("#!/bin/sh\n")
    keys = [["general", "enableAutoUpdate"]]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(render({
        "install_root": str(tmp_path / "opt"), "active": {"cli": "0.24.4", "node": "22.23.3", "npm": "10.9.9"},
        "launcher": {"path": str(launcher), "sha256": hashlib.sha256(launcher.read_bytes()).hexdigest()},
        "system": {str(settings): {"keys": keys, "digest": managed_digest({"general": {"enableAutoUpdate": False}},
                                                                          keys)}},
        "users": {}}))
    before = {p: p.read_bytes() for p in (settings, launcher, manifest)}
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("local ansible_connection=local ansible_python_interpreter=%s\n"
                         "gone ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n" % sys.executable)
    run_dir = tmp_path / "cwd"
    run_dir.mkdir()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_BECOME_METHOD="su" if os.geteuid() == 0 else "sudo")
    out = subprocess.run([ANSIBLE_PLAYBOOK, "--check", "-i", str(inventory), "qwenops.qwen_code.report",
                          "-e", "qwen_code_report_manifest_path=%s" % manifest, "-e", "qwen_code_report_dir=report"],
                         cwd=str(run_dir), capture_output=True, text=True, env=env, check=False, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert (run_dir / "report").stat().st_mode & 0o777 == 0o700
    rows = {r["host"]: r for r in json.loads((run_dir / "report" / "qwen-report.json").read_text())}
    assert rows["gone"]["status"] == "unreachable"
    local = rows["local"]
    assert local["status"] == "problems" and (local["active"], local["node"]) == ("0.24.4", "22.23.3")
    assert local["settings_drift"] == ["%s drifted" % settings]
    assert "the active cli release 0.24.4 is missing from %s/cli" % (tmp_path / "opt") in local["problems"]
    table = (run_dir / "report" / "qwen-report.md").read_text()
    assert "| local | problems |" in table and "| gone | unreachable |" in table
    assert "| local | problems |" in out.stdout  # the table is shown at the end
    assert {p: p.read_bytes() for p in before} == before
