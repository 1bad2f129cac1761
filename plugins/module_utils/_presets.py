# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The provider presets: the OpenAI-compatible base URL of each provider name the collection accepts. This dict is
their single source: provider_check uses it, the role and the image read it through the
qwenops.qwen_code.provider_presets lookup, and tests/unit/test_presets_in_sync.py checks the places that can only
repeat it (argument_specs, the module's documentation, the README).
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
