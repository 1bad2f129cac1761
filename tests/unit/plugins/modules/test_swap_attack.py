"""The symlink race, played for real: a throwaway unprivileged user swaps the real ~/.qwen with a link to a
root-owned directory through renameat2(RENAME_EXCHANGE) in a tight loop (tests/tools/swap_attack.py), while root
calls user_config and oauth_creds 200 times each. Nothing outside what the user could touch may change: the
victim directories keep their owner, mode and content. Before the modules acted as the user, a handful of calls
sufficed to hand the victim directory to the user and to replace root's own credentials.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO, run_module

# tests/tools/core-matrix plays fewer rounds (QWEN_UNIT_SWAP_ATTEMPTS) on each other ansible-core: the race is the
# collection's, the full 200 rounds run in the unit stage.
ATTEMPTS = int(os.environ.get("QWEN_UNIT_SWAP_ATTEMPTS") or 200)
KEY = "sk-swap-" + uuid.uuid4().hex
SWAPPER = os.path.join(REPO, "tests", "tools", "swap_attack.py")
NOW_MS = int(time.time() * 1000)

# needs root and useradd to create a throwaway account: `nox -s unit-root` (tests/conftest.py)
pytestmark = pytest.mark.root


def tree_state(path):
    """Owner, mode and content digest of every entry under path (path included), never following links."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [""] + dirnames + filenames:
            p = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(p)
            digest = None
            if stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            found[p] = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), digest)
    return found


@pytest.fixture
def scene():
    """A throwaway user with a home, a root-owned victim directory (0755, one file) and a root-owned private
    directory that holds root's own oauth_creds.json (0700/0600)."""
    base = tempfile.mkdtemp(prefix="qwen-unit-swap-", dir="/var/tmp")
    os.chmod(base, 0o755)
    name = "qsw" + uuid.uuid4().hex[:8]
    home = os.path.join(base, name)
    subprocess.run(["useradd", "--create-home", "--home-dir", home, "--shell", "/usr/sbin/nologin", "--user-group",
                    name], check=True)
    victim = os.path.join(base, "victim")
    os.mkdir(victim, 0o755)
    with open(os.path.join(victim, "keep"), "w") as f:
        f.write("root's\n")
    root_qwen = os.path.join(base, "root-qwen")
    os.mkdir(root_qwen, 0o700)
    with open(os.path.join(root_qwen, "oauth_creds.json"), "w") as f:
        json.dump({"access_token": "root-at", "refresh_token": "root-rt", "token_type": "Bearer",
                   "expiry_date": NOW_MS + 3600000}, f)
    os.chmod(os.path.join(root_qwen, "oauth_creds.json"), 0o600)
    swapper = os.path.join(base, "swap_attack.py")  # where the user can read it
    shutil.copy(SWAPPER, swapper)
    os.chmod(swapper, 0o644)
    yield dict(pw=pwd.getpwnam(name), home=home, victim=victim, root_qwen=root_qwen, swapper=swapper)
    subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


class Swapper(object):
    """The attacker: tests/tools/swap_attack.py running as the user."""

    def __init__(self, pw, home, target, script):
        def become_user():
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
        # The system's Python: this one may live in root's home, out of the user's reach.
        python = shutil.which("python3", path="/usr/bin:/bin") or sys.executable
        self.proc = subprocess.Popen([python, script, home, target, "900"], stdout=subprocess.PIPE,
                                     text=True, preexec_fn=become_user)
        assert self.proc.stdout.readline().strip() == "ready"

    def stop(self):
        self.proc.terminate()
        out = self.proc.communicate(timeout=30)[0]
        return int(out.split()[-1])


def attack(scene, tmp_path, module, args, target):
    swapper = Swapper(scene["pw"], scene["home"], target, scene["swapper"])
    outcomes = {}
    try:
        for _attempt in range(ATTEMPTS):
            try:
                r = run_module(module, args, tmp_path)
            except AssertionError as e:  # no JSON, or a traceback: counted, and fails the test below
                outcomes["crashed"] = outcomes.get("crashed", 0) + 1
                outcomes["crash"] = str(e)[-500:]
                continue
            assert KEY not in r["_raw"]
            outcome = "failed" if r.get("failed") else "changed" if r.get("changed") else "ok"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if r.get("failed"):
                # A refusal names the user and says why.
                assert scene["pw"].pw_name in r["msg"], r["msg"]
    finally:
        swaps = swapper.stop()
    assert swaps > 1000, "the attacker barely ran (%d swaps)" % swaps
    return outcomes


def test_user_config_never_touches_what_the_link_points_at(scene, tmp_path):
    before = tree_state(scene["victim"])
    args = {"inputs": {"users": [scene["pw"].pw_name], "env": {"OPENAI_API_KEY": KEY}, "settings": {"$version": 4}}}
    outcomes = attack(scene, tmp_path, "user_config", args, scene["victim"])
    print("user_config under attack: %s" % outcomes)
    assert tree_state(scene["victim"]) == before, "root acted on the victim through the user's link"
    assert "crashed" not in outcomes, outcomes["crash"]


def test_oauth_creds_never_writes_through_the_link(scene, tmp_path):
    before = tree_state(scene["root_qwen"])
    creds = {"access_token": "at-" + KEY, "refresh_token": "rt-" + KEY, "token_type": "Bearer",
             "expiry_date": 4102444800000}
    args = {"user": scene["pw"].pw_name, "content": creds, "lock_wait": 2}
    outcomes = attack(scene, tmp_path, "oauth_creds", args, scene["root_qwen"])
    print("oauth_creds under attack: %s" % outcomes)
    assert tree_state(scene["root_qwen"]) == before, "root's credentials were replaced through the user's link"
    assert "crashed" not in outcomes, outcomes["crash"]
