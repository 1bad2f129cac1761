# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared pieces of the qwenops.qwen_code modules: provider presets, TLS context, and the provider check."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import errno
import json
import socket
import ssl
import time

from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlsplit
from ansible.module_utils.urls import Request, make_context

# OpenAI-compatible base URLs of the provider presets. roles/qwen_code/vars/main.yml keeps the same table
# (tests/unit/test_presets_in_sync.py checks that they agree).
PROVIDER_PRESETS = {
    "openrouter": "https://openrouter.ai/api/v1",
    "modelscope": "https://api-inference.modelscope.cn/v1",
    "dashscope": "https://dashscope.aliyuncs.com/compatible-mode/v1",
    "dashscope_intl": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    "openai": "https://api.openai.com/v1",
}

# What each failure means for an operator. `{...}` fields are filled in by provider_check(); the container
# image's `check` command shows the same texts (image/build.yml exports them).
MESSAGES = {
    "ok": "{base_url} answered in {latency_ms} ms{model_note}.",
    "invalid_url": "The base URL {base_url!r} is not a valid http(s) URL: expected https://host[:port]/path, "
                   "for example https://openrouter.ai/api/v1.",
    "dns": "Cannot resolve {host}: check the base URL's host name, this host's DNS, or set a proxy "
           "(qwen_code_https_proxy, or HTTPS_PROXY).",
    "connection_refused": "{host}:{port} refused the connection: nothing listens there, or a firewall rejects it. "
                          "Check the base URL and port, or the proxy.",
    "timeout": "No answer from {host}:{port} within {timeout} s: a firewall may drop the traffic, or a proxy is "
               "needed (qwen_code_https_proxy, or HTTPS_PROXY).",
    "tls": "TLS verification of {host} failed ({detail}). If a proxy or private CA signs this certificate, set "
           "qwen_code_ca_bundle (in the image: a PEM file in certs/ or NODE_EXTRA_CA_CERTS) to a bundle with that CA.",
    "proxy": "The proxy refused or failed the request ({detail}): check qwen_code_https_proxy / https_proxy.",
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


def extra_ca_context(ca_path):
    """An SSL context trusting the system store plus the PEM bundle at ca_path (like NODE_EXTRA_CA_CERTS)."""
    context = make_context()
    context.load_verify_locations(cafile=ca_path)
    return context


def redact_url(url):
    """The URL without any user:password@ part, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    if parts.username or parts.password:
        netloc = parts.hostname or ""
        if parts.port:
            netloc += ":%d" % parts.port
        return parts._replace(netloc=netloc).geturl()
    return url


class CheckResult(dict):
    @property
    def ok(self):
        return self["reason"] == "ok"


def _fmt(reason, **fields):
    return MESSAGES[reason].format(**fields)


def _classify_url_error(err, fields):
    """Map a URLError / socket error to (reason, detail)."""
    cause = getattr(err, "reason", err)
    detail = to_native(cause)
    if isinstance(cause, ssl.SSLError) or isinstance(cause, getattr(ssl, "SSLCertVerificationError", ssl.SSLError)) \
            or "CERTIFICATE_VERIFY_FAILED" in detail or "certificate verify failed" in detail:
        return "tls", getattr(cause, "verify_message", None) or detail
    if isinstance(cause, socket.gaierror):
        return "dns", detail
    if isinstance(cause, (socket.timeout,)) or "timed out" in detail:
        return "timeout", detail
    if isinstance(cause, ConnectionRefusedError) or getattr(cause, "errno", None) == errno.ECONNREFUSED:
        return "connection_refused", detail
    if "Tunnel connection failed" in detail or "proxy" in detail.lower():
        return "proxy", detail
    return "connection_refused" if "refused" in detail.lower() else "bad_response", detail


def close_matches(model, available, limit=5):
    lowered = model.lower()
    found = [m for m in available if lowered in m.lower() or m.lower() in lowered]
    for m in difflib.get_close_matches(model, available, n=limit, cutoff=0.5):
        if m not in found:
            found.append(m)
    tail = model.split("/")[-1].lower()
    for m in available:
        if m not in found and tail and tail in m.lower():
            found.append(m)
    return found[:limit]


def provider_check(base_url, api_key, model=None, probe="models", timeout=10, ca_path=None,
                   validate_certs=True, http_agent="qwenops.qwen_code provider_check"):
    """Ask an OpenAI-compatible provider whether it answers, accepts the key and offers the model.

    Returns a CheckResult with reason, msg, status, latency_ms, model_found, models_count, url. Never raises for
    network or input problems and never puts the key in any field.
    """
    shown = redact_url(base_url or "")
    result = CheckResult(reason="ok", msg="", status=None, latency_ms=None, model_found=None, models_count=None,
                         url=None, base_url=shown)
    try:
        parts = urlsplit(base_url or "")
        port = parts.port
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in base_url \
            and not parts.username and not parts.password
    except ValueError:
        valid = False
    if not valid:
        result.update(reason="invalid_url", msg=_fmt("invalid_url", base_url=shown))
        return result
    host = parts.hostname
    port = port or (443 if parts.scheme == "https" else 80)
    fields = dict(base_url=shown, host=host, port=port, timeout=timeout, model=model)

    context = None
    if parts.scheme == "https" and validate_certs and ca_path:
        try:
            context = extra_ca_context(ca_path)
        except (IOError, OSError, ssl.SSLError) as e:
            result.update(reason="tls", msg="Cannot load the CA bundle %s: %s" % (ca_path, to_native(e)))
            return result
    request = Request(timeout=timeout, validate_certs=validate_certs, context=context, http_agent=http_agent,
                      headers={"Authorization": "Bearer %s" % api_key, "Accept": "application/json"})
    root = base_url.rstrip("/")

    def call(method, path, payload=None):
        url = root + path
        fields["url"] = redact_url(url)
        result["url"] = fields["url"]
        data = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if data else None
        start = time.time()
        try:
            resp = request.open(method, url, data=data, headers=headers)
            status, body = resp.getcode(), resp.read()
        except HTTPError as e:
            status = e.code
            try:
                body = e.read()
            except Exception:
                body = b""
        except (URLError, socket.error, ssl.SSLError, ValueError) as e:
            result["latency_ms"] = int((time.time() - start) * 1000)
            reason, detail = _classify_url_error(e, fields)
            result.update(reason=reason, msg=_fmt(reason, detail=detail, **fields))
            return None, None
        result["latency_ms"] = int((time.time() - start) * 1000)
        result["status"] = status
        return status, body

    def fail_for_status(status, body):
        detail = _error_detail(body)
        if status in (401, 403):
            reason = "unauthorized"
        elif status == 404:
            if detail_mentions_model(body):
                return False
            reason = "not_found"
        elif status == 429:
            reason = "rate_limited"
        elif status >= 500:
            reason = "server_error"
        else:
            reason = "http_error"
        result.update(reason=reason, msg=_fmt(reason, status=status, detail=detail, **fields))
        return True

    status, body = call("GET", "/models")
    if status is None:
        return result
    if status != 200:
        fail_for_status(status, body)
        return result
    try:
        listing = json.loads(body)
        models = [m["id"] for m in listing["data"] if isinstance(m, dict) and "id" in m]
    except (ValueError, KeyError, TypeError) as e:
        detail = _snippet(body) or to_native(e)
        result.update(reason="bad_response", msg=_fmt("bad_response", detail=detail, **fields))
        return result
    result["models_count"] = len(models)
    if model:
        result["model_found"] = model in models
        if not result["model_found"]:
            similar = close_matches(model, models)
            suggestion = (": close matches: %s" % ", ".join(similar)) if similar else \
                " (it lists %d models, none similar)" % len(models)
            result.update(reason="model_not_found", msg=_fmt("model_not_found", suggestion=suggestion, **fields),
                          close_matches=similar)
            return result

    if probe == "chat":
        payload = {"model": model, "max_tokens": 1, "messages": [{"role": "user", "content": "ping"}]}
        status, body = call("POST", "/chat/completions", payload)
        if status is None:
            return result
        if status != 200:
            if status == 404 and detail_mentions_model(body):
                result.update(reason="model_not_found", model_found=False,
                              msg=_fmt("model_not_found", suggestion=" (the chat call says so)", **fields))
            else:
                fail_for_status(status, body)
            return result
        try:
            answer = json.loads(body)
            answer["choices"]
        except (ValueError, KeyError, TypeError):
            result.update(reason="bad_response", msg=_fmt("bad_response", detail=_snippet(body), **fields))
            return result

    note = "" if not model else ", offers %s" % model
    result.update(reason="ok", msg=_fmt("ok", model_note=note + (" and completes a chat" if probe == "chat" else ""),
                                        latency_ms=result["latency_ms"], **fields))
    return result


def _snippet(body, size=80):
    text = to_native(body or b"", errors="replace").strip().replace("\n", " ")
    return (text[:size] + "...") if len(text) > size else text


def _error_detail(body):
    try:
        err = json.loads(body).get("error")
        if isinstance(err, dict):
            return to_native(err.get("message") or err.get("code") or "")
        if err:
            return to_native(err)
    except (ValueError, AttributeError, TypeError):
        pass
    return _snippet(body)


def detail_mentions_model(body):
    try:
        err = json.loads(body).get("error") or {}
    except (ValueError, AttributeError, TypeError):
        return False
    text = json.dumps(err).lower()
    return "model_not_found" in text or ("model" in text and "not" in text and "exist" in text)


# The fields the qwen CLI requires in oauth_creds.json (packages/core/src/qwen/qwenOAuth2.ts).
OAUTH_REQUIRED = (("access_token", "a non-empty string"), ("refresh_token", "a non-empty string"),
                  ("token_type", "a non-empty string"), ("expiry_date", "a number of milliseconds since the epoch"))


def token_fingerprint(token):
    """A short sha256 of a token: enough to compare hosts, useless to an attacker."""
    import hashlib
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]


def inspect_oauth_creds(data, now=None):
    """Check qwen OAuth credentials (a dict) like the CLI does; return facts about them, never token values."""
    if not isinstance(data, dict):
        return dict(valid=False, invalid_reason="the credentials must be a JSON object, not %s" % type(data).__name__)
    for field, expected in OAUTH_REQUIRED:
        value = data.get(field)
        if field == "expiry_date":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, str) and value.strip() != ""
        if field not in data:
            return dict(valid=False, invalid_reason="%s is missing (it must be %s)" % (field, expected))
        if not ok:
            return dict(valid=False, invalid_reason="%s must be %s, not %s" % (field, expected, type(value).__name__))
    if data["expiry_date"] < 10 ** 12:
        return dict(valid=False, invalid_reason="expiry_date %d looks like seconds: the CLI expects milliseconds "
                                                "since the epoch" % data["expiry_date"])
    resource_url = data.get("resource_url")
    if resource_url is not None and not isinstance(resource_url, str):
        return dict(valid=False, invalid_reason="resource_url must be a string, not %s" % type(resource_url).__name__)
    now_ms = (time.time() if now is None else now) * 1000
    info = dict(valid=True, expiry_date=int(data["expiry_date"]), expired=data["expiry_date"] <= now_ms,
                expires_in=int((data["expiry_date"] - now_ms) // 1000), token_type=data["token_type"],
                refresh_token_sha256=token_fingerprint(data["refresh_token"]),
                access_token_sha256=token_fingerprint(data["access_token"]))
    if resource_url:
        info["resource_url"] = resource_url
    return info
