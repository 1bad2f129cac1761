"""The preflight action (plugins/action/preflight.py) in real plays against localhost (connection local): checks run
in order and the first with a message fails the task, later ones are not even evaluated; install_info's read is
what the host checks, warnings and results see; check mode reads the host too; bad arguments are refused."""
import json
import os
import pwd
import subprocess
import sys

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
pytestmark = pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook is not beside this Python")
ME = pwd.getpwuid(os.getuid())


def run(tmp_path, task, variables, check=False):
    """Runs one preflight task (registered as `pf`, then dumped to a file) on localhost; returns (rc, output, pf)."""
    collections = tmp_path / "collections"
    if not collections.exists():
        os.makedirs(str(collections / "ansible_collections" / "qwenops"))
        os.symlink(REPO, str(collections / "ansible_collections" / "qwenops" / "qwen_code"))
    dump = tmp_path / "pf.json"
    play = [{"hosts": "local", "gather_facts": False, "vars": variables, "tasks": [
        dict({"name": "preflight", "qwenops.qwen_code.preflight": task, "register": "pf", "ignore_errors": True}),
        {"name": "dump", "ansible.builtin.copy": {"content": "{{ pf | to_json }}", "dest": str(dump)},
         "check_mode": False}]}]
    (tmp_path / "play.yml").write_text(json.dumps(play))
    (tmp_path / "hosts.ini").write_text("local ansible_connection=local ansible_python_interpreter=%s\n"
                                        % sys.executable)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    out = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(tmp_path / "hosts.ini"), str(tmp_path / "play.yml")]
                         + (["--check"] if check else []), capture_output=True, text=True, env=env, check=False,
                         timeout=300, cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr, json.loads(dump.read_text())


def test_the_first_check_with_a_message_fails_and_later_ones_are_not_evaluated(tmp_path):
    output, pf = run(tmp_path, {"checks": ["ok_empty", "ok_list", "first", "broken"]}, {
        "ok_empty": "{{ '' }}",
        "ok_list": "{{ [] }}",
        # Several lines, as a folded YAML block with Jinja blocks gives them: one line, single spaces.
        "first": "{% if true %}first   problem,\n  named{% endif %}",
        "broken": "{{ undefined_variable.attribute }}"})
    assert pf["failed"] and pf["msg"] == "first problem, named" and pf["check"] == "first"
    assert "undefined_variable" not in output and "checked" not in pf


def test_a_list_of_messages_is_joined(tmp_path):
    pf = run(tmp_path, {"checks": ["two"]}, {"two": "{{ ['one is wrong.', '', 'two is wrong.'] }}"})[1]
    assert pf["failed"] and pf["msg"] == "one is wrong. two is wrong."


def test_the_host_read_is_what_host_checks_warnings_and_results_see(tmp_path):
    task = {"checks": ["fine"], "read_host": {"users": [ME.pw_name], "install_root": str(tmp_path / "none")},
            "host_var": "h", "host_checks": ["homeless"], "warnings": ["notice", "quiet"],
            "results": {"home": "my_home", "nothing": "no_cli"}}
    output, pf = run(tmp_path, task, {
        "fine": "", "quiet": "",
        "homeless": "{{ '' if h.users[me].home_exists else me ~ ' has no home' }}",
        "notice": "{{ 'Reading ' ~ h.users | list | join(',') }}",
        "my_home": "{{ h.users[me].home }}",
        "no_cli": "{{ h.cli | length == 0 }}",
        "me": ME.pw_name})
    assert not pf.get("failed") and pf["checked"] is True and pf["changed"] is False
    assert pf["decided"] == {"home": ME.pw_dir, "nothing": True}
    assert pf["users"][ME.pw_name]["home"] == ME.pw_dir and pf["cli"] == [] and "os" in pf
    assert "Reading %s" % ME.pw_name in output and pf["warnings"] == ["Reading %s" % ME.pw_name]


def test_a_host_check_fails_with_the_read_host_in_the_result(tmp_path):
    task = {"read_host": {"users": [ME.pw_name, "no-such-user-qwenops"]}, "host_checks": ["missing"]}
    pf = run(tmp_path, task, {
        "missing": "{{ 'no account: ' ~ __qwen_code_host.missing_users | join(', ')"
                   " if __qwen_code_host.missing_users else '' }}"})[1]
    assert pf["failed"] and pf["msg"] == "no account: no-such-user-qwenops" and pf["check"] == "missing"
    assert pf["missing_users"] == ["no-such-user-qwenops"]


def test_read_host_from_is_evaluated_once_the_checks_passed_and_never_shown(tmp_path):
    task = {"checks": ["fine"], "read_host": {"install_root": str(tmp_path / "none"),
                                              "manifest_path": str(tmp_path / "m.json")},
            "read_host_from": {"inputs_digest": "digest"}}
    output, pf = run(tmp_path, task, {"fine": "", "digest": "{{ 'sha256:' ~ ('S3CRET-inputs' | hash('sha256')) }}"})
    assert not pf.get("failed") and pf["inputs_current"] is False, pf
    assert "S3CRET" not in output
    # a check that fails first: the variable (undefined here, as the role's is before the checks pass) is never asked
    output, pf = run(tmp_path, dict(task, checks=["bad"]), {"bad": "refused", "digest": "{{ undefined_one.x }}"})
    assert pf["failed"] and pf["msg"] == "refused" and "undefined_one" not in output


def test_check_mode_reads_the_host_all_the_same(tmp_path):
    pf = run(tmp_path, {"read_host": {"users": [ME.pw_name]}, "results": {"home": "home"}},
             {"home": "{{ __qwen_code_host.users[me].home }}", "me": ME.pw_name}, check=True)[1]
    assert not pf.get("failed") and pf["decided"] == {"home": ME.pw_dir}


@pytest.mark.parametrize("task, message", [
    ({"checks": ["not a name"]}, "checks must be a list of variable names"),
    ({"checks": "fine"}, "checks must be a list of variable names"),
    ({"results": ["fine"]}, "results must map each key to a variable name"),
    ({"read_host_from": {"a": "not a name"}}, "read_host_from must map each key to a variable name"),
    ({"read_host": "yes"}, "read_host must be the arguments of qwenops.qwen_code.install_info"),
    ({"host_var": "a.b"}, "host_var must be a variable name"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_arguments_are_refused(tmp_path, task, message):
    pf = run(tmp_path, task, {"fine": ""})[1]
    assert pf["failed"] and message in pf["msg"], pf
