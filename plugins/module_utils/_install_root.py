# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The install root (qwen_code_install_root), where root installs Node, npm and the CLI and which uninstall empties:
where it may be, and what uninstall removes from it.

- It may not be one of the filesystem hierarchy's system directories, nor lie in a tree the OS or the users own
  (system_directory(), on the controller), nor be a directory the package manager owns (package_owner(), on the
  host), and every directory on its way must be root's and not writable by group or others (ancestor_facts() and
  root_problems()): root works by path there, and a user who can write on the way could swap a directory for a link
  between a check and a use.
- Uninstall removes only what the role made (removable(): each CLI release, Node and npm runtime, staging and
  artifact directory, recognised by the markers the installers leave), then each directory it emptied, and the root
  only when nothing else is left: an install root pointed at a directory full of other data loses none of it.

Runs on the managed host or the controller: standard library and ansible.module_utils only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import installed_version, read_marker
from ansible_collections.qwenops.qwen_code.plugins.module_utils._staging import PARTIAL

# Directories of the filesystem hierarchy an install root may not be.
_SYSTEM = frozenset([
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt", "/opt",
    "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/usr/local", "/var/backups",
    "/var/cache", "/var/lib", "/var/local", "/var/lock", "/var/log", "/var/mail", "/var/opt", "/var/run",
    "/var/spool", "/var/tmp"])
# Trees an install root may not be inside: the OS's (its files, its package databases, its logs) and those users
# can write to (homes, temporary directories).
_SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root",
                 "/run", "/sbin", "/sys", "/tmp", "/var/tmp", "/var/log", "/var/spool", "/var/mail", "/var/lib/dpkg",
                 "/var/lib/apt", "/var/lib/rpm", "/var/lib/dnf", "/var/lib/yum", "/var/cache/apt", "/var/cache/dnf",
                 "/var/cache/yum", "/var/lib/systemd")
# Under /usr only /usr/local/<a name of its own> (such as /usr/local/qwen-code), never one of /usr/local's own.
_USR_LOCAL_OWN = frozenset(["bin", "etc", "games", "include", "lib", "lib64", "libexec", "man", "sbin", "share",
                            "src"])
# What the role installs under the root, each recognised by its own marker.
KINDS = ("cli", "node", "npm")
ARTIFACTS = ".artifacts"  # tarballs copied from the controller's artifact cache for one run (root's, 0700)


def system_directory(path):
    """Why path may not be an install root by its name alone (a directory of the filesystem hierarchy, or inside a
    tree the OS or its users own), or None. path is absolute and normalised."""
    if path in _SYSTEM:
        return "a directory of the filesystem hierarchy"
    for tree in _SYSTEM_TREES:
        if path == tree or path.startswith(tree + "/"):
            return "in %s, which %s" % (tree, "users can write to" if tree in ("/home", "/tmp", "/var/tmp")
                                        else "the operating system owns")
    if path.startswith("/usr/"):
        parts = path.split("/")
        if parts[2] != "local" or len(parts) < 4 or parts[3] in _USR_LOCAL_OWN:
            return "in /usr, which the operating system owns (only /usr/local/<a name of its own> is not)"
    return None


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def _facts(path, st):
    kind = "link" if stat.S_ISLNK(st.st_mode) else "dir" if stat.S_ISDIR(st.st_mode) else "other"
    return dict(path=path, kind=kind, uid=st.st_uid, mode="%04o" % stat.S_IMODE(st.st_mode))


def ancestor_facts(path):
    """What each existing directory on the way to path is (lstat: path, kind dir/link/other, uid, mode), from "/"
    down, along the path as written and along its real path where a link makes that differ. path itself is not
    included."""
    seen, facts = set(), []
    for way in (path, os.path.realpath(path)):
        parts = [part for part in way.split("/") if part]
        for prefix in ["/"] + ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]:
            st = _lstat(prefix)
            if st is None:
                break
            if prefix not in seen:
                seen.add(prefix)
                facts.append(_facts(prefix, st))
    return facts


def package_owner(module, path):
    """The package that owns path according to the package manager (dpkg or rpm), or None (no such package, or no
    package manager). Asked only for a root the manifest does not record yet: dpkg-query reads its whole database."""
    for tool, args in (("dpkg-query", ["-S", path]), ("rpm", ["-qf", path])):
        binary = module.get_bin_path(tool)
        if not binary:
            continue
        rc, out, dummy = module.run_command([binary] + args)
        out = out.strip()
        if rc == 0 and out and "not owned" not in out:
            # dpkg: "pkg1, pkg2: /usr/sbin"; rpm: "filesystem-3.16-2.el9.noarch"
            return out.splitlines()[0].rsplit(": ", 1)[0] if tool == "dpkg-query" else out.splitlines()[0]
        return None  # that package manager answered: not its path
    return None


def root_problems(root, facts, name="qwen_code_install_root"):
    """Why root may not be the install root on this host, from install_info's read of it (facts: its install_root
    fact, with ancestors and package): a list of messages naming the directory and the fix."""
    problems = []
    for entry in facts.get("ancestors") or []:
        why = []
        if entry["uid"] != 0:
            why.append("is owned by uid %d, not root" % entry["uid"])
        if entry["kind"] == "dir" and int(entry["mode"], 8) & 0o022:
            why.append("is writable by %s (mode %s)" % ("its group and others" if int(entry["mode"], 8) & 0o022 ==
                                                        0o022 else "others" if int(entry["mode"], 8) & 0o002
                                                        else "its group", entry["mode"]))
        if entry["kind"] == "other":
            why.append("is not a directory")
        if why:
            problems.append("%s %s: %s, on its way, %s. Root installs and removes files there by path, and whoever "
                            "can write to that directory can swap a directory on the way for a link to another. "
                            "Choose an install root whose every parent directory is root's and writable by root alone, "
                            "such as /opt/qwen-code." % (name, root, entry["path"], " and ".join(why)))
    if facts.get("exists") and (not facts.get("directory") or facts.get("uid") != 0):
        problems.append("%s %s exists and is %s: it must be a directory of root's (the role creates it when it is "
                        "missing)." % (name, root, "not a directory (or a link)" if not facts.get("directory")
                                       else "owned by uid %s, not root" % facts.get("uid")))
    if facts.get("package"):
        problems.append("%s %s is a directory of the package %s (the package manager says so): the collection needs "
                        "a directory of its own, such as /opt/qwen-code." % (name, root, facts["package"]))
    return problems


def removable(root, package):
    """What uninstall removes under root: each CLI release (its package.json says it is package at that version),
    each Node and npm runtime (npm_unpack's marker), the staging and replaced-tree leftovers of the installers, and
    the artifact directory. Returns (paths to remove, directories to remove when they end up empty, deepest
    first)."""
    paths = []
    for kind in KINDS:
        directory = os.path.join(root, kind)
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        for name in names:
            path = os.path.join(directory, name)
            if os.path.islink(path) or not os.path.isdir(path):
                continue
            if name.startswith(".") and (PARTIAL in name or ".old-" in name):
                paths.append(path)
            elif kind == "cli" and installed_version(path, package) == name:
                paths.append(path)
            elif kind != "cli" and (read_marker(path) or {}).get("version") == name:
                paths.append(path)
    artifacts = os.path.join(root, ARTIFACTS)
    if os.path.isdir(artifacts) and not os.path.islink(artifacts):
        paths.append(artifacts)
    return paths, [os.path.join(root, kind) for kind in KINDS] + [root]
