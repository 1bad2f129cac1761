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
  - Writes O(content) to C(~/.qwen/oauth_creds.json) of O(user) (or O(path)) atomically, mode 0600.
  - The qwen CLI refreshes its tokens and B(rotates the refresh token) on disk. Re-deploying an older file over a
    refreshed one breaks that host, so an existing valid file is kept when its C(expiry_date) is later than the
    deployed one's, or when its refresh token differs and it does not expire earlier - unless O(force=true).
  - Honours the CLI's C(oauth_creds.lock) - waits while a fresh lock exists (a lock older than 35 s is stale, as
    for the CLI) - and holds that lock itself while it writes.
  - Token values are never returned; only short sha256 fingerprints.
author:
  - qwenops contributors (@qwenops)
options:
  user:
    description: Account whose C(~/.qwen/oauth_creds.json) is written. Required unless O(path) is given.
    type: str
  path:
    description: The credentials file. Default C(~/.qwen/oauth_creds.json) of O(user).
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
  - ansible.builtin.files
  - qwenops.qwen_code.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Set O(owner), O(group) and O(mode) (typically C(0600)); the file is created with them before it is renamed
    into place.
"""

EXAMPLES = r"""
- name: Deploy alice's pre-provisioned credentials
  qwenops.qwen_code.oauth_creds:
    user: alice
    content: "{{ vault_alice_qwen_oauth_creds }}"
    owner: alice
    group: alice
    mode: "0600"
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
path:
  description: The credentials file.
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
import tempfile
import time
import uuid

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible.module_utils.six import string_types
from ansible_collections.qwenops.qwen_code.plugins.module_utils.qwen_code import inspect_oauth_creds

LOCK_STALE_SECONDS = 35  # the CLI's own staleness limit (sharedTokenManager.ts)


def read_existing(path):
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except (IOError, OSError, ValueError, UnicodeDecodeError):
        return None, None
    return data, inspect_oauth_creds(data)


def acquire_lock(module, lock, wait):
    deadline = time.time() + wait
    token = str(uuid.uuid4())
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(token)
            return token
        except OSError:
            try:
                age = time.time() - os.stat(lock).st_mtime
            except OSError:
                continue  # the holder just released it
            if age > LOCK_STALE_SECONDS:
                try:
                    os.unlink(lock)  # stale, as the CLI would judge it
                except OSError:
                    pass
                continue
            if time.time() > deadline:
                module.fail_json(msg="%s is held by a running qwen (for %d s); waited %d s. Try again when it "
                                     "finishes." % (lock, age, wait))
            time.sleep(0.5)


def release_lock(lock, token):
    try:
        with open(lock) as f:
            if f.read() == token:
                os.unlink(lock)
    except (IOError, OSError):
        pass


def main():
    module = AnsibleModule(
        argument_spec=dict(
            user=dict(type="str"),
            path=dict(type="path"),
            content=dict(type="raw", required=True, no_log=True),
            force=dict(type="bool", default=False),
            lock_wait=dict(type="int", default=60),
        ),
        required_one_of=[("user", "path")],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    p = module.params
    path = p["path"]
    if not path:
        try:
            path = os.path.join(pwd.getpwnam(p["user"]).pw_dir, ".qwen", "oauth_creds.json")
        except KeyError:
            module.fail_json(msg="user %s does not exist" % p["user"])
    content = p["content"]
    if isinstance(content, string_types):
        try:
            content = json.loads(content)
        except ValueError as e:
            module.fail_json(msg="the credentials are not valid JSON: %s" % to_native(e), path=path)
    new = inspect_oauth_creds(content)
    if not new["valid"]:
        module.fail_json(msg="invalid qwen OAuth credentials: %s" % new["invalid_reason"], path=path)
    result = dict(changed=False, path=path, refresh_token_sha256=new["refresh_token_sha256"])

    lock = os.path.join(os.path.dirname(path), "oauth_creds.lock")
    token = None if module.check_mode else acquire_lock(module, lock, p["lock_wait"])
    try:
        existing, old = read_existing(path)
        if old and old["valid"]:
            result["existing_refresh_token_sha256"] = old["refresh_token_sha256"]
        if existing == content:
            result.update(action="unchanged", msg="%s already holds these credentials" % path)
        elif old and old["valid"] and not p["force"] and (
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
            result.update(action="written", changed=True, msg="%s written" % path)
            if not module.check_mode:
                fd, tmp = tempfile.mkstemp(prefix=".oauth_creds.", dir=os.path.dirname(path))
                try:
                    with os.fdopen(fd, "wb") as f:
                        f.write(to_bytes(json.dumps(content, indent=2)))
                    module.set_fs_attributes_if_different(module.load_file_common_arguments(module.params, path=tmp),
                                                          False)
                    os.rename(tmp, path)
                except Exception:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
                    raise
        if os.path.exists(path) and result["action"] != "kept_newer":
            result["changed"] = module.set_fs_attributes_if_different(
                module.load_file_common_arguments(module.params, path=path), result["changed"])
    finally:
        if token:
            release_lock(lock, token)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
