# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

Installing a tree all or nothing, for npm_unpack and cli_install: the tree is built in a staging directory beside
its destination (hidden, named .<dest name>.partial-<random>, so that each run has its own) and renamed into place
only when it is complete. A killed run leaves only a staging directory, which install_info reports and
remove_stale() removes once it is old enough. Directories are made with explicit modes whatever the umask, since
every user runs what is installed.

Runs on the managed host or the controller: standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import os
import shutil
import stat
import tempfile
import time

PARTIAL = ".partial-"


def makedirs_mode(path, mode=0o755):
    """os.makedirs(path), where every directory it creates gets exactly mode, whatever the umask. Existing
    directories are left as they are."""
    path = os.path.abspath(path)
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, mode)
        except OSError:
            if not os.path.isdir(directory):  # created meanwhile by a concurrent run: fine
                raise
            continue
        os.chmod(directory, mode)


def normalise_tree_modes(root):
    """Make a tree usable by every user, whatever umask created it: directories get at least 0755, files at least
    0644, with the execute bits of user extended to group and others; no setuid/setgid/sticky bits, no group or
    other write. Symbolic links are not followed (nor changed)."""
    def fix(path, is_dir):
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            return
        mode = stat.S_IMODE(st.st_mode) & 0o755
        if is_dir or stat.S_ISDIR(st.st_mode):
            mode |= 0o755
        else:
            mode |= 0o644
            if mode & 0o100:
                mode |= 0o111
        if mode != stat.S_IMODE(st.st_mode):
            os.chmod(path, mode)

    fix(root, True)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            fix(os.path.join(dirpath, name), False)


def _parent_and_name(dest):
    dest = os.path.abspath(dest)
    return os.path.dirname(dest), os.path.basename(dest)


@contextlib.contextmanager
def staging_dir(dest):
    """A new, empty staging directory (mode 0700) beside dest, .<dest name>.partial-<random>, in dest's parent
    (created with mode 0755 when missing). Removed, with whatever is still in it, when the block ends. Siblings
    named after it (<staging dir>.<suffix>) count as staging too: staging_dirs() lists them."""
    parent, name = _parent_and_name(dest)
    makedirs_mode(parent, 0o755)  # 0755 whatever the umask: every user runs what is installed there
    path = tempfile.mkdtemp(prefix=".%s%s" % (name, PARTIAL), dir=parent)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def staging_dirs(directory):
    """The staging directories (.<name>.partial-*) of installs into directory, with their age: [(path, seconds)]."""
    found, now = [], time.time()
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return found
    for name in names:
        path = os.path.join(directory, name)
        if name.startswith(".") and PARTIAL in name and os.path.isdir(path):
            try:
                found.append((path, now - os.stat(path).st_mtime))
            except OSError:
                continue
    return found


def remove_stale(dest, stale_after):
    """Removes the staging directories beside dest (of any install into dest's parent) older than stale_after
    seconds: left by killed runs (younger ones may belong to a run in progress). Returns their paths."""
    removed = []
    for path, age in staging_dirs(_parent_and_name(dest)[0]):
        if age > stale_after:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def swap_into_place(tree, dest, holds_same):
    """Renames the finished tree to dest. holds_same(dest) says whether dest already holds what tree holds.

    When it does (a concurrent run finished first), its copy stays and tree is left for the caller to remove:
    returns False. Anything else at dest (a broken tree without a marker, left by an older or killed install) is
    moved aside into a .<dest name>.old-<random> directory, replaced by tree, and removed: returns True, as when
    dest did not exist.
    """
    if holds_same(dest):
        return False
    try:
        os.rename(tree, dest)
        return True
    except OSError:
        if holds_same(dest):
            return False
        if not os.path.lexists(dest):
            raise
    parent, name = _parent_and_name(dest)
    old = tempfile.mkdtemp(prefix=".%s.old-" % name, dir=parent)
    os.rename(dest, os.path.join(old, "tree"))
    os.rename(tree, dest)
    shutil.rmtree(old, ignore_errors=True)
    return True
