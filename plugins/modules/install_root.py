#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: install_root
short_description: Remove what the collection installed under its install root, and nothing else
version_added: "0.2.0"
description:
  - With O(state=absent), removes from O(path) each qwen CLI release (C(cli/<version>), whose C(package.json) says it
    is O(package) at that version), each Node and npm runtime (C(node/<version>), C(npm/<version>), with the marker
    M(qwenops.qwen_code.npm_unpack) leaves), the installers' staging leftovers and the artifact directory; then each
    of C(cli), C(node) and C(npm) that is left empty, and O(path) itself only when nothing else is in it.
  - Anything else stays, with a warning that names it. An install root pointed at a directory of other data loses
    none of that data.
  - Refused when a directory on the way to O(path), or O(path) itself, is not root's or is writable by group or
    others (root removes by path there), and when O(path) is a system directory.
author:
  - qwenops contributors (@qwenops)
options:
  path:
    description: The install root (C(qwen_code_install_root)).
    type: path
    required: true
  state:
    description: V(absent) removes what the collection installed.
    type: str
    choices: [absent]
    default: absent
  package:
    description: The npm package of the CLI releases.
    type: str
    default: "@qwen-code/qwen-code"
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.no_diff
notes:
  - Runs as root.
"""

EXAMPLES = r"""
- name: Uninstall every release and runtime of /opt/qwen-code
  qwenops.qwen_code.install_root:
    path: /opt/qwen-code
    state: absent
"""

RETURN = r"""
removed:
  description: What was removed (or, in check mode, would be), deepest first for the directories.
  returned: always
  type: list
  elements: str
kept:
  description: What is left under O(path) that the collection did not install (then O(path) stays too).
  returned: always
  type: list
  elements: str
"""

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.qwenops.qwen_code.plugins.module_utils._install_root import (
    ancestor_facts, removable, root_problems, system_directory)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["absent"], default="absent"),
            package=dict(type="str", default="@qwen-code/qwen-code"),
        ),
        supports_check_mode=True,
    )
    root = os.path.normpath(module.params["path"])
    result = dict(changed=False, removed=[], kept=[])
    why = system_directory(root) if os.path.isabs(root) else "not an absolute path"
    if why:
        module.fail_json(msg="refusing to remove anything under %s: it is %s" % (root, why), **result)
    if not os.path.lexists(root):
        module.exit_json(**result)
    st = os.lstat(root)
    facts = dict(exists=True, directory=os.path.isdir(root) and not os.path.islink(root), uid=st.st_uid,
                 ancestors=ancestor_facts(root))
    problems = root_problems(root, facts, name="path")
    if problems:
        module.fail_json(msg="refusing to remove anything under %s: %s" % (root, " ".join(problems)), **result)
    paths, directories = removable(root, module.params["package"])
    for path in paths:
        result["removed"].append(path)
        if not module.check_mode:
            shutil.rmtree(path)
    for directory in directories:
        try:
            left = [os.path.join(directory, name) for name in sorted(os.listdir(directory))
                    if os.path.join(directory, name) not in result["removed"]]
        except OSError:
            continue
        if left:
            result["kept"].extend(path for path in left if path not in directories)
            continue
        result["removed"].append(directory)
        if not module.check_mode:
            os.rmdir(directory)
    result["changed"] = bool(result["removed"])
    if result["kept"]:
        module.warn("%s stays: it holds what the collection did not install there (%s)"
                    % (root, ", ".join(result["kept"][:10]) + (", ..." if len(result["kept"]) > 10 else "")))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
