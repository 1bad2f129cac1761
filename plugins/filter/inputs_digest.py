# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's side of user_config's inputs (module_utils/_config_inputs.py, which user_config uses on the
host): the digest of the inputs, and whether user_config may be skipped on a host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.qwenops.qwen_code.plugins.module_utils import _config_inputs


def inputs_digest(inputs):
    """_config_inputs.digest over the normalised inputs; "" for inputs user_config would refuse (install_info then
    finds no digest current, and user_config names the problem)."""
    try:
        return _config_inputs.digest(_config_inputs.normalise(inputs))
    except ValueError:
        return ""


class FilterModule(object):
    def filters(self):
        return {"inputs_digest": inputs_digest, "config_current": _config_inputs.config_current}
