"""qwen_code_execution_sandbox, after side_effect.yml: the system settings carry tools.executionSandbox exactly where
it is on, bubblewrap is installed there alone, and the command under the sandbox wrote nothing outside the
workspace."""
import json


def sandboxed(host):
    return "qwen-sandbox-on" in host.backend.get_hostname()


def test_the_system_settings_carry_the_sandbox_where_it_is_on(host):
    settings = json.loads(host.file("/etc/qwen-code/settings.json").content_string)
    sandbox = settings.get("tools", {}).get("executionSandbox")
    if sandboxed(host):
        assert sandbox == {"backend": "bwrap", "filesystem": "workspace-write", "network": "closed"}
    else:
        assert sandbox is None


def test_bubblewrap_is_installed_where_the_sandbox_is_on(host):
    assert host.file("/usr/bin/bwrap").exists == sandboxed(host)


def test_nothing_was_written_outside_the_workspace_under_the_sandbox(host):
    assert host.file("/var/tmp/qwenops-sbx-alice").exists != sandboxed(host)
    assert host.file("/srv/work/alice/inside").exists
