# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one rule for an account name the role accepts (qwen_code_users, qwen_code_users_absent): every caller imports
USER_NAME from here (tests/unit/test_one_rule_preflight.py refuses a second copy)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

USER_NAME = re.compile(r"^[a-z_][a-z0-9_.-]*[$]?$")
