# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The provider check: does an OpenAI-compatible provider answer, accept the key and offer the model? provider_check()
runs it in steps, each a small function below: validate the input (_checked_input), build the request
(_build_request), call (_Provider.ask: _call, then _connection_failure when no HTTP answer came), classify an HTTP
failure (_http_failure), parse the model list (_model_ids), match the model (_match_model), and the chat probe
(_chat_probe). A step that finds a problem raises (or returns, for the caller to raise) _Failed with the reason and
the operator's message from MESSAGES; _provider_check() puts that into its result.

The key is masked out of whatever the provider sends, right after it is read, and out of the whole result at the
end. image/check.mjs ports this file line by line; tests/unit/test_check_parity.py runs both against one table of
stub providers.

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
from urllib.parse import urlsplit

from ansible.module_utils.common.text.converters import to_bytes, to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._transport import make_request, proxy_for, redact_url

# What each failure means for an operator, keyed by reason. `{...}` fields are filled in by provider_check();
# the container image's `check` command shows the same texts (image/build.yml exports this dict and
# image/check.mjs fills in base_url, host, port, timeout, model, url, status, detail, suggestion, latency_ms and
# model_note): keep those placeholders when editing a text. Hints that only this module computes are appended
# after formatting.
MESSAGES = {
    "ok": "{base_url} answered in {latency_ms} ms{model_note}.",
    "invalid_url": "The base URL {base_url!r} is not a valid http(s) URL: expected https://host[:port]/path, "
                   "for example https://openrouter.ai/api/v1.",
    "invalid_key": "The API key {detail}: check qwen_code_api_key (in the image: OPENAI_API_KEY).",
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
    "unauthorized": "{base_url} rejected the API key (HTTP {status}): check qwen_code_api_key (in the image: "
                    "OPENAI_API_KEY) for this provider (OpenRouter keys start with sk-or-, ModelScope keys with ms-).",
    "not_found": "{url} does not exist (HTTP 404): the base URL is probably wrong; OpenAI-compatible URLs usually "
                 "end in the API version, such as /v1 or /compatible-mode/v1.",
    "rate_limited": "{base_url} is rate limiting this key (HTTP 429): the free tier's quota or the request rate is "
                    "exhausted; wait, or use a paid key.",
    "model_not_found": "The provider does not offer the model {model!r}{suggestion}.",
    "server_error": "{base_url} failed with HTTP {status}: the provider has a problem; try again later.",
    "bad_response": "{url} answered with something that is not an OpenAI-compatible JSON answer ({detail}): "
                    "the base URL may point at a web page or a different API.",
    "http_error": "{url} answered HTTP {status} ({detail}).",
}


class CheckResult(dict):
    """What provider_check() found: reason, msg, status, latency_ms, model_found, models_count, url, base_url, proxy
    (and close_matches for model_not_found)."""


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
    that crosses a cut would otherwise survive in part. A blank secret masks nothing. image/check.mjs does the same.
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


def _not_found_hint(base_url):
    path = urlsplit(base_url).path.rstrip("/")
    for endpoint in ("/chat/completions", "/completions", "/models", "/responses"):
        if path.endswith(endpoint):
            return " The base URL must stop before %s: try %s." % (endpoint, base_url.rstrip("/")[:-len(endpoint)])
    last = path.rsplit("/", 1)[-1]
    if not (last[:1] == "v" and last[1:2] and last[1:2] in "0123456789"):  # v1, v2beta: ASCII digits, as check.mjs
        return " Try %s/v1." % base_url.rstrip("/")
    return ""


def provider_check(base_url, api_key, model=None, probe="models", timeout=10, ca_path=None,
                   validate_certs=True, http_agent="qwenops.qwen_code provider_check"):
    """Ask an OpenAI-compatible provider whether it answers, accepts the key and offers the model.

    Returns a CheckResult with reason, msg, status, latency_ms, model_found, models_count, url, base_url, proxy
    (and close_matches for model_not_found). Never raises for network or input problems and never puts the key in
    any field, even when the provider echoes it.
    """
    result = _provider_check(base_url, api_key, model, probe, timeout, ca_path, validate_certs, http_agent)
    return CheckResult(_scrub(dict(result), api_key if isinstance(api_key, str) else None))


def _provider_check(base_url, api_key, model, probe, timeout, ca_path, validate_certs, http_agent):
    base_url = base_url if isinstance(base_url, str) else ""
    secret = api_key if isinstance(api_key, str) else None
    shown = redact_url(_mask(base_url, secret))
    result = CheckResult(reason="ok", msg="", status=None, latency_ms=None, model_found=None, models_count=None,
                         url=None, base_url=shown, proxy=None)
    try:
        parts, port = _checked_input(base_url, api_key, shown)
        result["proxy"] = proxy_for(base_url)
        fields = dict(base_url=shown, host=parts.hostname, port=port, timeout=timeout, model=model, url=shown)
        request = _build_request(parts.scheme, api_key, ca_path, validate_certs, timeout, http_agent)
        provider = _Provider(request, base_url, secret, result, fields)
        reply = provider.ask("GET", "/models")
        if reply.status != 200:
            raise _http_failure(reply, base_url, secret, fields)
        models = _model_ids(reply.body, secret, fields)
        result["models_count"] = len(models)
        if model:
            result["model_found"] = model in models
            _match_model(model, models, fields)
        if probe == "chat":
            _chat_probe(provider, model, base_url, secret, fields)
    except _Failed as failure:
        result.update(reason=failure.reason, msg=failure.msg, **failure.extra)
        return result
    note = "" if not model else ", offers %s" % model
    note += " and completes a chat" if probe == "chat" else ""
    result.update(reason="ok", msg=_fmt("ok", model_note=note, latency_ms=result["latency_ms"], **fields))
    return result


def _checked_input(base_url, api_key, shown):
    """Validate the input: (urlsplit parts, port) of an http(s) base URL without credentials, query or fragment,
    given a key that can be sent in a header. _Failed (invalid_url, invalid_key) otherwise; nothing is sent."""
    try:
        parts = urlsplit(base_url)
        port = parts.port
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in base_url) \
            and "@" not in parts.netloc and not parts.query and not parts.fragment
    except ValueError:
        valid = False
    if not valid:
        raise _Failed("invalid_url", _fmt("invalid_url", base_url=shown))
    problem = key_problem(api_key if isinstance(api_key, str) else "")
    if problem:
        raise _Failed("invalid_key", _fmt("invalid_key", detail=problem))
    return parts, port or (443 if parts.scheme == "https" else 80)


def _build_request(scheme, api_key, ca_path, validate_certs, timeout, http_agent):
    """Build the request: the key in the Authorization header, redirects not followed, ca_path trusted besides the
    system store (https only). _Failed (invalid_ca_path) when ca_path cannot be read or holds no certificate."""
    try:
        return make_request(ca_path=ca_path if scheme == "https" else None, validate_certs=validate_certs,
                            timeout=timeout, http_agent=http_agent, follow_redirects="none",
                            headers={"Authorization": "Bearer %s" % api_key, "Accept": "application/json"})
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
    """The requests of one check, to paths under its base URL: each records its URL, latency and status in the
    result (and the URL in the message fields), and a failure below HTTP stops the check."""

    def __init__(self, request, base_url, secret, result, fields):
        self.request, self.root, self.secret = request, base_url.rstrip("/"), secret
        self.result, self.fields = result, fields

    def ask(self, method, path, payload=None):
        url = self.root + path
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


def _http_failure(reply, base_url, secret, fields):
    """Classify an HTTP failure: the verdict on an answer whose status is not 200, with the provider's own words
    and the hints that fit (where to stop the base URL, when to retry)."""
    status, body = reply.status, reply.body
    detail = _error_detail(body, secret)
    hint = ""
    if 300 <= status < 400:
        location = _mask((reply.headers or {}).get("Location"), secret) or "an unknown place"
        return _Failed("redirect", _fmt("redirect", status=status, **dict(fields, detail=redact_url(location))))
    if status in (401, 403):
        reason = "unauthorized"
    elif status == 404:
        reason = "not_found"
        hint = _not_found_hint(_mask(base_url, secret))
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
    """Parse the model list: the string ids of an OpenAI-compatible {"data": [{"id": ...}]} answer.
    _Failed (bad_response) for anything else."""
    listing = _json_or_none(body)
    if not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
        detail = _snippet(body, secret=secret) or "an empty answer"
        if isinstance(listing, (dict, list)):
            detail = "JSON without a \"data\" list of models: %s" % detail
        raise _Failed("bad_response", _fmt("bad_response", detail=detail, **fields))
    return [m["id"] for m in listing["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]


def _match_model(model, models, fields):
    """Match the model: _Failed (model_not_found, with close_matches) unless the provider lists it."""
    if model in models:
        return
    similar = close_matches(model, models)
    suggestion = (": close matches: %s" % ", ".join(similar)) if similar else \
        " (it lists %d models, none similar)" % len(models)
    raise _Failed("model_not_found", _fmt("model_not_found", suggestion=suggestion, **fields),
                  close_matches=similar)


def _chat_probe(provider, model, base_url, secret, fields):
    """The chat probe: a one-token chat completion with the model must answer with a "choices" list. A 400 or 404
    that talks about the model means the provider lists a model it does not serve (model_not_found)."""
    payload = {"model": model, "max_tokens": 1, "stream": False,
               "messages": [{"role": "user", "content": "Reply with one word."}]}
    reply = provider.ask("POST", "/chat/completions", payload)
    if reply.status != 200:
        if reply.status in (400, 404) and detail_mentions_model(reply.body):
            said = " (the chat call says: %s)" % _error_detail(reply.body, secret)
            raise _Failed("model_not_found", _fmt("model_not_found", suggestion=said, **fields),
                          model_found=False, close_matches=[])
        raise _http_failure(reply, base_url, secret, fields)
    answer = _json_or_none(reply.body)
    if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
        detail = _snippet(reply.body, secret=secret) or "empty"
        raise _Failed("bad_response", _fmt("bad_response", detail=detail, **fields))


# image/check.mjs ports these helpers (and difflib's ratio) line by line; tests/unit/test_check_parity.py runs both
# against one table of stub providers. Keep them in step.
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
