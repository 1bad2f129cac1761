"""The role's README and the collection README's variables table are what tests/tools/role_readme.py renders from
meta/argument_specs.yml (and docs/readme-variables.yml): a variable added, removed or changed in the argument spec
without regenerating them fails here."""
import importlib.util
import os

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


def test_every_variable_has_exactly_one_row_of_meaning():
    rows = role_readme.load_yaml(role_readme.MEANINGS)
    with pytest.raises(ValueError, match="qwen_code_users: no row"):
        role_readme.readme_table(rows=[r for r in rows if "qwen_code_users" not in r["variables"]])
    with pytest.raises(ValueError, match="qwen_code_state: in two rows"):
        role_readme.readme_table(rows=rows + [{"variables": ["qwen_code_state"], "meaning": "again"}])
    with pytest.raises(ValueError, match="qwen_code_nope: not in the argument spec"):
        role_readme.readme_table(rows=rows + [{"variables": ["qwen_code_nope"], "meaning": "?"}])


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
