"""The provider presets have one source, plugins/module_utils/_presets.py: the role reads it through the
qwenops.qwen_code.provider_presets lookup, and the image exports it at build time. What cannot read it (the role's
argument_specs, the README's table) is checked against it here; the provider_check module's documentation is checked
in tests/unit/plugins/modules/test_provider_check.py."""
import os
import re

import yaml

from ansible_collections.qwenops.qwen_code.plugins.module_utils._auth_types import AUTH_TYPES
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


def test_every_preset_speaks_known_protocols_with_a_url():
    for name, urls in PROVIDER_PRESETS.items():
        assert urls and set(urls) <= set(AUTH_TYPES), name
        assert all(u.startswith("https://") for u in urls.values()), name


def test_role_argument_spec_offers_every_preset():
    specs = yaml.safe_load(read("roles", "qwen_code", "meta", "argument_specs.yml"))["argument_specs"]
    assert sorted(specs["main"]["options"]["qwen_code_provider"]["choices"]) == NAMES
    choices = specs["main"]["options"]["qwen_code_auth_type"]["choices"]
    assert sorted(choices) == sorted(list(AUTH_TYPES) + ["qwen-oauth"])
    provider_types = specs["main"]["options"]["qwen_code_providers"]["options"]["auth_type"]["choices"]
    assert sorted(provider_types) == sorted(AUTH_TYPES)


def test_readme_table_lists_every_preset_per_protocol():
    section = read("README.md").split("### Auth types and presets", 1)[1].split("###", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `qwen_code_provider`")][0]
    columns = re.findall(r"`([a-z_-]+)`", table)[1:]
    assert columns == list(AUTH_TYPES)
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == len(columns) + 1 and re.match(r"^`\w+`$", cells[0]) and cells[0] != "`qwen_code_provider`":
            rows[cells[0].strip("`")] = dict((t, c.strip("`")) for t, c in zip(columns, cells[1:]) if c)
    custom = rows.pop("custom")
    assert rows == PROVIDER_PRESETS
    assert set(custom.values()) == {"qwen_code_base_url"}
