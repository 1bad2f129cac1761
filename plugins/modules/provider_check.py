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
  - Calls the provider's C(GET {base_url}/models) (and with O(probe=chat) a one-token C(POST {base_url}/chat/completions))
    from the host the module runs on, so it tests that host's DNS, proxy and CA path, as the qwen CLI there would
    meet them. Delegate it to C(localhost) to test the controller instead.
  - Tells apart, each with a message for a person in RV(msg) and a stable machine-readable RV(reason), a malformed
    URL, an unusable key or CA bundle, DNS failure, refused or unreachable connections, timeouts, TLS verification
    failure, proxy failures, redirects, a rejected key (401/403), a wrong base URL (404), rate limiting (429), a model
    the provider does not offer (with close matches), server errors (5xx) and answers that are not OpenAI-compatible
    JSON. None of them produces a traceback.
  - Read-only, so it runs in check mode too. The key is sent only in the C(Authorization) header of requests to
    O(base_url); it is never returned, and any echo of it in the provider's answer is masked.
author:
  - qwenops contributors (@qwenops)
options:
  base_url:
    description:
      - OpenAI-compatible base URL, for example V(https://openrouter.ai/api/v1) (the requests go to
        C({base_url}/models) and C({base_url}/chat/completions)).
      - A preset name of O(provider) is accepted here too.
      - Credentials (C(user:password@)), a query or a fragment make the URL invalid.
      - Required unless O(provider) names a preset.
    type: str
  provider:
    description:
      - A preset used in place of O(base_url) -
        V(openrouter) (U(https://openrouter.ai/api/v1)),
        V(modelscope) (U(https://api-inference.modelscope.cn/v1)),
        V(dashscope) (U(https://dashscope.aliyuncs.com/compatible-mode/v1)),
        V(dashscope_intl) (U(https://dashscope-intl.aliyuncs.com/compatible-mode/v1)),
        V(openai) (U(https://api.openai.com/v1)).
      - V(custom) means O(base_url), which is then required.
    type: str
    choices: [openrouter, modelscope, dashscope, dashscope_intl, openai, custom]
  api_key:
    description:
      - "The API key, sent as C(Authorization: Bearer <key>)."
      - An empty key, or one with whitespace, control or non-ASCII characters, gives RV(reason=invalid_key) without
        any request.
    type: str
    required: true
  model:
    description:
      - Model id that must be in the provider's model list. Without it only the connection and the key are checked.
    type: str
  probe:
    description:
      - V(models) lists the models. V(chat) also makes a one-token chat completion with O(model), which costs one
        request of the key's quota but proves that the model answers.
    type: str
    choices: [models, chat]
    default: models
  timeout:
    default: 10
  fail_on_error:
    description:
      - Fail the task when the check fails (with RV(msg), RV(reason), RV(status) and RV(latency_ms)).
      - With V(false), the task succeeds; register the result and look at RV(reason).
    type: bool
    default: true
notes:
  - Proxies come from the environment like the qwen CLI's (C(https_proxy), C(HTTPS_PROXY), C(http_proxy),
    C(no_proxy)); set them with the task's C(environment). The C(qwenops.qwen_code.qwen_code) role passes its
    C(qwen_code_*_proxy) variables that way, so the check goes through the proxy the CLI will use.
  - A missing or non-PEM O(ca_path) gives RV(reason=invalid_ca_path).
  - Redirects are not followed (RV(reason=redirect) names the target) and C(~/.netrc) is not read.
  - Uses only the Python standard library and C(ansible.module_utils) on the target.
seealso:
  - module: qwenops.qwen_code.oauth_creds_info
extends_documentation_fragment:
  - qwenops.qwen_code.transport
  - qwenops.qwen_code.transport.requests
  - qwenops.qwen_code.attributes
  - qwenops.qwen_code.attributes.info_module
"""

EXAMPLES = r"""
- name: Check OpenRouter from every host
  qwenops.qwen_code.provider_check:
    provider: openrouter
    api_key: "{{ vault_openrouter_key }}"
    model: qwen/qwen3-coder

- name: Check a private endpoint through the corporate proxy and CA, without failing
  qwenops.qwen_code.provider_check:
    base_url: https://llm.corp.example/v1
    api_key: "{{ vault_llm_key }}"
    model: qwen3-coder-plus
    probe: chat
    ca_path: /etc/qwen-code/ca-bundle.pem
    fail_on_error: false
  environment:
    https_proxy: http://proxy.corp.example:3128
    no_proxy: localhost,127.0.0.1
  register: provider

- name: Tell the operator what is wrong
  ansible.builtin.debug:
    msg: "{{ provider.msg }} (reason: {{ provider.reason }})"
  when: provider.reason != 'ok'

- name: Check from the controller instead of the target
  qwenops.qwen_code.provider_check:
    base_url: dashscope_intl
    api_key: "{{ vault_dashscope_key }}"
    model: qwen3-coder-plus
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
reason:
  description:
    - V(ok), or why the check failed
    - V(invalid_url) (not an http(s) URL), V(invalid_key) (empty, or whitespace or non-ASCII in it),
      V(invalid_ca_path) (O(ca_path) unreadable or not PEM),
    - V(dns), V(connection_refused), V(unreachable) (no route), V(timeout), V(connection_reset) (closed without an
      answer), V(tls) (certificate verification or TLS handshake), V(proxy) (the proxy could not be reached or
      refused the tunnel),
    - V(redirect) (3xx), V(unauthorized) (401/403), V(not_found) (404), V(rate_limited) (429),
      V(model_not_found), V(server_error) (5xx), V(bad_response) (not HTTP, not JSON, or not the expected shape),
      V(http_error) (any other status),
    - V(invalid_input) (options that contradict each other; the task then fails whatever O(fail_on_error) says).
  returned: always
  type: str
  sample: model_not_found
msg:
  description: What happened and what to check, for a person.
  returned: always
  type: str
  sample: "The provider does not offer the model 'qwen/qwen3-codr': close matches: qwen/qwen3-coder"
status:
  description: HTTP status of the last request, if one was answered.
  returned: always
  type: int
  sample: 200
latency_ms:
  description: Duration of the last request in milliseconds (null when no request was made).
  returned: always
  type: int
  sample: 212
model_found:
  description: Whether O(model) is in the provider's model list (null when not checked).
  returned: always
  type: bool
  sample: true
models_count:
  description: How many models the provider lists (null when the list was not read).
  returned: always
  type: int
  sample: 312
close_matches:
  description: Up to five offered models whose names resemble O(model).
  returned: when RV(reason) is V(model_not_found)
  type: list
  elements: str
  sample: ["qwen/qwen3-coder", "qwen/qwen3-coder:free"]
url:
  description: The URL of the last request (without credentials; null when no request was made).
  returned: always
  type: str
  sample: https://openrouter.ai/api/v1/models
base_url:
  description: The base URL that was checked (without credentials).
  returned: always
  type: str
  sample: https://openrouter.ai/api/v1
proxy:
  description: The proxy the requests went through, from the environment (without credentials), or null.
  returned: always
  type: str
  sample: http://proxy.corp.example:3128
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.qwenops.qwen_code.plugins.module_utils._presets import PROVIDER_PRESETS
from ansible_collections.qwenops.qwen_code.plugins.module_utils._transport import (
    apply_proxy_options, transport_argument_spec)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._provider_check import provider_check


def main():
    argument_spec = dict(
        base_url=dict(type="str"),
        provider=dict(type="str", choices=sorted(PROVIDER_PRESETS) + ["custom"]),
        api_key=dict(type="str", required=True, no_log=True),
        model=dict(type="str"),
        probe=dict(type="str", choices=["models", "chat"], default="models"),
        fail_on_error=dict(type="bool", default=True),
    )
    argument_spec.update(transport_argument_spec(timeout=10))
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=[("base_url", "provider")],
        required_if=[("provider", "custom", ("base_url",)), ("probe", "chat", ("model",))],
        supports_check_mode=True,
    )
    p = module.params
    if p["provider"] not in (None, "custom") and p["base_url"]:
        module.fail_json(msg="give either provider (a preset) or base_url, not both (or provider: custom)",
                         reason="invalid_input")
    if p["timeout"] <= 0:
        module.fail_json(msg="timeout must be a positive number of seconds", reason="invalid_input")
    apply_proxy_options(p)
    base_url = p["base_url"] or PROVIDER_PRESETS[p["provider"]]
    base_url = PROVIDER_PRESETS.get(base_url, base_url)
    result = provider_check(base_url, p["api_key"], model=p["model"], probe=p["probe"], timeout=p["timeout"],
                            ca_path=p["ca_path"], validate_certs=p["validate_certs"])
    result = dict(result, changed=False)
    if result["reason"] != "ok" and p["fail_on_error"]:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
