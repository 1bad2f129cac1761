"""The role's README and the collection README's variables table are what tests/tools/role_readme.py renders from
meta/argument_specs.yml alone: a variable added, removed or changed in the argument spec without regenerating them
fails here. The argument spec is the only place a variable is described: no second table of meanings, and one short
comment per default in defaults/main.yml."""
import copy
import importlib.util
import os
import re

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO


def _load_tool():
    # tests/tools is on .venv's import path (tests/tools/env.sh), not under `ansible-test units`: load it by path.
    spec = importlib.util.spec_from_file_location("role_readme", os.path.join(REPO, "tests", "tools", "role_readme.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


role_readme = _load_tool()


def read(*parts):
    with open(os.path.join(REPO, *parts)) as f:
        return f.read()


def test_role_readme_is_the_generated_one():
    assert read("roles", "qwen_code", "README.md") == role_readme.role_readme(), \
        "roles/qwen_code/README.md is stale: run python tests/tools/role_readme.py"


def test_role_readme_documents_every_variable_of_every_entry_point():
    text = read("roles", "qwen_code", "README.md")
    for name in role_readme.spec_options():
        assert "| `%s` |" % name in text, name
    for entry in role_readme.load_yaml(role_readme.SPEC)["argument_specs"]:
        assert "### `%s`" % entry in text, entry


def collection_readme_table():
    """README.md's variables table: between the markers once they are there; until then, the block after
    '## Variables' (the hand-written table the generator reproduces)."""
    text = read("README.md")
    region = role_readme.readme_region(text)
    if region is not None:
        return region
    return text.split("## Variables", 1)[1].split("\n\n", 2)[1] + "\n"


def test_collection_readme_table_is_the_generated_one():
    assert collection_readme_table() == role_readme.readme_table(), \
        "README.md's variables table is stale: run python tests/tools/role_readme.py --write-readme"


def table_names(table):
    return [re.match(r"\| `(qwen_code_\w+)` \|", row).group(1) for row in table.splitlines()[2:]]


def test_every_variable_has_exactly_one_row_of_meaning():
    """One row per variable of the argument spec, its meaning the first paragraph of the variable's description."""
    names = table_names(role_readme.readme_table())
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(role_readme.spec_options())
    spec = role_readme.load_yaml(role_readme.SPEC)
    users = spec["argument_specs"]["main"]["options"]["qwen_code_users"]
    assert "| `qwen_code_users` | (required) | %s |" % role_readme.markdown(" ".join(users["description"][0].split())) \
        in role_readme.readme_table(spec)
    assert "| `qwen_code_image_user` | `qwen` | Entry point `image` only. " in role_readme.readme_table(spec)


def test_a_variable_without_a_summary_is_refused():
    spec = role_readme.load_yaml(role_readme.SPEC)
    broken = copy.deepcopy(spec)
    del broken["argument_specs"]["main"]["options"]["qwen_code_users"]["description"]
    with pytest.raises(ValueError, match="qwen_code_users: no description"):
        role_readme.readme_table(broken)
    broken = copy.deepcopy(spec)
    broken["argument_specs"]["main"]["options"]["qwen_code_state"]["description"] = ["word " * 60, "details"]
    with pytest.raises(ValueError, match="qwen_code_state: the first paragraph of its description is 299 characters"):
        role_readme.readme_table(broken)


def test_the_argument_spec_is_the_only_description():
    """No second table of meanings (docs/readme-variables.yml was one), and defaults/main.yml keeps one short comment
    per default (section headers aside), as the argument spec holds the description."""
    assert not os.path.exists(os.path.join(REPO, "docs", "readme-variables.yml"))
    assert "readme-variables" not in read("tests", "tools", "role_readme.py")
    lines = read("roles", "qwen_code", "defaults", "main.yml").splitlines()
    variables = 0
    for line in lines:
        if not line or line == "---" or line.startswith("# "):
            assert not line.startswith("#   ") and len(line) <= 120, line
            continue
        match = re.match(r"^(qwen_code_\w+): .*?  # (.+)$", line)
        assert match, "a default without its one comment, or a comment of several lines: %r" % line
        assert len(match.group(2)) <= 72, line
        variables += 1
    comment_lines = [line for line in lines if line.startswith("#")]
    assert all(line.startswith("# ---") for line in comment_lines[1:]), "only section headers besides the first line"
    assert variables == len([n for n, o in role_readme.spec_options().items() if not o.get("required")])


def test_readme_holds_the_generated_table_between_its_markers():
    """README.md's table region is exactly what --write-readme writes (run it after changing a variable)."""
    text = read("README.md")
    assert text.count(role_readme.BEGIN) == 1 and text.count(role_readme.END) == 1
    assert role_readme.replace_readme_region(text, role_readme.readme_table()) == text


def test_the_table_region_is_replaced_between_the_markers_only():
    text = "# Title\n\nintro\n%s\nold table\n%s\nafter\n" % (role_readme.BEGIN, role_readme.END)
    new = role_readme.replace_readme_region(text, "| new |\n")
    assert new == "# Title\n\nintro\n%s\n| new |\n%s\nafter\n" % (role_readme.BEGIN, role_readme.END)
    assert role_readme.readme_region(new) == "| new |\n"
    with pytest.raises(ValueError, match="markers"):
        role_readme.replace_readme_region("no markers\n", "| new |\n")


@pytest.mark.parametrize("markup, expected", [
    ("C(a|b) and O(x=y)", "`a\\|b` and `x=y`"),
    ("V(run(x\\)) B(bold) I(it)", "`run(x)` **bold** *it*"),
    ("under <root>/node_x", "under &lt;root&gt;/node\\_x"),
    ("L(the docs, https://example.com) M(qwenops.qwen_code.user_config)",
     "[the docs](https://example.com) `qwenops.qwen_code.user_config`"),
])
def test_ansible_markup_becomes_markdown(markup, expected):
    assert role_readme.markdown(markup) == expected


def test_readme_stays_the_operators_path_and_lists_every_stage():
    """README.md stays at most 400 lines (issue 26 halved it: the rest is in CONTRIBUTING.md and docs/), and both its
    Tests table and CONTRIBUTING.md's "Test stages and their times" list every stage of tests/all, in its order."""
    readme = read("README.md")
    assert len(readme.splitlines()) <= 400
    stages = re.search(r"\|\| stages=\(([^)]*)\)", read("tests", "all")).group(1).split()
    contributing = read("CONTRIBUTING.md")
    for text, heading in ((readme, "## Tests"), (contributing, "## Test stages and their times")):
        section = text.split(heading + "\n", 1)[1].split("\n## ", 1)[0]
        listed = re.findall(r"^\| `([\w-]+)` \|", section, re.M)
        assert listed == stages, heading
