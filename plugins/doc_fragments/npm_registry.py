# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE to the qwenops.qwen_code collection: it may change in any release. The argument spec of these options is
# plugins/module_utils/_npm_registry.py's registry_argument_spec().

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The npm registry a module installs from, and its token (each module's notes say how the token is sent)."""

    DOCUMENTATION = r"""
options:
  registry:
    description: Base URL of the npm registry or mirror.
    type: str
    default: https://registry.npmjs.org
  auth_token:
    description:
      - Token of a registry that needs authentication. It goes to O(registry) only (never to a tarball URL on
        another host, nor on to a redirect's target), and never appears on a command line.
      - O(registry) itself must not contain credentials (C(user:password@)).
    type: str
"""
