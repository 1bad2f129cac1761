# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

Atomic file writes shared by the modules: readers see the old file or the new one, never a partial one, and a file
never exists with another owner or looser permissions than the ones asked for."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import tempfile
import time

from ansible.module_utils.common.text.converters import to_bytes


# mkstemp's names: the prefix, then 8 of these characters.
_TEMPORARY = r"\.%s\.[a-z0-9_]{8}$"


def temporaries(directory, names, older_than=0):
    """The temporary files atomic_write() left in directory for these file names (a run killed between creating one
    and renaming it: it may hold a key), last modified more than older_than seconds ago."""
    found, now = [], time.time()
    patterns = [re.compile(_TEMPORARY % re.escape(name)) for name in names]
    try:
        entries = sorted(os.listdir(directory))
    except OSError:
        return found
    for entry in entries:
        if entry.startswith(".") and any(p.match(entry) for p in patterns):
            path = os.path.join(directory, entry)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > older_than:
                found.append(path)
    return found


def atomic_write(path, data, uid=None, gid=None, mode=0o600, before_rename=None):
    """Write data (text or bytes) to path: through a temporary file in the same
    directory that gets its owner and mode before it holds any data, then a rename. A secret-bearing file never
    exists with looser permissions or another owner, even for a moment. before_rename() runs once the new
    content is safely on disk, just before it replaces path."""
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path) or ".")
    try:
        os.fchmod(fd, mode)
        if uid is not None:
            os.fchown(fd, uid, -1 if gid is None else gid)
        with os.fdopen(fd, "wb") as f:
            f.write(to_bytes(data))
            f.flush()
            os.fsync(f.fileno())
        if before_rename is not None:
            before_rename()
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


ROOT_ONLY_DIR = "%s must be a directory of root that only root can write to"


def root_only_dir(st):
    """Whether st (an lstat result) is a directory that belongs to root and that no one else may write to: where
    root may create and rename files by path."""
    return stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and not st.st_mode & 0o022
