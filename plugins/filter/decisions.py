# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The qwen_code role's decisions that need results registered after its preflight (plugin_utils/_decisions.py has
them all; the preflight action returns the others in __qwen_code_host.decided)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.qwenops.qwen_code.plugins.plugin_utils import _decisions


def with_integrity(unpacks, artifacts=None, cached=False):
    return _decisions.with_integrity(unpacks or [], artifacts or {}, bool(cached))


def verify_now(decided, configured=None, oauth_deployed=None):
    return _decisions.verify_now(decided["verify"], decided["lacks"], configured, oauth_deployed)


def proxy_env(https_proxy, http_proxy="", no_proxy=""):
    # Not in the preflight's result: a proxy URL may hold a password, and that result shows in -v output.
    return _decisions.proxy_env({"qwen_code_https_proxy": https_proxy, "qwen_code_http_proxy": http_proxy,
                                 "qwen_code_no_proxy": no_proxy})


class FilterModule(object):
    def filters(self):
        return {"with_integrity": with_integrity, "verify_now": verify_now, "proxy_env": proxy_env}
