# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

Unpacking an npm tarball safely, for npm_unpack: safe_extract() strips npm's package/ directory, leaves out the
excluded paths, normalises modes whatever the umask, and refuses anything that would reach outside the target (an
absolute or climbing name, a hard link whose target climbs out, a symbolic link that leads outside at any step of
its resolution, a path through a symbolic link). Members are created one by one against a model of the tree
(_Tree), which asks the file system nothing per member path; where this Python has tarfile's data filter
(PEP 706), it is asked too. Refusals are RegistryError, as the rest of an install's failures.

Runs on the managed host or the controller: standard library and ansible.module_utils only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import shutil
import stat
import tarfile
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import RegistryError

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
