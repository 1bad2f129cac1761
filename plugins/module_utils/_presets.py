# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The provider presets: for each provider name the collection accepts, the base URL of each protocol (auth type) the
vendor documents, in the form the qwen CLI wants it for that auth type (see _auth_types.py). This dict is their
single source: provider_check uses it, the role and the image read it through the qwenops.qwen_code.provider_presets
lookup, and tests/unit/test_presets_in_sync.py checks the places that can only repeat it (argument_specs, the
module's documentation, the README).

Every URL other than a vendor's own primary API names the public page that documents it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

PROVIDER_PRESETS = {
    "openrouter": {
        "openai": "https://openrouter.ai/api/v1",
        # Responses API (beta): openrouter.ai/docs/api_reference/responses/basic-usage
        "openai-responses": "https://openrouter.ai/api/v1",
        # "Claude Code" integration guide (openrouter.ai/docs/guides/coding-agents/claude-code-integration); OpenRouter
        # guarantees it only with Anthropic's own models.
        "anthropic": "https://openrouter.ai/api",
    },
    "modelscope": {
        "openai": "https://api-inference.modelscope.cn/v1",
        # "API推理介绍", Anthropic API compatible interface (modelscope.cn/docs/model-service/API-Inference/intro)
        "anthropic": "https://api-inference.modelscope.cn",
    },
    "dashscope": {
        "openai": "https://dashscope.aliyuncs.com/compatible-mode/v1",
        # "OpenAI Responses接口兼容" (help.aliyun.com/zh/model-studio/compatibility-with-openai-responses-api)
        "openai-responses": "https://dashscope.aliyuncs.com/api/v2/apps/protocols/compatible-mode/v1",
        # "Anthropic API 兼容" (help.aliyun.com/zh/model-studio/anthropic-api-messages)
        "anthropic": "https://dashscope.aliyuncs.com/apps/anthropic",
    },
    "dashscope_intl": {
        "openai": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        # The same pages for the Singapore region (alibabacloud.com/help/en/model-studio/...)
        "openai-responses": "https://dashscope-intl.aliyuncs.com/api/v2/apps/protocols/compatible-mode/v1",
        "anthropic": "https://dashscope-intl.aliyuncs.com/apps/anthropic",
    },
    # Alibaba Cloud's Coding Plan (a subscription for coding tools; the CLI's advice for headless use since the free
    # Qwen OAuth tier ended on 2026-04-15), OpenAI-compatible only, as qwen-code 0.24.4's own documentation gives it
    # (bundled/qc-helper/docs/configuration/auth.md, "Alibaba Cloud Coding Plan": China (Beijing) and international
    # endpoints; keys sk-sp-..., in the variable BAILIAN_CODING_PLAN_API_KEY when set through /auth).
    "coding_plan": {
        "openai": "https://coding.dashscope.aliyuncs.com/v1",
    },
    "coding_plan_intl": {
        "openai": "https://coding-intl.dashscope.aliyuncs.com/v1",
    },
    "openai": {
        "openai": "https://api.openai.com/v1",
        "openai-responses": "https://api.openai.com/v1",
    },
    "anthropic": {
        "anthropic": "https://api.anthropic.com",
    },
    "gemini": {
        "gemini": "https://generativelanguage.googleapis.com",
    },
    # Vertex AI in express mode, with an API key ("Vertex AI in express mode REST API reference",
    # cloud.google.com/vertex-ai/generative-ai/docs/start/express-mode/vertex-ai-express-mode-api-reference)
    "vertex": {
        "vertex-ai": "https://aiplatform.googleapis.com",
    },
}


def preset_url(name, auth_type):
    """The base URL of preset name for auth_type, or None when the vendor offers no such endpoint."""
    return PROVIDER_PRESETS.get(name, {}).get(auth_type)
