"""playbooks/report.yml against localhost (connection local) and a host that cannot be reached, in --check: the
report files are written on the controller all the same, with a row for each host, and nothing else changes."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._manifest import managed_digest, render
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


pytestmark = pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook is not beside this Python")


def run_report(tmp_path, cwd, *extra, **env):
    """ansible-playbook --check qwenops.qwen_code.report in cwd, with the collection linked from tmp_path and the
    environment's variables updated by env (None removes one)."""
    collections = tmp_path / "collections"
    if not collections.exists():
        os.makedirs(str(collections / "ansible_collections" / "qwenops"))
        os.symlink(REPO, str(collections / "ansible_collections" / "qwenops" / "qwen_code"))
    run_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_FORCE_COLOR="0", ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_BECOME_METHOD="su" if os.geteuid() == 0 else "sudo")
    run_env.update(env)
    run_env = {k: v for k, v in run_env.items() if v is not None}
    args = [ANSIBLE_PLAYBOOK, "--check", "-i", str(tmp_path / "hosts.ini"), "qwenops.qwen_code.report"]
    for arg in extra:
        args += ["-e", arg]
    out = subprocess.run(args, cwd=str(cwd), capture_output=True, text=True, env=run_env, check=False, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def local_only(tmp_path):
    (tmp_path / "hosts.ini").write_text("local ansible_connection=local ansible_python_interpreter=%s\n"
                                        % sys.executable)


@pytest.mark.root  # needs root: `nox -s unit-root` (tests/conftest.py)
def test_report_in_check_mode(tmp_path):
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"general": {"enableAutoUpdate": True}}))  # the role wrote false
    launcher = tmp_path / "qwen"
    launcher.write_text("#!/bin/sh\n")
    keys = [["general", "enableAutoUpdate"]]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(render({
        "install_root": str(tmp_path / "opt"), "active": {"cli": DEFAULT, "node": "22.23.3", "npm": "10.9.9"},
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
    out = run_report(tmp_path, run_dir, "qwen_code_report_manifest_path=%s" % manifest, "qwen_code_report_dir=report")
    assert (run_dir / "report").stat().st_mode & 0o777 == 0o700
    rows = {r["host"]: r for r in json.loads((run_dir / "report" / "qwen-report.json").read_text())}
    assert rows["gone"]["status"] == "unreachable"
    local = rows["local"]
    assert local["status"] == "problems" and (local["active"], local["node"]) == (DEFAULT, "22.23.3")
    assert local["settings_drift"] == ["%s drifted" % settings]
    assert "the active cli release %s is missing from %s/cli" % (DEFAULT, tmp_path / "opt") in local["problems"]
    table = (run_dir / "report" / "qwen-report.md").read_text()
    assert "| local | problems |" in table and "| gone | unreachable |" in table
    assert "| local | problems |" in out.stdout  # the table is shown at the end
    assert {p: p.read_bytes() for p in before} == before


def test_an_existing_report_dir_keeps_its_mode(tmp_path):
    # A root controller given qwen_code_report_dir=/tmp made /tmp 0700.
    local_only(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    run_report(tmp_path, tmp_path, "qwen_code_report_dir=%s" % shared)
    assert shared.stat().st_mode & 0o7777 == 0o1777
    assert (shared / "qwen-report.json").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("xdg", [False, True])
def test_the_default_report_dir_is_in_the_users_cache_not_in_the_checkout(tmp_path, xdg):
    # Run from the checkout, the report used to land in it, and a later ansible-galaxy collection build shipped it.
    local_only(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    cache = tmp_path / "xdg" if xdg else home / ".cache"
    left = os.path.join(REPO, "qwen-report")
    assert not os.path.lexists(left), "%s is there before the run" % left
    try:
        run_report(tmp_path, REPO, HOME=str(home), XDG_CACHE_HOME=str(cache) if xdg else None)
        assert not os.path.lexists(left)
    finally:
        if os.path.isdir(left) and not os.path.islink(left):
            shutil.rmtree(left)
    report = cache / "qwenops" / "qwen-report"
    assert report.stat().st_mode & 0o777 == 0o700 and (report / "qwen-report.md").exists()
