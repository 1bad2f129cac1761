# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the qwenops.qwen_code modules: the provider check, and the
checks of qwen OAuth credentials.

Runs on the managed host: Python standard library and ansible.module_utils only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import errno
import hashlib
import json
import math
import re
import socket
import ssl
import time

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
    @property
    def ok(self):
        return self["reason"] == "ok"


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
        parts = urlsplit(base_url)
        port = parts.port
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in base_url) \
            and "@" not in parts.netloc and not parts.query and not parts.fragment
    except ValueError:
        valid = False
    if not valid:
        result.update(reason="invalid_url", msg=_fmt("invalid_url", base_url=shown))
        return result
    problem = key_problem(api_key if isinstance(api_key, str) else "")
    if problem:
        result.update(reason="invalid_key", msg=_fmt("invalid_key", detail=problem))
        return result
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    result["proxy"] = proxy = proxy_for(base_url)
    fields = dict(base_url=shown, host=host, port=port, timeout=timeout, model=model, url=shown)

    try:
        request = make_request(ca_path=ca_path if parts.scheme == "https" else None, validate_certs=validate_certs,
                               timeout=timeout, http_agent=http_agent, follow_redirects="none",
                               headers={"Authorization": "Bearer %s" % api_key, "Accept": "application/json"})
    except (IOError, OSError, ssl.SSLError, ValueError) as e:
        detail = "%s (%s)" % (ca_path, to_native(getattr(e, "strerror", None) or getattr(e, "reason", None) or e))
        result.update(reason="invalid_ca_path", msg=_fmt("invalid_ca_path", detail=detail))
        return result
    root = base_url.rstrip("/")

    def call(method, path, payload=None):
        url = root + path
        fields["url"] = result["url"] = redact_url(_mask(url, secret))
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
            result["latency_ms"] = int((time.time() - start) * 1000)
            reason, key, detail = _classify_connection_error(e, proxy)
            result.update(reason=reason, msg=_fmt(key, detail=_mask(detail, secret), **fields))
            return None, None, None
        result["latency_ms"] = int((time.time() - start) * 1000)
        result["status"] = status
        # Mask first: nothing the provider sent is cut or shown before the key is out of it.
        return status, _mask(body or b"", secret), reply_headers

    def header(reply_headers, name):
        return _mask((reply_headers or {}).get(name), secret)

    def fail_for_status(status, body, reply_headers):
        detail = _error_detail(body, secret)
        hint = ""
        if 300 <= status < 400:
            location = header(reply_headers, "Location") or "an unknown place"
            result.update(reason="redirect", msg=_fmt("redirect", status=status, **dict(fields, detail=redact_url(
                location))))
            return
        if status in (401, 403):
            reason = "unauthorized"
        elif status == 404:
            reason = "not_found"
            hint = _not_found_hint(_mask(base_url, secret))
        elif status == 429:
            reason = "rate_limited"
            retry = header(reply_headers, "Retry-After")
            hint = (" The provider asks to retry after %s s." % retry) if retry else ""
            hint += (" It says: %s" % detail) if detail else ""
        elif status >= 500:
            reason = "server_error"
            hint = (" It says: %s" % detail) if detail else ""
        else:
            reason = "http_error"
        result.update(reason=reason, msg=_fmt(reason, status=status, detail=detail, **fields) + hint)

    status, body, reply_headers = call("GET", "/models")
    if status is None:
        return result
    if status != 200:
        fail_for_status(status, body, reply_headers)
        return result
    listing = _json_or_none(body)
    if not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
        detail = _snippet(body, secret=secret) or "an empty answer"
        if isinstance(listing, (dict, list)):
            detail = "JSON without a \"data\" list of models: %s" % detail
        result.update(reason="bad_response", msg=_fmt("bad_response", detail=detail, **fields))
        return result
    models = [m["id"] for m in listing["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]
    result["models_count"] = len(models)
    if model:
        result["model_found"] = model in models
        if not result["model_found"]:
            similar = close_matches(model, models)
            suggestion = (": close matches: %s" % ", ".join(similar)) if similar else \
                " (it lists %d models, none similar)" % len(models)
            result.update(reason="model_not_found", close_matches=similar,
                          msg=_fmt("model_not_found", suggestion=suggestion, **fields))
            return result

    if probe == "chat":
        payload = {"model": model, "max_tokens": 1, "stream": False,
                   "messages": [{"role": "user", "content": "Reply with one word."}]}
        status, body, reply_headers = call("POST", "/chat/completions", payload)
        if status is None:
            return result
        if status != 200:
            if status in (400, 404) and detail_mentions_model(body):
                said = " (the chat call says: %s)" % _error_detail(body, secret)
                result.update(reason="model_not_found", model_found=False, close_matches=[],
                              msg=_fmt("model_not_found", suggestion=said, **fields))
            else:
                fail_for_status(status, body, reply_headers)
            return result
        answer = _json_or_none(body)
        if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
            detail = _snippet(body, secret=secret) or "empty"
            result.update(reason="bad_response", msg=_fmt("bad_response", detail=detail, **fields))
            return result

    note = "" if not model else ", offers %s" % model
    note += " and completes a chat" if probe == "chat" else ""
    result.update(reason="ok", msg=_fmt("ok", model_note=note, latency_ms=result["latency_ms"], **fields))
    return result


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


# The fields the qwen CLI requires in oauth_creds.json (packages/core/src/qwen/qwenOAuth2.ts).
OAUTH_REQUIRED = (("access_token", "a non-empty string"), ("refresh_token", "a non-empty string"),
                  ("token_type", "a non-empty string"), ("expiry_date", "a number of milliseconds since the epoch"))


def token_fingerprint(token):
    """A short sha256 of a token: enough to compare hosts, useless to an attacker."""
    return hashlib.sha256(to_bytes(token, errors="surrogate_or_strict")).hexdigest()[:16]


def _type_name(value):
    return {type(None): "null", bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def inspect_oauth_creds(data, now=None):
    """Check qwen OAuth credentials (a dict) like the CLI does; return facts about them, never token values.

    Returns valid plus invalid_reason, or valid plus expiry_date, expired, expires_in, token_type,
    refresh_token_sha256, access_token_sha256 and resource_url (when present).
    """
    if not isinstance(data, dict):
        return dict(valid=False, invalid_reason="the credentials must be a JSON object, not %s" % _type_name(data))
    for field, expected in OAUTH_REQUIRED:
        if field not in data:
            return dict(valid=False, invalid_reason="%s is missing (it must be %s)" % (field, expected))
        value = data[field]
        if field == "expiry_date":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        else:
            ok = isinstance(value, str) and value.strip() != ""
        if not ok:
            if value == "":
                shown = "an empty string"
            elif isinstance(value, float) and not math.isfinite(value):
                shown = "not finite"
            else:
                shown = _type_name(value)
            return dict(valid=False, invalid_reason="%s must be %s, not %s" % (field, expected, shown))
    if data["expiry_date"] < 10 ** 12:
        return dict(valid=False, invalid_reason="expiry_date %d looks like seconds: the CLI expects milliseconds "
                                                "since the epoch" % data["expiry_date"])
    resource_url = data.get("resource_url")
    if resource_url is not None and not isinstance(resource_url, str):
        return dict(valid=False, invalid_reason="resource_url must be a string, not %s" % _type_name(resource_url))
    now_ms = (time.time() if now is None else now) * 1000
    info = dict(valid=True, expiry_date=int(data["expiry_date"]), expired=data["expiry_date"] <= now_ms,
                expires_in=int((data["expiry_date"] - now_ms) // 1000), token_type=data["token_type"],
                refresh_token_sha256=token_fingerprint(data["refresh_token"]),
                access_token_sha256=token_fingerprint(data["access_token"]))
    if resource_url:
        info["resource_url"] = resource_url
    return info
