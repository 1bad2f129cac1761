"""_tar: safe_extract() unpacks an npm tarball member by member against a model of the tree, and refuses whatever
would reach outside the target (climbing names, hard and symbolic links that lead out, paths through links), with
tarfile's data filter where this Python has it and without it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tarfile

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils import _tar
from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import RegistryError
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import umask
from ansible_collections.qwenops.qwen_code.tests.unit.tarballs import RE_AIMED, RE_AIMING, mode_of, tar_of


# The extraction modes this Python has: the data filter where tarfile has it (Python >= 3.11.4; tests/all runs this file
# on .venv's Python too when the unprivileged session's lacks it), and the fallback everywhere. Not a skip: a mode this
# Python cannot run is not collected.
MODES = (["data_filter"] if hasattr(tarfile, "data_filter") else []) + ["fallback"]


@pytest.fixture(params=MODES)
def extract(request, monkeypatch, tmp_path):
    """safe_extract() into tmp_path/work/tree, through tarfile's data filter or through the fallback for Pythons
    without it (forced here; tarfile's own extraction then must not run at all)."""
    if request.param == "data_filter":
        monkeypatch.setattr(_tar, "HAS_DATA_FILTER", True)
    else:
        monkeypatch.setattr(_tar, "HAS_DATA_FILTER", False)

        def refuse(*a, **kw):
            raise AssertionError("the fallback must not use tarfile's extraction")
        monkeypatch.setattr(tarfile.TarFile, "extractall", refuse)
        monkeypatch.setattr(tarfile.TarFile, "extract", refuse)

    def run(data):
        tgz = tmp_path / "t.tgz"
        tgz.write_bytes(data)
        target = tmp_path / "work" / "tree"
        target.mkdir(parents=True, exist_ok=True)
        _tar.safe_extract(str(tgz), str(target))
        return target
    run.outside = tmp_path
    return run


@pytest.mark.parametrize("linkname", ["package/../../victim", "../../victim"])
def test_hardlink_target_climbing_out_of_the_root_cannot_overwrite_a_file_outside(extract, linkname):
    # Seen from the link's directory (x/y) the target stays inside; seen from the root, as tar resolves hard link
    # targets, it is outside: the link, then a file of the same name, used to write into tmp/victim.
    victim = extract.outside / "victim"
    victim.write_bytes(b"secret")
    victim.chmod(0o600)
    evil = tar_of(("package/x/y/link", "hardlink", linkname, 0o644), ("package/x/y/link", "file", b"pwned", 0o644))
    with pytest.raises(RegistryError, match="outside"):
        extract(evil)
    assert victim.read_bytes() == b"secret" and mode_of(victim) == 0o600
    assert os.stat(str(victim)).st_nlink == 1


def test_hardlink_inside_the_package_is_an_archive_path(extract):
    tree = extract(tar_of(("package/bin/node", "file", b"node", 0o755),
                          ("package/bin/nodejs", "hardlink", "package/bin/node", 0o755)))
    assert os.path.samefile(str(tree / "bin" / "node"), str(tree / "bin" / "nodejs"))
    assert mode_of(tree / "bin" / "nodejs") == 0o755


@pytest.mark.parametrize("linkname", ["../../victim", "/etc/passwd", "a/../../..", "../../tree2"])
def test_symlink_targets_must_stay_inside(extract, linkname):
    with pytest.raises(RegistryError, match="outside"):
        extract(tar_of(("package/bin/a", "file", b"a", 0o644), ("package/bin/evil", "symlink", linkname, 0o777)))
    assert not os.path.lexists(str(extract.outside / "work" / "tree" / "bin" / "evil"))


def test_symlink_inside_is_kept_and_nothing_is_written_through_one(extract):
    tree = extract(tar_of(("package/cli.js", "file", b"js", 0o755), ("package/bin/qwen", "symlink", "../cli.js", 0o777)))
    assert os.readlink(str(tree / "bin" / "qwen")) == "../cli.js"
    (extract.outside / "work" / "tree").rename(extract.outside / "first")
    with pytest.raises(RegistryError, match="symbolic link"):
        extract(tar_of(("package/lib", "symlink", ".", 0o777), ("package/lib/x", "file", b"x", 0o644)))


@pytest.mark.parametrize("name", ["/escaped", "package/../../escaped", "package/a/../../../escaped"])
def test_absolute_and_climbing_names_are_refused(extract, name):
    with pytest.raises(RegistryError):
        extract(tar_of((name, "file", b"x", 0o644)))
    assert not (extract.outside / "escaped").exists() and not os.path.exists("/escaped")


def test_modes_are_normalised_whatever_the_umask(extract):
    with umask(0o077):
        tree = extract(tar_of(("package/bin/node", "file", b"node", 0o4755),  # setuid in the archive
                              ("package/lib/deep/x.js", "file", b"x", 0o600),  # no directory entries for lib/
                              ("package/share", "dir", None, 0o777),
                              ("package/run.sh", "file", b"#!/bin/sh", 0o011),
                              ("package/pipe", "fifo", None, 0o644)))
    assert mode_of(tree / "bin") == 0o755 and mode_of(tree / "lib") == 0o755 and mode_of(tree / "lib" / "deep") == 0o755
    assert mode_of(tree / "share") == 0o755
    assert mode_of(tree / "bin" / "node") == 0o755 and mode_of(tree / "run.sh") == 0o755
    assert mode_of(tree / "lib" / "deep" / "x.js") == 0o644
    assert not os.path.lexists(str(tree / "pipe")), "only files, directories and links are unpacked"


def test_files_written_by_the_writers_and_large_ones_are_whole(extract):
    # Small files go to the writer threads, a large one (over SMALL_FILE) is written in order: all whole, with their
    # modes; a later member of the same name replaces the earlier one; a hard link sees its target complete.
    small, large = os.urandom(5000), os.urandom(_tar.SMALL_FILE + 1)
    members = [("package/d%d/f%d" % (i % 7, i), "file", small + bytes([i % 256]), 0o644) for i in range(300)]
    members += [("package/d1/f1", "file", b"second", 0o755), ("package/big", "file", large, 0o755),
                ("package/big-link", "hardlink", "package/d2/f2", 0o644)]
    tree = extract(tar_of(*members))
    for i in range(300):
        if i != 1:
            assert (tree / ("d%d" % (i % 7)) / ("f%d" % i)).read_bytes() == small + bytes([i % 256])
    assert (tree / "d1" / "f1").read_bytes() == b"second" and mode_of(tree / "d1" / "f1") == 0o755
    assert (tree / "big").read_bytes() == large and mode_of(tree / "big") == 0o755
    assert (tree / "big-link").read_bytes() == small + bytes([2])


def test_a_file_member_under_a_file_still_being_written_is_refused(extract):
    with pytest.raises((RegistryError, OSError)):
        extract(tar_of(("package/a", "file", b"file", 0o644), ("package/a/b", "file", b"under a file", 0o644)))


def test_a_member_under_a_file_is_refused_by_name(extract):
    with pytest.raises(RegistryError, match="not a directory"):
        extract(tar_of(("package/a", "file", b"file", 0o644), ("package/b", "file", b"b", 0o644),
                       ("package/a/c/d", "file", b"under a file", 0o644)))


def test_a_directory_member_replaces_a_symlink_and_nothing_goes_through_it(extract):
    outside = extract.outside / "elsewhere"
    outside.mkdir()
    tree = extract(tar_of(("package/lib", "symlink", "real", 0o777), ("package/real/keep", "file", b"k", 0o644),
                          ("package/lib", "dir", None, 0o755), ("package/lib/x", "file", b"x", 0o644)))
    assert not os.path.islink(str(tree / "lib")) and (tree / "lib" / "x").read_bytes() == b"x"
    assert os.listdir(str(tree / "real")) == ["keep"]


@pytest.mark.parametrize("last", sorted(RE_AIMING))
def test_a_link_re_aimed_by_a_later_member_is_refused(extract, last):
    with pytest.raises(RegistryError, match="outside|already there"):
        extract(tar_of(*RE_AIMED + [RE_AIMING[last]]))


def test_a_link_is_never_replaced_by_another_link(extract):
    with pytest.raises(RegistryError, match="already"):
        extract(tar_of(("package/a", "file", b"a", 0o644), ("package/b", "file", b"b", 0o644),
                       ("package/l", "symlink", "a", 0o777), ("package/l", "symlink", "b", 0o777)))


def test_a_link_that_leaves_the_root_and_comes_back_by_name_is_refused(extract):
    # The tree is unpacked as work/tree and then renamed: ../tree/a is inside only until then.
    with pytest.raises(RegistryError, match="outside"):
        extract(tar_of(("package/a", "file", b"a", 0o644), ("package/l", "symlink", "../tree/a", 0o777)))


def test_links_that_stay_inside_through_other_links_are_kept(extract):
    tree = extract(tar_of(("package/lib/cli.js", "file", b"js", 0o755), ("package/lib/up", "symlink", "..", 0o777),
                          ("package/bin/qwen", "symlink", "../lib/up/lib/cli.js", 0o777),
                          ("package/dangling", "symlink", "nothing/../here", 0o777)))
    assert (tree / "bin" / "qwen").read_bytes() == b"js" and os.path.islink(str(tree / "dangling"))


def test_what_is_in_the_target_already_counts(extract):
    # The model of the tree starts from the target's contents: a link already there is never written through.
    target = extract.outside / "work" / "tree"
    target.mkdir(parents=True)
    os.symlink(str(extract.outside), str(target / "lib"))
    with pytest.raises(RegistryError, match="symbolic link"):
        extract(tar_of(("package/lib/escaped", "file", b"x", 0o644)))
    assert not (extract.outside / "escaped").exists()


def test_unpacking_asks_the_file_system_about_no_member_path(extract, monkeypatch):
    # Looking up a path costs ~60 microseconds on overlayfs when it does not exist yet: the members' paths are
    # checked against the model of the tree, not by lstat. What is left: resolving the target, and the final walk
    # over the directories (and, where this Python has it, tarfile's data filter, which resolves each member's
    # path itself: turned off here).
    if _tar.HAS_DATA_FILTER:
        monkeypatch.setattr(_tar, "HAS_DATA_FILTER", False)
    calls = []
    real_lstat = os.lstat
    monkeypatch.setattr(os, "lstat", lambda *a, **kw: calls.append(a[0]) or real_lstat(*a, **kw))
    members = [("package/d%d/e%d/f%d" % (i % 7, i % 3, i), "file", b"x%d" % i, 0o644) for i in range(400)]
    tree = extract(tar_of(*members))
    assert len(list(tree.rglob("f*"))) == 400
    # realpath of the target and the walk over its 28 directories; checking each member on disk took over 1,600
    assert len(calls) < 100, (len(calls), calls[:40])


def test_excluded_paths_and_what_is_under_them_are_left_out(extract):
    tree = extract(tar_of(("package/include/node/node.h", "file", b"h", 0o644),
                          ("package/include.txt", "file", b"t", 0o644),
                          ("package/share/doc/x", "file", b"d", 0o644), ("package/share/man/y", "file", b"m", 0o644)))
    assert (tree / "include" / "node" / "node.h").exists()
    excluded = extract.outside / "excluded"
    excluded.mkdir()
    _tar.safe_extract(str(extract.outside / "t.tgz"), str(excluded), ["include", "share/doc"])
    assert sorted(os.listdir(str(excluded))) == ["include.txt", "share"]
    assert os.listdir(str(excluded / "share")) == ["man"]


@pytest.mark.parametrize("path, problem", [("include", False), ("share/doc", False), ("/include", True),
                                           ("../include", True), ("include/", True), ("./include", True),
                                           ("a/../include", True), (".", True), ("", True)])
def test_exclude_problem_wants_normalised_paths_inside_the_package(path, problem):
    assert bool(_tar.exclude_problem([path])) == problem
