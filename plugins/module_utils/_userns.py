# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

Whether an unprivileged user may do what bubblewrap does for qwen's execution sandbox (tools.executionSandbox,
qwen 0.24): create a user namespace with a mount, PID and network namespace, map itself, make the mounts private
and mount a fresh /proc. install_info calls probe() as a configured user (_user_home.as_user: a forked child with
the user's uid, gid and groups), on the host, before anything is installed: bwrap itself may not be there yet.

Why syscalls through ctypes in a fresh Python and not `unshare -U true` or bwrap: the probe must run with the user's
identity and nothing else, which a forked child that drops to the user (_user_home.drop_privileges) has; a command
would need sudo or setpriv in between (one more thing that may be missing or configured differently), util-linux's
unshare does not try the mounts bwrap needs, and bwrap is what the role is about to install. The child execs the
module's own interpreter on PROBE_SOURCE rather than probing in the forked module: once it owns a user namespace,
the user could ptrace it, and exec leaves nothing of the module's arguments in it. Each step is the one bwrap
takes, so each failure names a cause:

- unshare fails (EPERM, ENOSPC, EINVAL): Debian's kernel.unprivileged_userns_clone=0, user.max_user_namespaces=0
  (RHEL), or a seccomp filter (Docker's default profile refuses unshare with namespace flags);
- the mount fails (EPERM, EACCES) after unshare succeeded: Ubuntu 24.04's
  kernel.apparmor_restrict_unprivileged_userns=1 (the namespace has no capabilities without an AppArmor profile)
  or Docker's AppArmor profile (docker-default denies mount);
- /proc cannot be mounted: the container masks parts of /proc (Docker's default "system paths"), and the kernel
  refuses a new proc mount where the existing one is partly covered.

The sysctls and whether a seccomp filter is on are read too, so that the preflight can name the fix
(_checks.check_host_execution_sandbox)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os

from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_home import drop_privileges, read_child

SYSCTLS = {
    "kernel.unprivileged_userns_clone": "/proc/sys/kernel/unprivileged_userns_clone",
    "user.max_user_namespaces": "/proc/sys/user/max_user_namespaces",
    "kernel.apparmor_restrict_unprivileged_userns": "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
}
APPARMOR_DIR = "/etc/apparmor.d"


def read_sysctls(paths=None):
    """Each sysctl above that the kernel has: {name: int}."""
    found = {}
    for name, path in (paths or SYSCTLS).items():
        try:
            with open(path) as f:
                found[name] = int(f.read().strip())
        except (IOError, OSError, ValueError):
            continue
    return found


def seccomp_mode(status_path="/proc/self/status"):
    """The Seccomp field of /proc/self/status: 0 none, 1 strict, 2 a filter (Docker's default profile is one)."""
    try:
        with open(status_path) as f:
            for line in f:
                if line.startswith("Seccomp:"):
                    return int(line.split()[1])
    except (IOError, OSError, ValueError, IndexError):
        pass
    return None


def bwrap_apparmor_profile(directory=APPARMOR_DIR):
    """Whether an AppArmor profile grants /usr/bin/bwrap user namespaces (Ubuntu 24.04 needs one when
    kernel.apparmor_restrict_unprivileged_userns=1; the probe itself runs unconfined by such a profile)."""
    for path in sorted(glob.glob(os.path.join(directory, "*"))):
        try:
            with open(path) as f:
                text = f.read(65536)
        except (IOError, OSError):
            continue
        if "/usr/bin/bwrap" in text and "userns" in text:
            return True
    return False


# The probe itself, run by a fresh interpreter as the user (run_probe): exec leaves nothing of the module's memory
# (its arguments) in the process, which the user may ptrace once it has created a namespace of its own. It prints
# {"ok": true} or {"ok": false, "step": unshare|map|mount|proc, "errno": name}.
PROBE_SOURCE = r"""
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def done(step=None, err=0):
    out = {"ok": True} if step is None else {"ok": False, "step": step, "errno": errno.errorcode.get(err, str(err))}
    sys.stdout.write(json.dumps(out))
    sys.stdout.flush()
    os._exit(0)
uid, gid = os.getuid(), os.getgid()
# CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET, as bwrap with --unshare-pid and --unshare-net
if libc.unshare(0x10000000 | 0x00020000 | 0x20000000 | 0x40000000) != 0:
    done("unshare", ctypes.get_errno())
try:
    for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", "%d %d 1" % (uid, uid)),
                       ("/proc/self/gid_map", "%d %d 1" % (gid, gid))):
        with open(path, "w") as f:
            f.write(text)
except OSError as e:
    done("map", e.errno or errno.EPERM)
if libc.mount(None, b"/", None, 0x4000 | (1 << 18), None) != 0:  # MS_REC | MS_PRIVATE
    done("mount", ctypes.get_errno())
# The first child in the new PID namespace is its init and may mount that namespace's proc (bwrap's --proc /proc).
pid = os.fork()
if pid == 0:
    code = 0 if libc.mount(b"proc", b"/proc", b"proc", 2 | 4 | 8, None) == 0 else (ctypes.get_errno() or 1)
    os._exit(min(code, 255))
status = os.waitpid(pid, 0)[1]
code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else errno.EINTR
done("proc", code) if code else done()
"""
# Seconds the probe may take.
TIMEOUT = 20


def run_probe(pw, python, drop=drop_privileges):
    """PROBE_SOURCE in a fresh interpreter (python) as the user of the pwd entry pw (drop: how root becomes that
    user; a process that is the user already drops nothing). Its answer, or {ok: false, step: "start", error} when it
    gave none."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(read_end)
            if os.geteuid() != pw.pw_uid:
                drop(pw)
            os.chdir("/")
            os.dup2(write_end, 1)
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            os.dup2(null, 2)
            os.execv(python, [python, "-I", "-S", "-c", PROBE_SOURCE])
        finally:
            os._exit(127)  # pylint: disable=protected-access
    os.close(write_end)
    data = read_child(pid, read_end, TIMEOUT)
    try:
        answer = json.loads((data or b"").decode("utf-8"))
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        return dict(ok=False, step="start", errno="", error="the probe as %s gave no answer" % pw.pw_name)
    return answer


def host_facts():
    """What names the fix when the probe fails (read as root or as anyone: world-readable)."""
    return dict(sysctls=read_sysctls(), seccomp=seccomp_mode(), bwrap_profile=bwrap_apparmor_profile(),
                bwrap=os.path.exists("/usr/bin/bwrap"))
