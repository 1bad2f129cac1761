"""Simulated Ubuntu-like and Rocky-like hosts (Debian's rootfs with those distributions' files): the private Node
works without anything Debian-specific, the launcher is reachable through sudo -u on both, modes and owners are
those promised, and the distro method is refused where there is no apt."""
import json
import os
import subprocess
import tempfile

import pytest

from molecule_verify import CANARY, as_user
from releases import DEFAULT

INVENTORY = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory")


def is_rocky(host):
    return host.file("/etc/rocky-release").exists


def test_the_userland_is_what_it_pretends(host):
    release = host.file("/etc/os-release").content_string
    if is_rocky(host):
        assert 'ID="rocky"' in release and not host.file("/etc/debian_version").exists
        assert host.run("command -v apt-get || command -v dpkg").rc != 0
    else:
        assert "ID=ubuntu" in release


def test_qwen_answers_after_sudo_u_and_sudo_iu(host):
    for how in ("sudo -iu alice", "sudo -u alice"):
        out = host.run("cd /tmp && echo test | %s qwen -p summarize" % how)
        assert out.rc == 0 and "QWENOPS-STUB-ANSWER" in out.stdout, (how, out.stderr[-1500:])


def test_the_launcher_is_linked_into_secure_path_only_where_needed(host):
    link = host.file("/usr/bin/qwen")
    if is_rocky(host):
        assert link.is_symlink and link.linked_to == "/usr/local/bin/qwen"
        manifest = json.loads(host.file("/var/lib/qwen-code/manifest.json").content_string)
        assert manifest["launcher"]["links"] == ["/usr/bin/qwen"]
    else:
        assert not link.exists  # Ubuntu's secure_path has /usr/local/bin


def test_modes_and_owners(host):
    home = host.file("/home/alice/.qwen")
    assert (home.user, home.mode) == ("alice", 0o700)
    for name in (".env", "settings.json"):
        f = host.file("/home/alice/.qwen/" + name)
        assert (f.user, f.group, f.mode) == ("alice", "alice", 0o600), name
    launcher = host.file("/usr/local/bin/qwen")
    assert (launcher.user, launcher.mode) == ("root", 0o755)
    system = host.file("/etc/qwen-code/settings.json")
    assert (system.user, system.mode) == ("root", 0o644) and CANARY not in system.content_string
    assert host.file("/opt/qwen-code").user == "root"
    out = host.run(as_user("alice", "qwen --version"))
    assert out.rc == 0 and out.stdout.strip() == DEFAULT


def test_the_distro_method_is_refused_without_apt_and_changes_nothing(host):
    if not is_rocky(host):
        pytest.skip("the Ubuntu-like host has apt")
    before = host.run("find /opt/qwen-code /etc/qwen-code /home/alice/.qwen /usr/bin/qwen -maxdepth 2 "
                      "-printf '%p %m %s %T@\\n' | sort").stdout
    fd, vars_file = tempfile.mkstemp(suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"qwen_code_node_method": "distro"}, f)
    try:
        done = subprocess.run(["ansible-playbook", "-i", INVENTORY, "qwenops.qwen_code.provision", "-e",
                               "@" + vars_file, "--limit", "qwen-distros-rocky"],
                              capture_output=True, text=True, timeout=900, check=False)
    finally:
        os.unlink(vars_file)
    output = done.stdout + done.stderr
    assert done.returncode != 0, output[-3000:]
    assert "installs the nodejs package with apt, which this host (Rocky 9.4, package manager: none)" in output
    assert CANARY not in output
    after = host.run("find /opt/qwen-code /etc/qwen-code /home/alice/.qwen /usr/bin/qwen -maxdepth 2 "
                     "-printf '%p %m %s %T@\\n' | sort").stdout
    assert before == after
