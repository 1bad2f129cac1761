# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a host cannot run the qwen CLI with the chosen Node method, read from the C library, the architecture and
the package manager (install_info's `os`), never from the distribution's name (module_utils/_host_facts.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.qwenops.qwen_code.plugins.module_utils._host_facts import platform_problems


class FilterModule(object):
    def filters(self):
        return {"platform_problems": platform_problems}
