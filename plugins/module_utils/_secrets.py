# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

What counts as a secret in qwen settings, in one place: the names of keys, headers, query parameters and command-line
flags whose value is a secret, the values that only refer to an environment variable (no secret), and where a secret
sits in a settings tree. The preflight's check of the system settings files (filter input_problems), the masks of the
modules' diffs and results and the values the modules ask AnsibleModule to hide all work from secrets_in(), so that
what one of them takes for a secret the others do too."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

# Hyphens as well as underscores: header names are written with hyphens (X-API-Key, x-goog-api-key), settings keys
# in camel case (apiKey) or with underscores (api_key).
SECRET_NAME = re.compile(r"api[-_]?key|token|secret|passw(?:or)?d|authorization|credential|cookie", re.IGNORECASE)
# Names that say where a secret is or what it is called, not what it is: an MCP server's OAuth tokenUrl and
# authorizationUrl, its tokenParamName, a --token-file or passwordPath. A key in such a URL's query is found as one
# (see _in_url).
_NOT_A_VALUE = re.compile(r"(url|uri|name|file|path)\Z", re.IGNORECASE)
# The dicts whose every value may be a credential (an MCP server's environment and HTTP headers), whatever the name:
# GITHUB_PAT and X-Goog-Api-Key say so no more clearly than any other name there.
_HOLDERS = ("env", "headers")
# qwen resolves $NAME and ${NAME} in settings strings from the environment: such a value holds no secret, also after
# the scheme word of an Authorization header. \Z, not $: $ also matches before a trailing newline.
ENV_REFERENCE = re.compile(r"\A(?:(?:Bearer|Basic|Token) )?\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)\Z",
                           re.IGNORECASE)
_SCHEME = re.compile(r"\A(?:Bearer|Basic|Token)\s+(\S+)\Z", re.IGNORECASE)
# In a free-standing string (a command-line argument): --api-key=X, -token=X, X-API-Key: X, GITHUB_TOKEN=X.
_NAMED = re.compile(r"\A-{0,2}([A-Za-z0-9_.-]+)\s*[:=]\s*(.*\S)\s*\Z", re.DOTALL)
_FLAG = re.compile(r"\A--?([A-Za-z0-9_.-]+)\Z")
_URL = re.compile(r"\A[A-Za-z][A-Za-z0-9+.-]*://")
MASK = "********"
HIDDEN_MIN_LENGTH = 6


def is_env_reference(value):
    return isinstance(value, str) and bool(ENV_REFERENCE.match(value))


def is_secret_name(name):
    name = str(name)
    return bool(SECRET_NAME.search(name)) and not _NOT_A_VALUE.search(name)


def _literal(value):
    """A string that holds something and is no reference. A number or a boolean is never a secret: under a secret
    name it is a limit or a switch (sessionTokenLimit, max_tokens), and hiding "4" everywhere would garble output."""
    return isinstance(value, str) and bool(value.strip()) and not is_env_reference(value)


def _in_url(text):
    parts = urlsplit(text)
    found = []
    try:
        password = parts.password
    except ValueError:
        password = None
    if _literal(password):
        found.append(("password", password))
    # The query as written (not decoded), so that masking finds the value where it stands.
    for pair in parts.query.split("&"):
        name, _sep, value = pair.partition("=")
        if is_secret_name(name) and _literal(value):
            found.append(("query parameter %s" % name, value))
    return found


def _in_text(text):
    """(part, secret) for the secrets a free-standing string carries, part saying where in it (None: all of it):
    a URL's password and key-like query parameters, a key flag's value (--api-key=X), a header line
    (Authorization: Bearer X) or a bare credential (Bearer X)."""
    if _URL.match(text):
        return _in_url(text)
    named = _NAMED.match(text)
    if named and is_secret_name(named.group(1)) and _literal(named.group(2)):
        return [("value of %s" % named.group(1), named.group(2))]
    bare = _SCHEME.match(text)
    if bare and _literal(text):
        return [(None, text)]
    return []


def secrets_in(value, path=()):
    """(path, part, secret) for every literal secret in a settings tree: path is the keys and list indexes that lead
    to the string holding it, part where in that string (None: it is the secret). A secret is a string under a
    secret-looking name (or in a list under one), any string in an env or headers dict, a key-looking query
    parameter or password of a URL, the value of a key flag in a list (--api-key=X, or --token followed by X), a
    header line or a bare credential (Bearer X). A $NAME or ${NAME} reference is none."""
    found = []
    if isinstance(value, dict):
        holder = bool(path) and str(path[-1]).lower() in _HOLDERS
        for key, item in sorted(value.items(), key=lambda pair: str(pair[0])):  # messages the same on every run
            here = path + (key,)
            if (holder or is_secret_name(key)) and _literal(item):
                found.append((here, None, item))
            elif (holder or is_secret_name(key)) and isinstance(item, list):
                for index, one in enumerate(item):
                    if _literal(one):
                        found.append((here + (index,), None, one))
                    else:
                        found.extend(secrets_in(one, here + (index,)))
            else:
                found.extend(secrets_in(item, here))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            flag = _FLAG.match(item) if isinstance(item, str) else None
            following = value[index + 1] if index + 1 < len(value) else None
            if flag and is_secret_name(flag.group(1)) and _literal(following) and not following.startswith("-"):
                found.append((path + (index + 1,), None, following))
            found.extend(secrets_in(item, path + (index,)))
    elif isinstance(value, str):
        found.extend((path, part, secret) for part, secret in _in_text(value))
    # A value both after a key flag and a secret of its own (--token Bearer X) is one secret, found once.
    unique = []
    for one in found:
        if one not in unique:
            unique.append(one)
    return unique


def secret_values(value):
    """The secrets in value, for AnsibleModule.no_log_values (which hides them wherever they would show): each, and
    the credential alone after a scheme word (X of Bearer X), which may show without it."""
    values = set()
    for _path, _part, secret in secrets_in(value):
        values.add(secret)
        bare = _SCHEME.match(secret)
        if bare:
            values.add(bare.group(1))
    return values


def mask(value):
    """A copy of value with every secret replaced by ********: a value that is a secret whole, or the secret part of
    a string (a URL's query parameter, a flag's value)."""
    result = copy.deepcopy(value)
    for path, part, secret in secrets_in(value):
        if not path:
            return result.replace(secret, MASK) if part else MASK
        node = result
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = node[path[-1]].replace(secret, MASK) if part else MASK
    return result


def _leaves(value):
    """The values AnsibleModule hides for a no_log option: every string and number in it, as strings."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return set().union(*[_leaves(v) for v in value]) if value else set()
    if isinstance(value, str):
        return {value} if value else set()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {str(value)}
    return set()


def hide_secrets_only(module, options):
    """For settings options declared no_log (so that AnsibleModule never logs them, in the host's journal either).
    AnsibleModule hides every value of a no_log option wherever it shows, which would turn every "4", model name or
    path in the output into ********: of options, only the secrets stay hidden (what another no_log option holds,
    the .env's values, stays hidden too). Returns the parameters to work with; module.params holds the options
    masked from now on, since AnsibleModule echoes it as the invocation."""
    kept = set()
    for name, spec in module.argument_spec.items():
        if spec.get("no_log") and name not in options:
            kept.update(_leaves(module.params.get(name)))
    params = dict(module.params)
    for name in options:
        module.no_log_values.difference_update(_leaves(params.get(name)) - kept)
    for name in options:
        # A secret shorter than this is masked in the diff, the results and the invocation all the same; hidden
        # everywhere, a "1" of an env dict would garble every number of the output.
        module.no_log_values.update(v for v in secret_values(params.get(name)) if len(v) >= HIDDEN_MIN_LENGTH)
        module.params[name] = mask(params.get(name))
    return params
