"""argument_specs is the single source of the role's variables: defaults/main.yml gives exactly the defaults it
declares, and the README's variables table lists exactly those variables, with the same defaults."""
import json
import os
import re

import yaml

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

ROLE = os.path.join(REPO, "roles", "qwen_code")


def load(*parts):
    with open(os.path.join(*parts)) as f:
        return yaml.safe_load(f)


def spec_options():
    """Every option of every entry point, by name (an option that several entry points share must agree)."""
    found = {}
    for entry, spec in load(ROLE, "meta", "argument_specs.yml")["argument_specs"].items():
        for name, option in spec["options"].items():
            if name in found:
                assert {k: v for k, v in option.items() if k != "description"} == \
                    {k: v for k, v in found[name].items() if k != "description"}, (entry, name)
            found[name] = option
    return found


def test_defaults_and_argument_specs_list_the_same_variables():
    options = spec_options()
    defaults = load(ROLE, "defaults", "main.yml")
    optional = {name for name, option in options.items() if not option.get("required")}
    assert sorted(defaults) == sorted(optional)
    for name in optional:
        assert "default" in options[name], "%s: argument_specs gives no default" % name
        assert options[name]["default"] == defaults[name], name


def test_every_variable_is_documented_and_prefixed():
    for name, option in spec_options().items():
        assert name.startswith("qwen_code_") and option.get("description"), name


def shown(value):
    if value == "":
        return '""'
    return value if isinstance(value, str) else json.dumps(value)


def documented_defaults(readme):
    """The variables of README.md's table, with their defaults as shown (the table may sit between the markers
    of tests/tools/role_readme.py)."""
    table = readme.split("## Variables", 1)[1].split("\n\n", 2)[1]
    documented = {}
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        names_cell, default_cell = row.split(" | ")[:2]
        names = re.findall(r"`(qwen_code_\w+)`", names_cell)
        values = [v.strip().strip("`") for v in default_cell.split(" / ")]
        for i, name in enumerate(names):
            documented[name] = values[i] if len(values) == len(names) else values[0]
    return documented


def test_readme_table_lists_every_variable_with_its_default():
    with open(os.path.join(REPO, "README.md")) as f:
        documented = documented_defaults(f.read())
    options = spec_options()
    assert sorted(documented) == sorted(options)
    for name, option in options.items():
        expected = "(required)" if option.get("required") else shown(option["default"])
        assert documented[name] == expected, name
