"""The table of known integrities: well-formed, and covering what the role installs by default."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import (
    KNOWN_INTEGRITY, known_integrity)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import is_exact_version, sri_to_hex
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT, SERIES


def test_every_entry_is_an_exact_version_with_a_sha512_integrity():
    for name, versions in KNOWN_INTEGRITY.items():
        for version, integrity in versions.items():
            assert is_exact_version(version), (name, version)
            assert len(sri_to_hex(integrity)) == 128, (name, version)


def test_lookup():
    assert known_integrity("npm", "10.9.9").startswith("sha512-1g+6jLQv")
    assert known_integrity("npm", "latest") is None and known_integrity("no-such-package", "1.0.0") is None


def test_the_role_defaults_are_known_releases():
    path = os.path.join(REPO, "roles", "qwen_code", "defaults", "main.yml")
    if not os.path.exists(path):
        pytest.skip("no role defaults")
    with open(path) as f:
        defaults = yaml.safe_load(f)
    for arch in ("x64", "arm64"):
        assert known_integrity("node-linux-" + arch, defaults["qwen_code_node_version"]), arch
    assert known_integrity("npm", defaults["qwen_code_npm_version"])
    if defaults["qwen_code_version"] != "latest":
        assert known_integrity("@qwen-code/qwen-code", defaults["qwen_code_version"])


def test_a_release_of_every_tested_minor_is_known():
    minors = set(SERIES)
    known = {".".join(v.split(".")[:2]) for v in KNOWN_INTEGRITY["@qwen-code/qwen-code"]}
    assert minors <= known, sorted(minors - known)


def test_a_release_the_collection_does_not_know_is_refused_unless_allowed():
    from ansible_collections.qwenops.qwen_code.plugins.plugin_utils._checks import check_release
    from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import unknown_release_problem
    package = "@qwen-code/qwen-code"
    assert unknown_release_problem(package, DEFAULT, False, "x") is None
    assert unknown_release_problem(package, "0.99.0", True, "x") is None
    problem = unknown_release_problem(package, "0.99.0", False, "qwen_code_allow_unpinned_tree")
    assert "0.99.0 is not a release this collection knows" in problem
    assert "it knows 0.7.1, 0.12.0, 0.15.10, 0.21.10, 0.23.4, " + DEFAULT + ":" in problem  # in version order
    assert "qwen_code_allow_unpinned_tree: true" in problem and "trust the registry" in problem

    def release_problems(version, allow=False):  # the preflight's check (plugin_utils/_checks.py)
        return check_release({"__qwen_code_package": package, "qwen_code_allow_unpinned_tree": allow},
                             {"cli_version": version})

    assert release_problems("0.99.0") == [" ".join(problem.split())]
    assert release_problems("0.99.0", True) == [] and release_problems(DEFAULT) == []
