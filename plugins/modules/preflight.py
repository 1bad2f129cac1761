#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: preflight
short_description: Run a role's checks and read the host in one task per host
version_added: "0.1.0"
description:
  - The qwen_code role's preflight in one task. With O(entry), it gathers the role's variables once and calls the
    checks of that entry point (Python functions, C(plugins/plugin_utils/_checks.py)); a check that relies on another
    runs only once that one passed. The task fails with the messages of the first check that has any. It then
    returns what the role decided (C(plugins/plugin_utils/_decisions.py)) in RV(decided).
  - With O(read_host), it then reads the host with M(qwenops.qwen_code.install_info) and, with O(entry), calls the
    checks that need the host's read.
  - With O(entry=main) and O(qwenops.qwen_code.install_info#module:drift) in O(read_host), it also works out, once
    the checks passed, the digest of what M(qwenops.qwen_code.user_config) would be given (the role's variable
    C(__qwen_code_config_inputs)) and passes it to M(qwenops.qwen_code.install_info) as
    O(qwenops.qwen_code.install_info#module:inputs_digest), a C(no_log) option. The digest covers keys, so it is never
    returned.
  - Ansible evaluates every task in a worker per host, skipped or not. A preflight of thirty C(assert) and
    C(set_fact) tasks cost a fleet thirty rounds of workers on every run, and this costs one.
  - An action plugin. Everything but the host read runs on the controller. The role uses it internally, so the
    interface may change.
author:
  - qwenops contributors (@qwenops)
options:
  entry:
    description:
      - The qwen_code role's entry point whose checks run.
      - V(registry) checks the variables the registry is asked with (to resolve C(latest)); V(uninstall) the
        variables alone, then the install root the host's manifest records; V(install) every input but the users'
        and providers', then the host (platform, install root, Node, the launcher's links); V(main) every input and
        the host, and warns about folder trust a release ignores.
      - With V(main) and V(install), RV(decided) holds the release, the policy, the launcher's links, the Node binary,
        what the host lacks (C(needs), C(lacks), C(fetch), C(runtime_unpacks)), the manifest's facts and
        C(config_current), whether M(qwenops.qwen_code.user_config) may be skipped. It is true with V(main) and
        O(qwenops.qwen_code.install_info#module:drift) when the users' files are as recorded, the inputs are those
        of the last run and the host lacks nothing, and always false with V(install).
    type: str
    choices: [main, install, uninstall, registry]
    version_added: "0.3.0"
  read_host:
    description: The arguments of M(qwenops.qwen_code.install_info). Without it, the host is not read.
    type: dict
  host_var:
    description: The variable through which the role's variables that the action evaluates (the launcher's checksum,
      what M(qwenops.qwen_code.user_config) would be given) see what it decided so far, as its C(decided) key.
    type: str
    default: __qwen_code_host
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.info_module
"""

EXAMPLES = r"""
# Inside the qwen_code role (its variables are what the checks read).
- name: Check every input, read the host and decide what it lacks
  qwenops.qwen_code.preflight:
    entry: main
    read_host:
      install_root: "{{ qwen_code_install_root }}"
      users: "{{ __qwen_code_user_names }}"
      drift: true
  register: __qwen_code_host

- name: Read the host only
  qwenops.qwen_code.preflight:
    read_host:
      users: [alice]
  register: my_host
"""

RETURN = r"""
checked:
  description: Whether every check passed.
  returned: success
  type: bool
decided:
  description: What the role decided for O(entry), by key (empty without O(entry)).
  returned: success
  type: dict
check:
  description: The name of the check that failed (C(__qwen_code_check_) and the function's name for O(entry)).
  returned: failure of a check
  type: str
msg:
  description: The messages of the check that failed, joined.
  returned: failure
  type: str
os:
  description: The keys M(qwenops.qwen_code.install_info) returns (os, users, missing_users, node, npm, cli,
    launcher, ca_bundle, links, manifest...) are returned as they are, with O(read_host).
  returned: with O(read_host)
  type: dict
"""
