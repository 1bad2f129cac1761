# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a directory may not be the install root on a host, from install_info's read of it
(module_utils/_install_root.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.qwenops.qwen_code.plugins.module_utils._install_root import root_problems


def install_root_problems(facts, root):
    return root_problems(root, facts or {})


class FilterModule(object):
    def filters(self):
        return {"install_root_problems": install_root_problems}
