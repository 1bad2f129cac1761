# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The key broker's names, in one place (qwen_code_key_isolation, docs/BROKER.md): what each user's files say instead
of an endpoint and a key (broker_url, token_for), where the broker's files live on a host, and the config it reads
(config()). The broker itself is roles/qwen_code/files/qwen-key-broker.js; the key_broker module installs and runs it.

A token is an HMAC of the user, the provider's name and endpoint under the provider's key: the same inputs give the
same token (re-runs change nothing), a rotated key gives a new one, and the token says nothing about the key. It is
no secret that matters on its own: the broker honours it only from a process of the token's own account (the peer's
uid, from the kernel), on this host.

Runs on the controller and on targets: the standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import hmac
import json
import os
import socket

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 has no place here, but sanity's import test runs it
    from urlparse import urlsplit

from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_names import USER_NAME

# The broker listens on this literal address only (never `localhost`: whatever listens on ::1 must not win) and on
# a port below 1024, which only root can bind, so that no user can take its place after a reboot or a crash.
HOST = "127.0.0.1"
DEFAULT_PORT = 1009
ACCOUNT = "qwen-broker"
CONFIG_DIR = "/etc/qwen-code/broker"
CONFIG_PATH = CONFIG_DIR + "/config.json"
LOG_DIR = "/var/log/qwen-key-broker"
PIDFILE = "/run/qwen-key-broker.pid"
SCRIPT = "qwen-key-broker.js"
UNIT = "qwen-key-broker"
TOKEN_PREFIX = "qwb-"
PROTOCOLS = ("openai", "openai-responses", "anthropic", "gemini", "vertex-ai")


def token_for(key, user, provider, upstream):
    """The token user's files carry for provider (at upstream) instead of key."""
    message = "\0".join(("qwenops-key-broker/1", user, provider, upstream)).encode("utf-8")
    return TOKEN_PREFIX + hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()[:48]


def broker_url(port, provider, upstream):
    """The base URL qwen is given for provider: the broker, the provider's name, then the path of its endpoint (the
    CLI appends its own paths to it, and the broker forwards what follows the name to the endpoint's origin)."""
    path = urlsplit(upstream).path.rstrip("/")
    return "http://%s:%d/%s%s" % (HOST, int(port), provider, path)


def port_problem(port):
    """A message when port is not one only root can bind (1 to 1023), else None."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 1024:
        return ("qwen_code_key_broker_port must be a port below 1024 (%r): only root can bind those, so no user can "
                "listen there in the broker's place" % (port,))
    return None


def account_problem(account, users):
    """A message when account may not be the broker's (not a name, root, or one of the configured users), else None:
    it holds every user's key, so no user may log in as it."""
    if not isinstance(account, str) or not USER_NAME.match(account) or account == "root":
        return ("qwen_code_key_broker_account must be the name of a system account for the broker alone (e.g. "
                "qwen-broker), never root")
    if account in (users or []):
        return ("qwen_code_key_broker_account %s is also in qwen_code_users: the broker's account holds every user's "
                "key, so no user may log in as it" % account)
    return None


def config(port, routes, uids, https_proxy="", http_proxy="", no_proxy="", ca_file="", limits=None):
    """The broker's config.json (a dict): routes (provider_plans' routes: token, user, provider, protocol, upstream,
    key) with each user's uid from uids (name -> uid). Holds keys."""
    return {
        "version": 1,
        "listen": {"host": HOST, "port": int(port)},
        "upstream": {"https_proxy": https_proxy or "", "http_proxy": http_proxy or "", "no_proxy": no_proxy or "",
                     "ca_file": ca_file or ""},
        "limits": dict(limits or {}),
        "routes": [dict(token=r["token"], uid=int(uids[r["user"]]), user=r["user"], provider=r["provider"],
                        protocol=r["protocol"], upstream=r["upstream"], key=r["key"])
                   for r in sorted(routes, key=lambda r: (r["user"], r["provider"]))],
    }


def dumps(data):
    """config()'s file content: canonical, so that the same routes give the same bytes."""
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def health(port, timeout=2.0):
    """(the broker's answer to GET /_broker/health as a dict, "") or (None, why not)."""
    try:
        conn = socket.create_connection((HOST, int(port)), timeout=timeout)
        try:
            conn.sendall(("GET /_broker/health HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % HOST)
                         .encode("ascii"))
            data = b""
            while len(data) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
        finally:
            conn.close()
        head, dummy, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            return None, head.split(b"\r\n")[0].decode("latin-1") or "no answer"
        answer = json.loads(body.decode("utf-8"))
        return (answer, "") if isinstance(answer, dict) else (None, "not a health answer")
    except (OSError, ValueError) as e:
        return None, str(e)


def installed_state(path=CONFIG_PATH):
    """What install_info reports of the broker: exists, and when it does, port and answers (its health)."""
    try:
        with open(path, "rb") as f:
            port = json.loads(f.read().decode("utf-8"))["listen"]["port"]
    except (IOError, OSError):
        return {"exists": os.path.lexists(path)}
    except (ValueError, KeyError, TypeError):
        return {"exists": True, "port": None, "answers": False}
    answer, dummy = health(port, timeout=1.0)
    return {"exists": True, "port": port, "answers": answer is not None}
