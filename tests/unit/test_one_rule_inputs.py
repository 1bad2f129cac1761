"""Each rule about user_config's inputs exists once (issue 26, item 2), imported by every caller: the recursive merge
(module_utils/_user_files.py's merge), the users both configured and offboarded, the inputs, their digest and whether
user_config may be skipped (module_utils/_config_inputs.py; on the controller, called by the preflight action alone).
Grep-based: a second copy of a rule fails here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VARS = os.path.join(REPO, "roles", "qwen_code", "vars", "main.yml")


def sources(top, suffixes):
    for root, dirs, files in os.walk(os.path.join(REPO, top)):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in sorted(files):
            if name.endswith(suffixes):
                path = os.path.join(root, name)
                with open(path) as f:
                    yield os.path.relpath(path, REPO), f.read()


def where(pattern, top, suffixes):
    regex = re.compile(pattern, re.MULTILINE)
    return sorted(path for path, text in sources(top, suffixes) if regex.search(text))


def test_one_recursive_merge():
    # A function that merges dicts recursively calls itself on a dict's value (result[key] = f(result[key], ...)).
    recursive = r"^def (\w*merge\w*)\(.*\n(?:(?!^def ).*\n)*?.*\[key\] = \1\("
    assert where(recursive, "plugins", ".py") == ["plugins/module_utils/_user_files.py"]
    importers = where(r"^from ansible_collections\.qwenops\.qwen_code\.plugins\.module_utils\._user_files import "
                      r"(?:\(\n)?[^)]*\bmerge\b", "plugins", ".py")
    assert "plugins/filter/provider_plans.py" in importers and "plugins/modules/user_config.py" in importers


def test_the_role_builds_no_argument_of_user_config_with_combine():
    with open(os.path.join(REPO, "roles", "qwen_code", "tasks", "configure-users.yml")) as f:
        assert "combine(" not in f.read()
    with open(VARS) as f:
        text = f.read()
    start = text.index("__qwen_code_config_inputs:")
    block = text[start:text.index("\n\n", start)]
    assert block.count("\n  ") == 14 and "combine(" not in block


def test_no_recursive_combine_in_the_role():
    assert where(r"recursive\s*=\s*true", "roles", (".yml", ".yaml", ".j2")) == []


def test_one_rule_for_users_both_configured_and_absent_in_python():
    # An intersection of the users with the absent users (set(...) & set(...), or .intersection) names a second copy.
    pattern = r"set\([^)]*users[^)]*\)\s*&\s*set\([^)]*absent|absent[^\n]*\.intersection\(|users[^\n]*\.intersection\("
    assert where(pattern, "plugins", ".py") == []
    assert where(r"^def configured_and_absent\(", "plugins", ".py") == ["plugins/module_utils/_config_inputs.py"]
    assert "plugins/plugin_utils/_checks.py" in where(r"configured_and_absent\(", "plugins", ".py")
    assert "plugins/modules/user_config.py" in where(r"_config_inputs\.configured_and_absent\(", "plugins", ".py")


def test_no_jinja_copy_of_users_both_configured_and_absent():
    assert where(r"intersect\(\s*qwen_code_users_absent", "roles", (".yml", ".yaml", ".j2")) == []


def calls(pattern, top, suffixes):
    """path -> how many times pattern occurs there, for the files where it does."""
    regex = re.compile(pattern, re.MULTILINE)
    found = dict((path, len(regex.findall(text))) for path, text in sources(top, suffixes))
    return dict((path, n) for path, n in found.items() if n)


def test_one_digest_of_the_inputs():
    assert where(r"^def digest\(", "plugins", ".py") == ["plugins/module_utils/_config_inputs.py"]
    # The controller's digest (the preflight action's, over __qwen_code_config_inputs) is the same function over the
    # same normalisation as user_config's: one call each, and nobody imports the function under another name.
    both = r"_config_inputs\.digest\((?:_config_inputs\.normalise\(inputs\)|p)\)"
    assert calls(both, "plugins", ".py") == {"plugins/action/preflight.py": 1, "plugins/modules/user_config.py": 1}
    assert calls(r"_config_inputs\.digest\(", "plugins", ".py") == {"plugins/action/preflight.py": 1,
                                                                    "plugins/modules/user_config.py": 1}
    assert where(r"_config_inputs import[^\n]*\bdigest\b", "plugins", ".py") == []
    assert calls(r"\binputs_digest\(", "plugins", ".py") == {"plugins/action/preflight.py": 2}  # def and call
    # The role works out no digest: no Jinja hash of inputs, no filter (the action evaluates the one structure).
    assert where(r"inputs[^\n]*\|\s*(?:to_json\s*\|\s*)?hash\(", "roles", (".yml", ".yaml", ".j2")) == []
    assert where(r"inputs_digest|config_digest", "roles", (".yml", ".yaml", ".j2")) == []


def test_one_list_of_inputs():
    # The inputs are named in SPEC only: no module option, no argument spec elsewhere spells out user_config's inputs.
    assert where(r"per_user_settings\s*=\s*dict\(", "plugins", ".py") == ["plugins/module_utils/_config_inputs.py"]
    assert where(r"^\s+per_user_settings:\s*\"\{\{", "roles", (".yml",)) == ["roles/qwen_code/vars/main.yml"]


def test_one_config_current_decision():
    # _config_inputs.config_current, called once: by the preflight action, which returns it in decided.
    assert where(r"^def config_current\(", "plugins", ".py") == ["plugins/module_utils/_config_inputs.py"]
    assert calls(r"_config_inputs\.config_current\(", "plugins", ".py") == {"plugins/action/preflight.py": 1}
    assert where(r"_config_inputs import[^\n]*\bconfig_current\b", "plugins", ".py") == []
    assert calls(r"decided\[\"config_current\"\] =", "plugins", ".py") == {"plugins/action/preflight.py": 1}
    # The role only reads it (configure-users.yml's when): no filter, no variable of its own works it out.
    assert calls(r"(?<!__qwen_code_host\.decided\.)config_current", "roles", (".yml", ".yaml", ".j2")) == {}
    assert "roles/qwen_code/tasks/configure-users.yml" in where(r"__qwen_code_host\.decided\.config_current\b",
                                                                "roles", (".yml",))
    assert where(r"inputs_current", "roles", (".yml",)) == []
