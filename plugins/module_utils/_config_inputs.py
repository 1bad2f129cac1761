# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

What user_config is given, in one place: SPEC names every input with its type and default (the module's ``inputs``
option is validated by it, and the role passes exactly its keys, ``__qwen_code_config_inputs``), normalise() gives
them the types the module works with, and digest() is the digest of normalised inputs that user_config records in
the host's manifest and install_info compares there. Both ends call these functions, the controller (the
preflight action, plugins/action/preflight.py) and the host (user_config), so that adding an input means adding it
here.

The digest covers the keys (the .env's variables): it is never returned or printed. It stays host-local, like the
manifest's digests of each .env (``_manifest.redacted``): user_config computes it itself and records it, the
controller passes its own to install_info as a no_log option, and neither module returns it.

Runs on the controller and on targets: the standard library and ansible.module_utils only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_files import normalise_managed

# Every input of user_config (an AnsibleModule argument spec: the ``inputs`` option's suboptions). The options that
# hold keys (env, per_user_env) or may (the users' settings) are no_log; what is no secret still shows in results.
SPEC = dict(
    users=dict(type="list", elements="str", default=[]),
    env=dict(type="dict", default={}, no_log=True),
    settings=dict(type="dict", default={}, no_log=True),
    per_user_env=dict(type="dict", default={}, no_log=True),
    per_user_settings=dict(type="dict", default={}, no_log=True),
    trusted_folders=dict(type="dict", default={}),
    system_settings=dict(type="dict", default={}),
    system_settings_path=dict(type="path", default="/etc/qwen-code/settings.json"),
    system_defaults=dict(type="dict", default={}),
    system_defaults_path=dict(type="path", default="/etc/qwen-code/system-defaults.json"),
    absent_users=dict(type="list", elements="str", default=[]),
    purge=dict(type="bool", default=False),
    oauth_users=dict(type="list", elements="str", default=[]),
    manifest_path=dict(type="path"),
)
# The inputs that hold settings: written in the types the CLI reads (normalise_managed). per_user_settings maps each
# user to such a dict.
SETTINGS_INPUTS = ("settings", "system_settings", "system_defaults")
TRUST_LEVELS = ("TRUST_FOLDER", "TRUST_PARENT", "DO_NOT_TRUST")


def normalise(inputs):
    """inputs (a dict of SPEC's keys, as the controller templated them or the module received them) validated by
    SPEC, with every default and every type: lists, booleans, paths, and the settings keys the CLI depends on in the
    CLI's types ("$version" an integer, switches booleans). Idempotent. ValueError naming what is wrong (never a
    value of env: the messages of SPEC's validation name options, not values)."""
    result = ArgumentSpecValidator(SPEC).validate(dict(inputs or {}))
    if result.error_messages:
        raise ValueError("; ".join(result.error_messages))
    p = dict(result.validated_parameters)
    for option in SETTINGS_INPUTS:
        p[option] = _typed_settings(option, None, p[option])
    per_user = {}
    for name, own in p["per_user_settings"].items():
        if not isinstance(own, dict):
            raise ValueError("per_user_settings: the settings of %s must be a dict" % name)
        per_user[name] = _typed_settings("per_user_settings", name, own)
    p["per_user_settings"] = per_user
    for name, env in p["per_user_env"].items():
        if not isinstance(env, dict):
            raise ValueError("env of %s: it must be a dict of variables" % name)
    for folder, level in p["trusted_folders"].items():
        if not folder.startswith("/") or any(ord(c) < 0x20 or ord(c) == 0x7f for c in folder):
            raise ValueError("trusted_folders: %r is not an absolute path" % folder)
        if level not in TRUST_LEVELS:
            raise ValueError("trusted_folders: the level of %s must be one of %s" % (folder, ", ".join(TRUST_LEVELS)))
    return p


def _typed_settings(option, name, managed):
    try:
        return normalise_managed(managed)
    except ValueError as e:
        raise ValueError("%s%s: %s" % (option, "" if name is None else " of %s" % name, e))


def digest(normalised):
    """The digest of normalised inputs (normalise's result) in a canonical form: ``sha256:`` and the hex digest.
    It covers the keys, so it is never shown (see the module's docstring)."""
    data = json.dumps(dict((k, normalised.get(k)) for k in SPEC), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return "sha256:" + hashlib.sha256(data.encode("utf-8")).hexdigest()


def configured_and_absent(users, absent_users):
    """The accounts named both to configure (users) and to offboard (absent_users), sorted: a user is either."""
    absent = set(a for a in (absent_users or []) if isinstance(a, str))
    return sorted(set(u for u in (users or []) if isinstance(u, str)) & absent)


def config_current(host, needs):
    """Whether user_config may be skipped on a host: install_info's read of it (host: ``problems`` from drift, no
    ``manifest_error``, and ``inputs_current``, which says the manifest records the digest of the inputs given now)
    finds every recorded file as the role wrote it, the same inputs as last time, and the host lacks nothing (needs:
    the preflight's decision of what to install, name -> bool). A pure function: False for a host not read."""
    host = host or {}
    problems = host.get("problems", ["not read"])
    return bool(not problems and not host.get("manifest_error")
                and boolean(host.get("inputs_current", False), strict=False)
                and not any(boolean(v, strict=False) for v in (needs or {}).values()))
