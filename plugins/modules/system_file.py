#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: system_file
short_description: Write a root-owned file in its final directory (the launcher, the CA bundle)
version_added: "0.1.0"
description:
  - Makes O(path) a regular file of root with exactly O(content) and O(mode). The new content is written to a
    temporary file B(in the same directory), which gets its owner and mode before it holds any data and is then
    renamed over O(path). So the file is created where it lives and gets that directory's default SELinux context
    (a file written elsewhere, such as under C(/tmp), and moved in keeps the wrong label on an enforcing host).
  - Compared by content, owner and mode; a symbolic link where the file should be is replaced by a file.
  - For root's own directories only (C(/usr/local/bin), C(/etc/qwen-code)); the directory must exist and belong to
    root.
author:
  - qwenops contributors (@qwenops)
options:
  path:
    description: The file.
    type: path
    required: true
  content:
    description: What the file holds, exactly.
    type: str
    required: true
  mode:
    description: The file's mode, in octal.
    type: str
    default: "0644"
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.diff
notes:
  - Runs as root.
"""

EXAMPLES = r"""
- name: Install the launcher
  qwenops.qwen_code.system_file:
    path: /usr/local/bin/qwen
    content: "{{ lookup('ansible.builtin.template', 'qwen-launcher.sh.j2') }}"
    mode: "0755"
"""

RETURN = r"""
path:
  description: The file.
  returned: always
  type: str
sha256:
  description: The sha256 of the content.
  returned: always
  type: str
"""

import hashlib
import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._atomic_write import (
    ROOT_ONLY_DIR, atomic_write, root_only_dir)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            content=dict(type="str", required=True),
            mode=dict(type="str", default="0644"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    path, data = p["path"], to_bytes(p["content"])
    result = dict(changed=False, path=path, sha256=hashlib.sha256(data).hexdigest())
    try:
        mode = int(p["mode"], 8)
        if not 0 <= mode <= 0o7777:
            raise ValueError(p["mode"])
    except ValueError:
        module.fail_json(msg="mode must be an octal mode such as '0644', not %r" % (p["mode"],), **result)
    directory = os.path.dirname(path)
    try:
        dst = os.lstat(directory)
    except OSError:
        if module.check_mode:  # a directory an earlier task of the same check-mode run would have created
            result["changed"] = True
            module.exit_json(**result)
        module.fail_json(msg="%s does not exist" % directory, **result)
    if not root_only_dir(dst):
        module.fail_json(msg=ROOT_ONLY_DIR % directory, **result)
    current, st = None, None
    if os.path.lexists(path):
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                current = f.read()
    same = (current == data and st is not None and stat.S_IMODE(st.st_mode) == mode
            and (st.st_uid, st.st_gid) == (0, 0))
    if not same:
        result["changed"] = True
        if module._diff:
            result["diff"] = dict(before_header=path, after_header=path,
                                  before=to_native(current or b"", errors="replace"),
                                  after=to_native(data, errors="replace"))
        if not module.check_mode:
            try:
                atomic_write(path, data, uid=0, gid=0, mode=mode)
            except (IOError, OSError) as e:
                module.fail_json(msg="%s: %s" % (path, to_native(e)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
