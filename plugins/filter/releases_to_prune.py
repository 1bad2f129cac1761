# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which CLI releases and Node/npm runtimes under the install root to remove (qwen_code_keep_releases): the active
release plus the ones most recently active before it (the manifest's history), then the newest others; the runtimes
that no kept release uses. The active release is never removed, and nothing is removed for a kept release whose
runtime is not recorded (a host provisioned before the manifest), rather than guessing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError


def _version_key(version):
    parts = re.findall(r"\d+", str(version))
    return [int(p) for p in parts]


def releases_to_prune(installed, active, history, keep):
    """installed: {cli: [...], node: [...], npm: [...]} (what is on the host, the active release included);
    active: {cli, node, npm}; history: the manifest's list of activations, newest last; keep: how many CLI
    releases to keep (at least 1). Returns {cli: [...], node: [...], npm: [...], kept: [...]}."""
    try:
        keep = int(keep)
    except (TypeError, ValueError):
        raise AnsibleFilterError("releases_to_prune: keep must be an integer")
    if keep < 1:
        raise AnsibleFilterError("releases_to_prune: keep must be at least 1")
    installed = installed or {}
    cli = sorted(set(installed.get("cli") or []) | {active["cli"]}, key=_version_key, reverse=True)
    by_cli = {}
    for entry in history or []:
        if isinstance(entry, dict) and entry.get("cli"):
            by_cli[entry["cli"]] = entry
    by_cli[active["cli"]] = active
    order = [active["cli"]]
    for entry in reversed(history or []):
        name = entry.get("cli") if isinstance(entry, dict) else None
        if name in cli and name not in order:
            order.append(name)
    order.extend(v for v in cli if v not in order)
    kept = order[:keep]
    result = dict(cli=sorted((v for v in cli if v not in kept), key=_version_key), kept=kept, node=[], npm=[])
    if all(v in by_cli for v in kept):
        for kind in ("node", "npm"):
            used = {by_cli[v].get(kind) for v in kept}
            result[kind] = sorted((v for v in installed.get(kind) or [] if v not in used), key=_version_key)
    return result


class FilterModule(object):
    def filters(self):
        return {"releases_to_prune": releases_to_prune}
