# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The record of what the role wrote on a host: ``/var/lib/qwen-code/manifest.json`` (root, 0600, in a 0700
directory). Offboarding, uninstall, pruning and the report work from it, so that they remove or compare exactly what
the role made, never a user's own keys. It holds no secret: files that hold keys are recorded by digest only, and
the digests stay on the host (redacted(): no module returns them, and the inputs' digest reaches the modules as a
no_log option).

Format 1::

    {"format": 1,
     "install_root": "/opt/qwen-code",
     "launcher": {"path": "/usr/local/bin/qwen", "sha256": "<hex>"},
     "ca_bundle": {"path": "/etc/qwen-code/ca-bundle.pem", "sha256": "<hex>"},      # only when one is installed
     "active": {"cli": "0.24.4", "node": "22.23.3", "npm": "10.9.9"},              # node "" for distro/system
     "history": [{"cli": "0.23.4", "node": "22.23.3", "npm": "10.9.9"}, ...],      # activations, newest last
     "system": {"/etc/qwen-code/settings.json": {"keys": [["general", "enableAutoUpdate"], ...],
                                                 "digest": "sha256:<hex>"}, ...},
     "users": {"alice": {"uid": 1000, "gid": 1000, "home": "/home/alice",
                         "files": {".env": {"digest": "sha256:<hex>"},
                                   "settings.json": {"keys": [...], "digest": "sha256:<hex>"},
                                   "trustedFolders.json": {"keys": [...], "digest": "sha256:<hex>"},
                                   "oauth_creds.json": {"deployed": true}}}}}

A key is a path: the list of the JSON object keys leading to a value the role manages. A dict's leaves are managed
one by one; lists and ``modelProviders.<type>`` arrays are single values. The digest of a JSON file is over the managed
values only (``managed_digest``), so what the user or the CLI adds to the file is no drift; the digest of ``.env``
is over the whole file (the role owns it whole).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import hashlib
import json
import os
import stat

FORMAT = 1
MANIFEST_PATH = "/var/lib/qwen-code/manifest.json"
HISTORY_LENGTH = 20
_ABSENT = {"absent": True}


def sha256_hex(data):
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def file_digest(data):
    """The digest of a file's bytes (or text), as recorded in the manifest."""
    return "sha256:" + sha256_hex(data)


def redacted(manifest):
    """The manifest without its digests, for a module's result: the digests of .env files and of the inputs cover
    keys, and whoever reads a log could confirm a guessed key against an unsalted digest. Only the modules compare
    them, on the host."""
    shown = copy.deepcopy(manifest or {})
    shown.pop("inputs_digest", None)
    records = list((shown.get("system") or {}).values())
    for user in (shown.get("users") or {}).values():
        records.extend(((user or {}).get("files") or {}).values())
    for record in records:
        if isinstance(record, dict):
            record.pop("digest", None)
    return shown


def leaf_paths(managed):
    """The key paths of the values in managed (a dict): one per non-dict value (an empty dict counts as a value)."""
    out = []
    for key in sorted(managed):
        value = managed[key]
        if isinstance(value, dict) and value:
            out.extend([[key] + sub for sub in leaf_paths(value)])
        else:
            out.append([key])
    return out


def get_path(data, path):
    """(True, value) when data has path, else (False, None)."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return False, None
        data = data[key]
    return True, data


def managed_view(data, paths):
    """The managed values of data, in a canonical order: what a JSON file's digest is taken over."""
    view = []
    for path in sorted(paths):
        found, value = get_path(data, path)
        view.append([path, value if found else _ABSENT])
    return view


def managed_digest(data, paths):
    return file_digest(json.dumps(managed_view(data, paths), sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False))


def remove_paths(data, paths):
    """A copy of data without the values at paths; an object left empty by a removal is removed as well."""
    result = copy.deepcopy(data)
    for path in paths:
        _remove(result, list(path))
    return result


def _remove(data, path):
    if not isinstance(data, dict) or path[0] not in data:
        return
    if len(path) == 1:
        del data[path[0]]
        return
    child = data[path[0]]
    _remove(child, path[1:])
    if isinstance(child, dict) and not child:
        del data[path[0]]


def stale_paths(recorded, current):
    """The recorded paths that the role no longer manages (neither the path nor a parent of it is managed now, and
    it is not the parent of a managed path)."""
    now = [tuple(p) for p in current]
    out = []
    for path in recorded:
        p = tuple(path)
        if any(p[:len(c)] == c or c[:len(p)] == p for c in now):
            continue
        out.append(list(path))
    return out


def load(path=MANIFEST_PATH):
    """The manifest at path (root's), or {} when there is none. Raises ValueError for one that is not ours."""
    try:
        st = os.lstat(path)
    except OSError:
        return {}
    if not stat.S_ISREG(st.st_mode) or st.st_uid != 0:
        raise ValueError("%s is not a regular file of root: it was not written by this collection" % path)
    with open(path, "rb") as f:
        data = json.loads(f.read().decode("utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("%s is not a manifest of format %d" % (path, FORMAT))
    return data


def render(manifest):
    """The manifest's text: canonical, so that an unchanged record is an unchanged file."""
    return json.dumps(dict(manifest, format=FORMAT), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def with_history(previous, active):
    """The history list after active becomes the active release (newest last, each cli release once)."""
    history = [h for h in (previous or []) if isinstance(h, dict) and h.get("cli") != active.get("cli")]
    history.append(dict(active))
    return history[-HISTORY_LENGTH:]
