# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: provider_presets
short_description: The provider presets of the qwenops.qwen_code collection (name to OpenAI-compatible base URL)
version_added: "0.1.0"
description:
  - Returns the presets that C(qwen_code_provider) and the image's C(QWEN_PROVIDER) accept, from their single
    source, C(plugins/module_utils/_presets.py), which the M(qwenops.qwen_code.provider_check) module uses too.
author:
  - qwenops contributors (@qwenops)
"""

EXAMPLES = r"""
- name: Show the base URL of the OpenRouter preset
  ansible.builtin.debug:
    msg: "{{ lookup('qwenops.qwen_code.provider_presets')['openrouter'] }}"
"""

RETURN = r"""
_raw:
  description: One dict of preset name to base URL.
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase
from ansible_collections.qwenops.qwen_code.plugins.module_utils._presets import PROVIDER_PRESETS


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [dict(PROVIDER_PRESETS)]
