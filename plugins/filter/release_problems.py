# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Why a qwen release may not be installed: one the collection does not know, unless the operator trusts the
registry for it (module_utils/_known_artifacts.py, the same rule cli_install applies on the host)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import unknown_release_problem


def release_problems(package, version, allow_unpinned=False):
    problem = unknown_release_problem(package, str(version), bool(allow_unpinned), "qwen_code_allow_unpinned_tree")
    return [problem] if problem else []


class FilterModule(object):
    def filters(self):
        return {"release_problems": release_problems}
