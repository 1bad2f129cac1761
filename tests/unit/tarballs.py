"""Crafted tarballs for the tests of the extractor (module_utils/_tar.py) and of npm_unpack."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import os
import stat
import tarfile


def tar_of(*members):
    """A .tgz of (name, kind, payload, mode) members: kind file (payload: bytes), dir, symlink or hardlink (payload:
    the link target, as tar stores it), fifo."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, kind, payload, mode in members:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE}[kind]
            if kind in ("symlink", "hardlink"):
                info.linkname = payload
            tar.addfile(info)
    return buf.getvalue()


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


# The finding: each link was checked when it was made, but a later member re-aims the links checked before it. q
# leads 20 directories down, escape climbs 20 back up from there (inside, when it is made), then q is made again
# pointing at the root (or a directory takes its place): escape then points at /etc/shadow.
DEEP = "/".join("d%d" % i for i in range(20))
RE_AIMED = [("package/q", "symlink", DEEP, 0o777),
            ("package/escape", "symlink", "q/" + "../" * 20 + "etc/shadow", 0o777)]
RE_AIMING = {"link": ("package/q", "symlink", ".", 0o777), "dir": ("package/q", "dir", None, 0o755),
             "file": ("package/q", "file", b"q", 0o644)}
