"""qwen_code_execution_sandbox: what the preflight refuses (plugins/plugin_utils/_checks.py), the fix it names for a
host whose users cannot create user namespaces, and what goes into the system settings (_decisions.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.qwenops.qwen_code.plugins.plugin_utils import _checks
from ansible_collections.qwenops.qwen_code.tests.unit.plugins.plugin_utils.test__checks import host, plan

ON = {"filesystem": "workspace-write", "network": "closed"}
PROBE_OK = {"probe": {"ok": True}, "sysctls": {}, "seccomp": 0, "bwrap_profile": False, "bwrap": False,
            "user": "alice"}


def check(**change):
    inp, p = plan(**change)
    return _checks.check_execution_sandbox(inp, p)


def test_off_writes_nothing_and_checks_nothing():
    for off in ({}, None, {"filesystem": None, "network": None}):
        inp, p = plan(qwen_code_execution_sandbox=off, qwen_code_mcp_servers={"x": {"command": "x"}})
        assert p["execution_sandbox"] is None
        assert "executionSandbox" not in p["system_settings"].get("tools", {})
        assert _checks.check_execution_sandbox(inp, p) == []


def test_on_is_written_with_literal_values_and_bwrap():
    inp, p = plan(qwen_code_execution_sandbox=ON, qwen_code_approval_mode="yolo")
    assert p["system_settings"]["tools"] == {"approvalMode": "yolo", "executionSandbox": dict(ON, backend="bwrap")}
    assert p["execution_sandbox"] == dict(ON, backend="bwrap")
    assert _checks.check_execution_sandbox(inp, p) == []


@pytest.mark.parametrize("change, expected", [
    ({"qwen_code_execution_sandbox": {"filesystem": "read-only"}}, "must be empty (off) or give exactly filesystem"),
    ({"qwen_code_execution_sandbox": {"filesystem": "rw", "network": "open"}}, "must be empty (off)"),
    ({"qwen_code_execution_sandbox": dict(ON, backend="auto")}, "must be empty (off)"),
    ({"qwen_code_version": "0.23.4"}, "needs qwen 0.24 or later: qwen 0.23.4 does not read tools.executionSandbox"),
    ({"qwen_code_version": "0.12.0"}, "needs qwen 0.24 or later"),
    ({"qwen_code_sandbox": "docker"}, "cannot be combined with qwen_code_sandbox docker"),
    ({"qwen_code_sandbox": True}, "cannot be combined with qwen_code_sandbox True"),
    ({"qwen_code_mcp_servers": {"fs": {"command": "mcp-fs"}}},
     "cannot be combined with MCP servers (qwen_code_mcp_servers)"),
    ({"qwen_code_managed_settings": {"mcpServers": {"fs": {"command": "x"}}}}, "(qwen_code_managed_settings)"),
    ({"qwen_code_default_settings": {"mcpServers": {"fs": {"command": "x"}}}}, "(qwen_code_default_settings)"),
    ({"qwen_code_settings": {"mcpServers": {"fs": {"command": "x"}}}}, "(qwen_code_settings)"),
    ({"qwen_code_trusted_folders": ["/srv/work", "/etc/app"]}, "/etc/app (overlaps /etc)"),
    ({"qwen_code_trusted_folders": ["/"]}, "/ (overlaps /etc)"),
    ({"qwen_code_trusted_folders": ["/usr/local/src"]}, "/usr/local/src (overlaps /usr)"),
    ({"qwen_code_trusted_folders": ["/opt"]}, "/opt (overlaps /opt/qwen-code)"),
    ({"qwen_code_trusted_folders": ["/opt/qwen-code/cli/x/"]}, "(overlaps /opt/qwen-code)"),
])
def test_refused(change, expected):
    change.setdefault("qwen_code_execution_sandbox", ON)
    problems = check(**change)
    assert len(problems) == 1 and expected in problems[0], problems
    assert problems[0].startswith(("qwen_code_execution_sandbox", "qwen_code_trusted_folders"))


@pytest.mark.parametrize("folders", [["/srv/work"], ["/home/alice/src"], ["/etcetera"], ["/opt/qwen-codex"]])
def test_project_folders_pass(folders):
    assert check(qwen_code_execution_sandbox=ON, qwen_code_trusted_folders=folders) == []


def host_check(folders=(), **facts):
    inp, p = plan(qwen_code_execution_sandbox=ON, qwen_code_trusted_folders=list(folders))
    h = host(execution_sandbox=dict(PROBE_OK, **facts)) if facts is not None else host()
    return _checks.check_host_execution_sandbox(inp, p, h, "web1")


def test_a_host_that_allows_it_passes():
    assert host_check() == []
    assert host_check(["/home/alice/src"]) == []
    assert host_check(["/home/al"]) == []


@pytest.mark.parametrize("folders", [["/home"], ["/home/alice"], ["/"]])
def test_a_trusted_folder_that_holds_a_home_is_refused(folders):
    problems = host_check(folders)
    assert len(problems) == 1 and "holds /home/alice" in problems[0] and " on web1: " in problems[0]


def test_no_bubblewrap_and_no_package_manager_is_refused():
    inp, p = plan(qwen_code_execution_sandbox=ON)
    h = host(execution_sandbox=PROBE_OK)
    h["os"] = dict(h["os"], package_manager="none")
    assert _checks.check_host_execution_sandbox(inp, p, h, "web1") == [
        "qwen_code_execution_sandbox needs bubblewrap (/usr/bin/bwrap), which the role installs with apt, dnf or "
        "zypper, and web1 has none of them (none): install bubblewrap there yourself, or leave the sandbox off."]
    h["execution_sandbox"] = dict(PROBE_OK, bwrap=True)
    assert _checks.check_host_execution_sandbox(inp, p, h, "web1") == []


def failed(step, err="EPERM"):
    return {"ok": False, "step": step, "errno": err}


@pytest.mark.parametrize("facts, fix", [
    ({"probe": failed("unshare"), "sysctls": {"kernel.unprivileged_userns_clone": 0}},
     "Debian's kernel.unprivileged_userns_clone is 0: set it to 1"),
    ({"probe": failed("unshare", "ENOSPC"), "sysctls": {"user.max_user_namespaces": 0}},
     "user.max_user_namespaces is 0 (RHEL's way to forbid them)"),
    ({"probe": failed("mount"), "sysctls": {"kernel.apparmor_restrict_unprivileged_userns": 1}},
     "kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 24.04): give /usr/bin/bwrap an AppArmor profile"),
    ({"probe": failed("unshare"), "seccomp": 2},
     "--security-opt seccomp=unconfined, apparmor=unconfined and systempaths=unconfined"),
    ({"probe": failed("mount", "EACCES")}, "--security-opt apparmor=unconfined"),
    ({"probe": failed("proc")}, "--security-opt systempaths=unconfined"),
    ({"probe": failed("unshare", "EINVAL")}, "CONFIG_USER_NS"),
])
def test_a_host_that_forbids_user_namespaces_is_refused_with_the_fix(facts, fix):
    problems = host_check(**facts)
    assert len(problems) == 1, problems
    assert problems[0].startswith("qwen_code_execution_sandbox: unprivileged users cannot create the user namespaces "
                                  "bubblewrap needs on web1 (the probe as alice failed at %s: %s)"
                                  % (facts["probe"]["step"], facts["probe"]["errno"]))
    assert fix in problems[0]


def test_a_bwrap_apparmor_profile_passes_ubuntus_restriction():
    facts = {"probe": failed("mount"), "sysctls": {"kernel.apparmor_restrict_unprivileged_userns": 1},
             "bwrap_profile": True}
    assert host_check(**facts) == []
    facts["probe"] = failed("unshare")  # not what the restriction does: something else forbids them
    assert len(host_check(**facts)) == 1


def test_no_probe_no_refusal_and_off_checks_nothing():
    assert host_check(probe=None) == []
    inp, p = plan()
    assert _checks.check_host_execution_sandbox(inp, p, host(execution_sandbox=dict(PROBE_OK, probe=failed("x"))),
                                                "web1") == []


def test_the_host_check_runs_for_main_only_and_after_the_users():
    inp, p = plan(qwen_code_execution_sandbox=ON)
    p = dict(p, launcher_links=[])
    h = host(execution_sandbox=dict(PROBE_OK, probe=failed("unshare"), seccomp=2))
    assert _checks.run_host_checks("main", inp, p, h, "web1")[0] == "host_execution_sandbox"
    assert _checks.run_host_checks("install", inp, p, h, "web1") == (None, [])
    assert _checks.run_host_checks("main", inp, p, dict(h, missing_users=["alice"]), "web1")[0] == "host_users"


def test_the_release_check_runs_for_main():
    inp, p = plan(qwen_code_execution_sandbox=ON, qwen_code_version="0.23.4")
    assert _checks.run_release_checks("main", inp, p, lambda: [])[0] == "execution_sandbox"
    assert _checks.run_release_checks("install", inp, p, lambda: []) == (None, [])
