# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The qwen_code role's variables the preflight works from, gathered from the task's variables and templated once
(by the qwenops.qwen_code.preflight action) into one plain dict: the checks (_checks.py) and the decisions
(_decisions.py) take plain values, never names of variables.

Controller side only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Each variable the checks and decisions read, with the value it has when the play does not define it (the role's
# defaults define most; argument_specs enforced their types).
VARIABLES = {
    "qwen_code_version": "latest",
    "qwen_code_node_method": "private",
    "qwen_code_node_version": "",
    "qwen_code_node_headers": False,
    "qwen_code_node_path": "",
    "qwen_code_npm_version": "",
    "qwen_code_install_root": "",
    "qwen_code_launcher_path": "",
    "qwen_code_npm_registry": "",
    "qwen_code_artifact_cache": "",
    "qwen_code_ca_bundle": "",
    "qwen_code_http_proxy": "",
    "qwen_code_https_proxy": "",
    "qwen_code_no_proxy": "",
    "qwen_code_npm_auth_token": "",
    "qwen_code_allow_unpinned_tree": False,
    "qwen_code_base_url": "",
    "qwen_code_allow_insecure_base_url": False,
    "qwen_code_settings": {},
    "qwen_code_usage_statistics": False,
    "qwen_code_auto_update": False,
    "qwen_code_folder_trust": True,
    "qwen_code_trusted_folders": [],
    "qwen_code_verify": "on_change",
    "qwen_code_verify_provider": False,
    "qwen_code_smoke_test": False,
    "qwen_code_auth_type": "",
    "qwen_code_oauth_creds": {},
    "qwen_code_oauth_creds_file": "",
    "qwen_code_managed_settings": {},
    "qwen_code_default_settings": {},
    "qwen_code_approval_mode": "",
    "qwen_code_tools_allowed": [],
    "qwen_code_tools_excluded": [],
    "qwen_code_sandbox": "",
    "qwen_code_execution_sandbox": {},
    "qwen_code_mcp_servers": {},
    "qwen_code_mcp_allowed": [],
    "qwen_code_mcp_excluded": [],
    "qwen_code_users_absent": [],
    "qwen_code_key_isolation": False,
    "qwen_code_key_broker_port": 1009,
    "qwen_code_key_broker_account": "qwen-broker",
    "qwen_code_keep_releases": 1,
    # The role's tables and constants (vars/main.yml).
    "__qwen_code_releases": {},
    "__qwen_code_distro_node_major": {},
    "__qwen_code_node_arch": {},
    "__qwen_code_package": "",
    "__qwen_code_ca_path": "",
    "__qwen_code_user_names": [],
    # What the registry called `latest` (preflight.yml), when qwen_code_version is latest.
    "__qwen_code_latest": {},
}
# Those Jinja read with `| default(x, true)`: an empty or null value counts as unset.
EMPTY_IS_UNSET = ("qwen_code_node_path",)


def gather(evaluate, defined):
    """The role's inputs as one plain dict: evaluate(name) templates a variable, defined(name) says whether the play
    has it. A variable the play leaves undefined (or null) gets its value from VARIABLES."""
    inputs = {}
    for name, default in VARIABLES.items():
        value = evaluate(name) if defined(name) else None
        if value is None or (name in EMPTY_IS_UNSET and not value):
            value = default
        inputs[name] = value
    return inputs
