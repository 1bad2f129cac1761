# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

qwen's OAuth credentials (oauth_creds.json) as the qwen CLI reads and writes them: where the file and the CLI's lock
are, reading the file, the lock the CLI takes while it refreshes the tokens, and checking the credentials like the
CLI does. Token values never leave here: only short sha256 fingerprints.

oauth_creds and oauth_creds_info call the file functions inside _user_home.as_user(), with the user's identity; they
use plain path functions, which is safe there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import json
import math
import os
import time
import uuid

from ansible.module_utils.common.text.converters import to_bytes, to_native

LOCK_NAME = "oauth_creds.lock"
LOCK_STALE_SECONDS = 35  # the CLI's own staleness limit (sharedTokenManager.ts)


def default_path(home):
    """The credentials file of a user whose home is home (the CLI without QWEN_HOME)."""
    return os.path.join(home, ".qwen", "oauth_creds.json")


def lock_path(path):
    """The CLI's lock file beside the credentials file path."""
    return os.path.join(os.path.dirname(path), LOCK_NAME)


def parse_creds(raw):
    """(parsed JSON, None) of credentials (the bytes of a file, or text), or (None, why they are not JSON)."""
    try:
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw), None
    except (ValueError, UnicodeDecodeError) as e:
        return None, "not valid JSON: %s" % to_native(e)


def load_creds(path):
    """(raw bytes, parsed JSON, None) of the credentials file at path, or (raw bytes, None, why it is not JSON).
    IOError/OSError when it cannot be read."""
    with open(path, "rb") as f:
        raw = f.read()
    return (raw,) + parse_creds(raw)


def read_existing(path):
    """(data, inspect_oauth_creds(data), raw bytes) of the credentials already at path; (None, None, None) when
    there are none and (None, None, raw) when they are not JSON. Other I/O errors raise."""
    try:
        raw, data, problem = load_creds(path)
    except (IOError, OSError) as e:
        if e.errno == errno.ENOENT:
            return None, None, None
        raise
    if problem:
        return None, None, raw
    return data, inspect_oauth_creds(data), raw


class LockBusy(Exception):
    pass


def acquire_lock(lock, wait):
    """Create the CLI's lock file exclusively, as the CLI does. Retries only while it exists (EEXIST), removes a
    stale one (older than the CLI's 35 s), and always gives up at the deadline."""
    deadline = time.time() + wait
    token = str(uuid.uuid4())
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise
        else:
            with os.fdopen(fd, "w") as f:
                f.write(token)
            return token
        try:
            age = time.time() - os.lstat(lock).st_mtime
        except OSError:
            age = None  # released meanwhile
        if time.time() > deadline:
            raise LockBusy("%s is held by a running qwen%s; waited %d s. Try again when it finishes."
                           % (lock, "" if age is None else " (for %d s)" % age, wait))
        if age is not None and age > LOCK_STALE_SECONDS:
            try:
                os.unlink(lock)  # stale, as the CLI would judge it
                continue
            except OSError:
                pass
        time.sleep(0.5 if age is not None else 0.05)


def release_lock(lock, token):
    """Remove the lock file, if it is still the one acquire_lock() created (token)."""
    try:
        with open(lock) as f:
            if f.read() == token:
                os.unlink(lock)
    except (IOError, OSError):
        pass


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
