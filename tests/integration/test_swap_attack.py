"""The symlink race against real provisioning runs: mallory, an unprivileged user the play configures, swaps her
real ~/.qwen with a link to /root/.qwen through renameat2(RENAME_EXCHANGE) as fast as she can
(tests/tools/swap_attack.py), while root runs the provision playbook 8 times, with OAuth credentials for her too.
Root's directory and credentials must come out untouched; a run may refuse mallory, and then says so and why, and
alice is configured all the same. (The unit tests run the same attack against 200 direct calls of each module: the
depth of the race is theirs; here it is the whole play's behaviour under it. In the runs of 2026-12-07, every one of
20 runs met the link and refused mallory: 8 still make a run that never meets it vanishingly unlikely.)"""
import json
import os
import time

from conftest import CANARY, GOOD_VARS
from harness import TOOLS, docker

RUNS = 8
ROOT_CREDS = {"access_token": "root-at", "refresh_token": "root-rt", "token_type": "Bearer",
              "expiry_date": int(time.time() * 1000) + 3600000}
MALLORY_CREDS = {"access_token": "at-" + CANARY, "refresh_token": "rt-" + CANARY, "token_type": "Bearer",
                 "expiry_date": 4102444800000}
STATE = ("find /root/.qwen -printf '%p %u %g %m\\n' | sort; sha256sum /root/.qwen/oauth_creds.json; "
         "stat -c '%n %U %G %a' /root")


def test_provisioning_under_a_symlink_race_never_touches_roots_files(runner, installed_host):
    host = installed_host
    host.sh("id mallory >/dev/null 2>&1 || useradd -m -s /bin/bash mallory")
    host.sh("mkdir -p -m 0700 /root/.qwen && cat > /root/.qwen/oauth_creds.json <<'EOF'\n%s\nEOF\n"
            "chmod 0600 /root/.qwen/oauth_creds.json" % json.dumps(ROOT_CREDS))
    before = host.sh(STATE).stdout
    host.copy_in(os.path.join(TOOLS, "swap_attack.py"), "/usr/local/bin/swap_attack.py")
    variables = dict(GOOD_VARS, qwen_code_users=["alice", "mallory"], qwen_code_verify="never",
                     qwen_code_oauth_creds={"mallory": MALLORY_CREDS})
    docker("exec", "-d", "-u", "mallory", host.name, "python3", "/usr/local/bin/swap_attack.py", "/home/mallory",
           "/root/.qwen", "900")
    refused = 0
    try:
        for attempt in range(RUNS):
            run = runner.play(host, variables, "swap-attack-%02d" % attempt)
            assert CANARY not in run.output
            if run.returncode != 0:
                refused += 1
                recap = run.output.split("PLAY RECAP")[-1]
                # Either module may be the one that meets the link: each names mallory and says why.
                said = "could not configure 1 of 2 users (the others are configured): mallory (" in run.output or \
                    "mallory: " in run.output
                assert said, run.output[-3000:]
                assert "unreachable=0" in recap, recap
            assert host.sh(STATE).stdout == before, "root's files changed in run %d:\n%s" % (attempt, run.output[-3000:])
            assert run.returncode != 0 or "could not configure" not in run.output, "a refusal went unreported"
    finally:
        host.sh("pkill -TERM -f '[s]wap_attack.py' || true; sleep 1")
    after = host.sh(STATE).stdout
    assert after == before, "root's ~/.qwen changed"
    # alice was configured on every run, whatever happened to mallory.
    alice = host.sh("stat -c '%U %a' /home/alice/.qwen /home/alice/.qwen/.env").stdout.split("\n")
    assert alice[:2] == ["alice 700", "alice 600"], alice
    print("%d of %d runs refused mallory's home" % (refused, RUNS))
    assert refused, "the attacker never got in the way: the test proved nothing"
    # Without the race, mallory's configuration and credentials go through.
    run = runner.play(host, variables, "swap-attack-after")
    assert run.returncode == 0, run.output[-3000:]
    assert host.sh("stat -c '%U %a' /home/mallory/.qwen/oauth_creds.json").stdout.strip() == "mallory 600"
