"""The role's provider presets and the modules' presets are one table in two places: they must agree."""
import os

import yaml

from ansible_collections.qwenops.qwen_code.plugins.module_utils._presets import PROVIDER_PRESETS

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

ROLE_VARS = os.path.join(REPO, "roles", "qwen_code", "vars", "main.yml")
ROLE_SPECS = os.path.join(REPO, "roles", "qwen_code", "meta", "argument_specs.yml")
MODULE = os.path.join(REPO, "plugins", "modules", "provider_check.py")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def test_role_presets_equal_module_presets():
    assert load(ROLE_VARS)["__qwen_code_provider_presets"] == PROVIDER_PRESETS


def test_role_argument_spec_offers_every_preset():
    choices = load(ROLE_SPECS)["argument_specs"]["main"]["options"]["qwen_code_provider"]["choices"]
    assert sorted(choices) == sorted(list(PROVIDER_PRESETS) + ["custom"])


def test_module_documentation_lists_every_preset():
    with open(MODULE) as f:
        source = f.read()
    doc = yaml.safe_load(source.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0])
    option = doc["options"]["provider"]
    assert sorted(option["choices"]) == sorted(list(PROVIDER_PRESETS) + ["custom"])
    described = " ".join(option["description"])
    for name, url in PROVIDER_PRESETS.items():
        assert "V(%s) (U(%s))" % (name, url) in described
