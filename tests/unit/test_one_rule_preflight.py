"""Each rule of the preflight exists once (issue 26): a second copy of one would be caught here.

- the account-name regex: module_utils/_user_names.py, imported by every caller;
- the launcher's checksum: hashed once, in vars/main.yml (__qwen_code_launcher_sha256);
- vars/main.yml holds tables, paths and aliases: no message template, no Jinja block and no conditional expression;
  the checks are plugin_utils/_checks.py's functions, the decisions _decisions.py's;
- the qwen-oauth release check: only in plugin_utils/_checks.py;
- no `assert` in the role's tasks checks an input (the preflight does);
- the preflight action evaluates no check, warning or result by a variable's name, and the digest of user_config's
  inputs and whether user_config may be skipped are the action's (tests/unit/test_one_rule_inputs.py pins them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import yaml

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

ROLE = os.path.join(REPO, "roles", "qwen_code")
VARS = os.path.join(ROLE, "vars", "main.yml")
# The lines of vars/main.yml the user_config inputs own (issue 26, item 3 reshapes them).
NOT_THIS_RULE = ("__qwen_code_user_inputs", "__qwen_code_config_inputs")


def sources(*tops, **kw):
    """(path relative to the repository, text) of every file under tops with one of the extensions."""
    exts = kw.get("exts", (".py", ".yml", ".yaml", ".j2", ".mjs", ".sh"))
    for top in tops:
        for root, dirs, files in os.walk(os.path.join(REPO, top)):
            dirs[:] = [d for d in dirs if d not in ("__pycache__", ".venv", "node_modules")]
            for name in files:
                if name.endswith(exts):
                    path = os.path.join(root, name)
                    with open(path, encoding="utf-8", errors="replace") as f:
                        yield os.path.relpath(path, REPO), f.read()


def where(pattern, *tops):
    return sorted(path for path, text in sources(*tops) if re.search(pattern, text))


def test_the_account_name_regex_exists_once():
    assert where(r"a-z_\]\[a-z0-9_", "plugins", "roles", "image") == ["plugins/module_utils/_user_names.py"]
    importers = where(r"from ansible_collections\.qwenops\.qwen_code\.plugins\.module_utils\._user_names import",
                      "plugins")
    assert "plugins/filter/provider_plans.py" in importers and "plugins/plugin_utils/_checks.py" in importers


def test_the_launcher_is_hashed_once():
    # the template lookup of the launcher, with or without template_vars, followed by a hash filter
    hashed = [path for path, text in sources("roles", "plugins")
              for m in re.finditer(r"'qwen-launcher\.sh\.j2'(?:,[^|]*?)?\)\s*\|\s*hash\(", text, re.S)]
    assert hashed == ["roles/qwen_code/vars/main.yml"]
    with open(VARS) as f:
        role_vars = yaml.safe_load(f)
    assert "__qwen_code_launcher_sha256" in role_vars
    assert "__qwen_code_launcher_sha256" in role_vars["__qwen_code_manifest_facts"] \
        or "decided.manifest_facts" in role_vars["__qwen_code_manifest_facts"]


def _role_vars_values():
    with open(VARS) as f:
        role_vars = yaml.safe_load(f)

    def walk(name, value):
        if isinstance(value, dict):
            for key, item in value.items():
                yield from walk(name, item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(name, item)
        elif isinstance(value, str):
            yield name, value
    for name, value in role_vars.items():
        if name not in NOT_THIS_RULE:
            yield from walk(name, value)


def test_vars_hold_no_check_and_no_decision():
    with open(VARS) as f:
        text = f.read()
    assert not re.search(r"^__qwen_code_(check|warn)_", text, re.M), "a check is a function of plugin_utils/_checks.py"
    for name, value in _role_vars_values():
        assert "{%" not in value, name
        for expression in re.findall(r"\{\{(.*?)\}\}", value, re.S):
            assert not re.search(r"\bif\b", expression), "%s: decide it in plugin_utils/_decisions.py" % name


def test_the_qwen_oauth_release_check_is_a_preflight_check_only():
    found = where(r"Qwen OAuth free tier was discontinued on", "plugins", "roles", "image")
    # vars/main.yml's table explains its qwen_oauth column with the CLI's words, in a comment.
    assert [p for p in found if p != "roles/qwen_code/vars/main.yml"] == ["plugins/plugin_utils/_checks.py"]
    with open(VARS) as f:
        assert all(line.lstrip().startswith("#") for line in f if "Qwen OAuth free tier" in line)
    assert where(r"qwen_oauth\b", "roles/qwen_code/tasks") == []


# Asserts about what a run did, not about an input: each with why it cannot be a preflight check.
NOT_INPUT_ASSERTS = {
    # every host's preflight, across the play (a host that failed before it or is unreachable)
    "Refuse the run when a host of the play failed its checks or is unreachable",
    # fingerprints of credentials read on every host, compared across the play
    "Refuse one refresh token for several hosts or users",
    # the Node apt installed (its version is only known then, outside Debian's table)
    "Check that the distribution's Node satisfies qwen {{ __qwen_code_cli_version }}",
    # a module's result
    "Fail for the users that could not be configured",
    "Fail for the users that could not be offboarded",
}


def _tasks(tasks):
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def test_no_assert_in_the_role_checks_an_input():
    asserts = []
    for name in sorted(os.listdir(os.path.join(ROLE, "tasks"))):
        with open(os.path.join(ROLE, "tasks", name)) as f:
            for task in _tasks(yaml.safe_load(f)):
                if "ansible.builtin.assert" in task or "assert" in task:
                    asserts.append(task.get("name"))
    assert sorted(set(asserts) - NOT_INPUT_ASSERTS) == []


def test_the_filters_that_only_wrapped_a_check_are_gone():
    for name in ("release_problems", "install_root_problems", "platform_problems"):
        assert not os.path.exists(os.path.join(REPO, "plugins", "filter", name + ".py")), name
        assert where(r"qwenops\.qwen_code\.%s\b" % name, "roles", "plugins", "tests", "molecule") == [], name


def test_the_filters_the_preflight_replaced_are_gone():
    for name in ("inputs_digest", "config_current"):
        for ext in (".py", ".yml"):
            assert not os.path.exists(os.path.join(REPO, "plugins", "filter", name + ext)), name + ext
        assert where(r"qwenops\.qwen_code\.%s\b" % name, "roles", "plugins", "tests", "molecule", "playbooks") == [], name


def test_the_preflight_evaluates_no_variable_by_the_name_it_is_given():
    """checks, host_checks, warnings (lists of names of variables whose values were problem messages), results and
    read_host_from (key -> name of a variable) are gone: the checks and decisions are Python, and the action names the
    few role variables it evaluates itself (its module-level constants)."""
    from ansible_collections.qwenops.qwen_code.plugins.action import preflight
    assert preflight.ActionModule._VALID_ARGS == frozenset(("entry", "read_host", "host_var"))
    with open(os.path.join(ROLE, "tasks", "preflight.yml")) as f:
        tasks = yaml.safe_load(f)
    for task in tasks:
        if "qwenops.qwen_code.preflight" in task:
            assert set(task["qwenops.qwen_code.preflight"]) <= {"entry", "read_host", "host_var"}, task["name"]
    with open(VARS) as f:
        role_vars = yaml.safe_load(f)
    assert "__qwen_code_config_digest" not in role_vars and "__qwen_code_decide_config_current" not in role_vars
    for name in (preflight.LAUNCHER_SHA256, preflight.CA_CONTENT, preflight.PLANS_PROBLEMS.partition(".")[0],
                 preflight.CONFIG_INPUTS):
        assert role_vars.get(name), "the action evaluates %s by that name" % name
