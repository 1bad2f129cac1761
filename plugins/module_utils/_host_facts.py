# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

What the role needs to know of a Linux host that is not the distribution's name: the OS release and its family,
the C library (the official Node binaries need glibc 2.28 or later; musl cannot run them), the package manager for
the `distro` Node method, and sudo's `secure_path` (the launcher must be reachable through `sudo -u`). Everything
is read from files under `root` (default `/`), so that tests can give a fake tree; nothing is executed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import platform
import re

# The oldest glibc the official Node 18+ Linux binaries run on.
MIN_GLIBC = (2, 28)
_FAMILIES = (("debian", ("debian", "ubuntu")), ("rhel", ("rhel", "fedora", "centos")), ("suse", ("suse", "sles",
             "opensuse")), ("alpine", ("alpine",)), ("amazon", ("amzn",)))
_NAMES = {"debian": "Debian", "ubuntu": "Ubuntu", "rocky": "Rocky", "almalinux": "AlmaLinux", "rhel": "RedHat",
          "centos": "CentOS", "ol": "OracleLinux", "amzn": "Amazon", "sles": "SLES", "opensuse-leap": "openSUSE Leap",
          "alpine": "Alpine", "fedora": "Fedora"}


def _path(root, path):
    return os.path.join(root, path.lstrip("/"))


def read_os_release(root="/"):
    """The fields of /etc/os-release (or /usr/lib/os-release)."""
    fields = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(_path(root, path)) as f:
                for line in f:
                    m = re.match(r'^([A-Z_]+)=(?:"(.*)"|\'(.*)\'|(.*))$', line.strip())
                    if m:
                        fields[m.group(1)] = next(g for g in m.groups()[1:] if g is not None)
            break
        except (IOError, OSError):
            continue
    return fields


def family(ident, id_like):
    """debian, rhel, suse, alpine, amazon or other: from ID and ID_LIKE, never from the name alone."""
    for words in ([ident], id_like.split()):  # the ID first: Amazon Linux is "like" the RHEL family
        for name, members in _FAMILIES:
            if any(w.startswith(members) for w in words if w):
                return name
    return "other"


def libc(root="/", confstr=None):
    """{name: glibc|musl|unknown, version: "2.36" or ""}. glibc from the running Python's C library
    (os.confstr CS_GNU_LIBC_VERSION, which only glibc answers); musl from its dynamic loader."""
    value = None
    if confstr is None:
        try:
            value = os.confstr("CS_GNU_LIBC_VERSION")
        except (ValueError, OSError, AttributeError):
            value = None
    else:
        value = confstr or None
    if value:
        m = re.match(r"^glibc\s+(\d+\.\d+)", value)
        if m:
            return dict(name="glibc", version=m.group(1))
    if glob.glob(_path(root, "/lib/ld-musl-*.so.1")) or glob.glob(_path(root, "/usr/lib/ld-musl-*.so.1")):
        return dict(name="musl", version="")
    return dict(name="unknown", version="")


def package_manager(root="/"):
    """apt, dnf, yum, zypper or none: the first whose front end is there."""
    for name, paths in (("apt", ("/usr/bin/apt-get",)), ("dnf", ("/usr/bin/dnf",)), ("yum", ("/usr/bin/yum",)),
                        ("zypper", ("/usr/bin/zypper",))):
        if any(os.path.exists(_path(root, p)) for p in paths):
            return name
    return "none"


def sudo_secure_path(root="/"):
    """The directories of sudo's secure_path (the last Defaults secure_path in /etc/sudoers and /etc/sudoers.d), or
    None when sudo sets none (or cannot be read)."""
    files = [_path(root, "/etc/sudoers")] + sorted(glob.glob(_path(root, "/etc/sudoers.d/*")))
    found = None
    for path in files:
        name = os.path.basename(path)
        if path != files[0] and ("." in name or name.endswith("~")):
            continue  # sudo skips files in sudoers.d whose names contain a dot or end in ~
        try:
            with open(path) as f:
                text = f.read()
        except (IOError, OSError):
            continue
        for line in text.splitlines():
            m = re.match(r'^\s*Defaults\s+secure_path\s*=\s*"?([^"#]*?)"?\s*(#.*)?$', line)
            if m:
                found = [d for d in m.group(1).strip().split(":") if d]
    return found


def host_os(root="/", confstr=None):
    """Everything above, as install_info returns it under `os`."""
    fields = read_os_release(root)
    ident = fields.get("ID", "")
    version = fields.get("VERSION_ID", "")
    if not version and ident == "debian":
        try:  # testing and unstable have no VERSION_ID
            with open(_path(root, "/etc/debian_version")) as f:
                version = f.read().strip()
        except (IOError, OSError):
            pass
    return dict(distribution=_NAMES.get(ident) or fields.get("NAME", "unknown"), id=ident,
                id_like=fields.get("ID_LIKE", ""), family=family(ident, fields.get("ID_LIKE", "")),
                version=version, major_version=version.split(".")[0], architecture=platform.machine(),
                libc=libc(root, confstr), package_manager=package_manager(root),
                sudo_secure_path=sudo_secure_path(root))


def platform_problems(host, method, node_version="", allowed_arch=("x86_64", "aarch64")):
    """Why the host cannot run the CLI with this Node method, as messages for the operator (empty when it can)."""
    problems = []
    arch = host.get("architecture")
    where = "%s %s" % (host.get("distribution", "?"), host.get("version", "") or "")
    if method in ("private", "distro") and arch not in allowed_arch:
        problems.append("this host (%s) is %s: the official Node binaries exist for %s only; use "
                        "qwen_code_node_method: system with a Node you provide"
                        % (where.strip(), arch, " and ".join(allowed_arch)))
    c = host.get("libc") or {}
    if method == "private":
        if c.get("name") == "musl":
            problems.append("this host (%s) uses musl, not glibc: the official Node binaries cannot run on it. Use "
                            "the container image, or qwen_code_node_method: system with a Node built for musl (e.g. "
                            "Alpine's nodejs package, 22 or later)" % where.strip())
        elif c.get("name") != "glibc":
            problems.append("this host (%s) has no C library the collection recognises (glibc expected): use "
                            "qwen_code_node_method: system with a Node you provide" % where.strip())
        else:
            version = tuple(int(p) for p in c.get("version", "0.0").split(".")[:2])
            if version < MIN_GLIBC:
                problems.append("this host (%s) has glibc %s, and the official Node binaries need glibc %d.%d or "
                                "later (Amazon Linux 2 has 2.26): use the container image, qwen_code_node_method: "
                                "system with a Node built for this glibc, or a newer OS"
                                % ((where.strip(), c.get("version")) + MIN_GLIBC))
    if method == "distro" and host.get("package_manager") != "apt":
        problems.append("qwen_code_node_method 'distro' installs the nodejs package with apt, which this host (%s, "
                        "package manager: %s) does not have: use qwen_code_node_method: private (the official Node "
                        "binary under the install root; needs glibc 2.28 or later)"
                        % (where.strip(), host.get("package_manager", "none")))
    return problems
