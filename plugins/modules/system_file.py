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
  - For root's own directories only (C(/usr/local/bin), C(/etc/qwen-code)); the directory must belong to root and
    be writable by root only. It must exist, unless O(directory_mode) is given.
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
  directory_mode:
    description:
      - When given, the file's directory is created (root's, with this mode) when it does not exist, and an existing
        one of root gets this mode and root's group, in the same call. Its own parent must then exist and belong to
        root.
      - When not given, the directory must exist.
    type: str
    version_added: "0.2.0"
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

- name: Install a CA bundle, creating /etc/qwen-code when it is not there yet
  qwenops.qwen_code.system_file:
    path: /etc/qwen-code/ca-bundle.pem
    content: "{{ lookup('ansible.builtin.file', 'files/ca-bundle.pem') }}"
    directory_mode: "0755"
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


def octal_mode(module, option, result):
    value = module.params[option]
    try:
        mode = int(value, 8)
        if not 0 <= mode <= 0o7777:
            raise ValueError(value)
    except ValueError:
        module.fail_json(msg="%s must be an octal mode such as '0644', not %r" % (option, value), **result)
    return mode


def ensure_directory(module, directory, st, mode, result):
    """Creates directory (root's, mode) in a parent of root that only root can write to, or gives the existing
    directory of root mode: by path, which is safe where no one else can rename or create entries."""
    parent = os.path.dirname(directory)
    try:
        pst = os.lstat(parent)
    except OSError:
        module.fail_json(msg="%s does not exist" % parent, **result)
    if not root_only_dir(pst):
        module.fail_json(msg=ROOT_ONLY_DIR % parent, **result)
    if st is not None and st.st_uid != 0:  # someone else's: not root's to take over
        module.fail_json(msg=ROOT_ONLY_DIR % directory, **result)
    result["changed"] = True
    if module.check_mode:
        return
    try:
        if st is None:
            os.mkdir(directory, 0o700)
        os.chown(directory, 0, 0)
        os.chmod(directory, mode)
    except (IOError, OSError) as e:
        module.fail_json(msg="%s: %s" % (directory, to_native(e)), **result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            content=dict(type="str", required=True),
            mode=dict(type="str", default="0644"),
            directory_mode=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    path, data = p["path"], to_bytes(p["content"])
    result = dict(changed=False, path=path, sha256=hashlib.sha256(data).hexdigest())
    mode = octal_mode(module, "mode", result)
    dir_mode = octal_mode(module, "directory_mode", result) if p["directory_mode"] is not None else None
    directory = os.path.dirname(path)
    try:
        dst = os.lstat(directory)
    except OSError:
        dst = None
    if dst is None or (dir_mode is not None and stat.S_ISDIR(dst.st_mode) and
                       (stat.S_IMODE(dst.st_mode), dst.st_uid, dst.st_gid) != (dir_mode, 0, 0)):
        if dir_mode is None:
            if module.check_mode:  # a directory an earlier task of the same check-mode run would have created
                result["changed"] = True
                module.exit_json(**result)
            module.fail_json(msg="%s does not exist" % directory, **result)
        ensure_directory(module, directory, dst, dir_mode, result)
        if dst is None and module.check_mode:
            module.exit_json(**result)
        dst = os.lstat(directory)
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
