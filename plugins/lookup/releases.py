# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: releases
short_description: What the qwenops.qwen_code collection knows about qwen releases
version_added: "0.1.0"
description:
  - Returns, from their single source C(plugins/module_utils/_releases.py), the default qwen release, the table of
    supported release series (what each needs and honours) or the sha512 integrity of the tarballs the collection
    was tested with.
  - The role reads its release table and default release through this lookup.
options:
  _terms:
    description:
      - What to return, one item per term.
      - C(series) (the default when no term is given) is a dict of series (C(0.24)) to what that series needs and
        honours (C(settings_version), C(node_major), C(qwen_oauth), C(deny_by_rule), C(wire_api), C(auth_types),
        C(auto_update_key), C(approval_auto), C(model_env_wins), C(execution_sandbox)).
      - C(default) is the release the role installs unless its variable C(qwen_code_version) says otherwise.
      - C(integrity) is a dict of npm package name to a dict of version to the tarball's sha512 integrity.
    type: list
    elements: str
    choices: [series, default, integrity]
    required: false
author:
  - qwenops contributors (@qwenops)
"""

EXAMPLES = r"""
- name: Show the release the role installs by default
  ansible.builtin.debug:
    msg: "{{ lookup('qwenops.qwen_code.releases', 'default') }}"

- name: Show the supported release series
  ansible.builtin.debug:
    msg: "{{ lookup('qwenops.qwen_code.releases') | list }}"
"""

RETURN = r"""
_raw:
  description: One item per term (the series table when no term is given).
  type: list
  elements: raw
"""

import copy

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT, KNOWN_INTEGRITY, SERIES

_DATA = {"series": SERIES, "default": DEFAULT, "integrity": KNOWN_INTEGRITY}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        result = []
        for term in terms or ["series"]:
            if term not in _DATA:
                raise AnsibleLookupError("qwenops.qwen_code.releases: unknown term %r (one of %s)"
                                         % (term, ", ".join(sorted(_DATA))))
            result.append(copy.deepcopy(_DATA[term]))
        return result
