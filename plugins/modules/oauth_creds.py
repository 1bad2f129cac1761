#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: oauth_creds
short_description: Deploy qwen CLI OAuth credentials without breaking a host whose CLI has rotated its tokens
version_added: "0.1.0"
description:
  - Writes O(content) to C(~/.qwen/oauth_creds.json) of O(user) (or O(path)) atomically, mode 0600, owned by the
    user, in a C(0700) directory of the user (created when missing).
  - Everything on the host is done B(as that user) (a child process that drops to the user's uid and groups), so a
    link the user plants in the path, even one swapped in while the module runs, gets only that user's rights.
  - The qwen CLI refreshes its tokens and B(rotates the refresh token) on disk. Re-deploying an older file over a
    refreshed one breaks that host, so an existing valid file is kept when its C(expiry_date) is later than the
    deployed one's, or when its refresh token differs and it does not expire earlier - unless O(force=true).
  - Honours the CLI's C(oauth_creds.lock) - waits while a fresh lock exists (a lock older than 35 s is stale, as
    for the CLI), at most O(lock_wait) seconds - and holds that lock itself while it writes.
  - Token values are never returned; only short sha256 fingerprints.
author:
  - qwenops contributors (@qwenops)
options:
  user:
    description: Account whose credentials these are; the file is written with this account's identity.
    type: str
    required: true
  path:
    description: The credentials file, opened as O(user). Default C(~/.qwen/oauth_creds.json) of O(user).
    type: path
  content:
    description:
      - The credentials - C(access_token), C(refresh_token), C(token_type), C(expiry_date) (milliseconds since
        the epoch) and optionally C(resource_url) - as a dict or a JSON string.
    type: raw
    required: true
  force:
    description: Overwrite even a file that the CLI has refreshed since.
    type: bool
    default: false
  lock_wait:
    description: Seconds to wait for a fresh C(oauth_creds.lock) to go away before failing.
    type: int
    default: 60
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.no_diff
notes:
  - Runs as root, or as O(user) itself.
"""

EXAMPLES = r"""
- name: Deploy alice's pre-provisioned credentials
  qwenops.qwen_code.oauth_creds:
    user: alice
    content: "{{ vault_alice_qwen_oauth_creds }}"
  register: creds

- name: Say when the host's own, newer tokens were kept
  ansible.builtin.debug:
    msg: "{{ creds.msg }}"
  when: creds.action == 'kept_newer'
"""

RETURN = r"""
action:
  description: C(written), C(unchanged) or C(kept_newer) (the host's file was refreshed by the CLI since).
  returned: always
  type: str
msg:
  description: What was done and why.
  returned: always
  type: str
file:
  description:
    - The credentials file. (Not called C(path), which would make Ansible stat it as root after the module ran.)
  returned: always
  type: str
refresh_token_sha256:
  description: Fingerprint of the deployed refresh token (first 16 hex digits of its sha256).
  returned: always
  type: str
existing_refresh_token_sha256:
  description: Fingerprint of the refresh token that was on the host.
  returned: when a valid file was there
  type: str
"""

import json
import os
import pwd
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._oauth import (
    LockBusy, acquire_lock, default_path, inspect_oauth_creds, lock_path, read_existing, release_lock)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_files import (
    FILE_MODE, HomeFailure, fix_file, private_dir)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._atomic_write import atomic_write
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_home import UserHomeError, as_user


def deploy(pw, path, content, new, force, lock_wait, check_mode):
    """Everything on the host, run with the user's identity (see _user_home): lock, compare, write."""
    result = {}
    directory = os.path.dirname(path)
    changes = []
    if private_dir(directory, pw.pw_uid, pw.pw_gid, check_mode, changes) is None:
        return dict(action="written", changed=True, msg="%s would be written" % path)
    lock = lock_path(path)
    token = None if check_mode else acquire_lock(lock, lock_wait)
    try:
        existing, old, raw = read_existing(path)
        if old and old["valid"]:
            result["existing_refresh_token_sha256"] = old["refresh_token_sha256"]
        if existing == content:
            result.update(action="unchanged", msg="%s already holds these credentials" % path)
            st = os.lstat(path)
            fix_file(path, raw, st, pw.pw_uid, pw.pw_gid, check_mode, changes, "attributes")
        elif old and old["valid"] and not force and (
                old["expiry_date"] > new["expiry_date"] or
                (old["refresh_token_sha256"] != new["refresh_token_sha256"]
                 and old["expiry_date"] >= new["expiry_date"])):
            result.update(action="kept_newer", msg=(
                "%s was not overwritten: the qwen CLI has refreshed it since (its tokens expire %s, the deployed "
                "ones %s; refresh token %s, deployed %s). Overwriting would break this host. Set "
                "qwen_code_oauth_creds_force: true to replace it anyway." % (
                    path, time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(old["expiry_date"] / 1000)),
                    time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(new["expiry_date"] / 1000)),
                    old["refresh_token_sha256"], new["refresh_token_sha256"])))
        else:
            result.update(action="written", msg="%s written" % path)
            changes.append("content")
            if not check_mode:
                atomic_write(path, json.dumps(content, indent=2), uid=pw.pw_uid, gid=pw.pw_gid, mode=FILE_MODE)
    finally:
        if token:
            release_lock(lock, token)
    result["changed"] = bool(changes)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            user=dict(type="str", required=True),
            path=dict(type="path"),
            content=dict(type="raw", required=True, no_log=True),
            force=dict(type="bool", default=False),
            lock_wait=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        pw = pwd.getpwnam(p["user"])
    except KeyError:
        module.fail_json(msg="user %s does not exist" % p["user"])
    path = p["path"] or default_path(pw.pw_dir)
    content = p["content"]
    if isinstance(content, str):
        try:
            content = json.loads(content)
        except ValueError as e:
            module.fail_json(msg="the credentials are not valid JSON: %s" % to_native(e), file=path)
    new = inspect_oauth_creds(content)
    if not new["valid"]:
        module.fail_json(msg="invalid qwen OAuth credentials: %s" % new["invalid_reason"], file=path)
    result = dict(changed=False, file=path, refresh_token_sha256=new["refresh_token_sha256"])
    try:
        # With the user's identity: a link planted in the home gets that user's rights only.
        result.update(as_user(pw, deploy, pw, path, content, new, p["force"], p["lock_wait"], module.check_mode))
    except (UserHomeError, HomeFailure, LockBusy) as e:
        module.fail_json(msg="%s: %s" % (p["user"], to_native(e)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
