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
    whether they have the fields the qwen CLI requires (C(access_token), C(refresh_token) and C(token_type) as
    non-empty strings, C(expiry_date) as a number of milliseconds since the epoch), whether they have expired, the
    file's mode and owner, whether the CLI's lock file is present, and short sha256 fingerprints of the tokens, so
    that hosts can be compared without revealing the tokens.
  - Token values are never returned.
  - The file is read with the identity of O(user) (as root, by a process that has dropped to that user), so a link
    the user planted in their home leads nowhere the user could not read. The file itself is opened without
    following a symbolic link and without waiting, and only a regular file is read.
  - A missing or unreadable file, a link, a FIFO or anything else that is not a regular file, malformed JSON or
    wrong types give RV(valid=false) with RV(invalid_reason), not a failure, unless O(fail_on_invalid=true).
  - Read-only, so it runs in check mode too.
author:
  - qwenops contributors (@qwenops)
options:
  user:
    description:
      - Account whose C(~/.qwen/oauth_creds.json) is read (its home directory comes from the password database),
        and as whom the file is read, O(path) too.
      - Default is the user running the module (mind C(become)). Reading as another user needs root.
    type: str
  path:
    description:
      - The credentials file, instead of the one in the home of O(user). Use it when the CLI runs with C(QWEN_HOME)
        set (V($QWEN_HOME/oauth_creds.json)).
      - It is read as O(user) too. For a file that a user can change (one in their home, say), give that O(user),
        or root reads it by a path that user controls.
    type: path
  content:
    description:
      - Credentials to check instead of a file, as a dict or a JSON string, to validate what is about to be deployed
        with the very same rules (for example on the controller with C(delegate_to=localhost)).
      - RV(path), RV(exists), RV(mode), RV(owner), RV(group), RV(size) and RV(lock_present) are not returned then.
    type: raw
  fail_on_invalid:
    description: Fail when the credentials are missing, unreadable, not JSON, or lack a field or have a wrong type.
    type: bool
    default: false
notes:
  - The CLI refreshes the access token 30 seconds before C(expiry_date) and then rotates the refresh token on disk,
    so RV(refresh_token_sha256) changes after a refresh; two hosts with the same fingerprint share one refresh token
    and will break each other.
  - RV(expired) concerns the access token only; the CLI renews it with the refresh token.
seealso:
  - module: qwenops.qwen_code.provider_check
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.info_module
"""

EXAMPLES = r"""
- name: Inspect alice's qwen credentials
  qwenops.qwen_code.oauth_creds_info:
    user: alice
  register: creds

- name: Warn when they are invalid or expire within a day
  ansible.builtin.debug:
    msg: >-
      {{ creds.path }}: {{ creds.invalid_reason if not creds.valid else
      'the access token expires in %d s' % creds.expires_in }}
  when: not creds.valid or creds.expires_in < 86400

- name: Credentials of a CLI that runs with QWEN_HOME=/srv/qwen
  qwenops.qwen_code.oauth_creds_info:
    path: /srv/qwen/oauth_creds.json
    fail_on_invalid: true

- name: Validate credentials from the vault on the controller before deploying them
  qwenops.qwen_code.oauth_creds_info:
    content: "{{ vault_qwen_oauth_creds }}"
    fail_on_invalid: true
  delegate_to: localhost
  register: deployable

- name: Show whether alice's host still holds the vault's refresh token (fingerprints only)
  ansible.builtin.debug:
    msg: >-
      {{ 'same' if creds.refresh_token_sha256 | default('') == deployable.refresh_token_sha256
         else 'refreshed or different' }}
"""

RETURN = r"""
path:
  description: The file that was read.
  returned: unless O(content) is given
  type: str
  sample: /home/alice/.qwen/oauth_creds.json
exists:
  description: Whether the file exists (as anything, a link or a FIFO too).
  returned: unless O(content) is given
  type: bool
  sample: true
mode:
  description: The file's permissions, as an octal string (the CLI writes V(0600)).
  returned: when the file exists and is not a symbolic link
  type: str
  sample: "0600"
owner:
  description: The file's owner.
  returned: when the file exists and is not a symbolic link
  type: str
  sample: alice
group:
  description: The file's group.
  returned: when the file exists and is not a symbolic link
  type: str
  sample: alice
size:
  description: The file's size in bytes.
  returned: when the file exists and is not a symbolic link
  type: int
  sample: 412
valid:
  description: Whether the credentials have every required field with the right type.
  returned: always
  type: bool
  sample: true
invalid_reason:
  description: Why they are not valid.
  returned: when RV(valid) is false
  type: str
  sample: "expiry_date must be a number of milliseconds since the epoch, not a string"
expired:
  description: Whether C(expiry_date) is in the past.
  returned: when RV(valid) is true
  type: bool
  sample: false
expires_in:
  description: Seconds until C(expiry_date) (negative when expired).
  returned: when RV(valid) is true
  type: int
  sample: 3540
expiry_date:
  description: C(expiry_date) in milliseconds since the epoch.
  returned: when RV(valid) is true
  type: int
  sample: 1764050400000
token_type:
  description: The token type.
  returned: when RV(valid) is true
  type: str
  sample: Bearer
resource_url:
  description: The C(resource_url) the CLI uses as API host.
  returned: when RV(valid) is true and the credentials have one
  type: str
  sample: portal.qwen.ai
refresh_token_sha256:
  description: First 16 hex digits of the sha256 of the refresh token.
  returned: when RV(valid) is true
  type: str
  sample: 9f86d081884c7d65
access_token_sha256:
  description: First 16 hex digits of the sha256 of the access token.
  returned: when RV(valid) is true
  type: str
  sample: 60303ae22b998861
lock_present:
  description: Whether the CLI's C(oauth_creds.lock) exists beside the file (a CLI is refreshing the token now).
  returned: unless O(content) is given
  type: bool
  sample: false
lock_age:
  description: Age of that lock in seconds (the CLI treats a lock older than 35 s as stale).
  returned: when RV(lock_present) is true
  type: int
  sample: 2
"""

import errno
import grp
import os
import pwd
import stat
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._oauth import (
    default_path, inspect_oauth_creds, lock_path, parse_creds)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_home import UserHomeError, as_user

# Fields that are not secrets: AnsibleModule masks every value of a no_log dict wherever it appears in the output,
# which would hide these facts (and any text that happens to contain them).
PUBLIC_FIELDS = ("token_type", "expiry_date", "resource_url")
SECRET_FIELDS = ("access_token", "refresh_token")


def unmask_public_fields(module, content):
    if not isinstance(content, dict):
        return
    secrets = set(to_native(content.get(k)) for k in SECRET_FIELDS if content.get(k) is not None)
    for field in PUBLIC_FIELDS:
        value = content.get(field)
        if value is not None and not isinstance(value, (dict, list)):
            shown = to_native(value)
            if not any(shown in secret for secret in secrets):
                module.no_log_values.discard(shown)


def inspect_file(path):
    """Run as the user (_user_home.as_user): the file's facts and what inspect_oauth_creds() says of it. No token
    leaves this process. O_NONBLOCK: a FIFO in the file's place must not hang the task; the descriptor is read only
    once fstat says it is a regular file."""
    facts = dict(path=path, exists=os.path.lexists(path))
    try:
        facts.update(lock_present=True, lock_age=max(0, int(time.time() - os.lstat(lock_path(path)).st_mtime)))
    except OSError:
        facts["lock_present"] = False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as e:
        if e.errno == errno.ELOOP and os.path.islink(path):
            why = "%s is a symbolic link, which is not followed" % path
        elif e.errno in (errno.ENOENT, errno.ENOTDIR):
            why = "%s does not exist" % path
        else:
            why = "cannot read %s: %s" % (path, to_native(e.strerror or e))
        return dict(facts, valid=False, invalid_reason=why)
    try:
        st = os.fstat(fd)
        facts.update(exists=True, mode="%04o" % stat.S_IMODE(st.st_mode), size=st.st_size,
                     owner=_name(pwd.getpwuid, st.st_uid), group=_name(grp.getgrgid, st.st_gid))
        if not stat.S_ISREG(st.st_mode):
            return dict(facts, valid=False, invalid_reason="cannot read %s: it is not a regular file" % path)
        with os.fdopen(os.dup(fd), "rb") as f:
            data, problem = parse_creds(f.read())
    finally:
        os.close(fd)
    return dict(facts, **(dict(valid=False, invalid_reason=problem) if problem else inspect_oauth_creds(data)))


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
    # AnsibleModule adds the owner, mode and size of a returned path, looked up by root by name: through a link a
    # user planted, those of root's file. This module's own facts are looked up as the user.
    module.add_path_info = lambda kwargs: kwargs
    p = module.params
    result = dict(changed=False)

    if p["content"] is not None:
        data, error = p["content"], None
        if isinstance(data, str):
            data, error = parse_creds(data)
        unmask_public_fields(module, data)
        result.update(dict(valid=False, invalid_reason=error) if error else inspect_oauth_creds(data))
    else:
        try:
            pw = pwd.getpwnam(p["user"]) if p["user"] else pwd.getpwuid(os.geteuid())
        except KeyError:
            module.fail_json(msg="user %s does not exist on this host" % p["user"])
        path = p["path"] or default_path(pw.pw_dir)
        try:
            result.update(as_user(pw, inspect_file, path))
        except UserHomeError as e:
            module.fail_json(msg="%s: %s" % (pw.pw_name, to_native(e)), path=path)
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
