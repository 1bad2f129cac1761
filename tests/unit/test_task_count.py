"""What a re-run costs a fleet grows with the tasks each host evaluates (Ansible runs every task, skipped or not, in
a worker per host; docs/BENCHMARKS.md). The provision playbook's task list is pinned here, so that a task added to
the path every host walks is a decision, not an accident: add it to the list below (and measure with bench/)."""
import glob
import os
import re
import subprocess
import sys

import pytest
import yaml

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

# Every task of the play, in order; `once` marks run_once tasks (one worker per play, not per host).
EXPECTED = [
    ("Validating arguments against arg spec 'main'", "host"),
    ("Check the variables the registry is asked with, before resolving qwen_code_version 'latest'", "once"),
    ("Resolve qwen_code_version 'latest' in the registry", "once"),
    ("Check every input, read the host and decide what it lacks", "host"),
    ("Refuse the run when a host of the play failed its checks or is unreachable", "once"),
    ("Check the OAuth credentials to deploy", "host"),
    ("Refuse one refresh token for several hosts or users", "once"),
    ("Fetch Node, npm and qwen once for all hosts, verified, into", "once"),
    ("Install what this host lacks", "host"),
    ("Run the key broker, or remove it (qwen_code_key_isolation)", "host"),
    ("Write the system settings and, for each user, ~/.qwen, its .env, settings.json and trusted folders", "host"),
    ("Deploy credentials, verify the provider, remove releases no longer kept (what this host needs of them)", "host"),
    ("Uninstall everything the role made (qwen_code_state absent)", "host"),
]


@pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook is not beside this Python")
def test_the_provision_play_lists_these_tasks(tmp_path):
    collections = tmp_path / "collections"
    os.makedirs(str(collections / "ansible_collections" / "qwenops"))
    os.symlink(REPO, str(collections / "ansible_collections" / "qwenops" / "qwen_code"))
    (tmp_path / "hosts.ini").write_text("h1 ansible_connection=local\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    out = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(tmp_path / "hosts.ini"), "qwenops.qwen_code.provision",
                          "--list-tasks"], capture_output=True, text=True, env=env, check=True, timeout=120).stdout
    listed = [re.sub(r"\s+TAGS: .*$", "", line.split("qwen_code : ", 1)[1]).strip()
              for line in out.splitlines() if "qwen_code : " in line]
    assert len(listed) == len(EXPECTED), listed
    for name, expected in zip(listed, EXPECTED):
        assert name.startswith(expected[0]), (name, expected[0])
    # The run_once ones really are (else each is one more worker per host).
    once = {}
    for path in glob.glob(os.path.join(REPO, "roles", "qwen_code", "tasks", "*.yml")):
        with open(path) as f:
            walk(yaml.safe_load(f) or [], once)
    for name, scope in EXPECTED[1:]:  # (the first is Ansible's own)
        found = [v for k, v in once.items() if k.startswith(name)]
        assert found and all(v == (scope == "once") for v in found), (name, found)


def walk(tasks, once):
    for task in tasks:
        for key in ("block", "rescue", "always"):
            walk(task.get(key, []), once)
        if "name" in task and not any(k.endswith("import_tasks") for k in task):
            once[task["name"]] = bool(task.get("run_once"))
