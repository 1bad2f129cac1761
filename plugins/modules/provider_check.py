#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: provider_check
short_description: Check that a provider answers, accepts the key and offers the model, over the qwen CLI's protocol
version_added: "0.1.0"
description:
  - Asks the provider over the protocol the qwen CLI will use (O(auth_type)), the way the CLI will ask it, from the
    host the module runs on, so it tests that host's DNS, proxy and CA path, as the qwen CLI there would meet them.
    Delegate it to C(localhost) to test the controller instead.
  - V(openai) lists the models with C(GET {base_url}/models); the chat probe is a one-token
    C(POST {base_url}/chat/completions).
  - V(openai-responses) lists the models with C(GET {base_url}/models); the chat probe is
    C(POST {base_url without a trailing /v1}/v1/responses), as the CLI calls it.
  - "V(anthropic) lists the models with C(GET {base_url}/v1/models) (C(anthropic-version: 2023-06-01)); the chat
    probe is a one-token C(POST {base_url}/v1/messages). A base URL ending in C(/v1) gives RV(reason=invalid_url)
    before any request (the CLI would call C(.../v1/v1/messages))."
  - V(gemini) lists the models with C(GET {base_url}/v1beta/models); the chat probe is a one-token
    C(POST {base_url}/v1beta/models/{model}:generateContent).
  - V(vertex-ai) (Vertex AI in express mode, with an API key) has no model list, so the model is required and the
    check asks C(POST {base_url}/v1beta1/publishers/google/models/{model}:countTokens) (free of charge); an answer
    proves the key and the model. The chat probe adds a one-token C(:generateContent) of the same model.
  - Tells apart, each with a message for a person in RV(msg) and a stable machine-readable RV(reason), a malformed
    URL, an unusable key or CA bundle, DNS failure, refused or unreachable connections, timeouts, TLS verification
    failure, proxy failures, redirects, a rejected key (401/403, or Google's 400 C(API_KEY_INVALID)), a wrong base
    URL (404), rate limiting (429), a model the provider does not offer (with close matches), server errors (5xx)
    and answers that are not the protocol's JSON. None of them produces a traceback.
  - Read-only, so it runs in check mode too. The key is sent only in the protocol's header to O(base_url); it is
    never returned, and any echo of it in the provider's answer is masked.
author:
  - qwenops contributors (@qwenops)
options:
  base_url:
    description:
      - The provider's base URL for O(auth_type), as the qwen CLI takes it, for example
        V(https://openrouter.ai/api/v1) (openai), V(https://api.anthropic.com) (anthropic, without C(/v1)),
        V(https://generativelanguage.googleapis.com) (gemini) or V(https://aiplatform.googleapis.com) (vertex-ai).
      - A preset name of O(provider) is accepted here too.
      - Credentials (C(user:password@)), a query or a fragment make the URL invalid.
      - Required unless O(provider) names a preset.
    type: str
  provider:
    description:
      - A preset used in place of O(base_url), with its URL for O(auth_type). A preset without an endpoint for that
        protocol fails with RV(reason=invalid_input).
      - The presets follow, one an entry - the preset's name, then each protocol it offers with that protocol's URL.
      - "V(openrouter): C(openai) U(https://openrouter.ai/api/v1); C(openai-responses) U(https://openrouter.ai/api/v1);
        C(anthropic) U(https://openrouter.ai/api)."
      - "V(modelscope): C(openai) U(https://api-inference.modelscope.cn/v1);
        C(anthropic) U(https://api-inference.modelscope.cn)."
      - "V(dashscope): C(openai) U(https://dashscope.aliyuncs.com/compatible-mode/v1);
        C(openai-responses) U(https://dashscope.aliyuncs.com/api/v2/apps/protocols/compatible-mode/v1);
        C(anthropic) U(https://dashscope.aliyuncs.com/apps/anthropic)."
      - "V(dashscope_intl): C(openai) U(https://dashscope-intl.aliyuncs.com/compatible-mode/v1);
        C(openai-responses) U(https://dashscope-intl.aliyuncs.com/api/v2/apps/protocols/compatible-mode/v1);
        C(anthropic) U(https://dashscope-intl.aliyuncs.com/apps/anthropic)."
      - "V(coding_plan): C(openai) U(https://coding.dashscope.aliyuncs.com/v1)."
      - "V(coding_plan_intl): C(openai) U(https://coding-intl.dashscope.aliyuncs.com/v1)."
      - "V(openai): C(openai) U(https://api.openai.com/v1); C(openai-responses) U(https://api.openai.com/v1)."
      - "V(anthropic): C(anthropic) U(https://api.anthropic.com)."
      - "V(gemini): C(gemini) U(https://generativelanguage.googleapis.com)."
      - "V(vertex): C(vertex-ai) U(https://aiplatform.googleapis.com)."
      - V(custom) means O(base_url), which is then required.
    type: str
    choices: [anthropic, coding_plan, coding_plan_intl, dashscope, dashscope_intl, gemini, modelscope, openai,
              openrouter, vertex, custom]
  auth_type:
    description:
      - The protocol the qwen CLI speaks with the provider (its auth type), which decides the requests and the key's
        header.
    type: str
    choices: [openai, openai-responses, anthropic, gemini, vertex-ai]
    default: openai
  api_key:
    description:
      - "The API key, sent as the qwen CLI sends it: C(Authorization: Bearer <key>) for V(openai) and
        V(openai-responses); C(x-api-key) to C(anthropic.com) and its subdomains and C(Authorization: Bearer)
        to any other host for V(anthropic); C(x-goog-api-key) for V(gemini) and V(vertex-ai)."
      - An empty key, or one with whitespace, control or non-ASCII characters, gives RV(reason=invalid_key) without
        any request.
    type: str
    required: true
  key_name:
    description:
      - How the messages of RV(reason=unauthorized) and RV(reason=invalid_key) name the key to check, for example
        "the key of provider openrouter for alice (QWENOPS_KEY_OPENROUTER)".
      - Default, the auth type's variable - C(OPENAI_API_KEY), C(ANTHROPIC_API_KEY), C(GEMINI_API_KEY) or
        C(GOOGLE_API_KEY).
    type: str
  model:
    description:
      - Model id that must be in the provider's model list (for V(gemini) without the C(models/) prefix). Without it
        only the connection and the key are checked.
      - Required with O(auth_type=vertex-ai), which has no model list.
    type: str
  probe:
    description:
      - V(models) lists the models (for V(vertex-ai), counts the tokens of a prompt). V(chat) also makes a one-token
        chat with O(model), which costs one request of the key's quota but proves that the model answers.
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
  - The model lists are read in one page (C(?limit=1000) for V(anthropic), C(?pageSize=1000) for V(gemini)).
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

- name: Check DashScope's Anthropic-compatible endpoint, naming the key as the operator knows it
  qwenops.qwen_code.provider_check:
    provider: dashscope
    auth_type: anthropic
    api_key: "{{ vault_dashscope_key }}"
    key_name: the DashScope key in vault_dashscope_key
    model: qwen3-coder-plus

- name: Check Vertex AI in express mode (no model list; the model is asked for by countTokens)
  qwenops.qwen_code.provider_check:
    provider: vertex
    auth_type: vertex-ai
    api_key: "{{ vault_google_key }}"
    model: gemini-2.5-flash
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
    - V(redirect) (3xx), V(unauthorized) (401/403, or Google's 400 C(API_KEY_INVALID)), V(not_found) (404),
      V(rate_limited) (429), V(model_not_found), V(server_error) (5xx), V(bad_response) (not HTTP, not JSON, or not
      the protocol's expected shape), V(http_error) (any other status),
    - V(invalid_input) (options that contradict each other, or a preset without an endpoint for O(auth_type); the
      task then fails whatever O(fail_on_error) says).
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
  description: Whether O(model) is in the provider's model list, or for V(vertex-ai) whether countTokens knew it
    (null when not checked).
  returned: always
  type: bool
  sample: true
models_count:
  description: How many models the provider lists (null when the list was not read, as for V(vertex-ai)).
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
auth_type:
  description: The protocol that was checked (O(auth_type)).
  returned: always
  type: str
  sample: anthropic
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.qwenops.qwen_code.plugins.module_utils._auth_types import AUTH_TYPES
from ansible_collections.qwenops.qwen_code.plugins.module_utils._presets import PROVIDER_PRESETS, preset_url
from ansible_collections.qwenops.qwen_code.plugins.module_utils._transport import (
    apply_proxy_options, transport_argument_spec)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._provider_check import provider_check


def main():
    argument_spec = dict(
        base_url=dict(type="str"),
        provider=dict(type="str", choices=sorted(PROVIDER_PRESETS) + ["custom"]),
        auth_type=dict(type="str", choices=list(AUTH_TYPES), default="openai"),
        api_key=dict(type="str", required=True, no_log=True),
        key_name=dict(type="str", no_log=False),
        model=dict(type="str"),
        probe=dict(type="str", choices=["models", "chat"], default="models"),
        fail_on_error=dict(type="bool", default=True),
    )
    argument_spec.update(transport_argument_spec(timeout=10))
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=[("base_url", "provider")],
        required_if=[("provider", "custom", ("base_url",)), ("probe", "chat", ("model",)),
                     ("auth_type", "vertex-ai", ("model",))],
        supports_check_mode=True,
    )
    p = module.params
    if p["provider"] not in (None, "custom") and p["base_url"]:
        module.fail_json(msg="give either provider (a preset) or base_url, not both (or provider: custom)",
                         reason="invalid_input")
    if p["timeout"] <= 0:
        module.fail_json(msg="timeout must be a positive number of seconds", reason="invalid_input")
    apply_proxy_options(p)
    base_url = p["base_url"] or p["provider"]
    if base_url in PROVIDER_PRESETS:
        preset, base_url = base_url, preset_url(base_url, p["auth_type"])
        if base_url is None:
            module.fail_json(msg="the preset %s has no endpoint for auth_type %s (it has: %s): choose one of those, "
                                 "or give base_url" % (preset, p["auth_type"], ", ".join(PROVIDER_PRESETS[preset])),
                             reason="invalid_input")
    key_name = p["key_name"] or AUTH_TYPES[p["auth_type"]]["key_env"]
    result = provider_check(base_url, p["api_key"], model=p["model"], probe=p["probe"], timeout=p["timeout"],
                            ca_path=p["ca_path"], validate_certs=p["validate_certs"], auth_type=p["auth_type"],
                            key_name=key_name)
    result = dict(result, changed=False)
    if result["reason"] != "ok" and p["fail_on_error"]:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
