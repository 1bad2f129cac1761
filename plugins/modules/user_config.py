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
  - Everything inside a home is done B(as that user), by a child process that drops to the user's uid, gid and
    groups before it touches the home. A link a user plants anywhere in the path (even one swapped in while the
    module runs) gets only that user's own rights, never those of root. Homes on NFS with C(root_squash) work too.
  - Files are written through a temporary file with mode C(0600) that is renamed into place. A symbolic link where
    a file should be is replaced by a file; C(~/.qwen) may be a symbolic link only to a directory the user owns.
    A file of the right content that belongs to someone else (root, after a C(sudo qwen) that kept C(HOME)) is
    replaced by the user's own copy; a C(~/.qwen) that belongs to someone else is refused with the command that
    fixes it (only root could change its owner, and root never acts by path in a home).
  - A user whose home cannot be configured does not stop the others. Every user that can be configured is, then
    the module fails naming the users that could not be, and why (RV(failed_users)).
  - A settings file that is not valid JSON is replaced only after the new file is on disk; its old content is
    kept as C(settings.json.invalid-<timestamp>).
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
  per_user_env:
    description:
      - User name to the variables of that user's C(.env), replacing O(env) for that user (each user's own keys).
      - Holds keys, so it is never logged.
    type: dict
    default: {}
  per_user_settings:
    description:
      - User name to settings merged over O(settings) for that user (each user's auth type, model and
        modelProviders). Secret-looking values are masked wherever they would show.
    type: dict
    default: {}
  trusted_folders:
    description:
      - Folder trust rules merged into each user's C(~/.qwen/trustedFolders.json), as path to level
        (C(TRUST_FOLDER), C(TRUST_PARENT) or C(DO_NOT_TRUST)); rules already there, such as the user's own, are kept.
      - With folder trust on (see O(system_settings)), qwen ignores the C(.env) and C(.qwen/settings.json) of every
        folder that is not trusted, and forces the approval mode C(default) there. From qwen 0.21 on, the deepest
        matching rule wins, so a C(DO_NOT_TRUST) rule for C(/) plus C(TRUST_FOLDER) rules trusts exactly those
        folders.
      - A trusted folder's files can change where the key goes and start programs that see it. Trust only folders
        whose content the users control.
    type: dict
    default: {}
  system_settings:
    description:
      - Settings merged into the system settings file O(system_settings_path) (root-owned, mode C(0644), in a
        root-owned directory that is created when missing). qwen reads it for every user and it outranks the
        user's and every workspace's settings, so what it holds is enforced.
      - Never put a secret here, since every user can read the file.
    type: dict
    default: {}
  system_settings_path:
    description: The system settings file.
    type: path
    default: /etc/qwen-code/settings.json
  header:
    description: Comment lines written at the top of each C(.env).
    type: str
    default: "Managed by Ansible (qwenops.qwen_code): local edits are overwritten.\nRead by the qwen CLI from any working directory."
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.diff
notes:
  - Runs as root (or as the only user in O(users)). Each user's part runs with that user's identity.
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
  description:
    - For each configured user, what changed (C(directory), C(env), C(settings), C(trusted_folders)); an empty list
      when nothing did.
  returned: always
  type: dict
  sample: {"alice": ["env"], "bob": []}
backup_files:
  description: Invalid settings files saved aside, by user.
  returned: when a settings.json was not valid JSON
  type: dict
system:
  description: What changed in the system settings file (C(directory), C(settings)).
  returned: when O(system_settings) is given
  type: list
  elements: str
failed_users:
  description: Users that could not be configured (the message says why).
  returned: when the module fails for some users
  type: list
  elements: str
"""

import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_files import (
    HomeFailure, env_diff, file_state, fix_file, merge, merge_json_file, private_dir, render_env, secret_values)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._atomic_write import atomic_write
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_home import UserHomeError, as_user

FILE_MODE = 0o600
SYSTEM_FILE_MODE = 0o644
TRUST_LEVELS = ("TRUST_FOLDER", "TRUST_PARENT", "DO_NOT_TRUST")


class Plan(object):
    """What configuring one user changed (or would change), collected inside the process acting as that user."""

    def __init__(self, check_mode, want_diff):
        self.check_mode, self.want_diff = check_mode, want_diff
        self.changes, self.diffs, self.warnings, self.backups = [], [], [], []


def configure_env(plan, pw, directory, text):
    path = os.path.join(directory, ".env")
    current, st = file_state(path)
    if current != text:
        plan.changes.append("env")
        if plan.want_diff:
            plan.diffs.append(env_diff(path, current, text))
        if not plan.check_mode:
            atomic_write(path, text, uid=pw.pw_uid, gid=pw.pw_gid, mode=FILE_MODE)
        return
    fix_file(path, text, st, pw.pw_uid, pw.pw_gid, plan.check_mode, plan.changes, "env")


def merge_json(plan, pw, path, managed, what):
    """Merge managed into the user's JSON file at path (kept keys, comments tolerated, content compared)."""
    done = merge_json_file(path, managed, pw.pw_uid, pw.pw_gid, FILE_MODE, plan.check_mode, plan.want_diff)
    plan.warnings.extend(done["warnings"])
    if "diff" in done:
        plan.diffs.append(done["diff"])
    if "backup_file" in done:
        plan.backups.append(done["backup_file"])
    if done["changed"]:
        plan.changes.append(what)


def system_settings(module, path, managed):
    """Merge managed into the system settings file (root's, in a root-owned directory, mode 0644): it outranks
    every user's and every workspace's settings. Returns what changed, as for a user."""
    plan = Plan(module.check_mode, module._diff)
    directory = os.path.dirname(path)
    st = os.lstat(directory) if os.path.lexists(directory) else None
    if st is None:
        plan.changes.append("directory")
        if module.check_mode:
            return plan
        os.makedirs(directory, 0o755)
        os.chmod(directory, 0o755)
    elif not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        raise HomeFailure("%s must be a directory of root that only root can write to" % directory)
    done = merge_json_file(path, managed, 0, 0, SYSTEM_FILE_MODE, module.check_mode, module._diff)
    for warning in done["warnings"]:
        module.warn(warning)
    if "diff" in done:
        plan.diffs.append(done["diff"])
    if done["changed"]:
        plan.changes.append("settings")
    return plan


def configure_user(pw, env_text, settings, trusted_folders, check_mode, want_diff):
    """Everything for one user, run with that user's identity (see _user_home). Returns a JSON-able dict."""
    plan = Plan(check_mode, want_diff)
    if not os.path.isdir(pw.pw_dir):
        raise HomeFailure("the home directory %s does not exist (or is not reachable as this user)" % pw.pw_dir)
    directory = private_dir(os.path.join(pw.pw_dir, ".qwen"), pw.pw_uid, pw.pw_gid, check_mode, plan.changes)
    # In check mode a missing ~/.qwen stays missing: its files then read as absent.
    inside = directory or os.path.join(pw.pw_dir, ".qwen")
    configure_env(plan, pw, inside, env_text)
    merge_json(plan, pw, os.path.join(inside, "settings.json"), settings, "settings")
    if trusted_folders:
        merge_json(plan, pw, os.path.join(inside, "trustedFolders.json"), trusted_folders, "trusted_folders")
    return dict(changes=plan.changes, diffs=plan.diffs, warnings=plan.warnings, backups=plan.backups)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            users=dict(type="list", elements="str", required=True),
            env=dict(type="dict", default={}, no_log=True),
            settings=dict(type="dict", required=True),
            per_user_env=dict(type="dict", default={}, no_log=True),
            per_user_settings=dict(type="dict", default={}),
            trusted_folders=dict(type="dict", default={}),
            system_settings=dict(type="dict", default={}),
            system_settings_path=dict(type="path", default="/etc/qwen-code/settings.json"),
            header=dict(type="str", default="Managed by Ansible (qwenops.qwen_code): local edits are overwritten.\n"
                                            "Read by the qwen CLI from any working directory."),
        ),
        supports_check_mode=True,
    )
    p = module.params
    # The settings may carry a secret (an apiKey given through qwen_code_settings): Ansible masks these values in
    # everything the module returns, its invocation included.
    module.no_log_values.update(secret_values(p["settings"]))
    module.no_log_values.update(secret_values(p["per_user_settings"]))
    texts = {}
    for name in [None] + sorted(p["per_user_env"]):
        env = p["env"] if name is None else p["per_user_env"][name]
        try:
            if not isinstance(env, dict):
                raise ValueError("it must be a dict of variables")
            texts[name] = render_env(env, p["header"])
        except ValueError as e:
            module.fail_json(msg="env%s: %s" % ("" if name is None else " of %s" % name, to_native(e)))
    for name, own in p["per_user_settings"].items():
        if not isinstance(own, dict):
            module.fail_json(msg="per_user_settings: the settings of %s must be a dict" % name)
    for folder, level in p["trusted_folders"].items():
        if not folder.startswith("/") or any(ord(c) < 0x20 or ord(c) == 0x7f for c in folder):
            module.fail_json(msg="trusted_folders: %r is not an absolute path" % folder)
        if level not in TRUST_LEVELS:
            module.fail_json(msg="trusted_folders: the level of %s must be one of %s" % (folder, ", ".join(TRUST_LEVELS)))

    result = dict(changed=False, users={})
    diffs, backups, failed = [], {}, []
    if p["system_settings"]:
        try:
            done = system_settings(module, p["system_settings_path"], p["system_settings"])
        except (HomeFailure, IOError, OSError) as e:
            module.fail_json(msg="%s: %s" % (p["system_settings_path"], to_native(e)), **result)
        result["system"] = done.changes
        result["changed"] = bool(done.changes)
        diffs.extend(done.diffs)
    for name in p["users"]:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            failed.append("%s (the user %s does not exist on this host)" % (name, name))
            continue
        try:
            # A new process per user, with that user's identity: nothing a user planted in a home can redirect it.
            settings = merge(p["settings"], p["per_user_settings"].get(name) or {})
            done = as_user(pw, configure_user, pw, texts.get(name, texts[None]), settings, p["trusted_folders"],
                           module.check_mode, module._diff)
        except (UserHomeError, HomeFailure) as e:
            failed.append("%s (%s)" % (name, to_native(e)))
            continue
        for warning in done["warnings"]:
            module.warn(warning)
        if done["backups"]:
            backups[name] = done["backups"][0]
        diffs.extend(done["diffs"])
        result["users"][name] = done["changes"]
        result["changed"] = result["changed"] or bool(done["changes"])
    if backups:
        result["backup_files"] = backups
    if module._diff and diffs:
        result["diff"] = diffs
    if failed:
        result["failed_users"] = [f.split(" ", 1)[0] for f in failed]
        module.fail_json(msg="could not configure %d of %d users (the others are configured): %s"
                         % (len(failed), len(p["users"]), "; ".join(failed)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
