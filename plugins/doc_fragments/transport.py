# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE to the qwenops.qwen_code collection: it may change in any release. The argument spec of these options is
# plugins/module_utils/_transport.py's transport_argument_spec().

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """How a module reaches the network. DOCUMENTATION: the proxies, for every such module. Together with it, one of
    REQUESTS (a module that makes the requests itself: ca_path, validate_certs and timeout, whose default each module
    states) or NPM (a module whose npm makes them: ca_path as npm uses it)."""

    DOCUMENTATION = r"""
options:
  https_proxy:
    description:
      - Proxy for https requests, for example C(http://user:password@proxy.example.com:3128). Applied inside the
        module, and given to any program it runs in its environment, so that its credentials never appear on a
        command line. Empty or unset, the environment's C(https_proxy) applies.
    type: str
  http_proxy:
    description: Proxy for plain http requests (to a provider, registry or mirror on C(http://)), like O(https_proxy).
    type: str
  no_proxy:
    description:
      - Comma-separated hosts and domains reached without a proxy. Empty or unset, the environment's C(no_proxy)
        applies.
    type: str
"""

    REQUESTS = r"""
options:
  ca_path:
    description:
      - PEM bundle of CA certificates trusted B(in addition to) the system trust store (like C(NODE_EXTRA_CA_CERTS)
        for Node.js), for a TLS-intercepting proxy, or a provider or registry with a private CA.
      - With ansible-core 2.17 or later the module adds the bundle to an SSL context of the system store. With
        ansible-core 2.16 it writes a temporary bundle of the system CA file followed by O(ca_path) and removes it
        on exit.
    type: path
  validate_certs:
    description: Verify TLS certificates. Turn this off only for testing.
    type: bool
    default: true
  timeout:
    description: Timeout of each HTTP request, in seconds.
    type: int
"""

    NPM = r"""
options:
  ca_path:
    description:
      - PEM bundle of CA certificates npm trusts B(in addition to) the built-in roots of Node.js (given to it as
        C(NODE_EXTRA_CA_CERTS)), for a TLS-intercepting proxy or a registry with a private CA.
    type: path
"""
