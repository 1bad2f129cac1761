# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The qwen CLI's per-user files, shared by qwen_settings and user_config: settings.json read with comments,
merged (never clobbered) and compared by content; a .env of KEY='value' lines; atomic writes that never let a
secret-bearing file exist with looser permissions or another owner."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import re

from ansible.module_utils.common.text.converters import to_native

SECRET_KEY = re.compile(r"(api_?key|token|secret|password)", re.IGNORECASE)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MASK = "********"


def strip_json_comments(text):
    """Remove // and /* */ comments outside of strings (the CLI reads settings with strip-json-comments)."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def merge(base, overlay):
    """base with overlay merged in recursively: dicts merge, every other value replaces."""
    result = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def mask(value):
    """value with the values of secret-looking keys (apiKey, token, secret, password) replaced."""
    if isinstance(value, dict):
        return dict((k, MASK if SECRET_KEY.search(k) and not isinstance(v, (dict, bool)) else mask(v))
                    for k, v in value.items())
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def render_settings(data):
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def read_settings(path):
    """(settings dict, raw text or None when absent, why it is invalid or None). Comments are allowed."""
    if not os.path.exists(path):
        return {}, None, None
    with open(path, "rb") as f:
        raw = f.read().decode("utf-8", errors="replace")
    try:
        current = json.loads(strip_json_comments(raw)) if raw.strip() else {}
        if not isinstance(current, dict):
            raise ValueError("the top level is not an object")
    except ValueError as e:
        return {}, raw, to_native(e)
    return current, raw, None


def plan_settings(path, managed):
    """What merging managed into the settings file at path means: a dict with current, desired, raw, invalid and
    changed (content differs, or the file is absent or invalid; formatting alone is no change)."""
    current, raw, invalid = read_settings(path)
    desired = merge(current, managed)
    return dict(current=current, desired=desired, raw=raw, invalid=invalid,
                changed=raw is None or invalid is not None or desired != current)


def settings_diff(path, plan):
    before = "" if plan["raw"] is None else "(invalid JSON)\n" if plan["invalid"] else render_settings(mask(plan["current"]))
    return dict(before_header=path, after_header=path, before=before, after=render_settings(mask(plan["desired"])))


def render_env(variables, header):
    """A .env file: the header as comments, then KEY='value' per variable, in the order given.

    ValueError (naming the variable, never its value) for a name or value the format cannot carry."""
    lines = ["# %s" % line for line in header.splitlines()]
    for name, value in variables.items():
        value = to_native(value)
        if not ENV_NAME.match(name):
            raise ValueError("%r is not a valid environment variable name" % name)
        if "'" in value or "\n" in value or "\r" in value or "\0" in value:
            raise ValueError("the value of %s contains a quote, a newline or a NUL byte, which a .env line cannot hold"
                             % name)
        lines.append("%s='%s'" % (name, value))
    return "\n".join(lines) + "\n"


def env_diff(path, before, after):
    """A diff of two .env texts with every value masked: which variables changed shows, never what they hold."""
    def masked(text):
        if text is None:
            return ""
        return "".join(re.sub(r"^([A-Za-z_][A-Za-z0-9_]*)=.*$", r"\1=" + MASK, line) + "\n"
                       for line in text.splitlines())
    return dict(before_header=path, after_header=path, before=masked(before), after=masked(after))


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")
    except (IOError, OSError):
        return None
