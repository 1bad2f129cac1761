"""_staging: a tree is built beside its destination and swapped into place whole; a concurrent run's identical tree
is kept, a broken one replaced; staging left by killed runs is listed and removed once stale."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import time

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._staging import (
    makedirs_mode, normalise_tree_modes, remove_stale, staging_dir, staging_dirs, swap_into_place)
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import umask
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def tree_with(path, name, text):
    """A finished tree at path holding one file."""
    path.mkdir(parents=True, exist_ok=True)
    (path / name).write_text(text)
    return path


def has_marker(path):
    return os.path.exists(os.path.join(str(path), "MARKER"))


def age(path, seconds):
    then = time.time() - seconds
    os.utime(str(path), (then, then))


# --- staging_dir, staging_dirs, remove_stale ------------------------------------------------------------------

def test_staging_dir_is_private_beside_dest_and_removed_afterwards(tmp_path):
    dest = tmp_path / "opt" / "node" / "22.0.0"
    with umask(0o077):
        with staging_dir(str(dest)) as staging:
            assert os.path.dirname(staging) == str(dest.parent)
            assert os.path.basename(staging).startswith(".22.0.0.partial-") and mode_of(staging) == 0o700
            assert mode_of(tmp_path / "opt") == mode_of(tmp_path / "opt" / "node") == 0o755
            with open(os.path.join(staging, "leftover"), "w") as f:
                f.write("what a failed step left")
    assert not os.path.exists(staging)


def test_staging_dir_is_removed_when_the_block_fails(tmp_path):
    with pytest.raises(RuntimeError):
        with staging_dir(str(tmp_path / "dest")) as staging:
            (tmp_path / os.path.basename(staging) / "half").write_text("written")
            raise RuntimeError("npm failed")
    assert os.listdir(str(tmp_path)) == []


def test_each_run_stages_in_a_directory_of_its_own(tmp_path):
    with staging_dir(str(tmp_path / "dest")) as first, staging_dir(str(tmp_path / "dest")) as second:
        assert first != second


def test_staging_dirs_lists_staging_and_its_siblings_with_their_age(tmp_path):
    for name in ("." + DEFAULT + ".partial-abc", "." + DEFAULT + ".partial-abc.npm-cache", ".0.23.4.partial-def",
                 DEFAULT,
                 ".hidden", "x.partial-not-hidden"):
        (tmp_path / name).mkdir()
    (tmp_path / ("." + DEFAULT + ".partial-file")).write_text("not a directory")
    age(tmp_path / ".0.23.4.partial-def", 100)
    found = dict(staging_dirs(str(tmp_path)))
    assert sorted(os.path.basename(p) for p in found) == [".0.23.4.partial-def", "." + DEFAULT + ".partial-abc",
                                                          "." + DEFAULT + ".partial-abc.npm-cache"]
    assert 99 < found[str(tmp_path / ".0.23.4.partial-def")] < 200
    assert staging_dirs(str(tmp_path / "missing")) == []


def test_remove_stale_removes_old_staging_of_any_release_and_keeps_a_running_one(tmp_path):
    stale, fresh = tmp_path / ".0.23.4.partial-old", tmp_path / ("." + DEFAULT + ".partial-running")
    tree_with(stale, "half", "x")
    fresh.mkdir()
    age(stale, 7200)
    assert remove_stale(str(tmp_path / DEFAULT), 3600) == [str(stale)]
    assert sorted(os.listdir(str(tmp_path))) == ["." + DEFAULT + ".partial-running"]


# --- swap_into_place ------------------------------------------------------------------------------------------

def test_swap_into_a_free_place(tmp_path):
    tree = tree_with(tmp_path / "staging" / "tree", "MARKER", "ours")
    assert swap_into_place(str(tree), str(tmp_path / "dest"), has_marker) is True
    assert (tmp_path / "dest" / "MARKER").read_text() == "ours" and not tree.exists()


def test_the_same_tree_put_there_by_a_concurrent_run_is_kept(tmp_path):
    theirs = tree_with(tmp_path / "dest", "MARKER", "theirs")
    tree = tree_with(tmp_path / "staging" / "tree", "MARKER", "ours")
    assert swap_into_place(str(tree), str(theirs), has_marker) is False
    assert (theirs / "MARKER").read_text() == "theirs" and (tree / "MARKER").read_text() == "ours"


def test_a_concurrent_run_finishing_during_the_swap_is_kept(tmp_path):
    """The other run's rename lands between the check and this run's rename: this rename fails, theirs stays."""
    dest = tmp_path / "dest"
    tree = tree_with(tmp_path / "staging" / "tree", "MARKER", "ours")
    checks = []

    def holds_same(path):
        checks.append(path)
        if len(checks) == 1:
            tree_with(dest, "MARKER", "theirs")
            return False
        return has_marker(path)
    assert swap_into_place(str(tree), str(dest), holds_same) is False
    assert (dest / "MARKER").read_text() == "theirs" and len(checks) == 2


@pytest.mark.parametrize("broken", ["tree", "empty", "file", "link"])
def test_a_broken_tree_without_a_marker_is_replaced(tmp_path, broken):
    dest, elsewhere = tmp_path / "dest", tree_with(tmp_path / "elsewhere", "keep", "untouched")
    if broken == "tree":
        tree_with(dest, "half-written", "x")
    elif broken == "empty":
        dest.mkdir()
    elif broken == "file":
        dest.write_text("not a tree")
    else:
        dest.symlink_to(elsewhere)
    tree = tree_with(tmp_path / "staging" / "tree", "MARKER", "ours")
    assert swap_into_place(str(tree), str(dest), has_marker) is True
    assert not dest.is_symlink() and os.listdir(str(dest)) == ["MARKER"]
    assert sorted(os.listdir(str(tmp_path))) == ["dest", "elsewhere", "staging"], "nothing .old- left behind"
    assert (elsewhere / "keep").read_text() == "untouched"


def test_a_swap_that_cannot_happen_raises(tmp_path):
    tree = tree_with(tmp_path / "staging" / "tree", "MARKER", "ours")
    with pytest.raises(OSError):
        swap_into_place(str(tree), str(tmp_path / "no-such-parent" / "dest"), has_marker)


# --- modes ------------------------------------------------------------------------------------------------

def test_makedirs_mode_gives_new_directories_the_mode_whatever_the_umask(tmp_path):
    (tmp_path / "existing").mkdir(mode=0o700)
    os.chmod(str(tmp_path / "existing"), 0o700)
    with umask(0o077):
        makedirs_mode(str(tmp_path / "existing" / "a" / "b"), 0o755)
        makedirs_mode(str(tmp_path / "existing" / "a" / "b"), 0o755)  # already there: fine
    assert mode_of(tmp_path / "existing") == 0o700, "existing directories are left as they are"
    assert mode_of(tmp_path / "existing" / "a") == mode_of(tmp_path / "existing" / "a" / "b") == 0o755


def test_normalise_tree_modes(tmp_path):
    root = tmp_path / "tree"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "tool").write_text("#!/bin/sh\n")
    (root / "lib.js").write_text("x")
    (root / "link").symlink_to("/etc/passwd")
    for path, mode in ((root, 0o700), (root / "bin", 0o2770), (root / "bin" / "tool", 0o4700),
                       (root / "lib.js", 0o660)):
        os.chmod(str(path), mode)
    passwd_mode = mode_of("/etc/passwd")
    normalise_tree_modes(str(root))
    assert mode_of(root) == mode_of(root / "bin") == 0o755
    assert mode_of(root / "bin" / "tool") == 0o755 and mode_of(root / "lib.js") == 0o644
    assert mode_of("/etc/passwd") == passwd_mode, "a link is not followed"
