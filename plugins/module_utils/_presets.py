# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: the provider presets (placeholder until the split lands)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

PROVIDER_PRESETS = {
    "openrouter": "https://openrouter.ai/api/v1",
    "modelscope": "https://api-inference.modelscope.cn/v1",
    "dashscope": "https://dashscope.aliyuncs.com/compatible-mode/v1",
    "dashscope_intl": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    "openai": "https://api.openai.com/v1",
}
