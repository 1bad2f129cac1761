"""_npm_registry: the registry options (argument spec and doc fragment in step), and where the token may go."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible_collections.qwenops.qwen_code.plugins.doc_fragments.npm_registry import ModuleDocFragment
from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import (
    RegistryError, auth_headers, nerf_dart, registry_argument_spec, registry_problem)


def test_the_argument_spec_is_what_the_doc_fragment_documents():
    docs = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = registry_argument_spec()
    assert sorted(spec) == sorted(docs)
    for name, option in spec.items():
        assert (option["type"], option.get("default")) == (docs[name]["type"], docs[name].get("default")), name
    assert spec["auth_token"]["no_log"] is True


@pytest.mark.parametrize("url, sent", [
    ("https://npm.example/repo/npm/pkg", True),
    ("https://NPM.example:443/other/path", True),  # same scheme, host and port
    ("http://npm.example/repo/npm/pkg", False),
    ("https://npm.example:8443/repo/npm/pkg", False),
    ("https://cdn.example/pkg.tgz", False),
])
def test_the_token_goes_to_the_registry_origin_only(url, sent):
    headers = auth_headers("https://npm.example/repo/npm", url, "t0ken")
    assert headers == ({"Authorization": "Bearer t0ken"} if sent else {})
    assert auth_headers("https://npm.example/repo/npm", url, None) == {}


@pytest.mark.parametrize("registry, dart", [
    ("https://registry.npmjs.org", "//registry.npmjs.org/"),
    ("https://npm.example:443/repo/npm", "//npm.example/repo/npm/"),
    ("http://npm.example:8080/repo/npm/", "//npm.example:8080/repo/npm/"),
    ("https://[::1]:4873", "//[::1]:4873/"),
])
def test_nerf_dart(registry, dart):
    assert nerf_dart(registry) == dart


def test_nerf_dart_refuses_what_npm_cannot_key_a_token_to():
    with pytest.raises(RegistryError):
        nerf_dart("https://npm.example/a path")


@pytest.mark.parametrize("registry, token, problem", [
    ("https://npm.example", "t0ken", None),
    ("https://user:pw@npm.example", None, "must not contain credentials"),
    ("https://npm.example", "t0ken\nregistry=https://evil.example", "must be one line"),
    ("https://npm.example", " t0ken", "must be one line"),
])
def test_registry_problem(registry, token, problem):
    found = registry_problem(registry, token)
    assert found is None if problem is None else problem in found
    assert "pw" not in (found or "")
