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
  - A file that is not valid JSON is replaced, with a warning, only once the new file is on disk; its old content
    is kept as C(<path>.invalid-<timestamp>).
  - With O(user), the file is read and written B(as that user) (a child process that drops to the user's uid and
    groups), so a link the user plants anywhere in O(path) gets only that user's rights. Always set O(user) when
    the module runs as root on a file in someone else's home. Without it, the module acts with its own
    identity (for example root on C(/etc/qwen-code/settings.json)).
  - Secrets are masked in the diff and in the results, and Ansible hides them wherever else they would show (the
    module's invocation at C(-vvv) included); O(settings) is never logged. A secret is the value of a key such as
    C(apiKey), C(Authorization), C(X-API-Key), C(token), C(password) or C(cookie), any value of an C(env) or
    C(headers) dict, a key-looking query parameter or the password of a URL, and the value of a key flag in a list
    (C(--api-key=X), C(--token X)); a C($NAME) or C(${NAME}) reference is none, and shows.
author:
  - qwenops contributors (@qwenops)
options:
  path:
    description: The settings file.
    type: path
    required: true
  settings:
    description:
      - Managed settings, merged recursively (dicts are merged, every other value replaces).
      - The keys whose type the CLI depends on are written in that type even when templating made them strings.
        C($version) as an integer (the CLI treats a string as no version and rewrites the file), and
        C(security.folderTrust.enabled), C(security.auth.useExternal), C(privacy.usageStatisticsEnabled),
        C(telemetry.enabled), C(general.enableAutoUpdate), C(general.disableAutoUpdate) as booleans (C("False") is
        false, not a string the CLI would take as true); C(tools.sandbox) takes a boolean or a command name. Any
        other value for them fails the module before the file changes.
    type: dict
    required: true
  user:
    description:
      - Account that owns the file; the module reads and writes it with this account's identity.
      - Default is the account the module runs as.
    type: str
  mode:
    description: Mode of the file (C(0600) for a user's file that may hold keys, C(0644) for the system file).
    type: raw
    default: "0600"
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.diff
"""

EXAMPLES = r"""
- name: Select OpenAI-compatible auth and the model for alice
  qwenops.qwen_code.qwen_settings:
    path: /home/alice/.qwen/settings.json
    user: alice
    settings:
      $version: 4
      security:
        auth:
          selectedType: openai
      model:
        name: qwen/qwen3-coder
"""

RETURN = r"""
file:
  description:
    - The settings file. (Not called C(path), which would make Ansible stat it as root after the module ran.)
  returned: always
  type: str
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
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_files import (
    HomeFailure, merge_json_file, normalise_managed)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._secrets import hide_secrets_only
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_home import UserHomeError, as_user


def merge_file(path, managed, mode, check_mode, want_diff):
    """The merge, with the identity this runs as (the user's, inside as_user)."""
    return merge_json_file(path, managed, os.geteuid(), os.getegid(), mode, check_mode, want_diff)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            settings=dict(type="dict", required=True, no_log=True),
            user=dict(type="str"),
            mode=dict(type="raw", default="0600"),
        ),
        supports_check_mode=True,
    )
    # An ad-hoc call may pass an apiKey or an Authorization header: hidden in everything the module returns, its
    # invocation included, while what is no secret still shows.
    p = hide_secrets_only(module, ("settings",))
    path = p["path"]
    result = dict(changed=False, file=path)
    try:
        mode = int(p["mode"], 8) if isinstance(p["mode"], str) else int(p["mode"])
        if not 0 <= mode <= 0o777:
            raise ValueError(p["mode"])
    except ValueError:
        module.fail_json(msg="mode must be an octal mode such as '0600', not %r" % (p["mode"],), **result)
    try:
        normalise_managed(p["settings"])  # the types the CLI needs: see _user_files.TYPED_SETTINGS
    except ValueError as e:
        module.fail_json(msg="settings: %s" % to_native(e), **result)
    pw = None
    if p["user"]:
        try:
            pw = pwd.getpwnam(p["user"])
        except KeyError:
            module.fail_json(msg="user %s does not exist" % p["user"], **result)
    try:
        if pw is None:
            done = merge_file(path, p["settings"], mode, module.check_mode, module._diff)
        else:
            # With the user's identity: a link planted in the path gets that user's rights only.
            done = as_user(pw, merge_file, path, p["settings"], mode, module.check_mode, module._diff)
    except (UserHomeError, HomeFailure, IOError, OSError) as e:
        module.fail_json(msg="%s: %s" % (path, to_native(e)), **result)
    for warning in done.pop("warnings"):
        module.warn(warning)
    done.pop("desired")  # unmasked: only "settings" (masked) is returned
    result.update(done)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
