"""The default qwen release is written once, in plugins/module_utils/_releases.py: every other file takes it from
there (the role through the qwenops.qwen_code.releases lookup, the tests through _releases or tests/tools/releases.py,
the image as its QWEN_CODE_VERSION build argument). It may appear elsewhere only in data that must name it: the lock
and integrity tables, the installed-tree fixture, changelogs, documentation (Markdown, Python comments and
docstrings, plugins' DOCUMENTATION, EXAMPLES and RETURN, the filters' YAML documentation), and the role's defaults
and argument_specs, which tools read without templating and which the tests below compare with _releases."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import fnmatch
import importlib.util
import io
import os
import re
import subprocess
import tokenize

import pytest
import yaml

from ansible_collections.qwenops.qwen_code.plugins.module_utils import _releases
from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import known_integrity
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT, SERIES, series_list
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

ROLE = os.path.join(REPO, "roles", "qwen_code")
PATTERN = re.compile(r"(?<![\d.])%s(?![\d])" % re.escape(DEFAULT))

# Files that may name the default release anywhere (data that must name it).
ALLOWED_FILES = (
    "plugins/module_utils/_releases.py",        # the source
    "plugins/module_utils/_cli_locks.py",       # the pinned dependency tree of each known release
    "plugins/module_utils/_known_artifacts.py",  # the sha512 integrity of each known release
    "tests/integration/fixtures/installed-tree.txt",  # what npm installs for the default release
    "changelogs/*",
    "*.md",
    "plugins/filter/*.yml",                     # the filters' documentation and examples
)
with open(os.path.join(REPO, "galaxy.yml")) as galaxy:
    COLLECTION_VERSION = yaml.safe_load(galaxy)["version"]
# The image the CI entry points run, by its release tag (qwenops/qwen-code:<collection>-qwen<default>; the release
# tooling pins it by digest in the release's pin commit, tests/tools/image_pin.py).
IMAGE_TAG = re.escape("qwenops/qwen-code:%s-qwen%s" % (COLLECTION_VERSION, DEFAULT))
# Lines that may name it in other files, each checked against _releases below.
ALLOWED_LINES = {
    "action.yml": re.compile(r"^    default: %s$" % IMAGE_TAG),
    "ci/gitlab/qwen-code.gitlab-ci.yml": re.compile(r"^    name: %s$" % IMAGE_TAG),
    "roles/qwen_code/defaults/main.yml": re.compile(r'^qwen_code_version: "%s"( +#.*)?$' % re.escape(DEFAULT)),
    "roles/qwen_code/meta/argument_specs.yml": re.compile(r'^ +default: "%s"( +#.*)?$' % re.escape(DEFAULT)),
}
# Top-level assignments of a plugin's documentation (ansible-doc renders them).
DOC_NAMES = {"DOCUMENTATION", "EXAMPLES", "RETURN"}


def tracked_files():
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [p for p in out.decode().split("\0") if p and os.path.isfile(os.path.join(REPO, p))]


def python_documentation(source):
    """The (line, column) starts of a Python file's docstrings and documentation assignments."""
    starts = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                starts.add((first.value.lineno, first.value.col_offset))
        if isinstance(node, ast.Module):
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                        and getattr(stmt.targets[0], "id", None) in DOC_NAMES:
                    starts.add((stmt.value.lineno, stmt.value.col_offset))
    return starts


def python_code_hits(source):
    """Lines where the release appears in a Python file's code (comments and documentation aside)."""
    docs = python_documentation(source)
    return sorted({tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                   if tok.type == tokenize.STRING and PATTERN.search(tok.string) and tok.start not in docs})


def hits(path, text):
    if path.endswith(".py"):
        return python_code_hits(text)
    allowed = ALLOWED_LINES.get(path)
    return [n for n, line in enumerate(text.splitlines(), 1)
            if PATTERN.search(line) and not (allowed and allowed.match(line))]


def test_the_default_release_is_written_only_where_data_must_name_it():
    found = []
    for path in tracked_files():
        if any(fnmatch.fnmatch(path, pattern) for pattern in ALLOWED_FILES):
            continue
        try:
            with io.open(os.path.join(REPO, path), encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError:
            continue
        if DEFAULT in text:
            found.extend("%s:%d" % (path, n) for n in hits(path, text))
    assert not found, ("these name the default release %s: take it from plugins/module_utils/_releases.py "
                       "(DEFAULT; tests/tools/releases.py outside the collection's Python path; the "
                       "qwenops.qwen_code.releases lookup in the role): %s" % (DEFAULT, ", ".join(found)))


def test_the_scan_finds_code_and_spares_documentation():
    source = ('"""Docstring naming %s."""\nDOCUMENTATION = "%s"\n# a comment: %s\nX = "cli/%s"\n'
              'def f():\n    """%s"""\n    return "%s"\n' % ((DEFAULT,) * 6))
    assert python_code_hits(source) == [4, 7]
    assert hits("roles/qwen_code/defaults/main.yml",
                'qwen_code_version: "%s"  # a comment\nother: "%s"\n' % (DEFAULT, DEFAULT)) == [2]
    assert hits("x.yml", "v: 1%s\nv: %s0\nv: %s\n" % (DEFAULT, DEFAULT, DEFAULT)) == [3]


def test_the_default_is_a_known_release_of_a_supported_series():
    assert re.match(r"^\d+\.\d+\.\d+$", DEFAULT)
    assert ".".join(DEFAULT.split(".")[:2]) in SERIES
    assert known_integrity("@qwen-code/qwen-code", DEFAULT)


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as f:
        return yaml.safe_load(f)


def version_option():
    return load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]["qwen_code_version"]


def test_the_role_defaults_and_argument_specs_name_the_default_release():
    assert load("defaults", "main.yml")["qwen_code_version"] == DEFAULT
    assert version_option()["default"] == DEFAULT


def test_argument_specs_list_the_supported_series():
    text = " ".join(version_option()["description"])
    assert "(%s)" % series_list() in text, "argument_specs' qwen_code_version must list: " + series_list()


def test_the_series_are_listed_in_version_order():
    assert series_list() == ", ".join(sorted(SERIES, key=lambda s: [int(x) for x in s.split(".")]))
    assert list(SERIES) == series_list().split(", ")


def test_every_series_says_everything_the_role_reads():
    fields = {"settings_version", "node_major", "qwen_oauth", "deny_by_rule", "wire_api", "auth_types",
              "auto_update_key", "approval_auto", "model_env_wins", "execution_sandbox"}
    for series, needs in SERIES.items():
        assert set(needs) == fields, series


def test_the_lookup_returns_the_single_source():
    from ansible_collections.qwenops.qwen_code.plugins.lookup.releases import LookupModule
    lookup = LookupModule()
    assert lookup.run([]) == [SERIES]
    assert lookup.run(["default", "series", "integrity"]) == [DEFAULT, SERIES, _releases.KNOWN_INTEGRITY]
    lookup.run([])[0]["0.7"]["node_major"] = 0  # a copy: the role cannot change the table
    assert SERIES["0.7"]["node_major"] == 20
    from ansible.errors import AnsibleLookupError
    with pytest.raises(AnsibleLookupError, match="unknown term 'latest'"):
        lookup.run(["latest"])


def test_tests_tools_reads_the_same_values():
    path = os.path.join(REPO, "tests", "tools", "releases.py")
    spec = importlib.util.spec_from_file_location("qwen_test_releases", path)
    releases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(releases)
    assert (releases.DEFAULT, releases.SERIES) == (DEFAULT, SERIES)


def mappings(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from mappings(item)
    elif isinstance(value, list):
        for item in value:
            yield from mappings(item)


def test_the_role_holds_no_copy_of_the_series_table():
    for parts in (("vars", "main.yml"), ("defaults", "main.yml")):
        for mapping in mappings(load(*parts)):
            assert not set(SERIES) <= set(mapping), "a copy of _releases.SERIES in %s" % "/".join(parts)


def test_the_ci_entry_points_run_the_image_of_the_default_release():
    """action.yml and the GitLab template name the image of this collection's version with the default release
    (qwenops/qwen-code:<collection>-qwen<default>): a new default release, or a new collection version, moves them
    too. A release's pin commit replaces the line with the pushed digest, which is never on main."""
    for path, line in ALLOWED_LINES.items():
        if not path.startswith(("action.yml", "ci/")):
            continue
        with open(os.path.join(REPO, path)) as f:
            assert [n for n in f.read().splitlines() if line.match(n)], \
                "%s names no qwenops/qwen-code:%s-qwen%s line" % (path, COLLECTION_VERSION, DEFAULT)
