# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's checks of URLs, proxies, paths and tokens in one place, in Python rather than in Jinja regexes:
`$` in a regex also matches before a trailing newline (a vault block scalar adds one), and "loopback" is a
property of an address, not of a string that starts with 127."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import posixpath
import re

from ansible_collections.qwenops.qwen_code.plugins.module_utils._install_root import system_directory

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover
    from urlparse import urlsplit  # type: ignore

from ansible_collections.qwenops.qwen_code.plugins.module_utils._secrets import secrets_in

# What each checked variable is. A name that is not here is a bug in the role, not bad input.
KINDS = {
    "qwen_code_base_url": "base_url",
    "qwen_code_npm_registry": "registry",
    "qwen_code_http_proxy": "proxy",
    "qwen_code_https_proxy": "proxy",
    "qwen_code_no_proxy": "no_proxy",
    "qwen_code_install_root": "install_root",
    "qwen_code_launcher_path": "path",
    "qwen_code_node_path": "optional_path",
    "qwen_code_artifact_cache": "optional_path",
    "qwen_code_ca_bundle": "optional_file",
    "qwen_code_trusted_folders": "path_list",
    "qwen_code_npm_auth_token": "token",
    "qwen_code_managed_settings": "settings",
    "qwen_code_default_settings": "settings",
    "qwen_code_mcp_servers": "mcp_servers",
}


_HOST = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$")
# Characters a path of ours may hold: it ends up in a shell launcher, in sudo's environment and in JSON.
_PATH = re.compile(r"^/[A-Za-z0-9._+@%=,:/-]*$")
_NO_PROXY_ENTRY = re.compile(r"^(\*|\.?[A-Za-z0-9_.-]+|\[?[0-9A-Fa-f:.]+\]?)(:[0-9]{1,5})?(/[0-9]{1,3})?$")


def _shown(value):
    """The value as a Python literal, so that a trailing newline or a control character is visible."""
    return repr(value)


def _bad_chars(value):
    return any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7f for c in value)


def is_loopback(host):
    """True for localhost and for loopback addresses (127.0.0.0/8, ::1), never for a name that merely starts
    with 127."""
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(name, value, kind, allow_insecure):
    """The problem with a URL value, or None."""
    if not isinstance(value, str) or not value:
        return "%s must be an http(s) URL" % name
    parts = None
    if not _bad_chars(value) and not any(c in value for c in "\"'\\<>`{}|^"):
        try:
            parts = urlsplit(value)
            parts.port  # pylint: disable=pointless-statement  # raises ValueError for a bad port
        except ValueError:
            parts = None
    hostname = parts.hostname if parts else None
    valid = (parts is not None and parts.scheme in ("http", "https") and bool(hostname)
             and (_HOST.match(hostname) or _is_ip(hostname)) and not parts.query and not parts.fragment
             and "#" not in value and "?" not in value)
    credentials = parts is not None and "@" in parts.netloc
    shown = _redacted(value) if credentials else _shown(value)
    if kind == "proxy":
        if not valid or parts.path not in ("", "/"):
            return ("%s %s is not a proxy URL: expected http://[user:password@]host:port with nothing after the "
                    "port (no path, query, spaces or line breaks)" % (name, shown))
        return None
    if not valid or credentials:
        if kind == "registry" and credentials and valid:
            return ("%s %s holds credentials: give the registry's token in qwen_code_npm_auth_token instead (it is "
                    "written to a 0600 npm configuration for the run, never to a command line)" % (name, shown))
        example = "https://openrouter.ai/api/v1" if kind == "base_url" else "https://registry.npmjs.org"
        return ("%s %s is not a valid http(s) URL: expected https://host[:port]/path (no spaces, line breaks, quotes, "
                "user:password@, query or fragment), e.g. %s" % (name, shown, example))
    if kind == "base_url" and parts.scheme == "http" and not allow_insecure and not is_loopback(hostname):
        return ("%s %s uses plain http to a non-loopback host, which would send the API key unencrypted: use https://, "
                "or set qwen_code_allow_insecure_base_url: true if you really mean it" % (name, shown))
    return None


def _is_ip(host):
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _redacted(url):
    scheme, _sep, rest = url.partition("://")
    return repr("%s://***@%s" % (scheme, rest.rpartition("@")[2]))


def _path(name, value, optional):
    if optional and (value is None or value == ""):
        return None
    if not isinstance(value, str) or not value:
        return "%s must be an absolute path" % name
    if not value.startswith("/"):
        return "%s %s must be an absolute path" % (name, _shown(value))
    if not _PATH.match(value) or "\n" in value:
        return ("%s %s is not a plain absolute path: use / and letters, digits and ._+@%%=,:- only (no spaces, quotes, "
                "$, line breaks or other control characters)" % (name, _shown(value)))
    if value != "/" and (posixpath.normpath(value) != value or value.endswith("/")):
        normal = posixpath.normpath(value)
        return "%s %s is not a normalised path: write it as %s" % (name, _shown(value), _shown(normal))
    if value == "/":
        return "%s may not be / itself" % name
    return None


def _places(found, servers):
    """Where the secrets in found (secrets_in's) are, by name only: the key path and the part of a string, grouped by
    MCP server (servers: the paths start with a server's name; otherwise those under mcpServers do)."""
    groups = []
    for path, part, _secret in found:
        keys = list(path)
        owner = ""
        if servers or (len(keys) > 2 and keys[0] == "mcpServers"):
            keys = keys if servers else keys[1:]
            owner = "MCP server %s: " % keys.pop(0)
        where = ""
        for key in keys:
            where += "[%d]" % key if isinstance(key, int) else ("." if where else "") + str(key)
        where += " (%s)" % part if part else ""
        if groups and groups[-1][0] == owner:
            groups[-1][1].append(where)
        else:
            groups.append((owner, [where]))
    return "; ".join(owner + ", ".join(wheres) for owner, wheres in groups)


def _system_settings(name, value, servers=False):
    """The problem with settings that go into a system file (root's, mode 0644: every user reads them), or None."""
    if value in (None, ""):
        return None
    if not isinstance(value, dict):
        return "%s must be a dict of %s" % (name, "MCP servers" if servers else "settings")
    if "$version" in value and not servers:
        return "%s may not set $version: the role writes the one the installed release expects" % name
    found = secrets_in(value)
    if found:
        return ("%s holds a literal value where a secret may be, at %s: every user can read the system settings "
                "files, so give each as an environment variable reference (${NAME}, or \"Bearer ${NAME}\" in a "
                "header) and put the value in the user's environment or ~/.qwen/.env" % (name, _places(found, servers)))
    return None


def input_problems(values, allow_insecure_base_url=False):
    """Check the variables in values (a dict of variable name -> value, names from KINDS). Returns a list of
    messages, each naming its variable and the fix; empty when all is well. Never quotes a token or a proxy
    password."""
    problems = []
    for name in sorted(values):
        value = values[name]
        kind = KINDS[name]
        problem = None
        if kind in ("base_url", "registry", "proxy"):
            if kind == "proxy" and value in (None, ""):
                continue
            problem = _url(name, value, kind, allow_insecure_base_url)
        elif kind == "no_proxy":
            if value not in (None, ""):
                entries = value.split(",") if isinstance(value, str) else [None]
                bad = [e for e in entries if not isinstance(e, str) or not _NO_PROXY_ENTRY.match(e) or "\n" in e]
                if bad:
                    problem = ("%s %s must be a comma-separated list of host names, domains (.example.com), "
                               "addresses or CIDRs without spaces, quotes or line breaks" % (name, _shown(value)))
        elif kind in ("path", "optional_path"):
            problem = _path(name, value, kind == "optional_path")
        elif kind == "install_root":
            problem = _path(name, value, False)
            why = None if problem else system_directory(posixpath.normpath(value))
            if why:
                problem = ("%s %s is %s: root installs and removes files there, so give the collection a directory "
                           "of its own, such as /opt/qwen-code" % (name, _shown(value), why))
        elif kind in ("settings", "mcp_servers"):
            problem = _system_settings(name, value, servers=kind == "mcp_servers")
        elif kind == "optional_file":
            if value not in (None, "") and isinstance(value, str) and _bad_chars(value):
                problem = "%s %s holds a line break or another control character" % (name, _shown(value))
        elif kind == "path_list":
            if not isinstance(value, list):
                problem = "%s must be a list of absolute paths, e.g. [/srv/work]" % name
            else:
                for item in value:
                    problem = _path(name, item, False)
                    if problem:
                        problem = problem.replace(name, "%s entry" % name, 1)
                        break
        elif kind == "token":
            if value not in (None, ""):
                if not isinstance(value, str) or _bad_chars(value) or any(c in value for c in "\"'\\"):
                    problem = ("%s holds whitespace, a line break, a quote or a backslash, which no registry token "
                               "has: check for a stray newline in the vaulted value" % name)
        if problem:
            problems.append(problem)
    return problems


class FilterModule(object):
    def filters(self):
        return {"input_problems": input_problems}
