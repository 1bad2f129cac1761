# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

How a module running as root touches anything inside a user's home: **as that user**, never by path name as root.

Why. A user owns every directory entry in their home and can swap any path component for a symbolic link between
root's check and root's use: ``renameat2(RENAME_EXCHANGE)`` makes the window a microsecond and the swap can be
repeated for ever. Root that checks ``islink(~/.qwen)`` and then calls ``chown``/``chmod``/``open`` by name hands
the user ``/etc`` sooner or later. There are two sound defences:

1. root works strictly through file descriptors (``O_NOFOLLOW|O_DIRECTORY`` for the home, then ``openat``,
   ``mkdirat``, ``fchown``, ``fchmod``, ``dir_fd=`` renames), checking every component it walks;
2. a forked child drops to the user's uid, gid and supplementary groups before it touches the home, so whatever
   a planted link points at, the child has exactly the user's rights: a link to ``/etc`` gets ``EACCES``.

This collection uses (2), for these reasons:

- it cannot be got wrong by a later edit: code run through :func:`as_user` may use ordinary path functions, and
  no audit of each component is needed; (1) breaks silently the first time someone writes ``open(path)``;
- homes on NFS with ``root_squash`` (common in enterprises) refuse root's writes altogether; the user's own
  identity works there, descriptors held by root do not;
- files are created with the user's ownership by the kernel, so there is no window in which a secret-bearing
  file belongs to root or carries looser permissions;
- a user's own ``~/.qwen`` link to a directory they own elsewhere keeps working, followed with their rights only.

The price: what root alone may do (give a root-owned ``~/.qwen`` back to its user, say) is refused with a message
that names the user and the fix, instead of being done. A user's bad home fails that user only; callers configure
everyone else and then fail naming the users that could not be configured.

The child is not dumpable after the uid change (the kernel clears the flag on a credential change and this module
sets it again explicitly where ``prctl`` is available), so the user can neither ptrace it nor read its memory,
which holds the module's arguments. It exits with ``os._exit``: no atexit handler of the module (such as
AnsibleModule's temporary-directory cleanup) runs twice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import json
import os
import select
import signal
import time

# Seconds a child may take (a hung NFS home must not hang the whole run).
DEFAULT_TIMEOUT = 120
_PR_SET_DUMPABLE = 4


class UserHomeError(Exception):
    """Something in a user's home could not be done as that user (the message is meant for the operator)."""


def _set_not_dumpable():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # libc is in the process already
    except (OSError, AttributeError):
        pass  # the kernel already cleared the flag on the uid change


def drop_privileges(pw):
    """Become the user of the pwd entry pw for good (real, effective and saved ids, supplementary groups)."""
    groups = os.getgrouplist(pw.pw_name, pw.pw_gid)
    os.setgroups(groups)
    os.setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid)
    os.setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid)
    if os.getresuid() != (pw.pw_uid,) * 3 or os.getresgid() != (pw.pw_gid,) * 3:
        raise UserHomeError("could not drop privileges to %s" % pw.pw_name)
    try:
        os.setuid(0)
    except OSError:
        pass
    else:
        raise UserHomeError("privileges of root could be regained after dropping to %s" % pw.pw_name)
    _set_not_dumpable()


def _describe(exc):
    if isinstance(exc, EnvironmentError) and getattr(exc, "strerror", None):
        where = getattr(exc, "filename", None)
        return "%s%s" % (exc.strerror, (": %s" % where) if where else "")
    return str(exc) or type(exc).__name__


def read_child(pid, read_end, timeout):
    """Everything a forked child writes to its pipe until it closes it, then reaped; None when it takes longer than
    timeout seconds (it is killed). Closes read_end."""
    chunks, deadline = [], time.time() + timeout
    try:
        while True:
            left = deadline - time.time()
            if left <= 0 or not select.select([read_end], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                return None
            chunk = os.read(read_end, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)


def as_user(pw, func, *args, **kwargs):
    """Run func(*args, **kwargs) with the identity of pw (a pwd entry) and return its result, which must be
    JSON-serialisable. The work happens in a forked child that drops to the user before calling func, so func may
    use ordinary path functions anywhere in the user's home.

    When the module already runs as that user, func runs in this process. A non-root module asked to act as
    another user raises UserHomeError, as does any exception raised by func (with its message), a child that
    dies, and a child that takes longer than DEFAULT_TIMEOUT seconds (it is killed).
    """
    timeout = kwargs.pop("_timeout", DEFAULT_TIMEOUT)
    if os.geteuid() == pw.pw_uid:
        try:
            return func(*args, **kwargs)
        except UserHomeError:
            raise
        except Exception as e:  # pylint: disable=broad-except  # reported per user, never as a traceback
            raise UserHomeError(_describe(e))
    if os.geteuid() != 0:
        raise UserHomeError("cannot act as %s: this runs as uid %d, not as root or as %s (use become: true)"
                            % (pw.pw_name, os.geteuid(), pw.pw_name))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        try:
            os.close(read_end)
            drop_privileges(pw)
            os.umask(0o077)
            os.chdir("/")
            try:
                payload = {"result": func(*args, **kwargs)}
            except Exception as e:  # pylint: disable=broad-except
                payload = {"error": _describe(e)}
            data = json.dumps(payload).encode("utf-8")
            while data:
                data = data[os.write(write_end, data):]
        except BaseException:  # pylint: disable=broad-except
            status = 1
        finally:
            os._exit(status)  # pylint: disable=protected-access
    os.close(write_end)
    data = read_child(pid, read_end, timeout)
    if data is None:
        raise UserHomeError("gave up after %d s acting as %s (a hung network home?)" % (timeout, pw.pw_name))
    try:
        payload = json.loads(data.decode("utf-8"))
    except ValueError:
        raise UserHomeError("the process acting as %s ended without an answer" % pw.pw_name)
    if "error" in payload:
        raise UserHomeError(payload["error"])
    return payload["result"]
