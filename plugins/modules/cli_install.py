#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: cli_install
short_description: Install a qwen CLI release, verified, into its own directory, all or nothing
version_added: "0.1.0"
description:
  - Installs O(package)@O(version) with the given Node.js and npm into a staging prefix beside O(dest), makes the
    vendored executables (ripgrep) executable, and renames the prefix to O(dest) only when all of that succeeded. A
    failed or killed install never leaves a partial O(dest), and the release that was there before keeps working.
  - The release's own tarball is verified before npm sees it, on every path. The module fetches it itself (or takes
    O(tarball)) and checks its sha512 against the integrity this collection knows for the release (the table of
    known releases) and against the registry's; npm then installs that verified local file. A mirror that serves
    another package under a known release's name is refused, whatever integrity its documents give.
  - When the collection pins the release's whole dependency tree (a lockfile made by npm, every package with its
    exact version and sha512 integrity) and O(lock) is true, npm installs exactly that tree with C(npm ci), laid
    out as C(npm install --global) lays it out (the same files, modes and C(bin) links). The tree is then checked
    against the lock for this host's platform, since npm drops an optional package whose tarball fails its integrity with
    no more than a warning, and a tree that lacks a package of the lock (or has one that is not in it) fails the
    install, naming the package. There is no fallback to resolving the tree.
  - A release this collection knows without a pinned tree (or O(lock=false)) is installed from its verified tarball,
    with npm resolving its dependencies from the registry (a warning says so).
  - A release in neither table (a newer C(latest), a mirror's private build) is refused unless O(allow_unpinned),
    which trusts the registry for the CLI's code as well.
  - npm never runs a package's install scripts (C(--ignore-scripts)), so nothing a registry serves runs as root. A
    failing npm run is retried (O(attempts)), unless the failure is an integrity check, and then the install fails.
  - Each run stages into a directory of its own, so two runs at once never write into the same tree; when another
    run completed O(dest) first, its tree is kept. Staging directories older than O(stale_after) seconds, left by
    runs that were killed, are removed.
  - With O(tarball), npm installs that local file with C(--offline) and makes no network request at all (the
    collection copies tarballs fetched once on the controller, see C(qwen_code_artifact_cache)). npm then skips the
    CLI's optional native packages (node-pty, clipboard, sharp, audio capture), none of which a headless run needs.
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
    description: The Node.js binary that runs npm (its directory is put first on C(PATH) for npm).
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
        O(auth_token) are then not used. It is verified like a download (O(integrity), and the known integrity).
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
  allow_unpinned:
    description:
      - Install a release this collection does not know (neither its integrity nor its tree), trusting the registry
        for its tarball and its dependencies. Without it such a release is refused before anything changes.
    type: bool
    default: false
    version_added: "0.2.0"
  attempts:
    description:
      - How many times npm is run before the install fails, for failures that may pass (a registry that does not
        answer, a dropped connection). An integrity failure is never retried. The release's own download is tried
        as often.
    type: int
    default: 3
    version_added: "0.2.0"
  executables:
    description: Glob patterns, relative to the installed package, of files to make executable (mode C(0755)).
    type: list
    elements: str
    default: ["vendor/ripgrep/*/rg"]
  stale_after:
    description: Age in seconds after which a staging directory beside O(dest) counts as left behind.
    type: int
    default: 3600
  timeout:
    default: 60
extends_documentation_fragment:
  - qwenops.qwen_code.npm_registry
  - qwenops.qwen_code.transport
  - qwenops.qwen_code.transport.requests
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.no_diff
notes:
  - O(ca_path) is also given to npm, as C(NODE_EXTRA_CA_CERTS). O(timeout) is the module's own requests' (the
    release's version document and tarball).
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
      when it resolved the dependencies itself, V(tarball) for O(tarball) (offline).
  returned: when npm ran
  type: str
  sample: lock
trust:
  description:
    - Why the release's own tarball was trusted. V(known) it has the integrity this collection knows for the
      release. V(registry) it has the registry's integrity, for a release this collection does not know
      (O(allow_unpinned)), or O(integrity) for O(tarball).
  returned: when the release was installed or would be
  type: str
  sample: known
npm_attempts:
  description: How many times npm ran.
  returned: when npm ran
  type: int
  version_added: "0.2.0"
removed_staging:
  description: Staging directories of interrupted runs that were removed.
  returned: always
  type: list
  elements: str
"""


import glob
import json
import os
import re
import shutil
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._transport import (
    apply_proxy_options, make_request, proxy_environment, transport_argument_spec)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._atomic_write import atomic_write
from ansible_collections.qwenops.qwen_code.plugins.module_utils._cli_locks import (
    bin_links, host_platform, known_lock, lock_problem, packages_with_integrity, tree_problems)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import (
    known_integrity, unknown_release_problem)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import (
    RegistryError, fetch_verified, installed_version, integrity_problem, nerf_dart, registry_argument_spec,
    registry_problem, verify_file)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._staging import (
    normalise_tree_modes, remove_stale, staging_dir, swap_into_place)

# npm's words for a tarball that is not what the lock or the registry says it is: never worth another attempt.
INTEGRITY_FAILURE = re.compile(r"EINTEGRITY|integrity checksum failed|seems to be corrupted", re.I)
# Seconds before npm's next attempt (each failing fetch is also retried by npm itself, quickly: see npm_argv).
RETRY_DELAY = 2


def npm_argv(p, staging, cache, tgz, userconfig=None, locked=False):
    """npm's command line: paths and public settings only, never a secret (every user sees it in ps). locked: `npm
    ci` in the prefix's lib directory, where install_locked() wrote the package.json and lockfile; otherwise `npm
    install --global` of the verified local tarball tgz. Install scripts never run."""
    if locked:
        argv = [p["node"], p["npm_cli"], "ci", "--prefix=%s" % os.path.join(staging, "lib")]
    else:
        argv = [p["node"], p["npm_cli"], "install", "--global", "--prefix=%s" % staging]
    argv += ["--cache=%s" % cache, "--ignore-scripts", "--no-audit", "--no-fund", "--update-notifier=false",
             "--loglevel=warn", "--fetch-retries=1", "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=5000"]
    if userconfig:
        argv.append("--userconfig=%s" % userconfig)
    if p["tarball"]:
        return argv + ["--offline", tgz]
    argv.append("--registry=%s" % p["registry"])
    return argv if locked else argv + [tgz]


def npm_env(p):
    """npm's environment: its Node first on PATH, the extra CA bundle and the proxies (npm reads https_proxy,
    http_proxy and no_proxy). Not visible to other users, unlike a command line."""
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


class InstallError(Exception):
    """Why the install failed, for the operator."""


def run_npm(module, p, argv, what, lock=None, verify=None, before_retry=None):
    """Runs npm until it succeeds, at most p["attempts"] times. Success is exit 0 and, with verify, a tree verify()
    finds no problem with (npm leaves out an optional package it could not fetch, with exit 0 and not always a
    word). An integrity failure ends it at once: retrying would only fetch the same tarball again. Returns how many
    runs it took; InstallError when it never succeeded, naming the packages whose integrity failed where the lock
    knows them."""
    attempt = 0
    while True:
        attempt += 1
        rc, out, err = module.run_command(argv, environ_update=npm_env(p))
        output = "\n".join(x for x in (out, err) if x).strip()
        problems = verify() if rc == 0 and verify else []
        if rc == 0 and not problems:
            return attempt
        integrity = [line.strip() for line in output.splitlines() if INTEGRITY_FAILURE.search(line)]
        if integrity:
            named = packages_with_integrity(lock, output) if lock else []
            raise InstallError(
                "%s failed its integrity check%s: the registry %s serves another tarball than the one %s pins, so "
                "nothing was installed, and nothing was retried or resolved instead. %snpm said: %s"
                % (what, " for %s" % ", ".join(named) if named else "", p["registry"],
                   "the collection's lock" if lock else "the registry",
                   "The tree npm left lacks: %s. " % "; ".join(problems) if problems else "",
                   " ".join(integrity)[-1500:] if rc == 0 else output[-2000:]))
        failure = "npm exit %d: %s" % (rc, output[-2000:]) if rc else \
            "npm exit 0, but the tree is not the pinned one (npm leaves out an optional package it could not fetch): " \
            "%s" % "; ".join(problems)
        if attempt >= p["attempts"]:
            raise InstallError("%s failed %d time%s; nothing was installed, and the tree is never resolved another "
                               "way instead. The last time: %s" % (what, attempt, "s" if attempt > 1 else "", failure))
        module.warn("%s failed (attempt %d of %d), trying again: %s" % (what, attempt, p["attempts"], failure[:500]))
        if before_retry:
            before_retry()
        time.sleep(RETRY_DELAY * attempt)


def install_locked(module, p, staging, cache, userconfig, lock, tgz, result):
    """npm ci of the pinned tree in <staging>/lib, the release itself from the verified local tarball tgz; then the
    tree checked against the lock for this host, and the layout of npm install --global: the project files and
    node_modules/.bin go, <staging>/bin gets the package's executables (lock_problem() checked them)."""
    package, lib = p["package"], os.path.join(staging, "lib")
    os.mkdir(lib, 0o755)
    spec = "file:" + tgz
    lock = json.loads(json.dumps(lock))
    lock["packages"][""]["dependencies"] = {package: spec}
    lock["packages"]["node_modules/" + package]["resolved"] = spec
    with open(os.path.join(lib, "package.json"), "w") as f:
        json.dump({"dependencies": {package: spec}}, f)
    with open(os.path.join(lib, "package-lock.json"), "w") as f:
        json.dump(lock, f)
    rc, version, err = module.run_command([p["node"], "--version"])
    host = host_platform(version.strip() if rc == 0 else None)
    result["npm_attempts"] = run_npm(
        module, p, npm_argv(p, staging, cache, tgz, userconfig, locked=True),
        "npm ci of the pinned tree of %s@%s" % (package, p["version"]), lock,
        verify=lambda: tree_problems(lock, package, lib, host),
        before_retry=lambda: shutil.rmtree(os.path.join(lib, "node_modules"), ignore_errors=True))
    for name in ("package.json", "package-lock.json", os.path.join("node_modules", ".package-lock.json")):
        os.remove(os.path.join(lib, name))
    shutil.rmtree(os.path.join(lib, "node_modules", ".bin"), ignore_errors=True)
    links = bin_links(lock, package)
    if links:
        os.mkdir(os.path.join(staging, "bin"), 0o755)
    for name, target in links.items():
        os.symlink(target, os.path.join(staging, "bin", name))


def empty(directory):
    """Removes what is in directory (npm install --global starts from an empty prefix)."""
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def verified_tarball(p, known, directory, attempts):
    """The release's own tarball, verified, as a local path: O(tarball) checked against the known integrity (and
    O(integrity)), or fetched from the registry into directory (0700) after its version document's integrity was
    checked against the known one, and hashed while it downloads. Returns (path, trust)."""
    package, version = p["package"], p["version"]
    if p["tarball"]:
        if not os.path.isfile(p["tarball"]):
            raise RegistryError("tarball %s does not exist" % p["tarball"])
        problem = integrity_problem(package, version, "the integrity option", p["integrity"], known) \
            if p["integrity"] else None
        if problem:
            raise RegistryError(problem)
        if known or p["integrity"]:
            verify_file(p["tarball"], known or p["integrity"])
        return p["tarball"], "known" if known else "registry"
    os.mkdir(directory, 0o700)
    target = os.path.join(directory, "%s-%s.tgz" % (package.rsplit("/", 1)[-1], version))
    request = make_request(ca_path=p["ca_path"], validate_certs=p["validate_certs"], timeout=p["timeout"],
                           http_agent="qwenops.qwen_code cli_install")
    attempt = 0
    while True:
        attempt += 1
        try:
            fetch_verified(request, p["registry"], p["auth_token"], package, version, target, known)
            return target, "known" if known else "registry"
        except RegistryError as e:
            if attempt >= attempts or "integrity" in to_native(e):
                raise
        time.sleep(RETRY_DELAY * attempt)


def npm_install(module, p, staging, cache, userconfig_dir, known, result):
    """Installs the release into the staging prefix from its verified tarball (O(tarball), checked already, or
    fetched now; the pinned tree with npm ci when there is one), checks what npm installed, makes the executables
    executable and every file usable by all users. Returns the executables, relative to the package."""
    package = p["package"]
    userconfig = write_userconfig(userconfig_dir, p) if userconfig_dir else None
    lock = known_lock(package, p["version"]) if p["lock"] and not p["tarball"] else None
    tgz = p["tarball"]
    if not tgz:
        tgz, result["trust"] = verified_tarball(p, known, staging + ".download", p["attempts"])
    if lock is not None:
        result["installed_from"] = "lock"
        install_locked(module, p, staging, cache, userconfig, lock, tgz, result)
    else:
        result["installed_from"] = "tarball" if p["tarball"] else "registry"
        what = "npm install of %s@%s" % (package, p["version"])
        result["npm_attempts"] = run_npm(
            module, p, npm_argv(p, staging, cache, tgz, userconfig), what, before_retry=lambda: empty(staging))
        if not p["tarball"]:
            module.warn("%s@%s: its tarball was verified (%s), but this collection pins no dependency tree for it, "
                        "so npm resolved its dependencies from the registry %s, which this run trusts for them."
                        % (package, p["version"], "the integrity this collection knows" if known
                           else "only against the registry's own integrity: allow_unpinned", p["registry"]))
    package_dir = os.path.join(staging, "lib", "node_modules", package)
    found = installed_version(staging, package)
    if found != p["version"]:
        raise InstallError("npm installed %s %s, not %s" % (package, found, p["version"]))
    made = []
    for pattern in p["executables"]:
        for path in sorted(glob.glob(os.path.join(package_dir, pattern))):
            if os.path.isfile(path) and not os.path.islink(path):
                os.chmod(path, 0o755)
                made.append(os.path.relpath(path, package_dir))
    # mkdtemp made the prefix 0700, and a umask npm set may have narrowed more.
    normalise_tree_modes(staging)
    return made


def release_problem(p, known, lock):
    """Why this release may not be installed as asked, before anything changes (None when it may)."""
    package, version = p["package"], p["version"]
    if lock is not None:
        problem = lock_problem(lock, package, version, known)
        if problem:
            return "the collection's pinned tree of %s@%s is broken (%s): set lock to false" % (
                package, version, problem)
    return unknown_release_problem(package, version, p["allow_unpinned"], "allow_unpinned")


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
        allow_unpinned=dict(type="bool", default=False),
        attempts=dict(type="int", default=3),
        executables=dict(type="list", elements="str", default=["vendor/ripgrep/*/rg"]),
        stale_after=dict(type="int", default=3600),
    )
    argument_spec.update(registry_argument_spec())
    argument_spec.update(transport_argument_spec(timeout=60))
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_by=dict(integrity="tarball"),
        supports_check_mode=True,
    )
    p = module.params
    dest, package = p["dest"], p["package"]
    result = dict(changed=False, dest=dest, version=p["version"], removed_staging=[])
    problem = registry_problem(p["registry"], p["auth_token"])
    if not problem and p["attempts"] < 1:
        problem = "attempts must be at least 1"
    if problem:
        module.fail_json(msg=problem, **result)
    try:
        if p["auth_token"]:
            nerf_dart(p["registry"])
    except (RegistryError, ValueError) as e:
        module.fail_json(msg=to_native(e), **result)
    if installed_version(dest, package) == p["version"]:
        module.exit_json(**result)
    known = known_integrity(package, p["version"])
    problem = release_problem(p, known, known_lock(package, p["version"]) if p["lock"] and not p["tarball"] else None)
    if problem:
        module.fail_json(msg=problem, **result)
    result["changed"] = True
    if module.check_mode:
        module.exit_json(**result)

    for path, what in ((p["node"], "node"), (p["npm_cli"], "npm_cli")):
        if not os.path.isfile(path):
            module.fail_json(msg="%s %s does not exist" % (what, path), **result)
    if p["tarball"]:
        try:
            dummy, result["trust"] = verified_tarball(p, known, None, 1)
        except RegistryError as e:
            module.fail_json(msg=to_native(e), **result)
    apply_proxy_options(p)
    result["removed_staging"] = remove_stale(dest, p["stale_after"])
    with staging_dir(dest) as staging:
        cache = p["cache"] or staging + ".npm-cache"
        # The token goes to npm in a file only it and root can read (removed below, and by remove_stale() when a
        # killed run left it): never on the command line, nor in the environment of anything npm starts.
        userconfig_dir = staging + ".npmrc" if p["auth_token"] and not p["tarball"] else None
        try:
            result["executables"] = npm_install(module, p, staging, cache, userconfig_dir, known, result)
            # A concurrent run that completed the same release first keeps its tree; a tree that is not a release
            # (an install that predates staging, cut short) is replaced.
            swap_into_place(staging, dest, lambda path: installed_version(path, package) == p["version"])
        except (RegistryError, InstallError) as e:
            module.fail_json(msg=to_native(e), **result)
        except (IOError, OSError) as e:
            module.fail_json(msg="installing %s@%s into %s failed: %s" % (package, p["version"], dest, to_native(e)),
                             **result)
        finally:
            for leftover in (userconfig_dir, staging + ".download"):
                if leftover:
                    shutil.rmtree(leftover, ignore_errors=True)
            if not p["cache"]:
                shutil.rmtree(cache, ignore_errors=True)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
