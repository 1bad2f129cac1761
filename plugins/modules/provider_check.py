#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: provider_check
short_description: Check that an OpenAI-compatible provider answers, accepts the key and offers the model
version_added: "0.1.0"
description:
  - Asks the provider's C(GET {base_url}/models) (and with O(probe=chat) a one-token C(chat/completions) call)
    from the host the module runs on, so it tests that host's DNS, proxy and CA path. Delegate it to
    C(localhost) to test the controller instead.
  - Tells apart, each with a message and a machine-readable RV(reason), a malformed URL, DNS failure, refused
    connection, timeout, TLS verification failure, a rejected key (401/403), a wrong base URL (404), rate limiting
    (429), a model the provider does not offer (with close matches), server errors (5xx) and answers that are not
    OpenAI-compatible JSON.
  - Read-only; runs in check mode. The key is sent only in the C(Authorization) header and never returned.
author:
  - qwenops contributors (@qwenops)
options:
  base_url:
    description:
      - OpenAI-compatible base URL, for example C(https://openrouter.ai/api/v1). Required unless O(provider) is set.
    type: str
  provider:
    description: A preset name used in place of O(base_url).
    type: str
    choices: [openrouter, modelscope, dashscope, dashscope_intl, openai]
  api_key:
    description: "The API key, sent as C(Authorization: Bearer <key>)."
    type: str
    required: true
  model:
    description: Model id that must be offered. Without it only the connection and the key are checked.
    type: str
  probe:
    description:
      - C(models) lists the models. C(chat) also makes a one-token chat completion (costs one request of quota).
    type: str
    choices: [models, chat]
    default: models
  timeout:
    description: Timeout of each request, in seconds.
    type: int
    default: 10
  ca_path:
    description:
      - PEM bundle trusted B(in addition to) the system trust store, for a TLS-intercepting proxy or a provider
        with a private CA.
    type: path
  validate_certs:
    description: Verify TLS certificates. Only for testing.
    type: bool
    default: true
  fail_on_error:
    description: Fail the task when the check fails. With V(false), register the result and look at RV(reason).
    type: bool
    default: true
notes:
  - Proxies come from the environment like the qwen CLI (C(https_proxy), C(http_proxy), C(no_proxy)); the
    C(qwen_code) role passes its C(qwen_code_*_proxy) variables that way.
  - Uses only the Python standard library and C(ansible.module_utils) on the target.
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Check OpenRouter from every host
  qwenops.qwen_code.provider_check:
    provider: openrouter
    api_key: "{{ vault_openrouter_key }}"
    model: qwen/qwen3-coder

- name: Check a private endpoint through the corporate proxy, without failing
  qwenops.qwen_code.provider_check:
    base_url: https://llm.corp.example/v1
    api_key: "{{ vault_llm_key }}"
    model: qwen3-coder-plus
    probe: chat
    ca_path: /etc/qwen-code/ca-bundle.pem
    fail_on_error: false
  environment:
    https_proxy: http://proxy.corp.example:3128
  register: provider

- name: Tell the operator what is wrong
  ansible.builtin.debug:
    msg: "{{ provider.msg }} (reason: {{ provider.reason }})"
  when: provider.reason != 'ok'
"""

RETURN = r"""
reason:
  description:
    - C(ok), or why the check failed - C(invalid_url), C(dns), C(connection_refused), C(timeout), C(tls),
      C(proxy), C(unauthorized), C(not_found), C(rate_limited), C(model_not_found), C(server_error),
      C(bad_response), C(http_error).
  returned: always
  type: str
  sample: model_not_found
msg:
  description: What happened, for a person.
  returned: always
  type: str
status:
  description: HTTP status of the last request, if one was answered.
  returned: always
  type: int
  sample: 200
latency_ms:
  description: Duration of the last request in milliseconds.
  returned: always
  type: int
  sample: 212
model_found:
  description: Whether O(model) is in the provider's model list (null when not checked).
  returned: always
  type: bool
models_count:
  description: How many models the provider lists.
  returned: always
  type: int
close_matches:
  description: Offered models whose names resemble O(model).
  returned: when reason is model_not_found
  type: list
  elements: str
url:
  description: The URL of the last request (without credentials).
  returned: always
  type: str
base_url:
  description: The base URL that was checked.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.qwenops.qwen_code.plugins.module_utils.qwen_code import PROVIDER_PRESETS, provider_check


def main():
    module = AnsibleModule(
        argument_spec=dict(
            base_url=dict(type="str"),
            provider=dict(type="str", choices=sorted(PROVIDER_PRESETS)),
            api_key=dict(type="str", required=True, no_log=True),
            model=dict(type="str"),
            probe=dict(type="str", choices=["models", "chat"], default="models"),
            timeout=dict(type="int", default=10),
            ca_path=dict(type="path"),
            validate_certs=dict(type="bool", default=True),
            fail_on_error=dict(type="bool", default=True),
        ),
        required_one_of=[("base_url", "provider")],
        mutually_exclusive=[("base_url", "provider")],
        supports_check_mode=True,
    )
    p = module.params
    if p["probe"] == "chat" and not p["model"]:
        module.fail_json(msg="probe=chat needs model", reason="invalid_input")
    base_url = p["base_url"] or PROVIDER_PRESETS[p["provider"]]
    result = provider_check(base_url, p["api_key"], model=p["model"], probe=p["probe"], timeout=p["timeout"],
                            ca_path=p["ca_path"], validate_certs=p["validate_certs"])
    result = dict(result, changed=False)
    if result["reason"] != "ok" and p["fail_on_error"]:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
