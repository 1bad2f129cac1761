# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

How the modules reach the network: the options they share (CA bundle, certificate checks, timeout, proxies; see
transport_argument_spec() and the doc fragment qwenops.qwen_code.transport), an HTTP client that trusts an extra CA
bundle in addition to the system store, and proxy handling that keeps credentials off command lines and out of
messages.

Runs on the managed host or the controller: Python standard library and ansible.module_utils only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import os
import ssl
import tempfile

from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

from ansible.module_utils.urls import Request, make_context

# Where distributions keep the system CA bundle, for ansible-core releases whose Request cannot take an SSL context.
_SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                   "/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem")
PROXY_OPTIONS = ("https_proxy", "http_proxy", "no_proxy")


def transport_argument_spec(timeout=None):
    """The argument spec of the options documented by the qwenops.qwen_code.transport doc fragment: ca_path and the
    proxies (the proxies' credentials are no_log). With timeout, the default of the timeout option, also
    validate_certs and timeout: the options of a module that makes the requests itself (the fragment's
    qwenops.qwen_code.transport.requests variant; without them, .npm, for a module whose npm does)."""
    spec = dict(
        ca_path=dict(type="path"),
        https_proxy=dict(type="str", no_log=True),
        http_proxy=dict(type="str", no_log=True),
        no_proxy=dict(type="str"),
    )
    if timeout is not None:
        spec.update(validate_certs=dict(type="bool", default=True), timeout=dict(type="int", default=timeout))
    return spec


def extra_ca_context(ca_path):
    """An SSL context trusting the system store plus the PEM bundle at ca_path (like NODE_EXTRA_CA_CERTS).

    Raises IOError/OSError when the file cannot be read and ssl.SSLError when it holds no certificate.
    """
    context = make_context()
    context.load_verify_locations(cafile=ca_path)
    return context


def _combined_bundle(ca_path):
    """A temporary PEM file with the system bundle followed by ca_path (removed when the process exits)."""
    paths = ssl.get_default_verify_paths()
    candidates = [os.environ.get(paths.openssl_cafile_env), paths.cafile, paths.openssl_cafile] + list(_SYSTEM_BUNDLES)
    pem = b""
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            with open(candidate, "rb") as f:
                pem = f.read()
            break
    with open(ca_path, "rb") as f:
        pem += b"\n" + f.read()
    fd, path = tempfile.mkstemp(prefix="qwen-code-ca-", suffix=".pem")
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    atexit.register(_remove_quietly, path)
    return path


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def make_request(ca_path=None, validate_certs=True, **kwargs):
    """An ansible.module_utils.urls.Request that trusts ca_path in addition to the system CA store.

    Request(ca_path=...) alone would trust ca_path instead of the system store. ansible-core 2.17 and later take an
    SSL context; 2.16 gets a temporary bundle of the system store plus ca_path. ~/.netrc is never consulted (it
    would replace the Authorization header). Raises like extra_ca_context() for an unusable ca_path.
    """
    kwargs.setdefault("use_netrc", False)
    if not (ca_path and validate_certs):
        return Request(validate_certs=validate_certs, **kwargs)
    context = extra_ca_context(ca_path)
    try:
        return Request(validate_certs=validate_certs, context=context, **kwargs)
    except TypeError:  # ansible-core 2.16: no context argument
        return Request(validate_certs=validate_certs, ca_path=_combined_bundle(ca_path), **kwargs)


def redact_url(url):
    """The URL without any user:password@ part, for messages."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
    except ValueError:
        return "<invalid URL>"
    if "@" in netloc:
        return parts._replace(netloc=netloc.rpartition("@")[2]).geturl()
    return url


def proxy_environment(params):
    """The https_proxy, http_proxy and no_proxy options that are set, as environment variables in both spellings
    (lower and upper case, as urllib, npm and their child processes read them). Options, unlike a task's
    environment, never show on a command line, so a proxy password stays out of `ps`. Unset or empty options are
    left out: the environment's own proxies then apply."""
    env = {}
    for name in PROXY_OPTIONS:
        if params.get(name):
            env[name] = env[name.upper()] = params[name]
    return env


def apply_proxy_options(params):
    """Put the https_proxy, http_proxy and no_proxy module options into this process's environment, where urllib
    (and any child process) reads them (see proxy_environment())."""
    os.environ.update(proxy_environment(params))


def proxy_for(url):
    """The proxy urllib will use for url (from https_proxy, http_proxy, no_proxy), without credentials, or None."""
    parts = urlsplit(url)
    proxy = getproxies().get(parts.scheme)
    if not proxy or proxy_bypass(parts.netloc):
        return None
    return redact_url(proxy)
