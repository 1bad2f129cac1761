"""The provider presets have one source, plugins/module_utils/_presets.py: the role reads it through the
qwenops.qwen_code.provider_presets lookup, and the image exports it at build time. What cannot read it (the role's
argument_specs, the provider_check module's documentation, the README's table) is checked against it here."""
import os
import re

import yaml

from ansible_collections.qwenops.qwen_code.plugins.module_utils._presets import PROVIDER_PRESETS
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

NAMES = sorted(list(PROVIDER_PRESETS) + ["custom"])


def read(*parts):
    with open(os.path.join(REPO, *parts)) as f:
        return f.read()


def test_the_role_reads_the_source():
    role_vars = yaml.safe_load(read("roles", "qwen_code", "vars", "main.yml"))
    assert role_vars["__qwen_code_provider_presets"] == "{{ lookup('qwenops.qwen_code.provider_presets') }}"


def test_the_lookup_returns_the_source():
    from ansible_collections.qwenops.qwen_code.plugins.lookup.provider_presets import LookupModule
    assert LookupModule().run([]) == [PROVIDER_PRESETS]


def test_role_argument_spec_offers_every_preset():
    specs = yaml.safe_load(read("roles", "qwen_code", "meta", "argument_specs.yml"))["argument_specs"]
    assert sorted(specs["main"]["options"]["qwen_code_provider"]["choices"]) == NAMES


def test_module_documentation_lists_every_preset():
    source = read("plugins", "modules", "provider_check.py")
    doc = yaml.safe_load(source.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0])
    option = doc["options"]["provider"]
    assert sorted(option["choices"]) == NAMES
    described = " ".join(option["description"])
    for name, url in PROVIDER_PRESETS.items():
        assert "V(%s) (U(%s))" % (name, url) in described


def test_readme_table_lists_every_preset():
    section = read("README.md").split("### Provider presets", 1)[1].split("###", 1)[0]
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]+)` \|$", section, re.M))
    assert rows == dict(PROVIDER_PRESETS, custom="qwen_code_base_url")
