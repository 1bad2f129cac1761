# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

How far a host has moved from its manifest (``_manifest``): the system files and the launcher read by root (they
are root's), every user's files read **as that user** (``_user_home.as_user``), so that a link a user planted in
their home leads nowhere root could read. Only states leave this module (``ok``, ``missing``, ``drifted``,
``invalid``, ``unreadable``), an OAuth expiry time and the names of files: never a value read from a file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import json
import math
import os
import pwd
import stat
import time

from ansible_collections.qwenops.qwen_code.plugins.module_utils._manifest import file_digest, managed_digest
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_files import (
    DIR_MODE, FILE_MODE, SYSTEM_FILE_MODE, strip_json_comments)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_home import UserHomeError, as_user

OAUTH_FILE = "oauth_creds.json"
# What each state means in a problem line (a state of "ok" is no problem).
_SAYS = {"missing": "is missing", "drifted": "differs from what the role wrote",
         "invalid": "is not valid JSON", "unreadable": "cannot be read"}


def _read(path):
    """(state, bytes): ("ok", data), ("missing", None) or ("unreadable", None)."""
    try:
        with open(path, "rb") as f:
            return "ok", f.read()
    except (IOError, OSError) as e:
        return ("missing" if e.errno in (errno.ENOENT, errno.ENOTDIR) else "unreadable"), None


def _parse_object(raw):
    """The JSON object in raw (comments allowed, as the CLI allows them), or None."""
    try:
        data = json.loads(strip_json_comments(raw.decode("utf-8"))) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def file_state(path, record):
    """The state of the file at path against its manifest record: a whole-file digest (``digest`` alone) or the
    digest of the managed values at ``keys``."""
    state, raw = _read(path)
    if state != "ok":
        return state
    if "keys" not in record:
        return "ok" if file_digest(raw) == record.get("digest") else "drifted"
    data = _parse_object(raw)
    if data is None:
        return "invalid"
    return "ok" if managed_digest(data, record.get("keys") or []) == record.get("digest") else "drifted"


def sha256_state(path, want):
    state, raw = _read(path)
    if state != "ok":
        return state
    return "ok" if hashlib.sha256(raw).hexdigest() == want else "drifted"


def oauth_expiry(raw, now):
    """expiry_date (ms), expires_in (s) and expired of credentials, and nothing else of them (None when absent)."""
    data = _parse_object(raw)
    expiry = data.get("expiry_date") if data is not None else None
    if not isinstance(expiry, (int, float)) or isinstance(expiry, bool) or not math.isfinite(expiry) \
            or abs(expiry) > 1e15:
        return dict(expiry_date=None, expires_in=None, expired=None)
    return dict(expiry_date=int(expiry), expires_in=int((expiry - now * 1000) // 1000), expired=expiry <= now * 1000)


def wrong_mode(path, is_dir, mode, uid, gid):
    """Whether path exists as something else than what user_config makes it (private_dir, fix_file): a directory
    (is_dir) or regular file of uid:gid with mode. user_config sets ~/.qwen and each file of the role as the user
    (DIR_MODE, FILE_MODE) and the system files as root (SYSTEM_FILE_MODE); the OAuth credentials are the CLI's to
    rewrite once deployed."""
    try:
        st = os.lstat(path)
    except OSError:
        return False  # a missing file is a state of its own
    kind = stat.S_ISDIR(st.st_mode) if is_dir else stat.S_ISREG(st.st_mode)
    return not kind or (st.st_uid, st.st_gid) != (uid, gid) or stat.S_IMODE(st.st_mode) != mode


def check_home(home, files, now):
    """Run as the user: the states of the recorded files under ~/.qwen, whether ~/.qwen is there, the OAuth
    expiry when the credentials file is there."""
    qwen = os.path.join(home, ".qwen")
    states = {}
    for name, record in sorted(files.items()):
        if name == OAUTH_FILE:
            if record.get("deployed"):
                states[name] = _read(os.path.join(qwen, name))[0]
            continue
        states[name] = file_state(os.path.join(qwen, name), record)
    uid, gid = os.getuid(), os.getgid()
    modes = ["."] if wrong_mode(qwen, True, DIR_MODE, uid, gid) else []
    modes += [name for name in sorted(files) if name != OAUTH_FILE
              and wrong_mode(os.path.join(qwen, name), False, FILE_MODE, uid, gid)]
    out = dict(qwen_dir=os.path.isdir(qwen), files=states, modes=modes)
    state, raw = _read(os.path.join(qwen, OAUTH_FILE))
    if state == "ok":
        out["oauth"] = oauth_expiry(raw, now)
    return out


def account(name, entry):
    """(pwd entry to act as, whether the account exists). An account deleted since the role wrote its files is
    acted as with the uid, gid and home the manifest recorded, so that what is left of it is still seen."""
    try:
        return pwd.getpwnam(name), True
    except KeyError:
        pass
    if not isinstance(entry.get("uid"), int) or not isinstance(entry.get("gid"), int) or not entry.get("home"):
        return None, False
    return pwd.struct_passwd((name, "x", entry["uid"], entry["gid"], "", entry["home"], "/usr/sbin/nologin")), False


def user_drift(name, entry, now):
    """One user's result and problems. entry is the manifest's record of the user ({} when it has none)."""
    pw, exists = account(name, entry)
    result = dict(account_exists=exists, recorded=bool(entry))
    problems = []
    if pw is None:
        return result, ["%s: no such account" % name]
    result.update(uid=pw.pw_uid, home=pw.pw_dir)
    if not entry:
        return result, ["%s: not in the manifest (the role has not configured this user here)" % name]
    if not exists:
        problems.append("%s: the account no longer exists (its files were checked as uid %d)" % (name, pw.pw_uid))
    elif (pw.pw_uid, pw.pw_dir) != (entry.get("uid"), entry.get("home")):
        problems.append("%s: uid or home differs from when the role configured the account" % name)
    try:
        result.update(as_user(pw, check_home, pw.pw_dir, entry.get("files") or {}, now))
    except UserHomeError as e:
        result["error"] = str(e)
        return result, problems + ["%s: could not be checked: %s" % (name, e)]
    if not result["qwen_dir"]:
        problems.append("%s: ~/.qwen is missing" % name)
    problems.extend("%s: ~/.qwen/%s %s" % (name, f, _SAYS[s]) for f, s in sorted(result["files"].items()) if s != "ok")
    problems.extend("%s: ~/.qwen%s is not the user's own %s with mode %s" % (
        name, "" if f == "." else "/" + f, "directory" if f == "." else "file",
        oct(DIR_MODE if f == "." else FILE_MODE)[2:].zfill(4)) for f in result.get("modes", []))
    return result, problems


def host_drift(manifest, users, now=None):
    """(drift, problems) of a host against manifest, for its users and those of users (names)."""
    now = time.time() if now is None else now
    drift = dict(system={}, launcher={}, ca_bundle={}, active={}, users={})
    problems = []
    if not manifest:
        return drift, ["no manifest: the role has not recorded this host"]
    for path, record in sorted((manifest.get("system") or {}).items()):
        drift["system"][path] = state = file_state(path, record)
        if state != "ok":
            problems.append("%s %s" % (path, _SAYS[state]))
        elif wrong_mode(path, False, SYSTEM_FILE_MODE, 0, 0):
            problems.append("%s is not root's own file with mode 0644" % path)
    for what in ("launcher", "ca_bundle"):
        record = manifest.get(what) or {}
        if record.get("path"):
            state = sha256_state(record["path"], record.get("sha256"))
            drift[what] = dict(path=record["path"], state=state)
            if state != "ok":
                problems.append("%s %s" % (record["path"], _SAYS[state]))
    active = manifest.get("active") or {}
    root = manifest.get("install_root") or "/opt/qwen-code"
    if active.get("cli"):
        drift["active"] = dict(active, cli_exists=os.path.isdir(os.path.join(root, "cli", active["cli"])),
                               node_exists=(os.path.isdir(os.path.join(root, "node", active["node"]))
                                            if active.get("node") else None))
        for kind in ("cli", "node"):
            if drift["active"]["%s_exists" % kind] is False:
                problems.append("the active %s release %s is missing from %s/%s"
                                % (kind, active[kind], root, kind))
    recorded = manifest.get("users") or {}
    for name in sorted(set(recorded) | set(users)):
        drift["users"][name], user_problems = user_drift(name, recorded.get(name) or {}, now)
        problems.extend(user_problems)
    return drift, problems
