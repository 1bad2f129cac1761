# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: check_messages
short_description: The provider check's messages, by reason, for the container image's C(check) command
version_added: "0.1.0"
description:
  - Returns the texts M(qwenops.qwen_code.provider_check) gives for each failure reason, with their C({field})
    placeholders, from C(plugins/module_utils/_provider_check.py). The image exports them to
    C(/etc/qwen-code/check-messages.json) so that its C(check) command says exactly the same.
author:
  - qwenops contributors (@qwenops)
"""

EXAMPLES = r"""
- name: Export the messages as JSON
  ansible.builtin.copy:
    dest: /etc/qwen-code/check-messages.json
    content: "{{ lookup('qwenops.qwen_code.check_messages') | to_nice_json(indent=1) }}\n"
    mode: "0644"
"""

RETURN = r"""
_raw:
  description: One dict of reason to message text.
  type: list
  elements: dict
"""

from ansible.plugins.lookup import LookupBase
from ansible_collections.qwenops.qwen_code.plugins.module_utils._provider_check import MESSAGES


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [dict(MESSAGES)]
