# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the qwenops.qwen_code modules: the checks of qwen OAuth credentials.

Runs on the managed host: Python standard library and ansible.module_utils only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import math
import time

from ansible.module_utils.common.text.converters import to_bytes


# The fields the qwen CLI requires in oauth_creds.json (packages/core/src/qwen/qwenOAuth2.ts).
OAUTH_REQUIRED = (("access_token", "a non-empty string"), ("refresh_token", "a non-empty string"),
                  ("token_type", "a non-empty string"), ("expiry_date", "a number of milliseconds since the epoch"))


def token_fingerprint(token):
    """A short sha256 of a token: enough to compare hosts, useless to an attacker."""
    return hashlib.sha256(to_bytes(token, errors="surrogate_or_strict")).hexdigest()[:16]


def _type_name(value):
    return {type(None): "null", bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def inspect_oauth_creds(data, now=None):
    """Check qwen OAuth credentials (a dict) like the CLI does; return facts about them, never token values.

    Returns valid plus invalid_reason, or valid plus expiry_date, expired, expires_in, token_type,
    refresh_token_sha256, access_token_sha256 and resource_url (when present).
    """
    if not isinstance(data, dict):
        return dict(valid=False, invalid_reason="the credentials must be a JSON object, not %s" % _type_name(data))
    for field, expected in OAUTH_REQUIRED:
        if field not in data:
            return dict(valid=False, invalid_reason="%s is missing (it must be %s)" % (field, expected))
        value = data[field]
        if field == "expiry_date":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        else:
            ok = isinstance(value, str) and value.strip() != ""
        if not ok:
            if value == "":
                shown = "an empty string"
            elif isinstance(value, float) and not math.isfinite(value):
                shown = "not finite"
            else:
                shown = _type_name(value)
            return dict(valid=False, invalid_reason="%s must be %s, not %s" % (field, expected, shown))
    if data["expiry_date"] < 10 ** 12:
        return dict(valid=False, invalid_reason="expiry_date %d looks like seconds: the CLI expects milliseconds "
                                                "since the epoch" % data["expiry_date"])
    resource_url = data.get("resource_url")
    if resource_url is not None and not isinstance(resource_url, str):
        return dict(valid=False, invalid_reason="resource_url must be a string, not %s" % _type_name(resource_url))
    now_ms = (time.time() if now is None else now) * 1000
    info = dict(valid=True, expiry_date=int(data["expiry_date"]), expired=data["expiry_date"] <= now_ms,
                expires_in=int((data["expiry_date"] - now_ms) // 1000), token_type=data["token_type"],
                refresh_token_sha256=token_fingerprint(data["refresh_token"]),
                access_token_sha256=token_fingerprint(data["access_token"]))
    if resource_url:
        info["resource_url"] = resource_url
    return info
