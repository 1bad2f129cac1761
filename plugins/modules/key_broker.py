#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: key_broker
short_description: Run the key broker that holds the users' provider keys (qwen_code_key_isolation)
version_added: "0.3.0"
description:
  - With O(state=present), in one call - the system account O(account) (no home, no shell, never root and never a
    configured user); the broker's script as a versioned file under O(install_root)C(/broker/<digest>/) (older ones
    are removed once the new one runs); its config (routes, each with the user's uid read here, the upstream proxy,
    the CA bundle) in C(/etc/qwen-code/broker/config.json), C(root:)O(account) 0640 in a 0750 directory, so that no
    configured user can read a key; and the service.
  - The service is a systemd socket and service unit where systemd runs (systemd binds the port; the service runs
    as O(account), hardened), and otherwise the broker's own supervisor (it binds the port as root, serves from a
    child process that runs as O(account), restarts it when it dies and rotates its log in
    C(/var/log/qwen-key-broker/)). The supervisor is not restarted at boot.
  - A changed config reloads the broker (SIGHUP - running streams finish with the old keys); a new script or Node
    restarts it. Each change is followed by a health request to the broker.
  - With O(state=absent), stops and removes the service, the config, the log, the scripts and the account.
author:
  - qwenops contributors (@qwenops)
options:
  state:
    description: V(present) installs and runs the broker, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  routes:
    description: What the broker needs per token (the provider_plans filter's C(routes)) - C(token), C(user),
      C(provider), C(protocol), C(upstream), C(key). Holds keys.
    type: list
    elements: dict
    default: []
  port:
    description: The loopback port, below 1024.
    type: int
    default: 1009
  account:
    description: The system account the broker runs as.
    type: str
    default: qwen-broker
  install_root:
    description: The collection's install root (the script goes under its C(broker) directory).
    type: path
    default: /opt/qwen-code
  script:
    description: The broker's script (C(roles/qwen_code/files/qwen-key-broker.js)), its content.
    type: str
    default: ""
  node:
    description: The Node binary that runs it.
    type: path
    default: /usr/bin/node
  https_proxy:
    description: The proxy for HTTPS upstreams (may hold a password - never on a command line).
    type: str
    default: ""
  http_proxy:
    description: The proxy for HTTP upstreams.
    type: str
    default: ""
  no_proxy:
    description: Hosts reached without a proxy.
    type: str
    default: ""
  ca_file:
    description: A PEM bundle the broker trusts besides Node's own roots (C(qwen_code_ca_bundle) on the host).
    type: path
    default: ""
  service_manager:
    description: V(auto) uses systemd where it runs (C(/run/systemd/system)), else the supervisor.
    type: str
    choices: [auto, systemd, supervisor]
    default: auto
  users:
    description: The configured users; the account may be none of them.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.no_diff
notes:
  - Runs as root. Use C(no_log) - the routes hold keys.
"""

EXAMPLES = r"""
- name: Run the key broker
  qwenops.qwen_code.key_broker:
    routes: "{{ plans.routes }}"
    script: "{{ lookup('ansible.builtin.file', 'qwen-key-broker.js') }}"
    node: /opt/qwen-code/node/22.21.1/bin/node
  no_log: true
"""

RETURN = r"""
manager:
  description: The service manager used (systemd or supervisor).
  returned: always
  type: str
script:
  description: Where the broker's script is.
  returned: state=present
  type: str
actions:
  description: What changed (account, script, config, units, started, reloaded, restarted, removed...).
  returned: always
  type: list
  elements: str
"""

import grp
import hashlib
import os
import pwd
import shutil
import shlex
import signal
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.qwenops.qwen_code.plugins.module_utils._atomic_write import atomic_write
from ansible_collections.qwenops.qwen_code.plugins.module_utils._key_broker import (
    CONFIG_DIR, CONFIG_PATH, HOST, LOG_DIR, PIDFILE, PROTOCOLS, SCRIPT, UNIT, account_problem, config, dumps, health,
    port_problem)

UNIT_DIR = "/etc/systemd/system"
SOCKET_UNIT = """# Written by the qwenops.qwen_code role (qwen_code_key_isolation). systemd binds the broker's port: a port
# below 1024, so no user can listen there in its place.
[Unit]
Description=qwen key broker socket (qwenops.qwen_code)

[Socket]
ListenStream={host}:{port}
NoDelay=true

[Install]
WantedBy=sockets.target
"""
SERVICE_UNIT = """# Written by the qwenops.qwen_code role (qwen_code_key_isolation): the key broker, which holds the users'
# provider keys, as its own account, with the socket of {unit}.socket.
[Unit]
Description=qwen key broker (qwenops.qwen_code)
Requires={unit}.socket
After={unit}.socket network-online.target

[Service]
Type=simple
User={account}
Group={account}
ExecStart={node} {script} serve --config {config}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=1
NoNewPrivileges=true
ProtectSystem=strict
ProtectHome=true
PrivateTmp=true
PrivateDevices=true
ProtectKernelTunables=true
ProtectKernelModules=true
ProtectKernelLogs=true
ProtectControlGroups=true
ProtectClock=true
ProtectHostname=true
RestrictNamespaces=true
RestrictRealtime=true
RestrictSUIDSGID=true
LockPersonality=true
CapabilityBoundingSet=
AmbientCapabilities=
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
IPAddressDeny=any
IPAddressAllow=localhost
MemoryMax=512M
TasksMax=256
LimitNOFILE=4096
UMask=0077

[Install]
WantedBy=multi-user.target
"""


def _account(module, name, users, actions):
    problem = account_problem(name, users)
    if problem:
        module.fail_json(msg=problem)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        entry = None
    if entry is None:
        actions.append("account")
        if module.check_mode:
            return None
        shell = next((p for p in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false") if os.path.exists(p)))
        module.run_command(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                            "--shell", shell, name], check_rc=True)
        entry = pwd.getpwnam(name)
    if entry.pw_uid == 0:
        module.fail_json(msg="qwen_code_key_broker_account %s has uid 0: the broker never runs as root" % name)
    return entry


def _ensure_dir(module, path, uid, gid, mode, actions):
    try:
        st = os.lstat(path)
    except OSError:
        st = None
    if st is not None and (not os.path.isdir(path) or os.path.islink(path)):
        module.fail_json(msg="%s must be a directory (not a link or a file)" % path)
    if st is None or (st.st_uid, st.st_gid, st.st_mode & 0o7777) != (uid, gid, mode):
        actions.append("dir " + path)
        if not module.check_mode:
            if st is None:
                os.makedirs(path, mode)
            os.chown(path, uid, gid)
            os.chmod(path, mode)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except (IOError, OSError):
        return None


def _write_if_changed(module, path, data, uid, gid, mode, actions, label):
    data = data.encode("utf-8") if not isinstance(data, bytes) else data
    try:
        st = os.lstat(path)
        same_meta = (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (uid, gid, mode) and not os.path.islink(path)
    except OSError:
        same_meta = False
    if same_meta and _read(path) == data:
        return False
    actions.append(label)
    if not module.check_mode:
        atomic_write(path, data, uid=uid, gid=gid, mode=mode)
    return True


def _health(port, routes, timeout=15.0):
    """Whether the broker answers /_broker/health with this many routes, within timeout seconds."""
    deadline = time.time() + timeout
    last = "no answer"
    while time.time() < deadline:
        answer, last = health(port)
        if answer is not None and answer.get("routes") == routes:
            return True, ""
        if answer is not None:
            last = "it has %s routes, not %s" % (answer.get("routes"), routes)
        time.sleep(0.1)
    return False, last


def _supervisor_pid():
    """The running supervisor's (pid, command line), or (None, None)."""
    data = _read(PIDFILE)
    try:
        pid = int(data.decode("ascii").strip())
        cmdline = _read("/proc/%d/cmdline" % pid).split(b"\0")
    except (AttributeError, ValueError, UnicodeDecodeError):
        return None, None
    if b"supervise" not in cmdline or not any(c.endswith(SCRIPT.encode()) for c in cmdline):
        return None, None
    return pid, cmdline


def _stop_supervisor(pid):
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    for dummy in range(150):
        if not os.path.exists("/proc/%d" % pid):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def _start_supervisor(module, node, script, account):
    """Start the supervisor detached: its own session (setsid -f forks it off), no terminal, stdio on /dev/null, so
    that the module's run_command returns at once. The arguments are paths and names, no secret."""
    if not os.path.isdir(LOG_DIR):
        os.makedirs(LOG_DIR, 0o750)
    os.chmod(LOG_DIR, 0o750)
    argv = [node, script, "supervise", "--config", CONFIG_PATH, "--user", account, "--log", LOG_DIR + "/broker.log",
            "--pidfile", PIDFILE]
    rc, dummy, err = module.run_command(
        "cd / && exec setsid -f %s </dev/null >/dev/null 2>&1" % " ".join(shlex.quote(a) for a in argv),
        use_unsafe_shell=True, environ_update={"LANG": "C.UTF-8"})
    if rc:
        module.fail_json(msg="could not start the key broker's supervisor (setsid -f %s): %s" % (script, err.strip()))


def _systemctl(module, *args):
    return module.run_command(["systemctl"] + list(args))


PORT_START = "/proc/sys/net/ipv4/ip_unprivileged_port_start"


def port_start_problem(port, path=PORT_START):
    """A message when users may bind port on this host (net.ipv4.ip_unprivileged_port_start at or below it: Docker
    sets it to 0 in containers), else None."""
    data = _read(path)
    try:
        start = int(data.decode("ascii").strip())
    except (AttributeError, ValueError, UnicodeDecodeError):
        return None  # a kernel without the setting (before 4.11): ports below 1024 are root's
    if start > port:
        return None
    return ("net.ipv4.ip_unprivileged_port_start is %d on this host, so any user may listen on 127.0.0.1:%d in the "
            "key broker's place: set it to 1024 (sysctl -w net.ipv4.ip_unprivileged_port_start=1024 and a file in "
            "/etc/sysctl.d; in a container, docker run --sysctl net.ipv4.ip_unprivileged_port_start=1024)%s"
            % (start, port, ", or choose a qwen_code_key_broker_port below %d" % start if start > 1 else ""))


def present(module, p, actions):
    problem = port_start_problem(p["port"])
    if problem:
        module.fail_json(msg=problem)
    for r in p["routes"]:
        if r.get("protocol") not in PROTOCOLS:
            module.fail_json(msg="a route of %s has an unknown protocol" % r.get("user"))
    entry = _account(module, p["account"], p["users"], actions)
    uids = {}
    for user in sorted(set(r["user"] for r in p["routes"])):
        try:
            uids[user] = pwd.getpwnam(user).pw_uid
        except KeyError:
            module.fail_json(msg="user %s does not exist on this host" % user)
    gid = entry.pw_gid if entry else 0
    script_digest = hashlib.sha256(p["script"].encode("utf-8")).hexdigest()[:16]
    broker_dir = os.path.join(p["install_root"], "broker")
    script_dir = os.path.join(broker_dir, script_digest)
    script = os.path.join(script_dir, SCRIPT)
    if not os.path.isdir(p["install_root"]):
        module.fail_json(msg="the install root %s does not exist: the broker is installed after the CLI"
                         % p["install_root"])
    _ensure_dir(module, broker_dir, 0, 0, 0o755, actions)
    _ensure_dir(module, script_dir, 0, 0, 0o755, actions)
    script_changed = False
    if not module.check_mode or os.path.isdir(script_dir):
        script_changed = _write_if_changed(module, script, p["script"], 0, 0, 0o644, actions, "script")
    _ensure_dir(module, os.path.dirname(CONFIG_DIR), 0, 0, 0o755, actions)
    _ensure_dir(module, CONFIG_DIR, 0, gid, 0o750, actions)
    data = config(p["port"], p["routes"], uids, p["https_proxy"], p["http_proxy"], p["no_proxy"], p["ca_file"])
    config_changed = False
    if not module.check_mode or os.path.isdir(CONFIG_DIR):
        config_changed = _write_if_changed(module, CONFIG_PATH, dumps(data), 0, gid, 0o640, actions, "config")
    manager = p["service_manager"]
    if manager == "auto":
        manager = "systemd" if os.path.isdir("/run/systemd/system") and shutil.which("systemctl") else "supervisor"
    if manager == "systemd":
        _systemd(module, p, script, actions, script_changed, config_changed)
    else:
        _supervisor(module, p, script, actions, config_changed)
    if not module.check_mode:
        ok, why = _health(p["port"], len(data["routes"]))
        if not ok:
            module.fail_json(msg="the key broker does not answer on %s:%d (%s): see %s" % (
                HOST, p["port"], why, "journalctl -u %s" % UNIT if manager == "systemd" else LOG_DIR + "/broker.log"),
                manager=manager, actions=actions)
        for old in sorted(os.listdir(broker_dir)):
            if old != script_digest and os.path.isdir(os.path.join(broker_dir, old)) \
                    and not os.path.islink(os.path.join(broker_dir, old)):
                shutil.rmtree(os.path.join(broker_dir, old))
                actions.append("pruned " + old)
    return manager, script


def _supervisor(module, p, script, actions, config_changed):
    pid, cmdline = _supervisor_pid()
    want = [p["node"].encode(), script.encode()]
    if pid is not None and cmdline[:2] != want:
        actions.append("restarted")
        if not module.check_mode:
            _stop_supervisor(pid)
        pid = None
    elif pid is not None and config_changed:
        actions.append("reloaded")
        if not module.check_mode:
            os.kill(pid, signal.SIGHUP)
    if pid is None:
        if "restarted" not in actions:
            actions.append("started")
        if not module.check_mode:
            _start_supervisor(module, p["node"], script, p["account"])


def _systemd(module, p, script, actions, script_changed, config_changed):
    units = {
        UNIT + ".socket": SOCKET_UNIT.format(host=HOST, port=p["port"]),
        UNIT + ".service": SERVICE_UNIT.format(unit=UNIT, account=p["account"], node=p["node"], script=script,
                                               config=CONFIG_PATH, ip_allow=""),
    }
    changed_units = [name for name, text in units.items()
                     if _write_if_changed(module, os.path.join(UNIT_DIR, name), text, 0, 0, 0o644, actions,
                                          "unit " + name)]
    if module.check_mode:
        return
    if changed_units:
        _systemctl(module, "daemon-reload")
    rc, out, dummy = _systemctl(module, "is-enabled", UNIT + ".socket")
    if out.strip() != "enabled":
        _systemctl(module, "enable", UNIT + ".socket")
        actions.append("enabled")
    rc, out, dummy = _systemctl(module, "is-active", UNIT + ".socket")
    if UNIT + ".socket" in changed_units or out.strip() != "active":
        _systemctl(module, "stop", UNIT + ".service")
        rc, out, err = _systemctl(module, "restart", UNIT + ".socket")
        if rc:
            module.fail_json(msg="systemctl restart %s.socket failed: %s" % (UNIT, err.strip()))
        actions.append("socket started")
    rc, out, dummy = _systemctl(module, "is-active", UNIT + ".service")
    active = out.strip() == "active"
    if active and (script_changed or UNIT + ".service" in changed_units):
        _systemctl(module, "restart", UNIT + ".service")
        actions.append("restarted")
    elif active and config_changed:
        _systemctl(module, "reload", UNIT + ".service")
        actions.append("reloaded")
    elif not active:
        rc, out, err = _systemctl(module, "start", UNIT + ".service")
        if rc:
            module.fail_json(msg="systemctl start %s.service failed: %s" % (UNIT, err.strip()))
        actions.append("started")


def absent(module, p, actions):
    manager = "supervisor"
    for name in (UNIT + ".service", UNIT + ".socket"):
        path = os.path.join(UNIT_DIR, name)
        if os.path.exists(path):
            manager = "systemd"
            actions.append("unit " + name)
            if not module.check_mode:
                _systemctl(module, "disable", "--now", name)
                os.unlink(path)
    if manager == "systemd" and not module.check_mode:
        _systemctl(module, "daemon-reload")
    pid, dummy = _supervisor_pid()
    if pid is not None:
        actions.append("stopped")
        if not module.check_mode:
            _stop_supervisor(pid)
    for path in (CONFIG_DIR, LOG_DIR, os.path.join(p["install_root"], "broker")):
        if os.path.lexists(path):
            actions.append("removed " + path)
            if not module.check_mode:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
    try:
        pwd.getpwnam(p["account"])
        actions.append("account")
        if not module.check_mode:
            module.run_command(["userdel", p["account"]], check_rc=True)
            try:
                grp.getgrnam(p["account"])
                module.run_command(["groupdel", p["account"]])
            except KeyError:
                pass
    except KeyError:
        pass
    return manager


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            routes=dict(type="list", elements="dict", default=[], no_log=True),
            port=dict(type="int", default=1009),
            account=dict(type="str", default="qwen-broker"),
            install_root=dict(type="path", default="/opt/qwen-code"),
            script=dict(type="str", default=""),
            node=dict(type="path", default="/usr/bin/node"),
            https_proxy=dict(type="str", default="", no_log=True),
            http_proxy=dict(type="str", default="", no_log=True),
            no_proxy=dict(type="str", default=""),
            ca_file=dict(type="path", default=""),
            service_manager=dict(type="str", choices=["auto", "systemd", "supervisor"], default="auto"),
            users=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    actions = []
    if p["state"] == "absent":
        manager = absent(module, p, actions)
        module.exit_json(changed=bool(actions), manager=manager, actions=actions)
    problem = port_problem(p["port"])
    if problem:
        module.fail_json(msg=problem)
    if not p["script"]:
        module.fail_json(msg="script is empty: give the broker's script (qwen-key-broker.js)")
    manager, script = present(module, p, actions)
    module.exit_json(changed=bool(actions), manager=manager, script=script, actions=actions)


if __name__ == "__main__":
    main()
