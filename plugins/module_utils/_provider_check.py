# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The provider check: does a provider answer, accept the key and offer the model, asked over the protocol (auth type)
the qwen CLI will use, the way the CLI will ask (_PROTOCOLS, _urls, _auth_headers; the auth types are in
_auth_types.py)? provider_check() runs it in steps, each a small function below: validate the input
(_checked_input), build the request (_build_request), call (_Provider.ask: _call, then _connection_failure when no
HTTP answer came), classify an HTTP failure (_http_failure), parse the model list (_model_ids), match the model
(_match_model), or for a protocol without a model list ask for the model itself (_count_tokens), and the chat probe
(_chat_probe). A step that finds a problem raises (or returns, for the caller to raise) _Failed with the reason and
the operator's message from MESSAGES; _provider_check() puts that into its result.

The key is masked out of whatever the provider sends, right after it is read, and out of the whole result at the
end. The container image's `check` command runs this file too (image/check.py); tests/unit/test_image_check.py runs
both against one table of stub providers.

Runs on the managed host: Python standard library and ansible.module_utils only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import errno
import json
import re
import socket
import ssl
import time

from collections import namedtuple
from http import client as http_client
from urllib.error import HTTPError
from urllib.parse import quote, urlsplit

from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._auth_types import AUTH_TYPES, anthropic_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._transport import make_request, proxy_for, redact_url

# What each failure means for an operator, keyed by reason. `{...}` fields are filled in by provider_check() (the
# container image's `check` command runs it too). Hints that only some failures have are appended after formatting.
MESSAGES = {
    "ok": "{base_url} answered in {latency_ms} ms{model_note}.",
    "invalid_url": "The base URL {base_url!r} is not a valid http(s) URL: expected https://host[:port]/path, "
                   "for example {example}.",
    "version_in_url": "The base URL {base_url!r} ends in /{detail}, which the {auth_type} protocol appends itself "
                      "(the requests would go to {url}/...): set it to {suggestion}.",
    "invalid_key": "The API key {detail}: check {key_name}.",
    "unknown_auth_type": "The auth type {auth_type!r} is not one the check knows: use one of {detail}.",
    "model_required": "The {auth_type} protocol offers no model list: the check needs the model to ask for "
                      "(qwen_code_model; in the image: GOOGLE_MODEL).",
    "invalid_ca_path": "Cannot use the CA bundle {detail}: qwen_code_ca_bundle must be a PEM file of one or more "
                       "certificates.",
    "dns": "Cannot resolve {host}: check the base URL's host name, this host's DNS, or set a proxy "
           "(qwen_code_https_proxy, or HTTPS_PROXY).",
    "connection_refused": "{host}:{port} refused the connection: nothing listens there, or a firewall rejects it. "
                          "Check the base URL and port, or the proxy.",
    "unreachable": "No route to {host}:{port} ({detail}): this host cannot reach that network; a proxy may be "
                   "needed (qwen_code_https_proxy, or HTTPS_PROXY).",
    "connection_reset": "{host}:{port} closed the connection without an answer ({detail}): the port may expect "
                        "https:// rather than http:// (or the reverse), or a firewall or proxy cuts the traffic.",
    "timeout": "No answer from {host}:{port} within {timeout} s: a firewall may drop the traffic, or a proxy is "
               "needed (qwen_code_https_proxy, or HTTPS_PROXY).",
    "tls": "TLS verification of {host} failed ({detail}). If a proxy or private CA signs this certificate, set "
           "qwen_code_ca_bundle (in the image: a PEM file in certs/ or NODE_EXTRA_CA_CERTS) to a bundle with that CA.",
    "tls_hostname": "The TLS certificate of {host} is for another name ({detail}): check the host name in the base "
                    "URL (a CA bundle does not help here).",
    "tls_handshake": "The TLS handshake with {host}:{port} failed ({detail}): the port may not speak TLS (should "
                     "the URL start with http://?), or a proxy or firewall interferes.",
    "proxy": "The proxy refused or failed the request ({detail}): check qwen_code_https_proxy / https_proxy.",
    "redirect": "{url} redirects (HTTP {status}) to {detail}: set the base URL to the final address. API clients "
                "do not reliably follow redirects, and a redirect may carry the key elsewhere.",
    "unauthorized": "{base_url} rejected the API key (HTTP {status}): check {key_name} for this provider "
                    "(OpenRouter keys start with sk-or-, ModelScope keys with ms-).",
    "not_found": "{url} does not exist (HTTP 404): the base URL is probably wrong; {url_rule}.",
    "rate_limited": "{base_url} is rate limiting this key (HTTP 429): the free tier's quota or the request rate is "
                    "exhausted; wait, or use a paid key.",
    "model_not_found": "The provider does not offer the model {model!r}{suggestion}.",
    "server_error": "{base_url} failed with HTTP {status}: the provider has a problem; try again later.",
    "bad_response": "{url} answered with something that is not {expected} ({detail}): "
                    "the base URL may point at a web page or a different API.",
    "http_error": "{url} answered HTTP {status} ({detail}).",
}


# What differs between the protocols (auth types, the keys of _auth_types.AUTH_TYPES), besides the URLs (_urls), the
# key's header (_auth_headers) and the probes' bodies (_chat_payload): where a model list keeps its ids (listing, id,
# and a prefix to drop; listing None: the protocol has no model list, the model is asked for by countTokens), the
# key a chat answer must have (answer), the API version the CLI appends to the base URL itself (adds: a base URL
# ending in it is a mistake), the ends of a base URL that has an endpoint pasted in (endpoints), and the words
# the messages use for it (example, expected, url_rule).
_OPENAI = dict(
    listing="data", id="id", prefix="", answer="choices", adds=None,
    endpoints=("/chat/completions", "/completions", "/models", "/responses"),
    example="https://openrouter.ai/api/v1", expected="an OpenAI-compatible JSON answer",
    url_rule="OpenAI-compatible URLs usually end in the API version, such as /v1 or /compatible-mode/v1")
_PROTOCOLS = {
    "openai": _OPENAI,
    "openai-responses": dict(
        _OPENAI, answer="output", example="https://api.openai.com/v1", expected="an OpenAI Responses JSON answer",
        url_rule="Responses API URLs end in /v1 (the CLI asks .../v1/responses), and not every provider offers "
                 "that API"),
    "anthropic": dict(
        listing="data", id="id", prefix="", answer="content", adds="v1",
        endpoints=("/v1/messages", "/v1/models", "/messages", "/models"),
        example="https://api.anthropic.com", expected="an Anthropic Messages JSON answer",
        url_rule="Anthropic URLs stop before /v1, such as https://api.anthropic.com or https://openrouter.ai/api "
                 "(the CLI appends /v1/messages)"),
    "gemini": dict(
        listing="models", id="name", prefix="models/", answer="candidates", adds="v1beta",
        endpoints=("/v1beta/models", "/models", "/v1"),
        example="https://generativelanguage.googleapis.com", expected="a Gemini JSON answer",
        url_rule="Gemini URLs are the host alone, such as https://generativelanguage.googleapis.com (the CLI "
                 "appends /v1beta/models/...)"),
    "vertex-ai": dict(
        listing=None, id=None, prefix="", answer="candidates", adds="v1beta1",
        endpoints=("/v1beta1/publishers/google/models", "/publishers/google/models", "/v1beta", "/v1"),
        example="https://aiplatform.googleapis.com", expected="a Vertex AI JSON answer",
        url_rule="Vertex AI URLs (express mode, with an API key) are the host alone, such as "
                 "https://aiplatform.googleapis.com (the CLI appends /v1beta1/publishers/google/models/...)"),
}

_PROMPT = "Reply with one word."
_ANTHROPIC_VERSION = "2023-06-01"


def _contents():
    """The prompt as Google's protocols take it."""
    return [{"role": "user", "parts": [{"text": _PROMPT}]}]


def _urls(auth_type, base_url, model):
    """The URLs the check asks, built from the base URL as the qwen CLI builds them for auth_type: (the model list,
    or None when the protocol has none; countTokens of the model, or None; the chat probe). The model list is asked
    for in one page (Anthropic's default page holds 20 models, Gemini's 50)."""
    root = base_url.rstrip("/")
    name = quote(model or "", safe="", errors="replace")
    if auth_type == "openai":
        return root + "/models", None, root + "/chat/completions"
    if auth_type == "openai-responses":  # the CLI drops a trailing /v1 and appends /v1/responses
        return root + "/models", None, (root[:-3] if root.endswith("/v1") else root) + "/v1/responses"
    if auth_type == "anthropic":
        return root + "/v1/models?limit=1000", None, root + "/v1/messages"
    if auth_type == "gemini":
        return root + "/v1beta/models?pageSize=1000", None, "%s/v1beta/models/%s:generateContent" % (root, name)
    model_url = "%s/v1beta1/publishers/google/models/%s" % (root, name)  # vertex-ai, express mode
    return None, model_url + ":countTokens", model_url + ":generateContent"


def _auth_headers(auth_type, api_key, hostname):
    """The key's header as the qwen CLI sends it for auth_type: x-goog-api-key for Google's protocols; for
    anthropic, x-api-key to Anthropic's own hosts and Authorization: Bearer elsewhere (CLI 0.21 on), with the API
    version; Authorization: Bearer for the OpenAI protocols."""
    if auth_type in ("gemini", "vertex-ai"):
        return {"x-goog-api-key": api_key}
    if auth_type == "anthropic":
        key = {"x-api-key": api_key} if anthropic_native(hostname) else {"Authorization": "Bearer %s" % api_key}
        return dict(key, **{"anthropic-version": _ANTHROPIC_VERSION})
    return {"Authorization": "Bearer %s" % api_key}


def _chat_payload(auth_type, model):
    """The chat probe's body: the smallest answer each protocol allows (OpenAI's Responses API wants 16 tokens)."""
    if auth_type in ("gemini", "vertex-ai"):
        return {"contents": _contents(), "generationConfig": {"maxOutputTokens": 1}}
    if auth_type == "openai-responses":
        return {"model": model, "input": _PROMPT, "max_output_tokens": 16, "stream": False}
    if auth_type == "anthropic":
        return {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": _PROMPT}]}
    return {"model": model, "max_tokens": 1, "stream": False, "messages": [{"role": "user", "content": _PROMPT}]}


class CheckResult(dict):
    """What provider_check() found: reason, msg, status, latency_ms, model_found, models_count, url, base_url, proxy,
    auth_type (and close_matches for model_not_found)."""


class _Failed(Exception):
    """A step's verdict that stops the check: the reason, the operator's message, and further result fields."""

    def __init__(self, reason, msg, **extra):
        super(_Failed, self).__init__(reason)
        self.reason, self.msg, self.extra = reason, msg, extra


def _fmt(reason, **fields):
    return MESSAGES[reason].format(**fields)


# OpenSSL's verification error codes (x509_vfy.h) that call for another hint than "set a CA bundle".
_X509_V_ERR_CERT_NOT_YET_VALID, _X509_V_ERR_CERT_HAS_EXPIRED = 9, 10
_X509_V_ERR_HOSTNAME_MISMATCH, _X509_V_ERR_IP_ADDRESS_MISMATCH = 62, 64


def _classify_connection_error(err, proxy):
    """Map a URLError / socket / ssl / http.client error to (reason, message key, detail)."""
    cause = getattr(err, "reason", err)
    if not isinstance(cause, BaseException):
        cause = err
    detail = " ".join(to_native(cause).split())
    via = " (via the proxy %s)" % proxy if proxy else ""
    if "Tunnel connection failed" in detail:
        return "proxy", "proxy", "%s answered the CONNECT: %s" % (proxy or "the proxy", detail.split(": ", 1)[-1])
    if isinstance(cause, getattr(ssl, "SSLCertVerificationError", ())) or "CERTIFICATE_VERIFY_FAILED" in detail:
        code, message = getattr(cause, "verify_code", None), getattr(cause, "verify_message", None) or detail
        if code in (_X509_V_ERR_HOSTNAME_MISMATCH, _X509_V_ERR_IP_ADDRESS_MISMATCH):
            return "tls", "tls_hostname", message.rstrip(".")
        if code in (_X509_V_ERR_CERT_NOT_YET_VALID, _X509_V_ERR_CERT_HAS_EXPIRED):
            message += "; or this host's clock is wrong"
        return "tls", "tls", message
    if isinstance(cause, ssl.SSLError):
        return "tls", "tls_handshake", (getattr(cause, "reason", None) or detail) + via
    if isinstance(cause, socket.gaierror):
        if proxy:
            return "proxy", "proxy", "cannot resolve the proxy %s: %s" % (proxy, detail)
        return "dns", "dns", detail
    if isinstance(cause, socket.timeout) or "timed out" in detail:
        return "timeout", "timeout", detail + via
    number = getattr(cause, "errno", None)
    if isinstance(cause, ConnectionRefusedError) or number == errno.ECONNREFUSED:
        if proxy:
            return "proxy", "proxy", "the proxy %s refused the connection" % proxy
        return "connection_refused", "connection_refused", detail
    if number in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL):
        if proxy:
            return "proxy", "proxy", "cannot reach the proxy %s: %s" % (proxy, detail)
        return "unreachable", "unreachable", detail
    if isinstance(cause, (ConnectionResetError, ConnectionAbortedError, http_client.RemoteDisconnected)):
        return "connection_reset", "connection_reset", detail + via
    if isinstance(cause, http_client.HTTPException):
        return "bad_response", "bad_response", "not an HTTP answer: %s %s" % (type(cause).__name__, detail)
    return "connection_reset", "connection_reset", "%s: %s%s" % (type(cause).__name__, detail, via)


def close_matches(model, available, limit=5):
    """Offered model ids that resemble model: substring matches first, then difflib's close matches."""
    lowered = model.lower()
    tail = lowered.split("/")[-1].split(":")[0]
    found = [m for m in available if lowered in m.lower() or m.lower() in lowered]
    found += [m for m in difflib.get_close_matches(model, available, n=limit, cutoff=0.6) if m not in found]
    found += [m for m in available if m not in found and tail and tail in m.lower()]
    lowered_ids = dict((m.lower(), m) for m in available)
    found += [lowered_ids[m] for m in difflib.get_close_matches(lowered, list(lowered_ids), n=limit, cutoff=0.6)
              if lowered_ids[m] not in found]
    return found[:limit]


def key_problem(api_key):
    """Why an API key cannot be sent in an HTTP header, or None. Never quotes the key."""
    if not api_key or not api_key.strip():
        return "is empty"
    for position, char in enumerate(api_key):
        if char.isspace() or ord(char) < 0x20 or ord(char) == 0x7f:
            return "contains whitespace or a control character at position %d of %d (a copy-paste accident?)" % (
                position + 1, len(api_key))
        if ord(char) > 0x7e:
            return "contains a non-ASCII character at position %d of %d (a copy-paste accident?)" % (
                position + 1, len(api_key))
    return None


_MASK = "********"


def _mask(text, secret):
    """text (str or bytes) with every occurrence of secret replaced by ********.

    provider_check masks whatever a provider sends (body, header values) right after reading it, and again after
    decoding JSON (an escape such as \\u0073 can spell the key), always before anything is cut to a snippet: a key
    that crosses a cut would otherwise survive in part. A blank secret masks nothing.
    """
    if not isinstance(secret, str) or not secret.strip() or not text:
        return text
    if isinstance(text, bytes):
        return text.replace(to_bytes(secret, errors="surrogate_or_replace"), to_bytes(_MASK))
    return text.replace(secret, _MASK)


def _scrub(value, secret):
    """value with every occurrence of secret replaced (recursively in lists and dicts)."""
    if not isinstance(secret, str) or not secret.strip():
        return value
    if isinstance(value, str):
        return _mask(value, secret)
    if isinstance(value, list):
        return [_scrub(v, secret) for v in value]
    if isinstance(value, dict):
        return type(value)((k, _scrub(v, secret)) for k, v in value.items())
    return value


def _not_found_hint(base_url, auth_type):
    path = urlsplit(base_url).path.rstrip("/")
    for endpoint in _PROTOCOLS[auth_type]["endpoints"]:
        if path.endswith(endpoint):
            return " The base URL must stop before %s: try %s." % (endpoint, base_url.rstrip("/")[:-len(endpoint)])
    last = path.rsplit("/", 1)[-1]
    if _PROTOCOLS[auth_type]["adds"] is None and not (last[:1] == "v" and last[1:2] and last[1:2] in "0123456789"):
        return " Try %s/v1." % base_url.rstrip("/")  # v1, v2beta: ASCII digits
    return ""


def provider_check(base_url, api_key, model=None, probe="models", timeout=10, ca_path=None,
                   validate_certs=True, http_agent="qwenops.qwen_code provider_check", auth_type="openai",
                   key_name=None):
    """Ask a provider over the protocol auth_type (a key of _auth_types.AUTH_TYPES) whether it answers, accepts the
    key and offers the model. key_name is how the messages name the key (default: the auth type's variable, such as
    OPENAI_API_KEY).

    Returns a CheckResult with reason, msg, status, latency_ms, model_found, models_count, url, base_url, proxy,
    auth_type (and close_matches for model_not_found). Never raises for network or input problems and never puts
    the key in any field, even when the provider echoes it.
    """
    if key_name is None:
        key_name = AUTH_TYPES.get(auth_type, {}).get("key_env")
    result = _provider_check(base_url, api_key, model, probe, timeout, ca_path, validate_certs, http_agent, auth_type,
                             key_name)
    return CheckResult(_scrub(dict(result), api_key if isinstance(api_key, str) else None))


def _provider_check(base_url, api_key, model, probe, timeout, ca_path, validate_certs, http_agent, auth_type,
                    key_name):
    base_url = base_url if isinstance(base_url, str) else ""
    secret = api_key if isinstance(api_key, str) else None
    shown = redact_url(_mask(base_url, secret))
    result = CheckResult(reason="ok", msg="", status=None, latency_ms=None, model_found=None, models_count=None,
                         url=None, base_url=shown, proxy=None, auth_type=auth_type)
    try:
        parts, port = _checked_input(base_url, api_key, shown, auth_type, model, key_name)
        result["proxy"] = proxy_for(base_url)
        spec = _PROTOCOLS[auth_type]
        fields = dict(base_url=shown, host=parts.hostname, port=port, timeout=timeout, model=model, url=shown,
                      key_name=key_name, auth_type=auth_type, example=spec["example"], expected=spec["expected"],
                      url_rule=spec["url_rule"])
        headers = _auth_headers(auth_type, api_key, parts.hostname)
        request = _build_request(parts.scheme, headers, ca_path, validate_certs, timeout, http_agent)
        provider = _Provider(request, secret, result, fields)
        models_url, count_url = _urls(auth_type, base_url, model)[:2]
        if models_url:
            reply = provider.ask("GET", models_url)
            if reply.status != 200:
                raise _http_failure(reply, base_url, secret, fields)
            models = _model_ids(reply.body, secret, fields)
            result["models_count"] = len(models)
            if model:
                result["model_found"] = model in models
                _match_model(model, models, fields)
        else:
            _count_tokens(provider, count_url, base_url, secret, fields)
            result["model_found"] = True
        if probe == "chat":
            _chat_probe(provider, model, base_url, secret, fields)
    except _Failed as failure:
        result.update(reason=failure.reason, msg=failure.msg, **failure.extra)
        return result
    note = "" if not model else ", offers %s" % model
    note += " and completes a chat" if probe == "chat" else ""
    result.update(reason="ok", msg=_fmt("ok", model_note=note, latency_ms=result["latency_ms"], **fields))
    return result


def _checked_input(base_url, api_key, shown, auth_type, model, key_name):
    """Validate the input: (urlsplit parts, port) of an http(s) base URL without credentials, query or fragment, and
    without the API version the protocol appends itself, given a protocol the check knows, a key that can be sent in
    a header, and a model where the protocol has no model list. _Failed (invalid_input, invalid_url, invalid_key)
    otherwise; nothing is sent."""
    if auth_type not in _PROTOCOLS:
        raise _Failed("invalid_input", _fmt("unknown_auth_type", auth_type=auth_type, detail=", ".join(_PROTOCOLS)))
    spec = _PROTOCOLS[auth_type]
    try:
        parts = urlsplit(base_url)
        port = parts.port
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in base_url) \
            and "@" not in parts.netloc and not parts.query and not parts.fragment
    except ValueError:
        valid = False
    if not valid:
        raise _Failed("invalid_url", _fmt("invalid_url", base_url=shown, example=spec["example"]))
    if spec["adds"] and parts.path.rstrip("/").rsplit("/", 1)[-1] == spec["adds"]:
        root = shown.rstrip("/")
        raise _Failed("invalid_url", _fmt("version_in_url", base_url=shown, detail=spec["adds"], auth_type=auth_type,
                                          url="%s/%s" % (root, spec["adds"]), suggestion=root[:-len(spec["adds"]) - 1]))
    problem = key_problem(api_key if isinstance(api_key, str) else "")
    if problem:
        raise _Failed("invalid_key", _fmt("invalid_key", detail=problem, key_name=key_name))
    if spec["listing"] is None and not model:
        raise _Failed("invalid_input", _fmt("model_required", auth_type=auth_type))
    return parts, port or (443 if parts.scheme == "https" else 80)


def _build_request(scheme, headers, ca_path, validate_certs, timeout, http_agent):
    """Build the request: the key's headers (from _auth_headers), redirects not followed, ca_path trusted besides the
    system store (https only). _Failed (invalid_ca_path) when ca_path cannot be read or holds no certificate."""
    try:
        return make_request(ca_path=ca_path if scheme == "https" else None, validate_certs=validate_certs,
                            timeout=timeout, http_agent=http_agent, follow_redirects="none",
                            headers=dict(headers, Accept="application/json"))
    except (IOError, OSError, ssl.SSLError, ValueError) as e:
        detail = "%s (%s)" % (ca_path, to_native(getattr(e, "strerror", None) or getattr(e, "reason", None) or e))
        raise _Failed("invalid_ca_path", _fmt("invalid_ca_path", detail=detail))


# One answer: status, body (the key masked out), headers, latency_ms; or, without an HTTP answer, status None and the
# exception in error.
_Reply = namedtuple("_Reply", "status body headers latency_ms error")


def _call(request, method, url, secret, payload=None):
    """Call: one request, as a _Reply. Never raises: a failure below HTTP comes back in error."""
    data = None if payload is None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"} if data else None
    start = time.time()
    try:
        resp = request.open(method, url, data=data, headers=headers)
        status, body, reply_headers = resp.getcode(), resp.read(), resp.headers
    except HTTPError as e:
        status, reply_headers = e.code, e.headers
        try:
            body = e.read()
        except Exception:
            body = b""
    except Exception as e:  # pylint: disable=broad-except  # no traceback, ever: every failure gets a reason
        return _Reply(None, None, None, int((time.time() - start) * 1000), e)
    # Mask first: nothing the provider sent is cut or shown before the key is out of it.
    return _Reply(status, _mask(body or b"", secret), reply_headers, int((time.time() - start) * 1000), None)


class _Provider(object):
    """The requests of one check (URLs from _urls): each records its URL, latency and status in the result (and the
    URL in the message fields), and a failure below HTTP stops the check."""

    def __init__(self, request, secret, result, fields):
        self.request, self.secret, self.result, self.fields = request, secret, result, fields

    def ask(self, method, url, payload=None):
        self.fields["url"] = self.result["url"] = redact_url(_mask(url, self.secret))
        reply = _call(self.request, method, url, self.secret, payload)
        self.result["latency_ms"] = reply.latency_ms
        if reply.error is not None:
            raise _connection_failure(reply.error, self.result["proxy"], self.secret, self.fields)
        self.result["status"] = reply.status
        return reply


def _connection_failure(error, proxy, secret, fields):
    """The verdict on a request that got no HTTP answer (DNS, refused, timeout, TLS, proxy...)."""
    reason, key, detail = _classify_connection_error(error, proxy)
    return _Failed(reason, _fmt(key, detail=_mask(detail, secret), **fields))


def _key_rejected(status, body):
    """Whether an answer rejects the key: 401 or 403, or Google's 400 (INVALID_ARGUMENT) whose error details give
    the reason API_KEY_INVALID."""
    if status in (401, 403):
        return True
    data = _json_or_none(body) if status == 400 else None
    error = data.get("error") if isinstance(data, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    return isinstance(details, list) and any(isinstance(d, dict) and d.get("reason") == "API_KEY_INVALID"
                                             for d in details)


def _http_failure(reply, base_url, secret, fields):
    """Classify an HTTP failure: the verdict on an answer whose status is not 200, with the provider's own words
    and the hints that fit (where to stop the base URL, when to retry)."""
    status, body = reply.status, reply.body
    detail = _error_detail(body, secret)
    hint = ""
    if 300 <= status < 400:
        location = _mask((reply.headers or {}).get("Location"), secret) or "an unknown place"
        return _Failed("redirect", _fmt("redirect", status=status, **dict(fields, detail=redact_url(location))))
    if _key_rejected(status, body):
        reason = "unauthorized"
    elif status == 404:
        reason = "not_found"
        hint = _not_found_hint(_mask(base_url, secret), fields["auth_type"])
    elif status == 429:
        reason = "rate_limited"
        retry = _mask((reply.headers or {}).get("Retry-After"), secret)
        hint = (" The provider asks to retry after %s s." % retry) if retry else ""
        hint += (" It says: %s" % detail) if detail else ""
    elif status >= 500:
        reason = "server_error"
        hint = (" It says: %s" % detail) if detail else ""
    else:
        reason = "http_error"
    return _Failed(reason, _fmt(reason, status=status, detail=detail, **fields) + hint)


def _model_ids(body, secret, fields):
    """Parse the model list: the string ids of the protocol's list ({"data": [{"id": ...}]} for the OpenAI and
    Anthropic protocols, {"models": [{"name": "models/..."}]} for Gemini, without that prefix).
    _Failed (bad_response) for anything else."""
    spec = _PROTOCOLS[fields["auth_type"]]
    id_key, prefix = spec["id"], spec["prefix"]
    listing = _json_or_none(body)
    if not isinstance(listing, dict) or not isinstance(listing.get(spec["listing"]), list):
        detail = _snippet(body, secret=secret) or "an empty answer"
        if isinstance(listing, (dict, list)):
            detail = "JSON without a \"%s\" list of models: %s" % (spec["listing"], detail)
        raise _Failed("bad_response", _fmt("bad_response", detail=detail, **fields))
    ids = [m[id_key] for m in listing[spec["listing"]] if isinstance(m, dict) and isinstance(m.get(id_key), str)]
    return [i[len(prefix):] if i.startswith(prefix) else i for i in ids]


def _match_model(model, models, fields):
    """Match the model: _Failed (model_not_found, with close_matches) unless the provider lists it."""
    if model in models:
        return
    similar = close_matches(model, models)
    suggestion = (": close matches: %s" % ", ".join(similar)) if similar else \
        " (it lists %d models, none similar)" % len(models)
    raise _Failed("model_not_found", _fmt("model_not_found", suggestion=suggestion, **fields),
                  close_matches=similar)


def _count_tokens(provider, url, base_url, secret, fields):
    """For a protocol without a model list (vertex-ai): countTokens of the model proves the key and the model, and
    costs nothing. A 200 must have a number in "totalTokens"."""
    _ask_model(provider, url, {"contents": _contents()}, "countTokens", "totalTokens", base_url, secret, fields)


def _chat_probe(provider, model, base_url, secret, fields):
    """The chat probe: the smallest chat the protocol allows with the model must answer with the protocol's list
    ("choices", "output", "content" or "candidates")."""
    auth_type = fields["auth_type"]
    _ask_model(provider, _urls(auth_type, base_url, model)[2], _chat_payload(auth_type, model), "chat",
               _PROTOCOLS[auth_type]["answer"], base_url, secret, fields)


def _ask_model(provider, url, payload, call, answer, base_url, secret, fields):
    """POST a request that names the model: a 200 must be a JSON object with the list `answer` (a number, for
    countTokens' totalTokens). A 400 or 404 that talks about the model, and does not reject the key, means the
    provider does not serve the model (model_not_found), even when it lists it."""
    reply = provider.ask("POST", url, payload)
    if reply.status != 200:
        if reply.status in (400, 404) and not _key_rejected(reply.status, reply.body) and \
                detail_mentions_model(reply.body):
            said = " (the %s call says: %s)" % (call, _error_detail(reply.body, secret))
            raise _Failed("model_not_found", _fmt("model_not_found", suggestion=said, **fields),
                          model_found=False, close_matches=[])
        raise _http_failure(reply, base_url, secret, fields)
    found = _json_or_none(reply.body)
    value = found.get(answer) if isinstance(found, dict) else None
    counted = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not (counted if answer == "totalTokens" else isinstance(value, list)):
        detail = _snippet(reply.body, secret=secret) or "empty"
        raise _Failed("bad_response", _fmt("bad_response", detail=detail, **fields))


# The provider's answer, read as a browser would: helpers for the steps above.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _reject_constant(name):
    raise ValueError("%s is not JSON" % name)


def _json_or_none(body):
    """The JSON value of body (bytes decoded as UTF-8, bad bytes replaced, like a browser), or None.

    NaN and Infinity are refused as JavaScript's JSON.parse refuses them; so is nesting too deep to parse.
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, TypeError, RecursionError):
        return None


def _snippet(body, size=80, secret=None):
    """body (bytes or str) on one line, masked, then cut to size characters (code points)."""
    if isinstance(body, bytes):
        text = body.decode("utf-8", "replace")
    else:
        text = _LONE_SURROGATE.sub("\ufffd", body or "")
    text = " ".join(_mask(text, secret).split())
    return (text[:size] + "...") if len(text) > size else text


def _error_detail(body, secret=None):
    """The provider's own words: the first non-blank string among error.message, error.code (error is an object),
    error (a string) and message of a JSON body, cut to 160 characters; else the body's first 80 characters."""
    data = _json_or_none(body)
    if isinstance(data, dict):
        err = data.get("error")
        candidates = [err.get("message"), err.get("code")] if isinstance(err, dict) else [err]
        for text in candidates + [data.get("message")]:
            shown = _snippet(text, 160, secret) if isinstance(text, str) else ""
            if shown:
                return shown
    return _snippet(body, secret=secret)


def detail_mentions_model(body):
    data = _json_or_none(body)
    if not isinstance(data, dict):
        return False
    text = json.dumps(data.get("error") or data.get("message") or {}).lower()
    return "model_not_found" in text or ("model" in text and ("not" in text or "invalid" in text) and
                                         ("exist" in text or "found" in text or "support" in text or "valid" in text))
