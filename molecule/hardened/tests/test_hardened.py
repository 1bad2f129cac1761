"""A host whose sudo runs root's commands with umask 0077: what the role made is usable by every user."""
import pytest

from molecule_verify import as_user
from releases import DEFAULT

USERS = ["alice", "bob"]


def test_roots_commands_really_ran_under_umask_0077(host):
    assert host.check_output("sudo -n sh -c umask").strip() == "0077"


@pytest.mark.parametrize("path,mode", [
    ("/opt/qwen-code", 0o755),
    ("/opt/qwen-code/node", 0o755),
    ("/opt/qwen-code/cli", 0o755),
    ("/opt/qwen-code/cli/" + DEFAULT, 0o755),
    ("/etc/qwen-code", 0o755),
    ("/etc/qwen-code/settings.json", 0o644),
    ("/etc/qwen-code/ca-bundle.pem", 0o644),
    ("/usr/local/bin/qwen", 0o755),
])
def test_shared_files_have_their_modes(host, path, mode):
    assert host.file(path).mode == mode, path


def test_every_file_of_the_install_is_readable_by_all(host):
    # Nothing under the install root that another user could not read (or enter).
    hidden = host.check_output("find /opt/qwen-code ! -perm -o+r -print -o -type d ! -perm -o+x -print | head -5")
    assert hidden == ""


@pytest.mark.parametrize("user", USERS)
def test_qwen_answers_as_each_user(host, user):
    # Testinfra connects as deploy, like Ansible: root through sudo.
    cmd = host.run("sudo -n " + as_user(user, "cd /tmp && echo test | qwen -p summarize"))
    assert cmd.rc == 0, cmd.stderr
    assert "QWENOPS-STUB-ANSWER" in cmd.stdout
