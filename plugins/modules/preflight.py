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
  - It also evaluates, in order, the variables named in O(checks). Each one is a problem message, or a list of them,
    and an empty one passes.
  - With O(read_host), it then reads the host with M(qwenops.qwen_code.install_info). The result is available as
    O(host_var) to the checks of O(host_checks), which run in the same way, and to O(warnings) and O(results).
  - Ansible evaluates every task in a worker per host, skipped or not. A preflight of thirty C(assert) and
    C(set_fact) tasks cost a fleet thirty rounds of workers on every run, and this costs one.
  - An action plugin. Everything but the host read runs on the controller. The role uses it internally, so the
    interface may change.
author:
  - qwenops contributors (@qwenops)
options:
  entry:
    description:
      - The qwen_code role's entry point whose checks run, before O(checks).
      - V(registry) checks the variables the registry is asked with (to resolve C(latest)); V(uninstall) the
        variables alone, then the install root the host's manifest records; V(install) every input but the users'
        and providers', then the host (platform, install root, Node, the launcher's links); V(main) every input and
        the host, and warns about folder trust a release ignores.
      - With V(main) and V(install), RV(decided) holds the release, the policy, the launcher's links, the Node binary,
        what the host lacks (C(needs), C(lacks), C(fetch), C(runtime_unpacks)) and the manifest's facts.
    type: str
    choices: [main, install, uninstall, registry]
    version_added: "0.3.0"
  checks:
    description: Names of variables to evaluate before the host is read. Each is a message, a list of messages, or
      empty.
    type: list
    elements: str
    default: []
  read_host:
    description: The arguments of M(qwenops.qwen_code.install_info). Without it, the host is not read.
    type: dict
  read_host_from:
    description:
      - More arguments of M(qwenops.qwen_code.install_info), each the name of a variable evaluated once the checks
        of O(checks) have passed (a value that needs every input, such as the digest of the inputs).
    type: dict
    default: {}
    version_added: "0.2.0"
  host_var:
    description: The name under which O(host_checks), O(warnings) and O(results) see the read of the host.
    type: str
    default: __qwen_code_host
  host_checks:
    description: Names of variables to evaluate after the host is read, like O(checks).
    type: list
    elements: str
    default: []
  warnings:
    description: Names of variables to evaluate once every check has passed. Each message they give becomes a warning.
    type: list
    elements: str
    default: []
  results:
    description: Keys and names of variables, evaluated once every check has passed and returned in RV(decided).
    type: dict
    default: {}
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.info_module
"""

EXAMPLES = r"""
- name: Refuse a bad input before any host changes, then read the host
  qwenops.qwen_code.preflight:
    checks: [my_check_url]
    read_host:
      users: [alice]
    host_checks: [my_check_users]
    results:
      lacks_cli: my_lacks_cli
  vars:
    my_check_url: "{{ '' if my_url is match('https://') else 'my_url must be an https URL.' }}"
    my_check_users: "{{ 'alice has no home.' if not my_host.users.alice.home_exists | default(false) else '' }}"
    my_lacks_cli: "{{ my_host.cli | length == 0 }}"
  register: my_host
"""

RETURN = r"""
checked:
  description: Whether every check passed.
  returned: success
  type: bool
decided:
  description: What the role decided for O(entry), and the values of O(results), by key.
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
