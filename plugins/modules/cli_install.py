#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cli_install
short_description: Install a qwen CLI release with npm into its own directory, all or nothing
version_added: "0.1.0"
description:
  - Runs C(npm install --global) for O(package)@O(version) with the given Node.js and npm into a staging prefix
    beside O(dest), makes the vendored executables (ripgrep) executable, and renames the prefix to O(dest) only
    when all of that succeeded. A failed or killed install never leaves a partial O(dest), and the release that
    was there before keeps working.
  - Each run stages into a directory of its own, so two runs at once never write into the same tree; when another
    run completed O(dest) first, its tree is kept. Staging directories older than O(stale_after) seconds, left by
    runs that were killed, are removed.
  - With O(tarball), npm installs that local file with C(--offline) and makes no network request at all (the
    collection copies tarballs fetched once on the controller, see C(qwen_code_artifact_cache)). npm then skips the
    CLI's optional native packages (node-pty, clipboard, sharp, audio capture), none of which a headless run needs.
  - When the collection pins the dependency tree of O(package)@O(version) (a lockfile made by npm, every package
    with its exact version and sha512 integrity) and O(lock) is true, npm installs exactly that tree with C(npm ci)
    instead of resolving it. That saves the registry round trips to find the CLI's dependencies (about 60 on the public
    registry); every host gets the same tree, and each tarball is checked against its integrity. The tree is laid out as
    C(npm install --global) lays it out (the same files, modes and C(bin) links). Should C(npm ci) fail (a mirror
    that lacks a pinned version, say), the module warns and lets npm resolve the tree as without a lock.
  - When O(dest) already holds O(version), nothing runs.
author:
  - qwenops contributors (@qwenops)
options:
  version:
    description: The exact release to install.
    type: str
    required: true
  dest:
    description: The release's own prefix, for example C(/opt/qwen-code/cli/0.24.4).
    type: path
    required: true
  node:
    description: The Node.js binary that runs npm (its directory is put first on C(PATH) for install scripts).
    type: path
    required: true
  npm_cli:
    description: npm's C(bin/npm-cli.js).
    type: path
    required: true
  package:
    description: The npm package.
    type: str
    default: "@qwen-code/qwen-code"
  tarball:
    description:
      - Install this package tarball (on the host) offline instead of asking the registry; O(registry) and
        O(auth_token) are then not used.
    type: path
  integrity:
    description: The sha512 SRI string O(tarball) must match; checked before npm runs.
    type: str
  cache:
    description:
      - npm's cache directory. By default a temporary one beside O(dest), removed afterwards, so the downloads do
        not stay on the host.
    type: path
  lock:
    description:
      - Install the dependency tree the collection pins for O(package)@O(version), when it has one (see above), with
        C(npm ci). With V(false), or for a release without one, npm resolves the tree from the registry.
      - Not used with O(tarball).
    type: bool
    default: true
  executables:
    description: Glob patterns, relative to the installed package, of files to make executable (mode C(0755)).
    type: list
    elements: str
    default: ["vendor/ripgrep/*/rg"]
  stale_after:
    description: Age in seconds after which a staging directory beside O(dest) counts as left behind.
    type: int
    default: 3600
extends_documentation_fragment:
  - qwenops.qwen_code.npm_registry
  - qwenops.qwen_code.transport
  - qwenops.qwen_code.transport.npm
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.no_diff
notes:
  - npm gets O(auth_token) in a throwaway npmrc (mode C(0600), in a private directory beside O(dest), removed
    afterwards) passed with C(--userconfig), keyed to O(registry)'s host and path, so that npm sends it to that
    registry only. It never appears on npm's command line or in its environment. With it, npm does not read the
    running user's own C(~/.npmrc).
  - Proxies come from O(https_proxy), O(http_proxy) and O(no_proxy), else from the task's environment, as npm
    reads them.
  - The module runs with umask C(022) (npm inherits it), creates missing parent directories with mode C(0755), and
    then normalises the installed tree (directories at least C(0755), files at least C(0644), execute bits of the
    owner extended to everyone, no group or other write, no setuid/setgid), so a restrictive umask on the host does
    not lock other users out of the CLI.
"""

EXAMPLES = r"""
- name: Install qwen 0.24.4 beside the current release
  qwenops.qwen_code.cli_install:
    version: 0.24.4
    dest: /opt/qwen-code/cli/0.24.4
    node: /opt/qwen-code/node/22.23.3/bin/node
    npm_cli: /opt/qwen-code/npm/10.9.9/bin/npm-cli.js
    cache: /opt/qwen-code/.npm-cache

- name: Install it from a tarball copied to the host (no network)
  qwenops.qwen_code.cli_install:
    version: 0.24.4
    dest: /opt/qwen-code/cli/0.24.4
    node: /opt/qwen-code/node/22.23.3/bin/node
    npm_cli: /opt/qwen-code/npm/10.9.9/bin/npm-cli.js
    tarball: /opt/qwen-code/.artifacts/qwen-code-0.24.4.tgz
    integrity: sha512-pmexy/Nj+BKd3Un1ogqGQE8V4GJn5B6N9PQOrU1GH+lMR29kn6Bgf6YdbZa8hNIoTmAKT1LTPK+P8TibZRPPVg==

- name: From a registry that needs a token, through a proxy that needs credentials (neither shows in ps)
  qwenops.qwen_code.cli_install:
    version: 0.24.4
    dest: /opt/qwen-code/cli/0.24.4
    node: /opt/qwen-code/node/22.23.3/bin/node
    npm_cli: /opt/qwen-code/npm/10.9.9/bin/npm-cli.js
    registry: https://npm.internal.example.com/repository/npm
    auth_token: "{{ vault_npm_token }}"
    https_proxy: "http://proxyuser:{{ vault_proxy_password }}@proxy.example.com:3128"
"""

RETURN = r"""
dest:
  description: The release's prefix.
  returned: always
  type: str
version:
  description: The installed release.
  returned: always
  type: str
executables:
  description: Files made executable, relative to the package.
  returned: when npm ran
  type: list
  elements: str
installed_from:
  description:
    - How npm found the tree. V(lock) when it installed the collection's pinned tree with C(npm ci), V(registry)
      when it resolved the tree itself, V(tarball) for O(tarball).
  returned: when npm ran
  type: str
  sample: lock
removed_staging:
  description: Staging directories of interrupted runs that were removed.
  returned: always
  type: list
  elements: str
"""

import glob
import json
import os
import posixpath
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._transport import (
    proxy_environment, transport_argument_spec)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._atomic_write import atomic_write
from ansible_collections.qwenops.qwen_code.plugins.module_utils._cli_locks import known_lock
from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import (
    RegistryError, installed_version, nerf_dart, registry_argument_spec, registry_problem, verify_file)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._staging import (
    normalise_tree_modes, remove_stale, staging_dir, swap_into_place)


def npm_argv(p, staging, cache, userconfig=None, locked=False):
    """npm's command line: paths and public settings only, never a secret (every user sees it in ps). locked: `npm
    ci` in the prefix's lib directory, where install_locked() wrote the package.json and lockfile."""
    if locked:
        argv = [p["node"], p["npm_cli"], "ci", "--prefix=%s" % os.path.join(staging, "lib")]
    else:
        argv = [p["node"], p["npm_cli"], "install", "--global", "--prefix=%s" % staging]
    argv += ["--cache=%s" % cache, "--no-audit", "--no-fund", "--update-notifier=false", "--loglevel=warn"]
    if userconfig:
        argv.append("--userconfig=%s" % userconfig)
    if p["tarball"]:
        return argv + ["--offline", p["tarball"]]
    argv.append("--registry=%s" % p["registry"])
    return argv if locked else argv + ["%s@%s" % (p["package"], p["version"])]


def lock_problem(lock, package, version):
    """Why lock is not a global-style tree of package@version alone, every package pinned by its sha512 integrity
    (None when it is)."""
    top = "node_modules/" + package
    packages = lock.get("packages") if isinstance(lock, dict) else None
    if not isinstance(packages, dict) or lock.get("lockfileVersion") != 3:
        return "not an npm lockfile of version 3"
    if packages.get("", {}).get("dependencies") != {package: version}:
        return "its root does not depend on %s@%s alone" % (package, version)
    if packages.get(top, {}).get("version") != version:
        return "it does not hold %s %s" % (package, version)
    for location, entry in sorted(packages.items()):
        if not location:
            continue
        if location != top and not location.startswith(top + "/node_modules/"):
            return "%s is not under %s (not the layout of a global install)" % (location, top)
        if entry.get("link") or not str(entry.get("integrity", "")).startswith("sha512-") \
                or not str(entry.get("resolved", "")).startswith("https://"):
            return "%s is not pinned to a registry tarball by its sha512 integrity" % location
    try:
        bin_links(lock, package)
    except ValueError as e:
        return to_native(e)
    return None


def bin_links(lock, package):
    """{name: target} of the package's executables, as npm links them into <prefix>/bin on a global install."""
    bins = lock["packages"]["node_modules/" + package].get("bin") or {}
    if not isinstance(bins, dict):
        raise ValueError("its executables (bin) are not a mapping")
    links = {}
    for name, path in sorted(bins.items()):
        target = posixpath.normpath(posixpath.join("..", "lib", "node_modules", package, str(path)))
        if "/" in name or name in ("", ".", "..") or not target.startswith("../lib/node_modules/%s/" % package):
            raise ValueError("the lock's executable %r -> %r leaves the package" % (name, path))
        links[name] = target
    return links


def install_locked(module, p, staging, cache, userconfig, lock):
    """npm ci of the pinned tree in <staging>/lib, then the layout of npm install --global: the project files and
    node_modules/.bin go, <staging>/bin gets the package's executables (lock_problem() checked them). Returns
    False when npm failed."""
    lib = os.path.join(staging, "lib")
    os.mkdir(lib, 0o755)
    with open(os.path.join(lib, "package.json"), "w") as f:
        json.dump({"dependencies": {p["package"]: p["version"]}}, f)
    with open(os.path.join(lib, "package-lock.json"), "w") as f:
        json.dump(lock, f)
    rc, out, err = module.run_command(npm_argv(p, staging, cache, userconfig, locked=True),
                                      environ_update=npm_env(p))
    if rc != 0:
        module.warn("npm could not install the pinned tree of %s@%s (exit %d), so it resolves the tree from the "
                    "registry instead: %s" % (p["package"], p["version"], rc, (err or out).strip()[-1000:]))
        return False
    for name in ("package.json", "package-lock.json", os.path.join("node_modules", ".package-lock.json")):
        os.remove(os.path.join(lib, name))
    shutil.rmtree(os.path.join(lib, "node_modules", ".bin"), ignore_errors=True)
    links = bin_links(lock, p["package"])
    if links:
        os.mkdir(os.path.join(staging, "bin"), 0o755)
    for name, target in links.items():
        os.symlink(target, os.path.join(staging, "bin", name))
    return True


def npm_env(p):
    """npm's environment: its Node first on PATH, the extra CA bundle and the proxies (npm and install scripts read
    https_proxy, http_proxy and no_proxy). Not visible to other users, unlike a command line."""
    env = dict(PATH=os.path.dirname(p["node"]) + os.pathsep + "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    if p["ca_path"]:
        env["NODE_EXTRA_CA_CERTS"] = p["ca_path"]
    env.update(proxy_environment(p))
    return env


def write_userconfig(directory, p):
    """A private npmrc (0600, in a 0700 directory of its own) with the registry's token, for --userconfig."""
    os.mkdir(directory, 0o700)
    os.chmod(directory, 0o700)
    path = os.path.join(directory, "npmrc")
    atomic_write(path, "%s:_authToken=%s\n" % (nerf_dart(p["registry"]), p["auth_token"]), mode=0o600)
    return path


def npm_install(module, p, staging, cache, userconfig_dir, result):
    """Runs npm to install the release into the staging prefix (from the pinned tree when there is one), checks
    what it installed, makes the executables executable and every file usable by all users. Returns the
    executables, relative to the package."""
    package = p["package"]
    userconfig = write_userconfig(userconfig_dir, p) if userconfig_dir else None
    lock = known_lock(package, p["version"]) if p["lock"] and not p["tarball"] else None
    problem = lock_problem(lock, package, p["version"]) if lock is not None else None
    if problem:
        module.fail_json(msg="the collection's pinned tree of %s@%s is broken (%s): set lock to false"
                         % (package, p["version"], problem), **result)
    result["installed_from"] = "tarball" if p["tarball"] else "registry"
    if lock is not None and install_locked(module, p, staging, cache, userconfig, lock):
        result["installed_from"] = "lock"
    else:
        if lock is not None:  # what npm ci left goes: npm install --global starts from an empty prefix
            for name in os.listdir(staging):
                shutil.rmtree(os.path.join(staging, name))
        rc, out, err = module.run_command(npm_argv(p, staging, cache, userconfig), environ_update=npm_env(p))
        if rc != 0:
            module.fail_json(msg="npm could not install %s@%s (exit %d): %s"
                             % (package, p["version"], rc, (err or out).strip()[-3000:]), **result)
    package_dir = os.path.join(staging, "lib", "node_modules", package)
    found = installed_version(staging, package)
    if found != p["version"]:
        module.fail_json(msg="npm installed %s %s, not %s" % (package, found, p["version"]), **result)
    made = []
    for pattern in p["executables"]:
        for path in sorted(glob.glob(os.path.join(package_dir, pattern))):
            if os.path.isfile(path) and not os.path.islink(path):
                os.chmod(path, 0o755)
                made.append(os.path.relpath(path, package_dir))
    # mkdtemp made the prefix 0700, and a umask npm or an install script set may have narrowed more.
    normalise_tree_modes(staging)
    return made


def main():
    # Hardened hosts run root's commands with umask 027 or 077; npm inherits this one, and the tree is normalised
    # after it anyway: every user runs the CLI.
    os.umask(0o022)
    argument_spec = dict(
        version=dict(type="str", required=True),
        dest=dict(type="path", required=True),
        node=dict(type="path", required=True),
        npm_cli=dict(type="path", required=True),
        package=dict(type="str", default="@qwen-code/qwen-code"),
        tarball=dict(type="path"),
        integrity=dict(type="str"),
        cache=dict(type="path"),
        lock=dict(type="bool", default=True),
        executables=dict(type="list", elements="str", default=["vendor/ripgrep/*/rg"]),
        stale_after=dict(type="int", default=3600),
    )
    argument_spec.update(registry_argument_spec())
    argument_spec.update(transport_argument_spec())
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_by=dict(integrity="tarball"),
        supports_check_mode=True,
    )
    p = module.params
    dest, package = p["dest"], p["package"]
    result = dict(changed=False, dest=dest, version=p["version"], removed_staging=[])
    problem = registry_problem(p["registry"], p["auth_token"])
    if problem:
        module.fail_json(msg=problem, **result)
    try:
        if p["auth_token"]:
            nerf_dart(p["registry"])
    except (RegistryError, ValueError) as e:
        module.fail_json(msg=to_native(e), **result)
    if installed_version(dest, package) == p["version"]:
        module.exit_json(**result)
    result["changed"] = True
    if module.check_mode:
        module.exit_json(**result)

    for path, what in ((p["node"], "node"), (p["npm_cli"], "npm_cli")):
        if not os.path.isfile(path):
            module.fail_json(msg="%s %s does not exist" % (what, path), **result)
    if p["tarball"]:
        try:
            if not os.path.isfile(p["tarball"]):
                raise RegistryError("tarball %s does not exist" % p["tarball"])
            if p["integrity"]:
                verify_file(p["tarball"], p["integrity"])
        except RegistryError as e:
            module.fail_json(msg=to_native(e), **result)

    result["removed_staging"] = remove_stale(dest, p["stale_after"])
    with staging_dir(dest) as staging:
        cache = p["cache"] or staging + ".npm-cache"
        # The token goes to npm in a file only it and root can read (removed below, and by remove_stale() when a
        # killed run left it): never on the command line, nor in the environment of install scripts.
        userconfig_dir = staging + ".npmrc" if p["auth_token"] and not p["tarball"] else None
        try:
            result["executables"] = npm_install(module, p, staging, cache, userconfig_dir, result)
            # A concurrent run that completed the same release first keeps its tree; a tree that is not a release
            # (an install that predates staging, cut short) is replaced.
            swap_into_place(staging, dest, lambda path: installed_version(path, package) == p["version"])
        except (IOError, OSError) as e:
            module.fail_json(msg="installing %s@%s into %s failed: %s" % (package, p["version"], dest, to_native(e)),
                             **result)
        finally:
            if userconfig_dir:
                shutil.rmtree(userconfig_dir, ignore_errors=True)
            if not p["cache"]:
                shutil.rmtree(cache, ignore_errors=True)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
