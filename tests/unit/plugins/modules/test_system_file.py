"""system_file: root's file written in its final directory (temporary file beside it), compared by content, owner
and mode; a planted link is replaced, never followed; check mode writes nothing."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module, umask

pytestmark = pytest.mark.root  # writes files of root: `nox -s unit-root` (tests/conftest.py)


def test_writes_then_changes_nothing(tmp_path):
    path = tmp_path / "qwen"
    r = run_module("system_file", {"path": str(path), "content": "#!/bin/sh\n", "mode": "0755"}, tmp_path)
    assert r["changed"] and path.read_text() == "#!/bin/sh\n"
    st = os.lstat(str(path))
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o755, 0, 0)
    assert not run_module("system_file", {"path": str(path), "content": "#!/bin/sh\n", "mode": "0755"},
                          tmp_path)["changed"]
    os.chmod(str(path), 0o777)
    assert run_module("system_file", {"path": str(path), "content": "#!/bin/sh\n", "mode": "0755"},
                      tmp_path)["changed"]
    assert stat.S_IMODE(os.lstat(str(path)).st_mode) == 0o755
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith(".qwen")] == []  # no temporary file left beside it


def test_a_planted_link_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    path = tmp_path / "qwen"
    os.symlink(str(victim), str(path))
    r = run_module("system_file", {"path": str(path), "content": "new"}, tmp_path)
    assert r["changed"] and not os.path.islink(str(path)) and path.read_text() == "new"
    assert victim.read_text() == "keep"


def test_check_mode_and_diff(tmp_path):
    path = tmp_path / "ca.pem"
    r = run_module("system_file", {"path": str(path), "content": "PEM"}, tmp_path, check=True, diff=True)
    assert r["changed"] and not path.exists() and r["diff"]["after"] == "PEM"


def test_a_directory_others_can_write_to_is_refused(tmp_path):
    os.chmod(str(tmp_path), 0o777)
    r = run_module("system_file", {"path": str(tmp_path / "x"), "content": "y"}, tmp_path)
    assert r["failed"] and "only root can write to" in r["msg"]


def test_check_mode_in_a_directory_not_made_yet_predicts_a_change(tmp_path):
    path = tmp_path / "etc-qwen-code" / "ca-bundle.pem"
    r = run_module("system_file", {"path": str(path), "content": "PEM"}, tmp_path, check=True)
    assert r["changed"] and not r.get("failed") and not path.parent.exists()
    r = run_module("system_file", {"path": str(path), "content": "PEM"}, tmp_path)
    assert r["failed"] and "does not exist" in r["msg"]


def test_directory_mode_creates_the_directory_then_changes_nothing(tmp_path):
    os.chmod(str(tmp_path), 0o755)
    path = tmp_path / "etc-qwen-code" / "ca-bundle.pem"
    args = {"path": str(path), "content": "PEM", "directory_mode": "0755"}
    r = run_module("system_file", args, tmp_path, check=True)
    assert r["changed"] and not path.parent.exists()
    with umask(0o077):
        assert run_module("system_file", args, tmp_path)["changed"]
    st = os.lstat(str(path.parent))
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o755, 0, 0) and path.read_text() == "PEM"
    assert not run_module("system_file", args, tmp_path)["changed"]
    # An existing directory of root with another mode or group gets the mode and root's group back.
    os.chmod(str(path.parent), 0o700)
    os.chown(str(path.parent), 0, 1)
    assert run_module("system_file", args, tmp_path)["changed"]
    st = os.lstat(str(path.parent))
    assert (stat.S_IMODE(st.st_mode), st.st_gid) == (0o755, 0)


@pytest.mark.parametrize("what", ["someone else's directory", "a link", "a parent others can write to",
                                  "no parent", "a bad mode"])
def test_directory_mode_refuses_what_is_not_roots_to_take(tmp_path, what):
    os.chmod(str(tmp_path), 0o755)
    directory = tmp_path / "etc-qwen-code"
    mode = "0755"
    if what == "someone else's directory":
        directory.mkdir()
        os.chown(str(directory), 1000, 1000)
    elif what == "a link":
        (tmp_path / "elsewhere").mkdir()
        os.symlink(str(tmp_path / "elsewhere"), str(directory))
    elif what == "a parent others can write to":
        os.chmod(str(tmp_path), 0o777)
    elif what == "no parent":
        directory = tmp_path / "missing" / "etc-qwen-code"
    else:
        mode = "rwx"
    r = run_module("system_file", {"path": str(directory / "ca.pem"), "content": "PEM", "directory_mode": mode},
                   tmp_path)
    assert r["failed"], r
    assert not (tmp_path / "elsewhere" / "ca.pem").exists()
    if what == "someone else's directory":
        assert os.lstat(str(directory)).st_uid == 1000 and not (directory / "ca.pem").exists()
