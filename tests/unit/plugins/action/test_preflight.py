"""The preflight action (plugins/action/preflight.py). In real plays against localhost (connection local): the host
read, in check mode too, and bad or removed arguments refused. Called directly, with the role's variables as task
variables and install_info's read given: the digest of user_config's inputs it passes install_info (never in its
result), and whether user_config may be skipped (decided.config_current). The checks and decisions themselves are
tested in tests/unit/plugins/plugin_utils/."""
import json
import os
import pwd
import subprocess
import sys

import pytest
import yaml

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.qwenops.qwen_code.plugins.action import preflight
from ansible_collections.qwenops.qwen_code.plugins.module_utils import _config_inputs
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT
from ansible_collections.qwenops.qwen_code.plugins.plugin_utils import _decisions
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO
from ansible_collections.qwenops.qwen_code.tests.unit.plugins.plugin_utils.test__checks import HOST, inputs

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


def test_the_host_read_without_an_entry_point_in_check_mode_too(tmp_path):
    for check in (False, True):
        pf = run(tmp_path, {"read_host": {"users": [ME.pw_name, "no-such-user-qwenops"],
                                          "install_root": str(tmp_path / "none")}}, {}, check=check)[1]
        assert not pf.get("failed") and pf["checked"] is True and pf["changed"] is False, pf
        assert pf["users"][ME.pw_name]["home"] == ME.pw_dir and pf["missing_users"] == ["no-such-user-qwenops"]
        assert pf["cli"] == [] and "os" in pf and pf["decided"] == {} and "inputs_current" not in pf


@pytest.mark.parametrize("task, message", [
    ({"read_host": "yes"}, "read_host must be the arguments of qwenops.qwen_code.install_info"),
    ({"host_var": "a.b"}, "host_var must be a variable name"),
    ({"entry": "other"}, "entry must be one of main, install, uninstall, registry"),
    ({"unknown": 1}, "Invalid options for qwenops.qwen_code.preflight: unknown"),
    # The options that named variables to evaluate are gone: the checks and decisions are Python.
    ({"checks": ["fine"]}, "Invalid options for qwenops.qwen_code.preflight: checks"),
    ({"host_checks": ["fine"]}, "Invalid options for qwenops.qwen_code.preflight: host_checks"),
    ({"warnings": ["fine"]}, "Invalid options for qwenops.qwen_code.preflight: warnings"),
    ({"results": {"a": "fine"}}, "Invalid options for qwenops.qwen_code.preflight: results"),
    ({"read_host_from": {"inputs_digest": "fine"}}, "Invalid options for qwenops.qwen_code.preflight: read_host_from"),
])
def test_bad_arguments_are_refused(tmp_path, task, message):
    pf = run(tmp_path, task, {"fine": ""})[1]
    assert pf["failed"] and message in pf["msg"], pf


# --- called directly: the role's variables as task variables, install_info's read given ---------------------------

LAUNCHER = "sha256:" + "1" * 64
KEY = "sk-unit-" + "5" * 24
# What user_config would be given (vars/main.yml's __qwen_code_config_inputs, by its name): a key among them, and a
# value that is the preflight's own decision (the role's refer to __qwen_code_host.decided as well).
CONFIG_INPUTS = {"users": ["alice"], "per_user_env": {"alice": {"OPENAI_API_KEY": KEY}},
                 "settings": preflight.trust_as_template("{{ {'model': {'name': __qwen_code_host.decided.cli_version}} }}"),
                 "manifest_path": "/var/lib/qwen-code/manifest.json"}
EXPECTED_INPUTS = dict(CONFIG_INPUTS, settings={"model": {"name": DEFAULT}})


def role_vars(**change):
    """The task variables of the role's preflight task: the inputs the checks pass, and the role's variables the
    action evaluates by name."""
    task_vars = dict(inputs(), inventory_hostname="web1", __qwen_code_plans={"problems": []},
                     __qwen_code_launcher_sha256=LAUNCHER, __qwen_code_ca_content="")
    task_vars[preflight.CONFIG_INPUTS] = CONFIG_INPUTS
    task_vars.update(change)
    return task_vars


DIGEST = _config_inputs.digest(_config_inputs.normalise(EXPECTED_INPUTS))


def host_read(**change):
    """A host that lacks nothing (the release, Node and npm unpacked, the launcher current), whose files are as the
    manifest records them (drift's problems) and whose manifest records `recorded` (the digest of CONFIG_INPUTS)."""
    inp = inputs()
    read = dict(HOST, cli=[DEFAULT], npm=[inp["qwen_code_npm_version"]],
                node={inp["qwen_code_node_version"]: {"name": _decisions.node_package(inp, HOST),
                                                      "excluded": ["include"]}},
                launcher={"sha256": LAUNCHER}, ca_bundle={}, problems=[], recorded=DIGEST)
    read.update(change)
    return read


class Task(object):
    def __init__(self, args):
        self.args, self.async_val, self.check_mode, self.action = args, 0, False, "qwenops.qwen_code.preflight"


class Shell(object):
    tmpdir = None


class Connection(object):
    _shell = Shell()


def call(args, task_vars, read):
    """Runs the action; returns (its result, the arguments install_info was called with, {} if it was not)."""
    action = preflight.ActionModule(Task(args), Connection(), None, DataLoader(), Templar(loader=DataLoader()),
                                    None)  # shared_loader_obj: required by ansible-core 2.16
    given = {}

    def execute_module(module_name, module_args, task_vars):
        assert module_name == "qwenops.qwen_code.install_info"
        given.update(module_args)
        # As install_info answers: drift's problems only with drift, inputs_current only with inputs_digest (which
        # the invocation masks, a no_log option), and never the manifest's digest.
        answer = dict((k, v) for k, v in read.items() if k != "recorded")
        if not module_args.get("drift"):
            answer.pop("problems", None)
        shown = dict(module_args)
        if "inputs_digest" in module_args:
            answer["inputs_current"] = bool(module_args["inputs_digest"]) \
                and module_args["inputs_digest"] == read.get("recorded")
            shown["inputs_digest"] = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
        return dict(answer, changed=False, invocation={"module_args": shown})

    action._execute_module = execute_module
    action._remove_tmp_path = lambda path: None
    return action.run(task_vars=task_vars), given


MAIN = {"entry": "main", "read_host": {"users": ["alice"], "drift": True}}


def test_install_info_is_given_the_digest_of_user_configs_inputs_and_nothing_shows_it():
    result, given = call(MAIN, role_vars(), host_read())
    assert not result.get("failed") and result["checked"], result
    expected = _config_inputs.digest(_config_inputs.normalise(EXPECTED_INPUTS))
    assert given == {"users": ["alice"], "drift": True, "inputs_digest": expected}
    assert result["inputs_current"] is True and result["decided"]["config_current"] is True
    assert expected == preflight.inputs_digest(EXPECTED_INPUTS) != _config_inputs.digest(
        _config_inputs.normalise(dict(EXPECTED_INPUTS, settings={})))
    # Neither the digest nor what it covers is in the result (which shows in -v output), decided included.
    shown = json.dumps(result)
    assert expected not in shown and expected.split(":")[1] not in shown and KEY not in shown
    assert "inputs_digest" not in shown and "invocation" not in result
    assert "inputs_digest" not in result["decided"] and not any(
        isinstance(v, str) and v.startswith("sha256:") and v != LAUNCHER for v in result["decided"].values())


def test_inputs_user_config_would_refuse_give_an_empty_digest():
    # (install_info then finds no digest current, and user_config names the problem)
    result, given = call(MAIN, role_vars(**{preflight.CONFIG_INPUTS: {"purge": "perhaps"}}), host_read(recorded=""))
    assert given["inputs_digest"] == "" and result["inputs_current"] is False
    assert result["decided"]["config_current"] is False


@pytest.mark.parametrize("change, current", [
    ({}, True),
    ({"recorded": "sha256:" + "3" * 64}, False),  # other inputs than last time
    ({"problems": ["/home/alice/.qwen/.env: changed"]}, False),  # a file moved
    ({"manifest_error": "not ours"}, False),
    ({"cli": []}, False),  # the host lacks the release
    ({"launcher": {"sha256": "sha256:" + "2" * 64}}, False),  # and its launcher
])
def test_config_current_is_config_inputs_config_current_of_the_read(change, current):
    result = call(MAIN, role_vars(), host_read(**change))[0]
    decided = result["decided"]
    assert decided["config_current"] is current
    assert _config_inputs.config_current(result, decided["needs"]) is current  # the read, as the result holds it
    assert decided["lacks"] is any(decided["needs"].values()) is ("cli" in change or "launcher" in change)


def test_without_drift_nothing_is_digested_and_config_current_is_false():
    result, given = call({"entry": "main", "read_host": {"users": ["alice"], "drift": False}},
                         role_vars(**{preflight.CONFIG_INPUTS: preflight.trust_as_template("{{ undefined_one.x }}")}),
                         host_read())
    assert "inputs_digest" not in given and "inputs_current" not in result, result
    assert result["decided"]["config_current"] is False and not result["decided"]["lacks"]


def test_the_install_entry_point_configures_no_users():
    result, given = call({"entry": "install", "read_host": {"users": []}},
                         role_vars(**{preflight.CONFIG_INPUTS: preflight.trust_as_template("{{ undefined_one.x }}")}),
                         host_read())
    assert not result.get("failed") and "inputs_digest" not in given, result
    assert result["decided"]["config_current"] is False and not result["decided"]["lacks"]


def test_the_inputs_are_evaluated_only_once_the_checks_passed():
    # __qwen_code_config_inputs needs every input: undefined (as the role's may be) before a failing check, unasked.
    task_vars = role_vars(qwen_code_install_root="opt/q")
    del task_vars[preflight.CONFIG_INPUTS]
    result, given = call(MAIN, task_vars, host_read())
    assert result["failed"] and result["check"] == "__qwen_code_check_inputs" and given == {}
    assert "qwen_code_install_root 'opt/q' must be an absolute path" in result["msg"]


def test_the_role_calls_it_as_these_tests_do():
    with open(os.path.join(REPO, "roles", "qwen_code", "tasks", "preflight.yml")) as f:
        task = [t for t in yaml.safe_load(f) if t["name"] == "Check every input, read the host and decide what it lacks"]
    args = task[0]["qwenops.qwen_code.preflight"]
    assert sorted(args) == ["entry", "read_host"] and args["read_host"]["drift"] == "{{ __users_too }}"
    assert args["entry"] == "{{ 'main' if __users_too else 'install' }}" and "inputs_digest" not in args["read_host"]


def test_the_digest_names_the_oauth_users_the_preflight_decided():
    """user_config's inputs name the OAuth users through the preflight's own decision (_decisions.oauth), so the digest
    install_info compares is the one user_config records for a host with OAuth credentials too."""
    creds = {"bob": {"access_token": "at-" + KEY, "refresh_token": "rt", "token_type": "Bearer", "expiry_date": 1}}
    # the role's own expression (vars/main.yml), not a copy of it
    with open(os.path.join(REPO, "roles", "qwen_code", "vars", "main.yml")) as f:
        oauth_users = yaml.safe_load(f)[preflight.CONFIG_INPUTS]["oauth_users"]
    config = dict(CONFIG_INPUTS, oauth_users=preflight.trust_as_template(oauth_users))
    result, given = call(MAIN, role_vars(qwen_code_oauth_creds=creds, **{preflight.CONFIG_INPUTS: config}),
                         host_read())
    assert result["decided"]["oauth"] == {"per_user": True, "users": ["bob"]}
    assert given["inputs_digest"] == preflight.inputs_digest(dict(EXPECTED_INPUTS, oauth_users=["bob"]))
    assert given["inputs_digest"] != preflight.inputs_digest(EXPECTED_INPUTS)
    assert KEY not in json.dumps(result)
