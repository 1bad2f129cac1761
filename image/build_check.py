# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builds the container image's `check` command: one zip application (`python3 check.pyz`) holding image/check.py
as its __main__ and exactly the modules it imports from this collection and ansible.module_utils, found
statically (modulefinder: every import of every module, also those inside functions, as Ansible's AnsiballZ
finds a module's module_utils), under empty `ansible` and `ansible_collections` packages, so that nothing else of
ansible or of the collection comes along. The standard library is the image's own (python3-minimal and
libpython3-stdlib; docs/ARCHITECTURE.md says why both).

Each module is there as source and compiled by this Python (unchecked-hash .pyc, which zipimport uses when the
image's Python is the same version and ignores otherwise): the image's non-root user cannot cache bytecode, and
compiling ansible.module_utils at every run costs about a second.

Runs in the image's build stage (image/build.sh) and in tests/unit/test_image_check.py; standard library only.
usage: build_check.py COLLECTION_ROOT OUTPUT
"""

import importlib.util
import modulefinder
import os
import py_compile
import shutil
import sys
import sysconfig
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION_PACKAGE = ("ansible_collections", "qwenops", "qwen_code", "plugins", "module_utils")


def _stage(collection, where):
    """A tree under `where` to import the check from: empty ansible and ansible_collections packages (their real
    __init__ files import more than the check needs), ansible.module_utils and the collection's module_utils."""
    ansible_dir = os.path.dirname(importlib.util.find_spec("ansible").origin)
    os.makedirs(os.path.join(where, "ansible"))
    _touch(os.path.join(where, "ansible", "__init__.py"))
    shutil.copytree(os.path.join(ansible_dir, "module_utils"), os.path.join(where, "ansible", "module_utils"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    package = where
    for part in COLLECTION_PACKAGE[:-1]:
        package = os.path.join(package, part)
        os.makedirs(package)
        _touch(os.path.join(package, "__init__.py"))
    shutil.copytree(os.path.join(collection, "plugins", "module_utils"), os.path.join(package, "module_utils"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    _touch(os.path.join(package, "module_utils", "__init__.py"))


def _touch(path):
    if not os.path.exists(path):
        with open(path, "w"):
            pass


def find(collection, staging):
    """The files under staging (relative paths) that image/check.py imports, and every package on their way."""
    _stage(collection, staging)
    stdlib = sorted({sysconfig.get_path(name) for name in ("stdlib", "platstdlib")})
    finder = modulefinder.ModuleFinder(path=[staging] + stdlib)
    finder.run_script(os.path.join(HERE, "check.py"))
    ours = {os.path.relpath(m.__file__, staging) for m in finder.modules.values()
            if m.__file__ and m.__file__.startswith(staging + os.sep)}
    for rel in list(ours):
        parts = rel.split(os.sep)[:-1]
        ours.update(os.path.join(*(parts[:depth] + ["__init__.py"])) for depth in range(1, len(parts) + 1))
    return sorted(ours)


def build(collection, output):
    """Write the zip application to output (mode 0644); returns its members."""
    staging = tempfile.mkdtemp(prefix="qwen-check-")
    try:
        ours = find(os.path.abspath(collection), staging)
        shutil.copy(os.path.join(HERE, "check.py"), os.path.join(staging, "__main__.py"))
        tmp = output + ".tmp"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for rel in ["__main__.py"] + ours:
                source = os.path.join(staging, rel)
                name = rel.replace(os.sep, "/")
                with open(source, "rb") as f:
                    zf.writestr(_info(name), f.read())
                if rel != "__main__.py":  # __main__ is compiled from source whatever its neighbours
                    compiled = py_compile.compile(source, cfile=source + "c", dfile=os.path.join(output, name),
                                                  doraise=True,
                                                  invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
                    with open(compiled, "rb") as f:
                        zf.writestr(_info(name + "c"), f.read())
            members = zf.namelist()
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
        return members
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _info(name):
    """A member with a fixed time and mode: the same sources give the same archive."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: build_check.py COLLECTION_ROOT OUTPUT")
    members = build(sys.argv[1], sys.argv[2])
    print("build_check: %s, %d members, %d bytes" % (sys.argv[2], len(members), os.path.getsize(sys.argv[2])))


if __name__ == "__main__":
    main()
