"""Hosts reached over SSH as `deploy`, root through sudo; one of them with `Defaults requiretty`.

Testinfra's commands go through Ansible's ssh connection with Molecule's inventory (ssh to 127.0.0.1:PORT as deploy
with the throwaway key: testinfra hands `ansible.builtin.ssh` hosts to Ansible); root's commands run through
`sudo -n` inside a pseudo-terminal (`script`), which the requiretty host's sudo wants. Whether sudo asks for a terminal
is checked with plain ssh.
The last tests run the collection's provision playbook against the requiretty host, the way the README says, on an
inventory made from Molecule's without the scenario's `ansible_ssh_pipelining: false`: without
`-e ansible_pipelining=false` it fails with sudo's "sorry, you must have a tty"; with it, it converges a new user and
a second run changes nothing. Extra variables go in a 0600 file; each run's output goes to tests/output/logs, which
the canary stage greps."""
import json
import os
import re
import shlex
import subprocess
import tempfile

import pytest

from molecule_verify import CANARY, as_user
from releases import DEFAULT

INVENTORY = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "inventory")
LOGS = os.path.join(os.environ.get("QWEN_REPO", "."), "tests", "output", "logs")
USERS = ["alice", "bob"]
REQUIRETTY = "qwen-ssh-requiretty"
NO_TTY = "sorry, you must have a tty"


def name_of(host):
    return host.backend.get_hostname()


def inventory_vars(name):
    """A host's variables in Molecule's inventory (group variables included)."""
    shown = subprocess.run(["ansible-inventory", "-i", INVENTORY, "--host", name],
                           capture_output=True, text=True, check=True)
    return json.loads(shown.stdout)


def ssh(name, options, command):
    """command run over plain ssh as the inventory's user of host name, stdin closed."""
    v = inventory_vars(name)
    argv = ["ssh", "-i", v["ansible_ssh_private_key_file"], "-p", str(v["ansible_port"]), "-o", "BatchMode=yes"] + \
        shlex.split(v["ansible_ssh_common_args"]) + options + ["%s@%s" % (v["ansible_user"], v["ansible_host"]), command]
    return subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, check=False)


def root(host, cmd):
    """cmd run as root through deploy's sudo in a pseudo-terminal: (rc, output with the terminal's \\r removed)."""
    out = host.run("script -qec %s /dev/null" % shlex.quote("sudo -n " + cmd))
    return out.rc, (out.stdout + out.stderr).replace("\r", "")


def test_testinfra_came_over_ssh_as_deploy(host):
    assert host.check_output("id -un") == "deploy"
    assert host.check_output("printenv SSH_CONNECTION").startswith("127.0.0.1 ")


@pytest.mark.parametrize("name,requiretty", [("qwen-ssh-debian12", False), (REQUIRETTY, True)])
def test_sudo_without_a_terminal_is_refused_only_on_the_requiretty_host(name, requiretty):
    # Plain ssh with the inventory's settings (testinfra runs its commands through Ansible's ssh connection, which
    # gives them a terminal on a host without pipelining).
    bare = ssh(name, [], "sudo -n true")
    if requiretty:
        assert bare.returncode != 0 and NO_TTY in bare.stderr, (bare.returncode, bare.stderr)
    else:
        assert bare.returncode == 0, bare.stderr
    with_tty = ssh(name, ["-tt"], "sudo -n id -un")
    assert with_tty.returncode == 0 and with_tty.stdout.strip() == "root", (with_tty.stdout, with_tty.stderr)


@pytest.mark.parametrize("path,owner,mode", [
    ("/opt/qwen-code", "root", "755"),
    ("/opt/qwen-code/cli/" + DEFAULT, "root", "755"),
    ("/etc/qwen-code/settings.json", "root", "644"),
    ("/usr/local/bin/qwen", "root", "755"),
] + [(p % u, u, m) for u in USERS for p, m in [
    ("/home/%s/.qwen", "700"),
    ("/home/%s/.qwen/.env", "600"),
    ("/home/%s/.qwen/settings.json", "600"),
]])
def test_converge_made_files_with_their_owners_and_modes(host, path, owner, mode):
    rc, text = root(host, "stat -c '%U %a' " + path)
    assert rc == 0 and text.split() == [owner, mode], (path, text)


def test_each_host_talks_to_its_own_stub(host):
    port = {"qwen-ssh-debian12": 18281, REQUIRETTY: 18282}[name_of(host)]
    rc, text = root(host, "grep -h OPENAI_BASE_URL /home/alice/.qwen/.env")
    assert rc == 0 and "http://127.0.0.1:%d/v1" % port in text, text


@pytest.mark.parametrize("user", USERS)
def test_qwen_answers_after_a_login_shell(host, user):
    rc, text = root(host, as_user(user, "cd /tmp && echo test | qwen -p summarize"))
    assert rc == 0 and "QWENOPS-STUB-ANSWER" in text, (user, rc, text[-2000:])


# --- requiretty: the README's -e ansible_pipelining=false, on a plain inventory --------------------------------
def requiretty_inventory(directory):
    """Molecule's variables for the requiretty host, without the scenario's ansible_ssh_pipelining."""
    hostvars = inventory_vars(REQUIRETTY)
    hostvars.pop("ansible_ssh_pipelining")
    path = os.path.join(directory, "inventory.json")
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        json.dump({"all": {"hosts": {REQUIRETTY: hostvars}}}, f)
    return path


def provision(phase, args, extra):
    """ansible-playbook qwenops.qwen_code.provision against the requiretty host alone: (rc, output, changed)."""
    with tempfile.TemporaryDirectory(prefix="ssh-") as tmp:
        vars_file = os.path.join(tmp, "vars.json")
        with os.fdopen(os.open(vars_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            json.dump(extra, f)
        cmd = ["ansible-playbook", "-i", requiretty_inventory(tmp), "qwenops.qwen_code.provision"] + args + \
            ["-e", "@" + vars_file]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    output = done.stdout + done.stderr
    os.makedirs(LOGS, exist_ok=True)
    with open(os.path.join(LOGS, "ssh-%s.log" % phase), "w") as f:
        f.write("$ %s\n%s" % (" ".join(cmd), output))
    assert CANARY not in output
    recap = re.search(r"^%s\s+:\s+ok=\d+\s+changed=(\d+)" % REQUIRETTY, done.stdout, re.M)
    return done.returncode, output, int(recap.group(1)) if recap else None


def test_requiretty_host_fails_with_pipelining_on():
    rc, output, dummy = provision("requiretty-pipelining", [], {})
    assert rc != 0, output[-3000:]
    assert NO_TTY in output, output[-3000:]


def test_requiretty_host_converges_with_pipelining_false_idempotently(host):
    if name_of(host) != REQUIRETTY:
        pytest.skip("the requiretty host only")
    rc, text = root(host, "useradd -m -s /bin/bash carol")
    assert rc == 0, text
    users = {"qwen_code_users": USERS + ["carol"]}
    rc, output, changed = provision("requiretty-no-pipelining", ["-e", "ansible_pipelining=false"], users)
    assert rc == 0 and changed, output[-3000:]
    rc, output, changed = provision("requiretty-no-pipelining-again", ["-e", "ansible_pipelining=false"], users)
    assert rc == 0 and changed == 0, output[-3000:]
    rc, text = root(host, "stat -c '%U %a' /home/carol/.qwen/.env")
    assert rc == 0 and text.split() == ["carol", "600"], text
    rc, text = root(host, as_user("carol", "cd /tmp && echo test | qwen -p summarize"))
    assert rc == 0 and "QWENOPS-STUB-ANSWER" in text, text[-2000:]
