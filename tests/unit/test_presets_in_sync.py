"""The role's provider presets and the modules' presets are one table in two places: they must agree."""
import os

import yaml

from ansible_collections.qwenops.qwen_code.plugins.module_utils.qwen_code import PROVIDER_PRESETS

from conftest import REPO


def test_role_presets_equal_module_presets():
    with open(os.path.join(REPO, "roles", "qwen_code", "vars", "main.yml")) as f:
        role_vars = yaml.safe_load(f)
    assert role_vars["__qwen_code_provider_presets"] == PROVIDER_PRESETS


def test_argument_spec_choices_list_every_preset():
    with open(os.path.join(REPO, "roles", "qwen_code", "meta", "argument_specs.yml")) as f:
        spec = yaml.safe_load(f)
    choices = spec["argument_specs"]["main"]["options"]["qwen_code_provider"]["choices"]
    assert sorted(choices) == sorted(list(PROVIDER_PRESETS) + ["custom"])
