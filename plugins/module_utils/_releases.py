# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

What the collection knows about qwen releases, in one place: the default release, what each supported release series
needs and honours, and (re-exported from _known_artifacts.py) the sha512 integrity of the tarballs it was tested
with. The role reads it through the qwenops.qwen_code.releases lookup, the tests through tests/tools/releases.py, the
image's build through its QWEN_CODE_VERSION build argument; tests/unit/test_release_source.py checks that the default
release is written nowhere else but in data that must name it (the lock and integrity tables, fixtures, docs).

DEFAULT and SERIES are plain literals (tests/tools/releases.py reads them without importing the collection).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import KNOWN_INTEGRITY

__all__ = ["DEFAULT", "KNOWN_INTEGRITY", "SERIES", "series_list"]

# The release the role installs and the image ships unless told otherwise (qwen_code_version, QWEN_CODE_VERSION). It
# must be one whose tarball integrity and dependency tree the collection pins (_known_artifacts.py, _cli_locks.py).
DEFAULT = "0.24.4"

# What each release series needs, read from its published tarball (docs/RELEASES.md has the evidence).
#   settings_version: the settings.json "$version" the CLI migrates to (and rewrites the file for) on load
#   node_major: the lowest Node major its engines.node allows
#   qwen_oauth: whether it still accepts qwen-oauth (0.15 and later refuse it: "Qwen OAuth free tier was
#     discontinued on 2026-04-15", unless security.auth.useExternal)
#   auth_types: the protocols it speaks with an API key through modelProviders entries (0.7 and 0.12 ignore a gemini
#     entry's baseUrl; up to 0.15 vertex-ai reads GOOGLE_GEMINI_BASE_URL; openai-responses needs wireApi, 0.24 on)
#   wire_api: whether an openai entry takes wireApi ("responses")
#   auto_update_key: the general.* key that switches self-update (0.7: disableAutoUpdate, inverted)
#   approval_auto: whether tools.approvalMode takes "auto" (0.21 on)
#   model_env_wins: whether OPENAI_MODEL (and the other protocols' model variables) beats model.name in every settings
#     file, the system file included (0.7 and 0.12), so that a managed model.name would be ignored
#   Every series reads /etc/qwen-code/settings.json (wins over the user's) and system-defaults.json (below it).
#   execution_sandbox: whether it reads tools.executionSandbox (bwrap around each tool command; 0.24 on: the 0.24.4
#     tarball's chunks and bundled/qc-helper/docs/features/sandbox.md name it, 0.23.4's tarball nowhere)
#   deny_by_rule: whether a "/": DO_NOT_TRUST rule in trustedFolders.json distrusts every folder below it (0.21 on:
#     the deepest matching rule wins; before, DO_NOT_TRUST matched one exact path and unlisted folders were trusted)
# A release whose series is not listed is refused: guessing its schema would make the CLI rewrite settings.json
# on every run.
SERIES = {
    "0.7": {"settings_version": 2, "node_major": 20, "qwen_oauth": True, "deny_by_rule": False, "wire_api": False,
            "auth_types": ["openai", "anthropic"], "auto_update_key": "disableAutoUpdate", "approval_auto": False,
            "model_env_wins": True, "execution_sandbox": False},
    "0.12": {"settings_version": 3, "node_major": 20, "qwen_oauth": True, "deny_by_rule": False, "wire_api": False,
             "auth_types": ["openai", "anthropic"], "auto_update_key": "enableAutoUpdate", "approval_auto": False,
             "model_env_wins": True, "execution_sandbox": False},
    "0.15": {"settings_version": 4, "node_major": 20, "qwen_oauth": False, "deny_by_rule": False, "wire_api": False,
             "auth_types": ["openai", "anthropic", "gemini"], "auto_update_key": "enableAutoUpdate",
             "approval_auto": False, "model_env_wins": False, "execution_sandbox": False},
    "0.21": {"settings_version": 4, "node_major": 22, "qwen_oauth": False, "deny_by_rule": True, "wire_api": False,
             "auth_types": ["openai", "anthropic", "gemini", "vertex-ai"], "auto_update_key": "enableAutoUpdate",
             "approval_auto": True, "model_env_wins": False, "execution_sandbox": False},
    "0.23": {"settings_version": 4, "node_major": 22, "qwen_oauth": False, "deny_by_rule": True, "wire_api": False,
             "auth_types": ["openai", "anthropic", "gemini", "vertex-ai"], "auto_update_key": "enableAutoUpdate",
             "approval_auto": True, "model_env_wins": False, "execution_sandbox": False},
    "0.24": {"settings_version": 4, "node_major": 22, "qwen_oauth": False, "deny_by_rule": True, "wire_api": True,
             "auth_types": ["openai", "openai-responses", "anthropic", "gemini", "vertex-ai"],
             "auto_update_key": "enableAutoUpdate", "approval_auto": True, "model_env_wins": False,
             "execution_sandbox": True},
}


def series_list():
    """The supported series in version order, as text ("0.7, 0.12, ..."), for messages and documentation."""
    return ", ".join(sorted(SERIES, key=lambda s: tuple(int(x) for x in s.split("."))))
