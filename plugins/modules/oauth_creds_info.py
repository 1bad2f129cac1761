#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: oauth_creds_info
short_description: Inspect a qwen CLI oauth_creds.json without revealing its tokens
version_added: "0.1.0"
description:
  - Reads C(~/.qwen/oauth_creds.json) of O(user) (or O(path)), or credentials given in O(content), and reports
    whether they have the fields the qwen CLI requires (C(access_token), C(refresh_token), C(token_type),
    C(expiry_date) in milliseconds since the epoch), whether they have expired, the file's mode and owner, and
    short sha256 fingerprints of the tokens, so that hosts can be compared without revealing the tokens.
  - Token values are never returned.
  - Malformed JSON or wrong types give RV(valid=false) with RV(invalid_reason), not a failure, unless
    O(fail_on_invalid=true).
author:
  - qwenops contributors (@qwenops)
options:
  user:
    description: Account whose C(~/.qwen/oauth_creds.json) is read. Default is the user running the module.
    type: str
  path:
    description: The credentials file; overrides O(user).
    type: path
  content:
    description:
      - Credentials to check instead of a file, as a dict or a JSON string (for validating what is about to be
        deployed with the very same rules). RV(exists), RV(mode) and RV(owner) are not returned then.
    type: raw
  fail_on_invalid:
    description: Fail when the credentials are missing fields, have wrong types or are not JSON.
    type: bool
    default: false
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Inspect alice's credentials
  qwenops.qwen_code.oauth_creds_info:
    user: alice
  register: creds

- name: Warn when they expire within a day
  ansible.builtin.debug:
    msg: "alice's qwen token expires in {{ creds.expires_in }} s"
  when: creds.valid and creds.expires_in < 86400

- name: Validate credentials from the vault before deploying them
  qwenops.qwen_code.oauth_creds_info:
    content: "{{ vault_qwen_oauth_creds }}"
    fail_on_invalid: true
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: The file that was read.
  returned: unless O(content) is given
  type: str
exists:
  description: Whether the file exists.
  returned: unless O(content) is given
  type: bool
mode:
  description: The file's permissions, as an octal string.
  returned: when the file exists
  type: str
  sample: "0600"
owner:
  description: The file's owner.
  returned: when the file exists
  type: str
group:
  description: The file's group.
  returned: when the file exists
  type: str
size:
  description: The file's size in bytes.
  returned: when the file exists
  type: int
valid:
  description: Whether the credentials have every required field with the right type.
  returned: always
  type: bool
invalid_reason:
  description: Why they are not valid.
  returned: when RV(valid) is false
  type: str
  sample: "expiry_date must be a number of milliseconds since the epoch"
expired:
  description: Whether C(expiry_date) is in the past.
  returned: when RV(valid) is true
  type: bool
expires_in:
  description: Seconds until C(expiry_date) (negative when expired).
  returned: when RV(valid) is true
  type: int
expiry_date:
  description: C(expiry_date) in milliseconds since the epoch.
  returned: when RV(valid) is true
  type: int
token_type:
  description: The token type, such as C(Bearer).
  returned: when RV(valid) is true
  type: str
resource_url:
  description: The C(resource_url) the CLI uses as API host, when present.
  returned: when present
  type: str
refresh_token_sha256:
  description: First 16 hex digits of the sha256 of the refresh token.
  returned: when RV(valid) is true
  type: str
access_token_sha256:
  description: First 16 hex digits of the sha256 of the access token.
  returned: when RV(valid) is true
  type: str
lock_present:
  description: Whether the CLI's C(oauth_creds.lock) exists beside the file.
  returned: unless O(content) is given
  type: bool
lock_age:
  description: Age of that lock in seconds (the CLI treats a lock older than 35 s as stale).
  returned: when RV(lock_present) is true
  type: int
"""

import grp
import json
import os
import pwd
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.six import string_types
from ansible_collections.qwenops.qwen_code.plugins.module_utils.qwen_code import inspect_oauth_creds


def main():
    module = AnsibleModule(
        argument_spec=dict(
            user=dict(type="str"),
            path=dict(type="path"),
            content=dict(type="raw", no_log=True),
            fail_on_invalid=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("content", "path"), ("content", "user")],
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False)

    if p["content"] is not None:
        data = p["content"]
        if isinstance(data, string_types):
            try:
                data = json.loads(data)
            except ValueError as e:
                data = e
    else:
        path = p["path"]
        if not path:
            try:
                home = (pwd.getpwnam(p["user"]) if p["user"] else pwd.getpwuid(os.getuid())).pw_dir
            except KeyError:
                module.fail_json(msg="user %s does not exist" % p["user"])
            path = os.path.join(home, ".qwen", "oauth_creds.json")
        result.update(path=path, exists=os.path.exists(path))
        lock = os.path.join(os.path.dirname(path), "oauth_creds.lock")
        result["lock_present"] = os.path.exists(lock)
        if result["lock_present"]:
            result["lock_age"] = int(time.time() - os.stat(lock).st_mtime)
        if not result["exists"]:
            result.update(valid=False, invalid_reason="%s does not exist" % path)
            if p["fail_on_invalid"]:
                module.fail_json(msg=result["invalid_reason"], **result)
            module.exit_json(**result)
        st = os.stat(path)
        result.update(mode="%04o" % stat.S_IMODE(st.st_mode), size=st.st_size,
                      owner=_name(pwd.getpwuid, st.st_uid), group=_name(grp.getgrgid, st.st_gid))
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            data = e
        except (IOError, OSError) as e:
            module.fail_json(msg="cannot read %s: %s" % (path, to_native(e)), **result)

    if isinstance(data, Exception):
        info = dict(valid=False, invalid_reason="not valid JSON: %s" % to_native(data))
    else:
        info = inspect_oauth_creds(data)
    result.update(info)
    if not result["valid"] and p["fail_on_invalid"]:
        module.fail_json(msg="invalid qwen OAuth credentials: %s" % result["invalid_reason"], **result)
    module.exit_json(**result)


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


if __name__ == "__main__":
    main()
