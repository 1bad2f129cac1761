#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: qwen_settings
short_description: Merge managed keys into a qwen CLI settings.json without clobbering the rest
version_added: "0.1.0"
description:
  - Deep-merges O(settings) into the JSON file at O(path) (typically C(~/.qwen/settings.json)) and writes it
    atomically (temporary file and rename) only when the merged B(content) differs from what is on disk.
  - Keys that are not in O(settings) are kept, so a user's own edits and what the qwen CLI stores there itself
    survive. Formatting is compared semantically, so the CLI re-serialising the file is not a change.
  - The file may contain comments (the CLI accepts them); they are kept as long as nothing needs to change.
  - A file that is not valid JSON is saved as C(<path>.invalid-<timestamp>) and replaced, with a warning.
  - In the diff, values of keys that look like secrets (C(apiKey), C(token), C(password), C(secret)) are masked.
author:
  - qwenops contributors (@qwenops)
options:
  path:
    description: The settings file.
    type: path
    required: true
  settings:
    description: Managed settings, merged recursively (dicts are merged, every other value replaces).
    type: dict
    required: true
extends_documentation_fragment:
  - ansible.builtin.files
  - qwenops.qwen_code.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Select OpenAI-compatible auth and the model for alice
  qwenops.qwen_code.qwen_settings:
    path: /home/alice/.qwen/settings.json
    owner: alice
    group: alice
    mode: "0600"
    settings:
      $version: 4
      security:
        auth:
          selectedType: openai
      model:
        name: qwen/qwen3-coder
"""

RETURN = r"""
settings:
  description: The merged settings as written (secret-looking values masked).
  returned: always
  type: dict
backup_file:
  description: Where an unparsable previous file was saved.
  returned: when the previous file was not valid JSON
  type: str
"""

import os
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes
from ansible_collections.qwenops.qwen_code.plugins.module_utils.config_files import (
    mask, plan_settings, render_settings, settings_diff)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            settings=dict(type="dict", required=True),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params["path"]
    result = dict(changed=False, path=path)

    plan = plan_settings(path, module.params["settings"])
    if plan["invalid"]:
        module.warn("%s was not valid JSON (%s); it is saved aside and replaced" % (path, plan["invalid"]))
    result["settings"] = mask(plan["desired"])
    if plan["changed"]:
        result["changed"] = True
        if module._diff:
            result["diff"] = settings_diff(path, plan)
        if not module.check_mode:
            if plan["invalid"]:
                backup = "%s.invalid-%s" % (path, time.strftime("%Y%m%d%H%M%S"))
                os.rename(path, backup)
                result["backup_file"] = backup
            fd, tmp = tempfile.mkstemp(prefix=".settings.", dir=os.path.dirname(path))
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(to_bytes(render_settings(plan["desired"])))
                # Set owner and mode on the temporary file, so the secret-bearing file never exists with
                # looser permissions, then rename it into place atomically.
                tmp_args = module.load_file_common_arguments(module.params, path=tmp)
                module.set_fs_attributes_if_different(tmp_args, False)
                os.rename(tmp, path)
            except Exception:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise

    if os.path.exists(path):
        file_args = module.load_file_common_arguments(module.params)
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
