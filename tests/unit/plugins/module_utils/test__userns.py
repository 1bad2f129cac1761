"""The execution sandbox's probe (plugins/module_utils/_userns.py): the facts that name the fix, and the probe run
as a user in a fresh interpreter, answering through a pipe."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import sys

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils import _userns

STEPS = ("unshare", "map", "mount", "proc")


def test_read_sysctls_reads_those_the_kernel_has(tmp_path):
    (tmp_path / "a").write_text("0\n")
    (tmp_path / "b").write_text("15000\n")
    (tmp_path / "c").write_text("x\n")
    paths = {"kernel.unprivileged_userns_clone": str(tmp_path / "a"), "user.max_user_namespaces": str(tmp_path / "b"),
             "kernel.apparmor_restrict_unprivileged_userns": str(tmp_path / "c"), "missing": str(tmp_path / "d")}
    assert _userns.read_sysctls(paths) == {"kernel.unprivileged_userns_clone": 0, "user.max_user_namespaces": 15000}


@pytest.mark.parametrize("text, mode", [("Name:\tx\nSeccomp:\t2\nSeccomp_filters:\t1\n", 2), ("Seccomp:\t0\n", 0),
                                        ("Name:\tx\n", None)])
def test_seccomp_mode(tmp_path, text, mode):
    (tmp_path / "status").write_text(text)
    assert _userns.seccomp_mode(str(tmp_path / "status")) == mode


def test_a_bwrap_profile_needs_bwrap_and_userns(tmp_path):
    assert not _userns.bwrap_apparmor_profile(str(tmp_path / "none"))
    (tmp_path / "other").write_text("profile x /usr/bin/x { userns, }\n")
    (tmp_path / "bwrap-no").write_text("profile bwrap /usr/bin/bwrap { }\n")
    assert not _userns.bwrap_apparmor_profile(str(tmp_path))
    (tmp_path / "bwrap").write_text("abi <abi/4.0>,\nprofile bwrap /usr/bin/bwrap flags=(unconfined) {\n  userns,\n}\n")
    assert _userns.bwrap_apparmor_profile(str(tmp_path))


def me():
    return pwd.getpwuid(os.getuid())


def test_the_probe_answers_as_the_user_with_a_known_step():
    answer = _userns.run_probe(me(), sys.executable)
    assert answer.get("ok") is True or (answer.get("ok") is False and answer.get("step") in STEPS), answer


def test_the_probe_source_on_its_own_is_what_run_probe_runs(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(_userns.PROBE_SOURCE)
    assert os.system("%s -I -S %s >%s" % (sys.executable, script, tmp_path / "out")) == 0
    out = (tmp_path / "out").read_text()
    assert out.startswith('{"ok": ')


@pytest.mark.parametrize("python", ["/nonexistent/python3", "/bin/true"])
def test_no_answer_is_a_failed_start(python):
    answer = _userns.run_probe(me(), python)
    assert answer["ok"] is False and answer["step"] == "start" and me().pw_name in answer["error"]


def test_a_failed_drop_is_a_failed_start_and_never_probes_as_the_caller():
    def refuse(pw):
        raise OSError("no")
    other = [p for p in pwd.getpwall() if p.pw_uid != os.getuid()][0]
    assert _userns.run_probe(other, sys.executable, refuse)["step"] == "start"


def test_the_probe_gives_up_after_its_timeout(monkeypatch):
    monkeypatch.setattr(_userns, "TIMEOUT", 0.5)
    monkeypatch.setattr(_userns, "PROBE_SOURCE", "import time; time.sleep(30)")
    assert _userns.run_probe(me(), sys.executable)["step"] == "start"


@pytest.mark.root
def test_as_root_the_probe_runs_as_the_user(monkeypatch):
    nobody = pwd.getpwnam("nobody")
    monkeypatch.setattr(_userns, "PROBE_SOURCE",
                        "import json, os, sys; sys.stdout.write(json.dumps({'ok': [os.getuid(), os.geteuid()]}))")
    assert _userns.run_probe(nobody, "/usr/bin/python3") == {"ok": [nobody.pw_uid] * 2}
