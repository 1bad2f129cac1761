#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: user_config
short_description: Configure the qwen CLI for several users at once (~/.qwen, .env and settings.json)
version_added: "0.2.0"
description:
  - For each user in O(users), makes sure that C(~/.qwen) is a directory of that user with mode C(0700), that
    C(~/.qwen/.env) holds exactly the variables in O(env) (mode C(0600)), and that C(~/.qwen/settings.json)
    (mode C(0600)) contains the keys in O(settings), merged into what is there.
  - One call configures every user of a host, so a run with nothing to change costs one round trip.
  - settings.json is merged, never clobbered, and compared by content (see M(qwenops.qwen_code.qwen_settings)).
    Keys the users or the CLI added are kept, and the CLI re-serialising the file is not a change. A file that is
    not valid JSON is saved as C(settings.json.invalid-<timestamp>) and replaced, with a warning.
  - Files are written through a temporary file that has the user's ownership and mode C(0600) before it holds any
    data, then renamed into place. A symbolic link where a file should be is replaced by a file; C(~/.qwen) may be
    a symbolic link only to a directory the user owns.
  - In the diff, every value of the .env file and secret-looking values of settings.json are masked.
author:
  - qwenops contributors (@qwenops)
options:
  users:
    description: Existing accounts to configure.
    type: list
    elements: str
    required: true
  env:
    description:
      - Variables written to each user's C(~/.qwen/.env) as C(NAME='value') lines, in this order. The CLI reads
        this file from any working directory. Values may not contain a single quote or a line break.
      - Holds the provider's API key, so it is never logged.
    type: dict
    default: {}
  settings:
    description: Settings merged recursively into each user's C(~/.qwen/settings.json).
    type: dict
    required: true
  header:
    description: Comment lines written at the top of each C(.env).
    type: str
    default: "Managed by Ansible (qwenops.qwen_code): local edits are overwritten.\nRead by the qwen CLI from any working directory."
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Runs as root (or as the only user in O(users)), since it sets the owner of each user's files.
seealso:
  - module: qwenops.qwen_code.qwen_settings
"""

EXAMPLES = r"""
- name: Point alice and bob at OpenRouter
  qwenops.qwen_code.user_config:
    users: [alice, bob]
    env:
      OPENAI_API_KEY: "{{ vault_openrouter_key }}"
      OPENAI_BASE_URL: https://openrouter.ai/api/v1
      OPENAI_MODEL: qwen/qwen3-coder
    settings:
      $version: 4
      security:
        auth:
          selectedType: openai
      privacy:
        usageStatisticsEnabled: false
  no_log: true
"""

RETURN = r"""
users:
  description: For each user, what changed (C(directory), C(env), C(settings)); an empty list when nothing did.
  returned: always
  type: dict
  sample: {"alice": ["env"], "bob": []}
backup_files:
  description: Invalid settings files saved aside, by user.
  returned: when a settings.json was not valid JSON
  type: dict
"""

import os
import pwd
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils.config_files import (
    env_diff, plan_settings, render_env, render_settings, settings_diff)
from ansible_collections.qwenops.qwen_code.plugins.module_utils.files import atomic_write

DIR_MODE = 0o700
FILE_MODE = 0o600


class Failure(Exception):
    pass


def qwen_dir(module, pw, changes):
    """The user's ~/.qwen (its real path), created or corrected to 0700 and the user's ownership."""
    if not os.path.isdir(pw.pw_dir):
        raise Failure("the home directory %s of %s does not exist" % (pw.pw_dir, pw.pw_name))
    path = os.path.join(pw.pw_dir, ".qwen")
    if os.path.islink(path):
        real = os.path.realpath(path)
        if not os.path.isdir(real) or os.stat(real).st_uid != pw.pw_uid:
            raise Failure("%s is a symbolic link to %s, which is not a directory owned by %s: refusing to follow it"
                          % (path, real, pw.pw_name))
        path = real
    elif os.path.lexists(path) and not os.path.isdir(path):
        raise Failure("%s exists and is not a directory: move it away first" % path)
    if not os.path.lexists(path):
        changes.append("directory")
        if not module.check_mode:
            os.mkdir(path, DIR_MODE)
            os.chown(path, pw.pw_uid, pw.pw_gid)
            os.chmod(path, DIR_MODE)
        return path
    st = os.stat(path)
    if stat.S_IMODE(st.st_mode) != DIR_MODE or (st.st_uid, st.st_gid) != (pw.pw_uid, pw.pw_gid):
        changes.append("directory")
        if not module.check_mode:
            os.chown(path, pw.pw_uid, pw.pw_gid)
            os.chmod(path, DIR_MODE)
    return path


def file_state(path):
    """(text or None, whether owner/mode/type need fixing given uid/gid) of a file, never following a link."""
    try:
        st = os.lstat(path)
    except OSError:
        return None, None
    if not stat.S_ISREG(st.st_mode):
        return None, st
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace"), st


def needs_attributes(st, pw):
    return stat.S_IMODE(st.st_mode) != FILE_MODE or (st.st_uid, st.st_gid) != (pw.pw_uid, pw.pw_gid)


def fix_attributes(module, path, st, pw, changes, what):
    if st is not None and stat.S_ISREG(st.st_mode) and needs_attributes(st, pw):
        if what not in changes:
            changes.append(what)
        if not module.check_mode:
            os.lchown(path, pw.pw_uid, pw.pw_gid)
            os.chmod(path, FILE_MODE)


def configure_env(module, pw, directory, text, changes, diffs):
    path = os.path.join(directory, ".env")
    current, st = file_state(path)
    if current != text:
        changes.append("env")
        diffs.append(env_diff(path, current, text))
        if not module.check_mode:
            atomic_write(path, text, uid=pw.pw_uid, gid=pw.pw_gid, mode=FILE_MODE)
        return
    fix_attributes(module, path, st, pw, changes, "env")


def configure_settings(module, pw, directory, managed, changes, diffs, backups):
    path = os.path.join(directory, "settings.json")
    st = os.lstat(path) if os.path.lexists(path) else None
    plan = plan_settings(path, managed) if st is None or stat.S_ISREG(st.st_mode) else \
        dict(plan_settings(os.devnull, managed), changed=True)
    if plan["invalid"]:
        module.warn("%s was not valid JSON (%s); it is saved aside and replaced" % (path, plan["invalid"]))
    if plan["changed"]:
        changes.append("settings")
        diffs.append(settings_diff(path, plan))
        if not module.check_mode:
            if plan["invalid"]:
                backups[pw.pw_name] = "%s.invalid-%s" % (path, time.strftime("%Y%m%d%H%M%S"))
                os.rename(path, backups[pw.pw_name])
            atomic_write(path, render_settings(plan["desired"]), uid=pw.pw_uid, gid=pw.pw_gid, mode=FILE_MODE)
        return
    fix_attributes(module, path, st, pw, changes, "settings")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            users=dict(type="list", elements="str", required=True),
            env=dict(type="dict", default={}, no_log=True),
            settings=dict(type="dict", required=True),
            header=dict(type="str", default="Managed by Ansible (qwenops.qwen_code): local edits are overwritten.\n"
                                            "Read by the qwen CLI from any working directory."),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        env_text = render_env(p["env"], p["header"])
    except ValueError as e:
        module.fail_json(msg="env: %s" % to_native(e))

    result = dict(changed=False, users={})
    diffs, backups = [], {}
    for name in p["users"]:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            module.fail_json(msg="user %s does not exist on this host" % name, **result)
        changes = []
        try:
            directory = qwen_dir(module, pw, changes)
            configure_env(module, pw, directory, env_text, changes, diffs)
            configure_settings(module, pw, directory, p["settings"], changes, diffs, backups)
        except (Failure, IOError, OSError) as e:
            module.fail_json(msg="%s: %s" % (name, to_native(e)), **result)
        result["users"][name] = changes
        result["changed"] = result["changed"] or bool(changes)
    if backups:
        result["backup_files"] = backups
    if module._diff and diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
