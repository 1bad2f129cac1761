# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The provider presets: the OpenAI-compatible base URL of each provider name the collection accepts. This dict is
their single source (provider_check's choices; the role's table, which tests/unit/test_presets_in_sync.py compares
with it). A plain dict, so that anything in the collection can read it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

PROVIDER_PRESETS = {
    "openrouter": "https://openrouter.ai/api/v1",
    "modelscope": "https://api-inference.modelscope.cn/v1",
    "dashscope": "https://dashscope.aliyuncs.com/compatible-mode/v1",
    "dashscope_intl": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    "openai": "https://api.openai.com/v1",
}
