# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The protocols (auth types) the qwen CLI speaks with an API key, as read from its published bundles (docs/RELEASES.md
has the evidence): the environment variables each reads, the modelProviders group its entries go in, and how the
request URL and the key's header are made. The role, provider_check and the image's check all work from this table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

AUTH_TYPES = {
    # POST {base}/chat/completions, Authorization: Bearer
    "openai": dict(group="openai", key_env="OPENAI_API_KEY", base_env="OPENAI_BASE_URL", model_env="OPENAI_MODEL"),
    # POST {base without a trailing /v1}/v1/responses, Bearer; an openai entry with wireApi "responses" (0.24 on).
    # Never inferred from the environment: it needs selectedType or --auth-type.
    "openai-responses": dict(group="openai", wire_api="responses", key_env="OPENAI_API_KEY",
                             base_env="OPENAI_BASE_URL", model_env="OPENAI_MODEL"),
    # POST {base}/v1/messages (the base without /v1), anthropic-version 2023-06-01; x-api-key for *.anthropic.com,
    # Authorization: Bearer for any other host (0.21 on; before, always x-api-key).
    "anthropic": dict(group="anthropic", key_env="ANTHROPIC_API_KEY", base_env="ANTHROPIC_BASE_URL",
                      model_env="ANTHROPIC_MODEL"),
    # POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse, x-goog-api-key
    "gemini": dict(group="gemini", key_env="GEMINI_API_KEY", base_env="GOOGLE_GEMINI_BASE_URL",
                   model_env="GEMINI_MODEL"),
    # API-key (express) mode: POST {base}/v1beta1/publishers/google/models/{model}:streamGenerateContent?alt=sse,
    # x-goog-api-key
    "vertex-ai": dict(group="vertex-ai", key_env="GOOGLE_API_KEY", base_env="GOOGLE_VERTEX_BASE_URL",
                      model_env="GOOGLE_MODEL"),
}

# The host whose anthropic endpoint takes the key as x-api-key; every other host gets Authorization: Bearer.
ANTHROPIC_NATIVE_SUFFIX = ".anthropic.com"


def anthropic_native(hostname):
    """Whether the CLI sends the key as x-api-key (api.anthropic.com and its subdomains) rather than Bearer."""
    host = (hostname or "").lower().rstrip(".")
    return host == "anthropic.com" or host.endswith(ANTHROPIC_NATIVE_SUFFIX)
