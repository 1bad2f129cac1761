# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The digest of user_config's inputs, the one function the role and the modules share
(module_utils/_manifest.py's inputs_digest)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.qwenops.qwen_code.plugins.module_utils._manifest import inputs_digest


class FilterModule(object):
    def filters(self):
        return {"inputs_digest": inputs_digest}
