# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The qwen CLI's per-user files, shared by qwen_settings, user_config and oauth_creds: settings.json read with
comments, merged (never clobbered) and compared by content; a .env of KEY='value' lines; the private ~/.qwen
directory. Files are written with _atomic_write, so a secret-bearing file never exists with looser permissions or
another owner.

Everything here that touches a user's home runs inside _user_home.as_user(), with that user's identity: plain path
functions are safe there, and a link the user planted gets nothing but the user's own rights."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import errno
import json
import os
import re
import stat
import time

from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.qwenops.qwen_code.plugins.module_utils._atomic_write import atomic_write
from ansible_collections.qwenops.qwen_code.plugins.module_utils._manifest import remove_paths
from ansible_collections.qwenops.qwen_code.plugins.module_utils._secrets import MASK, mask

DIR_MODE = 0o700
FILE_MODE = 0o600
# The system settings files (root's, read by every user; never a secret).
SYSTEM_FILE_MODE = 0o644
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def strip_json_comments(text):
    """Remove // and /* */ comments outside of strings (the CLI reads settings with strip-json-comments)."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def merge(base, overlay):
    """base with overlay merged in recursively: dicts merge, every other value replaces. The collection's one
    recursive merge of settings (user_config, qwen_settings, the provider_plans filter;
    tests/unit/test_one_rule_inputs.py fails on a second one)."""
    result = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def render_settings(data):
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def read_settings(path):
    """(settings dict, raw text or None when absent, why it is invalid or None). Comments are allowed."""
    if not os.path.exists(path):
        return {}, None, None
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", errors="replace")
    try:
        current = json.loads(strip_json_comments(raw)) if raw.strip() else {}
        if not isinstance(current, dict):
            raise ValueError("the top level is not an object")
    except ValueError as e:
        return {}, raw, to_native(e)
    return current, raw, None


# The settings whose JSON type the CLI depends on, among those the role writes (and a few more a user may manage).
# The controller's templating does not keep types everywhere: ansible-core before 2.19 renders a lone "{{ 4 }}" as
# the string "4" (the CLI then takes the file for unversioned, migrates and rewrites it, 0644), and `-e name=false`
# is a string, which the CLI would take as true. So the module enforces them: "int" takes an integer or its digits,
# "bool" a boolean or one of Ansible's boolean words (true/false, yes/no, on/off, 1/0), "bool_or_str" turns boolean
# words into booleans and keeps any other string (tools.sandbox: true, false, "docker" or "podman").
TYPED_SETTINGS = {
    ("$version",): "int",
    ("security", "folderTrust", "enabled"): "bool",
    ("security", "auth", "useExternal"): "bool",
    ("privacy", "usageStatisticsEnabled"): "bool",
    ("telemetry", "enabled"): "bool",
    ("general", "enableAutoUpdate"): "bool",
    ("general", "disableAutoUpdate"): "bool",
    ("tools", "sandbox"): "bool_or_str",
}


def _typed(kind, value):
    """value as kind (see TYPED_SETTINGS); ValueError when it cannot be."""
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        raise ValueError("an integer")
    if isinstance(value, bool):
        return value
    try:
        return boolean(value.strip() if isinstance(value, str) else value, strict=True)
    except TypeError:
        if kind == "bool_or_str" and isinstance(value, str):
            return value
        raise ValueError("a boolean (true or false)")


def normalise_managed(managed):
    """managed with every key of TYPED_SETTINGS in the type the CLI reads it as (managed itself is left alone).

    ValueError naming the key and the value (none of these keys holds a secret) for a value with no such form."""
    result = managed
    for path, kind in TYPED_SETTINGS.items():
        node = result
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict) or path[-1] not in node:
            continue
        given = node[path[-1]]
        try:
            value = _typed(kind, given)
        except ValueError as e:
            raise ValueError("the setting %s must be %s, not %r" % (".".join(path), e, given))
        if type(value) is not type(given) or value != given:
            if result is managed:
                result = copy.deepcopy(managed)
            target = result
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
    return result


def plan_settings(path, managed, remove=()):
    """What merging managed into the settings file at path means (after removing the key paths in remove, which
    the role wrote before and manages no more): a dict with current, desired, raw, invalid and changed (content
    differs, or the file is absent or invalid; formatting alone is no change)."""
    managed = normalise_managed(managed)
    current, raw, invalid = read_settings(path)
    desired = merge(remove_paths(current, remove) if remove else current, managed)
    return dict(current=current, desired=desired, raw=raw, invalid=invalid,
                changed=raw is None or invalid is not None or desired != current)


def settings_diff(path, plan):
    before = "" if plan["raw"] is None else "(invalid JSON)\n" if plan["invalid"] else render_settings(mask(plan["current"]))
    return dict(before_header=path, after_header=path, before=before, after=render_settings(mask(plan["desired"])))


def render_env(variables, header):
    """A .env file: the header as comments, then KEY='value' per variable, in the order given.

    ValueError (naming the variable, never its value) for a name or value the format cannot carry."""
    lines = ["# %s" % line for line in header.splitlines()]
    for name, value in variables.items():
        value = to_native(value)
        if not ENV_NAME.match(name):
            raise ValueError("%r is not a valid environment variable name" % name)
        if "'" in value or "\n" in value or "\r" in value or "\0" in value:
            raise ValueError("the value of %s contains a quote, a newline or a NUL byte, which a .env line cannot hold"
                             % name)
        lines.append("%s='%s'" % (name, value))
    return "\n".join(lines) + "\n"


def env_diff(path, before, after):
    """A diff of two .env texts with every value masked: which variables changed shows, never what they hold."""
    def masked(text):
        if text is None:
            return ""
        return "".join(re.sub(r"^([A-Za-z_][A-Za-z0-9_]*)=.*$", r"\1=" + MASK, line) + "\n"
                       for line in text.splitlines())
    return dict(before_header=path, after_header=path, before=masked(before), after=masked(after))


class HomeFailure(Exception):
    """A user's home is in a state this collection will not change (the message says what to do)."""


def private_dir(path, uid, gid, check_mode, changes, what="directory"):
    """Make path a directory of uid:gid with mode 0700 (run as that user). A link to a directory the user owns is
    followed (the real path is returned); anything else that is not such a directory is refused. Returns the
    directory to work in, or None in check mode when it does not exist yet."""
    try:
        st = os.lstat(path)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        try:
            real = os.path.realpath(path)
            st = os.stat(real)
        except OSError:  # no target, no right to it, or the link was swapped while it was read
            real, st = "(unreadable)", None
        if st is None or not stat.S_ISDIR(st.st_mode) or st.st_uid != uid:
            raise HomeFailure("%s is a symbolic link to %s, which is not a directory of this user: refusing to "
                              "follow it" % (path, real))
        path = real
    elif st is not None and not stat.S_ISDIR(st.st_mode):
        raise HomeFailure("%s exists and is not a directory: move it away first" % path)
    if st is None:
        changes.append(what)
        if check_mode:
            return None
        os.mkdir(path, DIR_MODE)
        os.chmod(path, DIR_MODE)
        if os.stat(path).st_gid != gid:
            os.chown(path, -1, gid)
        return path
    if st.st_uid != uid:
        raise HomeFailure("%s belongs to uid %d, not to this user (uid %d): give it back (chown -R %d:%d %s) and "
                          "run again" % (path, st.st_uid, uid, uid, gid, path))
    if stat.S_IMODE(st.st_mode) != DIR_MODE or st.st_gid != gid:
        changes.append(what)
        if not check_mode:
            if st.st_gid != gid:
                os.chown(path, -1, gid)
            os.chmod(path, DIR_MODE)
    return path


def file_state(path):
    """(text or None, lstat or None) of a file, never following a link (a link reads as no file)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None, None
    if not stat.S_ISREG(st.st_mode):
        return None, st
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace"), st


def fix_file(path, text, st, uid, gid, check_mode, changes, what, mode=FILE_MODE):
    """Give an existing regular file with the right content its owner and mode: a file of another owner (root,
    after a `sudo qwen` that kept HOME) is replaced by the user's own copy, since only root could chown it."""
    if st is None or not stat.S_ISREG(st.st_mode):
        return
    if stat.S_IMODE(st.st_mode) == mode and (st.st_uid, st.st_gid) == (uid, gid):
        return
    if what not in changes:
        changes.append(what)
    if check_mode:
        return
    if st.st_uid != uid:
        atomic_write(path, text, uid=uid, gid=gid, mode=mode)
        return
    if st.st_gid != gid:
        os.chown(path, -1, gid)
    os.chmod(path, mode)


def write_replacing_invalid(path, text, old_raw, uid, gid, mode=FILE_MODE):
    """Write text to path where the current file (old_raw) is not valid JSON: the new file is written first (a full
    disk leaves the old one in place), a copy of the old content is kept as <path>.invalid-<timestamp>, and only
    then is the new file renamed into place. Returns the backup's path."""
    backup = "%s.invalid-%s" % (path, time.strftime("%Y%m%d%H%M%S"))

    def keep_backup():
        atomic_write(backup, old_raw, uid=uid, gid=gid, mode=FILE_MODE)
    atomic_write(path, text, uid=uid, gid=gid, mode=mode, before_rename=keep_backup)
    return backup


def merge_json_file(path, managed, uid, gid, mode, check_mode, want_diff, remove=()):
    """Merge managed into the JSON file at path (keys kept, comments tolerated, content compared; a link or other
    non-file where the file should be is replaced by a file), first removing the key paths in remove. Writes unless
    check_mode, with uid:gid and mode. Returns a JSON-able dict: changed, settings (masked), desired (unmasked: the
    caller's digest is taken over it; never returned by a module), warnings, and diff / backup_file when there are
    some."""
    out = dict(changed=False, warnings=[])
    st = os.lstat(path) if os.path.lexists(path) else None
    regular = st is None or stat.S_ISREG(st.st_mode)
    if regular and st is not None and not os.access(path, os.R_OK):
        raise HomeFailure("%s belongs to uid %d and cannot be read here: remove it or give it back "
                          "(chown %d:%d %s) and run again" % (path, st.st_uid, uid, gid, path))
    plan = plan_settings(path if regular else os.devnull, managed, remove)
    out["desired"] = plan["desired"]
    if not regular:
        plan["changed"] = True
    if plan["invalid"]:
        out["warnings"].append("%s was not valid JSON (%s); it is saved aside and replaced" % (path, plan["invalid"]))
    out["settings"] = mask(plan["desired"])
    text = render_settings(plan["desired"])
    if plan["changed"]:
        out["changed"] = True
        if want_diff:
            out["diff"] = settings_diff(path, plan)
        if not check_mode:
            if plan["invalid"]:
                out["backup_file"] = write_replacing_invalid(path, text, plan["raw"], uid, gid, mode)
            else:
                atomic_write(path, text, uid=uid, gid=gid, mode=mode)
        return out
    changes = []
    fix_file(path, plan["raw"], st, uid, gid, check_mode, changes, "attributes", mode=mode)
    out["changed"] = bool(changes)
    return out
