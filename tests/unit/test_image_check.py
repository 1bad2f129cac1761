"""The image's `check` command (image/check.py, bundled by image/build_check.py into check.pyz) against ONE table of
stub providers, next to provider_check() itself.

Every row is run twice: provider_check() in this process, and the image's check with `--json [--chat]` (the bundle,
built from this checkout by build_check.py as the image's build stage builds it, loaded as `python3 -I -S check.pyz`
loads it, isolated from this virtualenv's packages: whatever the bundle lacks fails here; one process serves all
rows, see SERVER) with the provider in its environment (the row's auth type's
variables from AUTH_TYPES, such as OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL, and QWEN_AUTH_TYPE unless the
row tests how the check infers it; the key is never on a command line). Both must give the row's reason and the
same result, and neither may show the canary key (QWEN_TEST_CANARY_KEY, or a default), not even in part: no
8-character piece of it may appear, which catches a key cut in two by a snippet. Both must also send the same
requests (method, path, JSON body), with the key in the header the qwen CLI uses for the row's protocol and host
(api.anthropic.com is resolved to 127.0.0.1 on both sides for the rows that need Anthropic's own host).

Only the latency differs (two runs): it is left out of the comparison. The image's check was a JavaScript port until
issue 26 (docs/ARCHITECTURE.md: why the image runs Python for its check); the rows are the port's parity table.
"""
import importlib.util
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import zipfile

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._auth_types import AUTH_TYPES
from ansible_collections.qwenops.qwen_code.plugins.module_utils._provider_check import MESSAGES, key_problem, provider_check
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO, RawServer, ScenarioServer

pytestmark = pytest.mark.usefixtures("no_proxy_env")

KEY = os.environ.get("QWEN_TEST_CANARY_KEY") or "sk-qwenops-CANARY-7f3e9a1c5b2d"
PIECE = 8
PIECES = sorted({KEY[i:i + PIECE] for i in range(max(1, len(KEY) - PIECE + 1))})
BUILD_CHECK = os.path.join(REPO, "image", "build_check.py")
MODEL = "qwen/qwen3-coder"
IDS = ("qwen/qwen3-coder", "qwen/qwen3-coder:free", "Qwen/Qwen3-Coder-480B-A35B-Instruct", "qwen-plus",
       "qwen3-coder-plus", "gpt-4o", "o1", "o3", "deepseek/deepseek-chat", "qwen/qwen-2.5-72b-instruct",
       "meta-llama/llama-3.1-70b-instruct", "mistralai/mistral-large", "anthropic/claude-3.5-sonnet")
PAD = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore " * 3
JSON_TYPE = [("Content-Type", "application/json")]


def models(*ids):
    return 200, JSON_TYPE, json.dumps({"object": "list", "data": [{"id": i} for i in (ids or IDS)]})


def error(status, message=None, headers=(), **fields):
    body = dict(fields)
    if message is not None:
        body["error"] = {"message": message}
    return status, JSON_TYPE + list(headers), json.dumps(body)


def text(status, body, content_type="text/plain", headers=()):
    return status, [("Content-Type", content_type)] + list(headers), body


def echo_at(position, tail=" (request id 5c1f; see the provider's status page for more)"):
    """A provider's error text with the key starting at `position`: across the 80- or 160-character cut."""
    return PAD[:position] + KEY + tail


def escaped_echo_at(position):
    """A JSON error whose message spells the key with a \\u escape: only JSON decoding reveals it."""
    body = json.dumps({"error": {"message": echo_at(position)}})
    return body.replace(KEY, "\\u%04x" % ord(KEY[0]) + KEY[1:])


OK_CHAT = (200, JSON_TYPE, json.dumps({"choices": [{"message": {"role": "assistant", "content": "pong"}}]}))
GET, POST = "GET", "POST"

# The other protocols: their model ids, the paths the CLI asks under the base URL (the stub's /<name>/v1 for
# openai-responses, /<name> for the others), their answers and error shapes.
CLAUDE = "claude-sonnet-4-5"
CLAUDES = (CLAUDE, "claude-opus-4-1", "claude-3-5-haiku-latest", "claude-3-7-sonnet-latest")
GEMINI = "gemini-2.5-flash"
GEMINIS = (GEMINI, "gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-2.0-flash", "text-embedding-004")
RESP_CHAT = "/v1/responses"
ANTH_MODELS, ANTH_CHAT = "/v1/models?limit=1000", "/v1/messages"
GEM_MODELS, GEM_CHAT = "/v1beta/models?pageSize=1000", "/v1beta/models/%s:generateContent" % GEMINI
VTX = "/v1beta1/publishers/google/models/%s" % GEMINI
VTX_COUNT, VTX_CHAT = VTX + ":countTokens", VTX + ":generateContent"
PROMPT = "Reply with one word."
CONTENTS = [{"role": "user", "parts": [{"text": PROMPT}]}]
OK_RESPONSE = (200, JSON_TYPE, json.dumps({"id": "resp_1", "object": "response", "status": "completed", "output": [
    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "pong"}]}]}))
OK_MESSAGE = (200, JSON_TYPE, json.dumps({"id": "msg_1", "type": "message", "role": "assistant", "model": CLAUDE,
                                          "content": [{"type": "text", "text": "Po"}], "stop_reason": "max_tokens"}))
OK_CANDIDATES = (200, JSON_TYPE, json.dumps({"candidates": [{"content": {"role": "model", "parts": [{"text": "Po"}]},
                                                             "finishReason": "MAX_TOKENS"}]}))
OK_COUNT = (200, JSON_TYPE, json.dumps({"totalTokens": 5, "totalBillableCharacters": 18}))
GOOGLE_404_PAGE = text(404, "<!DOCTYPE html><html lang=en><title>Error 404 (Not Found)!!1</title><p><b>404.</b> "
                            "<ins>That's an error.</ins><p>The requested URL was not found on this server.",
                       "text/html")
BAD_KEY = "API key not valid. Please pass a valid API key."


def claude_models(*ids):
    listed = [{"type": "model", "id": i, "display_name": i} for i in (ids or CLAUDES)]
    return 200, JSON_TYPE, json.dumps({"data": listed, "has_more": False})


def gemini_models(*ids):
    return 200, JSON_TYPE, json.dumps({"models": [
        {"name": "models/" + i, "supportedGenerationMethods": ["generateContent"]} for i in (ids or GEMINIS)],
        "nextPageToken": ""})


def anthropic_error(status, kind, message, headers=()):
    """Anthropic's error body: {"type": "error", "error": {"type": ..., "message": ...}}."""
    return status, JSON_TYPE + list(headers), json.dumps({"type": "error", "error": {"type": kind, "message": message}})


def google_error(status, message, state, reason=None, headers=()):
    """Google's error body: {"error": {"code", "message", "status", "details": [ErrorInfo with reason]}}."""
    error = {"code": status, "message": message, "status": state}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]
    return status, JSON_TYPE + list(headers), json.dumps({"error": error})


def row(name, reason, routes=None, **options):
    return pytest.param(dict(options, name=name, reason=reason, routes=routes or {}), id=name)


def resp(name, reason, routes=None, **options):
    return row("resp-" + name, reason, routes, auth="openai-responses", **options)


def anth(name, reason, routes=None, **options):
    return row("anth-" + name, reason, routes, **dict(dict(auth="anthropic", model=CLAUDE, base="path:"), **options))


def gem(name, reason, routes=None, **options):
    return row("gem-" + name, reason, routes, **dict(dict(auth="gemini", model=GEMINI, base="path:"), **options))


def vtx(name, reason, routes=None, **options):
    return row("vtx-" + name, reason, routes, **dict(dict(auth="vertex-ai", model=GEMINI, base="path:"), **options))


# One row per scenario: routes are served under /<name>; base is the stub's /<name>/v1 unless given ("literal:",
# "path:" under /<name>, "anthropic_host:" the same under http://api.anthropic.com:<port>, or a server of the `net`
# fixture); expect: words both messages must contain; auth: the protocol (openai unless given; the check infers it
# from the key's variable with infer=True, and always for openai rows); bodies: the JSON each POST path must get.
SCENARIOS = [
    # --- answers ---------------------------------------------------------------------------------------------
    row("ok-models", "ok", {(GET, "/v1/models"): models()}, expect=[", offers qwen/qwen3-coder."]),
    row("ok-no-model", "ok", {(GET, "/v1/models"): models()}, model=""),
    row("ok-trailing-slash", "ok", {(GET, "/v1/models"): models()}, base="path:/v1/"),
    row("ok-chat", "ok", {(GET, "/v1/models"): models(), (POST, "/v1/chat/completions"): OK_CHAT}, chat=True,
        expect=["completes a chat"]),
    row("ok-ids-not-all-strings", "ok", {(GET, "/v1/models"): (200, JSON_TYPE, json.dumps(
        {"data": [{"id": 5}, "x", None, {"name": "y"}, {"id": MODEL}]}))}),
    row("unauthorized-401-echo", "unauthorized",
        {(GET, "/v1/models"): error(401, "Incorrect API key provided: " + KEY)}, expect=["HTTP 401"]),
    row("unauthorized-403", "unauthorized", {(GET, "/v1/models"): text(403, "Forbidden")}, expect=["HTTP 403"]),
    row("not-found-no-version", "not_found", {(GET, "/models"): text(404, "Not Found")}, base="path:",
        expect=["/v1."]),
    row("not-found-endpoint-pasted", "not_found", {}, base="path:/v1/chat/completions",
        expect=["must stop before /chat/completions"]),
    row("not-found-v1", "not_found", {}),
    row("rate-limited", "rate_limited", {(GET, "/v1/models"): error(
        429, "Rate limit exceeded: free-models-per-day", headers=[("Retry-After", "30")])},
        expect=["retry after 30 s.", "It says: Rate limit exceeded"]),
    row("rate-limited-bare", "rate_limited", {(GET, "/v1/models"): text(429, "")}),
    row("server-error-text", "server_error", {(GET, "/v1/models"): text(500, "oops")}, expect=["It says: oops"]),
    row("server-error-html", "server_error", {(GET, "/v1/models"): text(
        503, "<html>\n<head><title>503 Service Temporarily Unavailable</title></head>\n<body>" + PAD + "</body>",
        "text/html")}, expect=["..."]),
    row("server-error-string-error", "server_error", {(GET, "/v1/models"): (502, JSON_TYPE, json.dumps(
        {"error": "upstream timed out"}))}, expect=["It says: upstream timed out"]),
    row("http-error-json", "http_error", {(GET, "/v1/models"): error(400, "bad request")},
        expect=["HTTP 400 (bad request)"]),
    row("http-error-code-only", "http_error", {(GET, "/v1/models"): (422, JSON_TYPE, json.dumps(
        {"error": {"code": 400, "type": "invalid"}}))}),
    row("http-error-top-message", "http_error", {(GET, "/v1/models"): (418, JSON_TYPE, json.dumps(
        {"error": None, "message": "I'm a teapot"}))}, expect=["I'm a teapot"]),
    row("http-error-201", "http_error", {(GET, "/v1/models"): (201, JSON_TYPE, "{}")}),
    row("redirect-302-credentials", "redirect", {(GET, "/v1/models"): text(302, "", headers=[(
        "Location", "https://user:pw@elsewhere.example/v1/models?api_key=" + KEY)])},
        expect=["HTTP 302", "https://elsewhere.example/v1/models?api_key=********"]),
    row("redirect-301-no-location", "redirect", {(GET, "/v1/models"): text(301, "")}, expect=["an unknown place"]),
    row("redirect-307-relative", "redirect", {(GET, "/v1/models"): text(307, "", headers=[(
        "Location", "/redirect-target/v1/models")])}, expect=["to /redirect-target/v1/models"]),
    row("redirect-308-here", "redirect", {(GET, "/v1/models"): text(308, "", headers=[(
        "Location", "{origin}/redirect-target/v1/models")])}, expect=["HTTP 308"]),
    row("bad-html", "bad_response", {(GET, "/v1/models"): text(200, "<html>login page</html>", "text/html")},
        expect=["(<html>login page</html>)"]),
    row("bad-empty", "bad_response", {(GET, "/v1/models"): text(200, "")}, expect=["(an empty answer)"]),
    row("bad-blank", "bad_response", {(GET, "/v1/models"): text(200, " \r\n\t\x0b ")}, expect=["an empty answer"]),
    row("bad-object", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, '{"object": "list"}')},
        expect=['JSON without a "data" list of models: {"object": "list"}']),
    row("bad-list", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, '[{"id": "m"}]')},
        expect=['JSON without a "data" list']),
    row("bad-data-not-a-list", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, '{"data": {"id": "m"}}')},
        expect=['JSON without a "data" list']),
    row("bad-null", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, "null")}, expect=["(null)"]),
    row("bad-nan", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, '{"data": NaN}')},
        expect=['({"data": NaN})']),
    row("bad-bom", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, "\ufeff" + models()[2])}),
    row("bad-binary", "bad_response", {(GET, "/v1/models"): text(
        200, b"\xff\xfe binary \xed\xa0\x80 x \xf0\x9f\x98 end \xc3", "application/octet-stream")},
        expect=["binary"]),
    row("bad-long-unicode", "bad_response", {(GET, "/v1/models"): text(
        200, "\u00e9t\u00e9 " * 10 + "\U0001f600" * 100)}, expect=["..."]),
    row("bad-odd-whitespace", "bad_response", {(GET, "/v1/models"): text(
        200, "a\x1cb\x85c\u00a0d\u3000e\ufeff f\u200bg\u2028h")}),
    # --- models ----------------------------------------------------------------------------------------------
    row("model-typo", "model_not_found", {(GET, "/v1/models"): models()}, model="qwen/qwen3-codr",
        expect=["'qwen/qwen3-codr'", "close matches: qwen/qwen3-coder"]),
    row("model-substring", "model_not_found", {(GET, "/v1/models"): models()}, model="qwen3-coder"),
    row("model-case", "model_not_found", {(GET, "/v1/models"): models()}, model="QWEN/QWEN3-CODER"),
    row("model-gpt4o", "model_not_found", {(GET, "/v1/models"): models()}, model="gpt4o", expect=["gpt-4o"]),
    row("model-llama", "model_not_found", {(GET, "/v1/models"): models()}, model="llama-3-70b"),
    row("model-claude", "model_not_found", {(GET, "/v1/models"): models()}, model="claude-3-5-sonnet"),
    row("model-deepseek", "model_not_found", {(GET, "/v1/models"): models()}, model="deepseek-chat-v3"),
    row("model-short", "model_not_found", {(GET, "/v1/models"): models()}, model="o4"),
    row("model-nothing-similar", "model_not_found", {(GET, "/v1/models"): models()}, model="zzzz-9",
        expect=["it lists 13 models, none similar"]),
    row("model-quote", "model_not_found", {(GET, "/v1/models"): models()}, model="it's-qwen",
        expect=['"it\'s-qwen"']),
    row("model-non-ascii", "model_not_found", {(GET, "/v1/models"): models()}, model="qwen/qw\u00e9n3-c\u00f6der"),
    row("model-duplicates", "model_not_found", {(GET, "/v1/models"): models(
        "qwen-max", "qwen-max", "Qwen-Max", "qwen-maxi", "qwen-plus", "qwen-turbo", "qwen-long", "qwq-32b")},
        model="qwen-mx"),
    row("model-many-similar", "model_not_found", {(GET, "/v1/models"): models(
        *["qwen/qwen3-coder-%d" % i for i in range(12)])}, model="qwen/qwen3-coder"),
    row("model-empty-list", "model_not_found", {(GET, "/v1/models"): models("x")[:2] + ('{"data": []}',)},
        expect=["it lists 0 models"]),
    row("model-long-name", "model_not_found", {(GET, "/v1/models"): models(
        "a" * 150 + "b" * 100, "ab" * 120, "a" * 240 + "c")}, model="a" * 120 + "b" * 120),
    # --- the chat probe --------------------------------------------------------------------------------------
    row("chat-model-404", "model_not_found", {(GET, "/v1/models"): models("m"), (POST, "/v1/chat/completions"): (
        404, JSON_TYPE, json.dumps({"error": {"code": "model_not_found", "message": "The model `m` does not exist"}}))},
        model="m", chat=True, expect=["the chat call says: The model `m` does not exist"]),
    row("chat-model-400", "model_not_found", {(GET, "/v1/models"): models("m"), (POST, "/v1/chat/completions"): error(
        400, "m is not a valid model ID")}, model="m", chat=True),
    row("chat-model-newline", "model_not_found", {(GET, "/v1/models"): models("m"),
                                                  (POST, "/v1/chat/completions"): error(400, "model\nothing found")},
        model="m", chat=True),
    row("chat-400-other", "http_error", {(GET, "/v1/models"): models("m"), (POST, "/v1/chat/completions"): error(
        400, "max_tokens too small")}, model="m", chat=True),
    row("chat-rate-limited", "rate_limited", {(GET, "/v1/models"): models("m"), (POST, "/v1/chat/completions"): error(
        429, "quota")}, model="m", chat=True, expect=["It says: quota"]),
    row("chat-server-error", "server_error", {(GET, "/v1/models"): models("m"),
                                              (POST, "/v1/chat/completions"): text(500, "")}, model="m", chat=True),
    row("chat-not-json", "bad_response", {(GET, "/v1/models"): models("m"),
                                          (POST, "/v1/chat/completions"): text(200, "<html>")},
        model="m", chat=True, expect=["/chat/completions", "(<html>)"]),
    row("chat-empty", "bad_response", {(GET, "/v1/models"): models("m"),
                                       (POST, "/v1/chat/completions"): text(200, "")},
        model="m", chat=True, expect=["(empty)"]),
    row("chat-no-choices", "bad_response", {(GET, "/v1/models"): models("m"),
                                            (POST, "/v1/chat/completions"): (200, JSON_TYPE, '{"id": "x"}')},
        model="m", chat=True),
    # --- the key echoed by the provider: masked before any cut -------------------------------------------------
    row("echo-80-text", "server_error", {(GET, "/v1/models"): text(500, echo_at(70))}, expect=["********"]),
    row("echo-160-json", "server_error", {(GET, "/v1/models"): error(500, echo_at(150))}, expect=["********"]),
    row("echo-160-escaped", "server_error", {(GET, "/v1/models"): (502, JSON_TYPE, escaped_echo_at(150))},
        expect=["********"]),
    row("echo-80-bad-response", "bad_response", {(GET, "/v1/models"): text(200, echo_at(70), "text/html")},
        expect=["********"]),
    row("echo-80-json-without-data", "bad_response", {(GET, "/v1/models"): (200, JSON_TYPE, json.dumps(
        {"object": "list", "note": echo_at(40)}))}, expect=["********"]),
    row("echo-160-top-message", "http_error", {(GET, "/v1/models"): (400, JSON_TYPE, json.dumps(
        {"message": echo_at(150)}))}, expect=["********"]),
    row("echo-80-code-only", "http_error", {(GET, "/v1/models"): (400, JSON_TYPE, json.dumps(
        {"error": {"code": 7, "param": PAD[:40] + KEY}}))}, expect=["********"]),
    row("echo-429-retry-after", "rate_limited", {(GET, "/v1/models"): error(
        429, echo_at(150), headers=[("Retry-After", KEY)])}, expect=["retry after ******** s."]),
    row("echo-chat-model", "model_not_found", {(GET, "/v1/models"): models("m"), (POST, "/v1/chat/completions"): (
        404, JSON_TYPE, json.dumps({"error": {"code": "model_not_found", "message": echo_at(150)}}))},
        model="m", chat=True, expect=["********"]),
    row("echo-chat-bad-response", "bad_response", {(GET, "/v1/models"): models("m"),
                                                   (POST, "/v1/chat/completions"): text(200, echo_at(70))},
        model="m", chat=True, expect=["********"]),
    row("echo-model-ids", "model_not_found", {(GET, "/v1/models"): models(KEY + "/coder", "qwen/" + KEY)},
        model="qwen/coder"),
    # --- inputs: refused before any request ----------------------------------------------------------------------
    row("url-empty", "invalid_url", base="literal:", expect=["''"]),
    row("url-no-scheme", "invalid_url", base="literal:openrouter.ai/api/v1"),
    row("url-ftp", "invalid_url", base="literal:ftp://x/v1"),
    row("url-no-host", "invalid_url", base="literal:http://"),
    row("url-space", "invalid_url", base="literal:https://exa mple.com/v1"),
    row("url-open-bracket", "invalid_url", base="literal:http://[::1/v1"),
    row("url-ipv4-in-brackets", "invalid_url", base="literal:http://[127.0.0.1]/v1"),
    row("url-port-range", "invalid_url", base="literal:http://127.0.0.1:99999/v1"),
    row("url-port-name", "invalid_url", base="literal:http://127.0.0.1:port/v1"),
    row("url-query-key", "invalid_url", base="literal:https://host.example/v1?key=" + KEY, expect=["key=********"]),
    row("url-fragment", "invalid_url", base="literal:https://host.example/v1#frag"),
    row("url-newline", "invalid_url", base="literal:https://host.example/v1\n", expect=["\\n'"]),
    row("url-userinfo-key", "invalid_url", base="literal:https://user:%s@example.com/v1" % KEY,
        expect=["'https://example.com/v1'"]),
    row("url-user-key", "invalid_url", base="literal:https://%s@example.com/v1" % KEY),
    row("url-upper-credentials", "invalid_url", base="literal:HTTPS://user:pw@Example.COM:8443/v1",
        expect=["'https://Example.COM:8443/v1'"]),
    row("url-nfkc", "invalid_url", base="literal:https://exa\u2100mple.com/v1"),
    row("url-quote", "invalid_url", base="literal:https://ex'ample.com/v 1", expect=['"https://ex\'ample.com/v 1"']),
    row("url-control", "invalid_url", base="literal:https://host.example/v1\x7f\u200b x"),
    row("key-empty", "invalid_key", key="", expect=["is empty"]),
    row("key-blank", "invalid_key", key=" \t ", expect=["is empty"]),
    row("key-newline", "invalid_key", key=KEY + "\n", expect=["position %d of %d" % (len(KEY) + 1, len(KEY) + 1)]),
    row("key-leading-space", "invalid_key", key=" " + KEY, expect=["position 1 of"]),
    row("key-quote-mark", "invalid_key", key=KEY[:5] + "\u2019" + KEY[5:], expect=["non-ASCII character at position 6"]),
    row("key-nbsp", "invalid_key", key=KEY + "\u00a0", expect=["whitespace"]),
    row("key-nel", "invalid_key", key=KEY[:3] + "\x85" + KEY[3:], expect=["whitespace or a control character"]),
    row("key-del", "invalid_key", key=KEY + "\x7f", expect=["control character"]),
    row("key-astral", "invalid_key", key=KEY + "\U0001f511", expect=["position %d of %d" % ((len(KEY) + 1,) * 2)]),
    # --- below HTTP ----------------------------------------------------------------------------------------------
    row("connection-refused", "connection_refused", base="refused", expect=["refused the connection"]),
    row("timeout", "timeout", base="silent", timeout=1, expect=["within 1 s"]),
    row("closed-without-answer", "connection_reset", base="reset", expect=["closed the connection"]),
    row("not-http", "bad_response", base="not_http", expect=["not an HTTP answer"]),
    row("tls-untrusted", "tls", {(GET, "/v1/models"): models()}, base="tls",
        expect=["TLS verification of 127.0.0.1 failed"]),
    row("tls-trusted", "ok", {(GET, "/v1/models"): models()}, base="tls", trust=True),
    row("tls-wrong-name", "tls", {(GET, "/v1/models"): models()}, base="tls_wrong", trust=True,
        expect=["is for another name"]),
    row("tls-expired", "tls", {(GET, "/v1/models"): models()}, base="tls_expired", trust=True,
        expect=["clock is wrong"]),
    row("tls-to-plain-http", "tls", {(GET, "/v1/models"): models()}, base="https_to_plain",
        expect=["handshake", "http://"]),
    row("auth-type-unknown", "invalid_input", {(GET, "/v1/models"): models()}, auth="bogus",
        expect=["'bogus'", "use one of openai, openai-responses, anthropic, gemini, vertex-ai."]),
    # --- openai-responses: models at {base}/models, chat at {base without /v1}/v1/responses -------------------------
    resp("ok-models", "ok", {(GET, "/v1/models"): models()}, expect=[", offers qwen/qwen3-coder."]),
    resp("ok-chat", "ok", {(GET, "/v1/models"): models(), (POST, RESP_CHAT): OK_RESPONSE}, chat=True,
         bodies={RESP_CHAT: {"model": MODEL, "input": PROMPT, "max_output_tokens": 16, "stream": False}},
         expect=["completes a chat"]),
    resp("ok-chat-trailing-slash", "ok", {(GET, "/v1/models"): models(), (POST, RESP_CHAT): OK_RESPONSE}, chat=True,
         base="path:/v1/"),
    resp("ok-chat-no-v1", "ok", {(GET, "/api/models"): models(), (POST, "/api/v1/responses"): OK_RESPONSE},
         chat=True, base="path:/api"),
    resp("unauthorized", "unauthorized", {(GET, "/v1/models"): error(401, "Incorrect API key provided")},
         expect=["HTTP 401", "check OPENAI_API_KEY for this provider"]),
    resp("not-found-no-responses-api", "not_found", {(GET, "/v1/models"): models(),
                                                     (POST, RESP_CHAT): text(404, "Not Found")}, chat=True,
         expect=["/v1/responses does not exist", "not every provider offers that API."]),
    resp("model-typo", "model_not_found", {(GET, "/v1/models"): models()}, model="qwen/qwen3-codr",
         expect=["close matches: qwen/qwen3-coder"]),
    resp("chat-model-404", "model_not_found", {(GET, "/v1/models"): models("m"), (POST, RESP_CHAT): (
        404, JSON_TYPE, json.dumps({"error": {"code": "model_not_found", "message": "The model `m` does not exist"}}))},
        model="m", chat=True, expect=["the chat call says: The model `m` does not exist"]),
    resp("rate-limited", "rate_limited", {(GET, "/v1/models"): models(), (POST, RESP_CHAT): error(
        429, "Rate limit reached", headers=[("Retry-After", "7")])}, chat=True, expect=["retry after 7 s."]),
    resp("server-error", "server_error", {(GET, "/v1/models"): text(503, "upstream down")},
         expect=["It says: upstream down"]),
    resp("bad-chat-no-output", "bad_response", {(GET, "/v1/models"): models(), (POST, RESP_CHAT): (
        200, JSON_TYPE, json.dumps({"id": "resp_1", "object": "response"}))}, chat=True,
        expect=["not an OpenAI Responses JSON answer"]),
    resp("bad-chat-output-not-list", "bad_response", {(GET, "/v1/models"): models(), (POST, RESP_CHAT): (
        200, JSON_TYPE, json.dumps({"output": "pong"}))}, chat=True),
    resp("redirect", "redirect", {(GET, "/v1/models"): models(), (POST, RESP_CHAT): text(307, "", headers=[(
        "Location", "https://elsewhere.example/v1/responses")])}, chat=True, expect=["HTTP 307"]),
    resp("echo-160", "server_error", {(GET, "/v1/models"): models(), (POST, RESP_CHAT): error(500, echo_at(150))},
         chat=True, expect=["********"]),
    # --- anthropic: {base}/v1/models and {base}/v1/messages, x-api-key on Anthropic's hosts, else Bearer ----------
    anth("ok-models-bearer", "ok", {(GET, ANTH_MODELS): claude_models()}, expect=[", offers claude-sonnet-4-5."]),
    anth("ok-chat-bearer", "ok", {(GET, ANTH_MODELS): claude_models(), (POST, ANTH_CHAT): OK_MESSAGE}, chat=True,
         bodies={ANTH_CHAT: {"model": CLAUDE, "max_tokens": 1, "messages": [{"role": "user", "content": PROMPT}]}}),
    anth("ok-chat-x-api-key", "ok", {(GET, ANTH_MODELS): claude_models(), (POST, ANTH_CHAT): OK_MESSAGE}, chat=True,
         base="anthropic_host:"),
    anth("unauthorized-x-api-key", "unauthorized", {(GET, ANTH_MODELS): anthropic_error(
        401, "authentication_error", "invalid x-api-key")}, base="anthropic_host:",
        expect=["HTTP 401", "check ANTHROPIC_API_KEY for this provider"]),
    anth("unauthorized-bearer", "unauthorized", {(GET, ANTH_MODELS): anthropic_error(
        401, "authentication_error", "invalid bearer token")}),
    anth("forbidden", "unauthorized", {(GET, ANTH_MODELS): anthropic_error(
        403, "permission_error", "Your API key does not have permission to use the specified resource.")},
        expect=["HTTP 403"]),
    anth("v1-in-url", "invalid_url", {(GET, ANTH_MODELS): claude_models()}, base="path:/v1",
         expect=["ends in /v1, which the anthropic protocol appends itself", "/v1/v1/...", "set it to http"]),
    anth("v1-slash-in-url", "invalid_url", {}, base="path:/api/v1/", expect=["/api/v1/v1/..."]),
    anth("not-found", "not_found", {}, expect=["Anthropic URLs stop before /v1"]),
    anth("not-found-endpoint-pasted", "not_found", {}, base="path:/api/v1/messages",
         expect=["must stop before /v1/messages: try http"]),
    anth("model-typo", "model_not_found", {(GET, ANTH_MODELS): claude_models()}, model="claude-sonet-4-5",
         expect=["close matches: claude-sonnet-4-5"]),
    anth("chat-model-404", "model_not_found", {(GET, ANTH_MODELS): claude_models(), (POST, ANTH_CHAT): anthropic_error(
        404, "not_found_error", "model: " + CLAUDE)}, chat=True, expect=["the chat call says: model: claude-sonnet"]),
    anth("rate-limited", "rate_limited", {(GET, ANTH_MODELS): anthropic_error(
        429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
        headers=[("Retry-After", "12")])}, expect=["retry after 12 s.", "It says: Number of request tokens"]),
    anth("overloaded", "server_error", {(GET, ANTH_MODELS): claude_models(), (POST, ANTH_CHAT): anthropic_error(
        529, "overloaded_error", "Overloaded")}, chat=True, expect=["HTTP 529", "It says: Overloaded"]),
    anth("bad-models", "bad_response", {(GET, ANTH_MODELS): (200, JSON_TYPE, json.dumps({"models": [CLAUDE]}))},
         expect=['JSON without a "data" list of models', "not an Anthropic Messages JSON answer"]),
    anth("bad-chat", "bad_response", {(GET, ANTH_MODELS): claude_models(), (POST, ANTH_CHAT): (
        200, JSON_TYPE, json.dumps({"type": "message", "content": "Po"}))}, chat=True),
    anth("redirect", "redirect", {(GET, ANTH_MODELS): text(301, "", headers=[(
        "Location", "https://console.anthropic.com/login")])}, expect=["to https://console.anthropic.com/login"]),
    anth("echo-160", "server_error", {(GET, ANTH_MODELS): anthropic_error(500, "api_error", echo_at(150))},
         expect=["********"]),
    anth("echo-80-text", "bad_response", {(GET, ANTH_MODELS): text(200, echo_at(70), "text/html")},
         base="anthropic_host:", expect=["********"]),
    anth("key-empty", "invalid_key", {}, key="", expect=["The API key is empty: check ANTHROPIC_API_KEY."]),
    anth("url-empty", "invalid_url", {}, base="literal:", expect=["for example https://api.anthropic.com."]),
    anth("inferred", "ok", {(GET, ANTH_MODELS): claude_models()}, infer=True),
    # --- gemini: {base}/v1beta/models and :generateContent, x-goog-api-key -------------------------------------
    gem("ok-models", "ok", {(GET, GEM_MODELS): gemini_models()}, expect=[", offers gemini-2.5-flash."]),
    gem("ok-chat", "ok", {(GET, GEM_MODELS): gemini_models(), (POST, GEM_CHAT): OK_CANDIDATES}, chat=True,
        bodies={GEM_CHAT: {"contents": CONTENTS, "generationConfig": {"maxOutputTokens": 1}}}),
    gem("ok-ids-with-and-without-prefix", "ok", {(GET, GEM_MODELS): (200, JSON_TYPE, json.dumps({"models": [
        {"name": "models/x"}, {"name": 5}, "y", {"id": "z"}, {"name": GEMINI}]}))}),
    gem("unauthorized-400-api-key-invalid", "unauthorized", {(GET, GEM_MODELS): google_error(
        400, BAD_KEY, "INVALID_ARGUMENT", "API_KEY_INVALID")},
        expect=["HTTP 400", "check GEMINI_API_KEY for this provider"]),
    gem("unauthorized-chat-400", "unauthorized", {(GET, GEM_MODELS): gemini_models(), (POST, GEM_CHAT): google_error(
        400, "API key expired for model requests: not found valid credentials", "INVALID_ARGUMENT",
        "API_KEY_INVALID")}, chat=True),
    gem("forbidden", "unauthorized", {(GET, GEM_MODELS): google_error(
        403, "Method doesn't allow unregistered callers.", "PERMISSION_DENIED")}, expect=["HTTP 403"]),
    gem("http-error-400-other", "http_error", {(GET, GEM_MODELS): google_error(
        400, "Invalid JSON payload received.", "INVALID_ARGUMENT", "BAD_REQUEST")},
        expect=["HTTP 400 (Invalid JSON payload received.)"]),
    gem("not-found", "not_found", {(GET, GEM_MODELS): GOOGLE_404_PAGE}, expect=["Gemini URLs are the host alone"]),
    gem("not-found-v1", "not_found", {}, base="path:/v1", expect=["must stop before /v1: try http"]),
    gem("v1beta-in-url", "invalid_url", {}, base="path:/v1beta", expect=["ends in /v1beta, which the gemini"]),
    gem("model-typo", "model_not_found", {(GET, GEM_MODELS): gemini_models()}, model="gemini-2.5-flsh",
        expect=["close matches: gemini-2.5-flash"]),
    gem("model-prefixed", "model_not_found", {(GET, GEM_MODELS): gemini_models()}, model="models/gemini-2.5-pro",
        expect=["'models/gemini-2.5-pro': close matches: gemini-2.5-pro"]),
    gem("chat-model-404", "model_not_found", {(GET, GEM_MODELS): gemini_models(), (POST, GEM_CHAT): google_error(
        404, "models/gemini-2.5-flash is not found for API version v1beta, or is not supported for generateContent.",
        "NOT_FOUND")}, chat=True, expect=["the chat call says: models/gemini-2.5-flash is not found"]),
    gem("rate-limited", "rate_limited", {(GET, GEM_MODELS): google_error(
        429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED")},
        expect=["It says: Resource has been exhausted"]),
    gem("server-error", "server_error", {(GET, GEM_MODELS): gemini_models(), (POST, GEM_CHAT): google_error(
        503, "The model is overloaded. Please try again later.", "UNAVAILABLE")}, chat=True,
        expect=["It says: The model is overloaded"]),
    gem("bad-models-openai-style", "bad_response", {(GET, GEM_MODELS): models()},
        expect=['JSON without a "models" list of models', "not a Gemini JSON answer"]),
    gem("bad-chat", "bad_response", {(GET, GEM_MODELS): gemini_models(), (POST, GEM_CHAT): (
        200, JSON_TYPE, json.dumps({"promptFeedback": {"blockReason": "OTHER"}}))}, chat=True),
    gem("redirect", "redirect", {(GET, GEM_MODELS): text(302, "", headers=[(
        "Location", "https://accounts.google.com/ServiceLogin")])}, expect=["HTTP 302"]),
    gem("echo-160", "http_error", {(GET, GEM_MODELS): google_error(400, echo_at(150), "INVALID_ARGUMENT")},
        expect=["********"]),
    gem("echo-model-ids", "model_not_found", {(GET, GEM_MODELS): gemini_models(KEY + "-flash", "gemini-" + KEY)},
        model="gemini-flash"),
    gem("key-empty", "invalid_key", {}, key="", expect=["check GEMINI_API_KEY."]),
    gem("inferred", "ok", {(GET, GEM_MODELS): gemini_models()}, infer=True),
    # --- vertex-ai (express mode): countTokens of the model, then :generateContent, x-goog-api-key ----------------
    vtx("ok-count", "ok", {(POST, VTX_COUNT): OK_COUNT}, bodies={VTX_COUNT: {"contents": CONTENTS}},
        expect=[", offers gemini-2.5-flash."]),
    vtx("ok-chat", "ok", {(POST, VTX_COUNT): OK_COUNT, (POST, VTX_CHAT): OK_CANDIDATES}, chat=True,
        bodies={VTX_CHAT: {"contents": CONTENTS, "generationConfig": {"maxOutputTokens": 1}}},
        expect=["completes a chat"]),
    vtx("unauthorized-400-api-key-invalid", "unauthorized", {(POST, VTX_COUNT): google_error(
        400, BAD_KEY, "INVALID_ARGUMENT", "API_KEY_INVALID")},
        expect=["HTTP 400", "check GOOGLE_API_KEY for this provider"]),
    vtx("unauthorized-401", "unauthorized", {(POST, VTX_COUNT): google_error(
        401, "API keys are not supported by this API. Expected OAuth2 access token.", "UNAUTHENTICATED",
        "CREDENTIALS_MISSING")}, expect=["HTTP 401"]),
    vtx("model-404", "model_not_found", {(POST, "/v1beta1/publishers/google/models/gemini-9:countTokens"): google_error(
        404, "Publisher Model `projects/123/locations/us-central1/publishers/google/models/gemini-9` was not found or "
        "your project does not have access to it.", "NOT_FOUND")}, model="gemini-9",
        expect=["'gemini-9' (the countTokens call says: Publisher Model"]),
    vtx("model-quoted", "model_not_found", {
        (POST, "/v1beta1/publishers/google/models/g%20%2F%21%27%28%29%2A~-_.:countTokens"): google_error(
            404, "Model g /!'()*~-_. not found.", "NOT_FOUND")}, model="g /!'()*~-_."),
    vtx("not-found-page", "not_found", {(POST, VTX_COUNT): GOOGLE_404_PAGE}, expect=["Vertex AI URLs"]),
    vtx("not-found-v1", "not_found", {}, base="path:/v1", expect=["must stop before /v1: try http"]),
    vtx("v1beta1-in-url", "invalid_url", {}, base="path:/v1beta1", expect=["ends in /v1beta1"]),
    vtx("model-required", "invalid_input", {(POST, VTX_COUNT): OK_COUNT}, model="",
        expect=["no model list", "GOOGLE_MODEL"]),
    vtx("rate-limited", "rate_limited", {(POST, VTX_COUNT): google_error(
        429, "Quota exceeded for aiplatform.googleapis.com/generate_content_requests_per_minute.",
        "RESOURCE_EXHAUSTED", headers=[("Retry-After", "60")])}, expect=["retry after 60 s.", "It says: Quota"]),
    vtx("server-error", "server_error", {(POST, VTX_COUNT): google_error(500, "Internal error encountered.",
                                                                         "INTERNAL")}),
    vtx("bad-count-string", "bad_response", {(POST, VTX_COUNT): (200, JSON_TYPE, '{"totalTokens": "5"}')},
        expect=["not a Vertex AI JSON answer"]),
    vtx("bad-count-boolean", "bad_response", {(POST, VTX_COUNT): (200, JSON_TYPE, '{"totalTokens": true}')}),
    vtx("bad-count-html", "bad_response", {(POST, VTX_COUNT): text(200, "<html>sign in</html>", "text/html")},
        expect=["(<html>sign in</html>)"]),
    vtx("bad-chat", "bad_response", {(POST, VTX_COUNT): OK_COUNT, (POST, VTX_CHAT): (200, JSON_TYPE, "{}")},
        chat=True, expect=["({})"]),
    vtx("chat-model-400", "model_not_found", {(POST, VTX_COUNT): OK_COUNT, (POST, VTX_CHAT): google_error(
        400, "Model gemini-2.5-flash does not support generateContent with these settings.", "INVALID_ARGUMENT")},
        chat=True, expect=["the chat call says: Model gemini-2.5-flash does not support"]),
    vtx("redirect", "redirect", {(POST, VTX_COUNT): text(302, "", headers=[(
        "Location", "https://elsewhere.example/v1beta1?key=" + KEY)])}, expect=["?key=********"]),
    vtx("echo-160", "server_error", {(POST, VTX_COUNT): google_error(500, echo_at(150), "INTERNAL")},
        expect=["********"]),
    vtx("echo-80-text", "http_error", {(POST, VTX_COUNT): text(400, echo_at(70))}, expect=["********"]),
    vtx("inferred", "ok", {(POST, VTX_COUNT): OK_COUNT}, infer=True),
]


def _check_canary():
    problem = key_problem(KEY)
    if problem or len(KEY) < 16 or not re.match(r"^[A-Za-z0-9._~-]+$", KEY):
        pytest.fail("QWEN_TEST_CANARY_KEY must be 16 or more characters of A-Z a-z 0-9 . _ ~ - (a / would split "
                    "the URLs that carry the key)", pytrace=False)
    clash = [p for p in PIECES if p in json.dumps(MESSAGES) or p in PAD]
    if clash:
        pytest.fail("the canary key shares %r with the messages or the padding: choose another one" % clash,
                    pytrace=False)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """check.pyz, built from this checkout as image/build.yml builds it in the image."""
    path = str(tmp_path_factory.mktemp("check") / "check.pyz")
    subprocess.run([sys.executable, BUILD_CHECK, REPO, path], check=True, capture_output=True, timeout=300)
    return path


@pytest.fixture(scope="module")
def net(tls_pair):
    routes = {}
    for param in SCENARIOS:
        scenario = param.values[0]
        routes.update(((scenario["name"],) + k, v) for k, v in scenario["routes"].items())
    started = []

    def tls(cert):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls_pair[cert], tls_pair[cert.replace("cert", "key")])
        started.append(ScenarioServer(routes, context))
        return started[-1]
    stub = ScenarioServer(routes)
    started.append(stub)
    servers = {"tls": tls("cert"), "tls_wrong": tls("wrong_cert"), "tls_expired": tls("expired_cert")}
    raw = [RawServer(b""), RawServer(b"SSH-2.0-OpenSSH_9.2\r\n", read_first=False)]
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts into the backlog, never answers
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    refused_port = free.getsockname()[1]
    free.close()
    yield dict(stub=stub, servers=servers, ca=tls_pair["ca"],
               urls={"refused": "http://127.0.0.1:%d/v1" % refused_port,
                     "silent": "http://127.0.0.1:%d/v1" % silent.getsockname()[1],
                     "reset": "http://127.0.0.1:%d/v1" % raw[0].port,
                     "not_http": "http://127.0.0.1:%d/v1" % raw[1].port})
    silent.close()
    for server in started + raw:
        server.stop()


def base_url(scenario, net):
    base, name = scenario.get("base"), scenario["name"]
    if base is None:
        return net["stub"].url(name)
    if base.startswith("literal:"):
        return base[len("literal:"):]
    if base.startswith("path:"):
        return net["stub"].url(name, base[len("path:"):])
    if base.startswith("anthropic_host:"):  # Anthropic's own host name, resolved to the stub (anthropic_host fixture)
        return "http://%s:%d/%s%s" % (ANTHROPIC_HOST, net["stub"].port, name, base[len("anthropic_host:"):])
    if base in net["servers"]:
        return net["servers"][base].url(name)
    if base == "https_to_plain":
        return net["stub"].url(name).replace("http://", "https://")
    return net["urls"][base]


def check_environment(scenario, base, tmp_path, ca):
    """The row's provider as the container's environment gives it to the check."""
    auth = scenario.get("auth", "openai")
    names = AUTH_TYPES.get(auth, AUTH_TYPES["openai"])
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "QWEN_CHECK_TIMEOUT": str(scenario.get("timeout", 10)), names["base_env"]: base,
           names["key_env"]: scenario.get("key", KEY), names["model_env"]: scenario.get("model", MODEL)}
    if auth != "openai" and not scenario.get("infer"):  # openai rows: the check infers it from OPENAI_API_KEY
        env["QWEN_AUTH_TYPE"] = auth
    if auth not in AUTH_TYPES:  # no key variable of a known protocol
        del env[names["key_env"]]
    if ca:
        env["NODE_EXTRA_CA_CERTS"] = ca
    return env


def check_arguments(scenario, json_output=True):
    return (["--json"] if json_output else []) + (["--chat"] if scenario.get("chat") else [])


def run_check(bundle, scenario, base, tmp_path, ca, json_output=True):
    """`python3 -I -S check.pyz [--json] [--chat]` in a process of its own, as the entrypoint runs it."""
    argv = [sys.executable, "-I", "-S", "-c", HOOK, bundle] + check_arguments(scenario, json_output)
    assert not any(p in " ".join(argv) for p in PIECES)  # the key travels in the environment only
    out = subprocess.run(argv, capture_output=True, text=True, env=check_environment(scenario, base, tmp_path, ca),
                         check=False, timeout=60)
    lines = out.stdout.splitlines()
    assert len(lines) == 1 and not out.stderr, "the check printed %r %r" % (out.stdout, out.stderr)
    if not json_output:
        return lines[0], out
    result = json.loads(lines[0])
    assert out.returncode == (0 if result["reason"] == "ok" else 1), out
    return result, out.stdout + out.stderr


# The table's rows go to ONE process that loads the bundle as `python3 -I -S check.pyz` does (isolated from this
# virtualenv) and then runs its check() once per row, in the row's environment: a process per row would cost about
# 0.25 s of CPU each. run_check above still runs the bundle as a process of its own (the output and exit code).
SERVER = """import json, os, socket, sys, zipimport
real = socket.getaddrinfo
def resolve(host, *args, **kwargs):
    return real("127.0.0.1" if host == %r else host, *args, **kwargs)
socket.getaddrinfo = resolve
sys.path.insert(0, sys.argv[1])  # as python3 check.pyz puts the archive first on sys.path
check = {"__name__": "image_check"}
exec(zipimport.zipimporter(sys.argv[1]).get_code("__main__"), check)
for request in sys.stdin:
    argv, env = json.loads(request)
    os.environ.clear()
    os.environ.update(env)
    print(json.dumps(check["check"](argv, os.environ)), flush=True)
"""


@pytest.fixture(scope="module")
def checker(bundle, tmp_path_factory):
    """run(scenario, base, tmp_path, ca) -> (result, output): the check of one row, in the SERVER process."""
    errors = tmp_path_factory.mktemp("checker") / "stderr"
    with open(errors, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", SERVER % ANTHROPIC_HOST, bundle], text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env={})

    def run(scenario, base, tmp_path, ca):
        proc.stdin.write(json.dumps([check_arguments(scenario), check_environment(scenario, base, tmp_path, ca)]) +
                         "\n")
        proc.stdin.flush()
        code, line = json.loads(proc.stdout.readline())
        assert not errors.read_text(), errors.read_text()
        result = json.loads(line)
        assert code == (0 if result["reason"] == "ok" else 1), (code, line)
        return result, line
    yield run
    proc.stdin.close()
    assert proc.wait(timeout=60) == 0 and not errors.read_text(), errors.read_text()


def normalise(result):
    """The result without what differs between two runs: the latency."""
    result = {k: v for k, v in result.items() if k != "latency_ms"}
    result["msg"] = re.sub(r" answered in \d+ ms", " answered in <n> ms", result["msg"])
    return result


def leaked(text):
    return [p for p in PIECES if p in text]


ANTHROPIC_HOST = "api.anthropic.com"
# Runs the bundle (sys.argv[1]) as `python3 check.pyz` does, with ANTHROPIC_HOST resolved to 127.0.0.1 (the stub);
# nothing else changes.
HOOK = """import runpy, socket, sys
real = socket.getaddrinfo
def resolve(host, *args, **kwargs):
    return real("127.0.0.1" if host == %r else host, *args, **kwargs)
socket.getaddrinfo = resolve
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
""" % ANTHROPIC_HOST


@pytest.fixture
def anthropic_host(monkeypatch):
    """ANTHROPIC_HOST resolves to 127.0.0.1 in this process (no DNS query leaves the machine for it)."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real("127.0.0.1" if host == ANTHROPIC_HOST else host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def expected_headers(auth, base):
    """The key's header the qwen CLI sends for auth to base's host, and the key headers it must not send."""
    if auth in ("gemini", "vertex-ai"):
        return {"x-goog-api-key": KEY}, ("authorization", "x-api-key")
    if auth == "anthropic" and "//%s:" % ANTHROPIC_HOST in base:
        return {"x-api-key": KEY, "anthropic-version": "2023-06-01"}, ("authorization", "x-goog-api-key")
    if auth == "anthropic":
        return {"authorization": "Bearer " + KEY, "anthropic-version": "2023-06-01"}, ("x-api-key", "x-goog-api-key")
    return {"authorization": "Bearer " + KEY}, ("x-api-key", "x-goog-api-key", "anthropic-version")


def sent(hits):
    """What the requests asked: method, path and JSON body of each."""
    return [(hit[1], hit[2], json.loads(hit[5]) if hit[5] else None) for hit in hits]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_check_and_provider_check_agree(scenario, net, checker, tmp_path, anthropic_host):
    _check_canary()
    name, ca = scenario["name"], net["ca"] if scenario.get("trust") else None
    auth = scenario.get("auth", "openai")
    base = base_url(scenario, net)

    def hits():
        return net["stub"].hits(name) + [h for s in net["servers"].values() for h in s.hits(name)]
    py = provider_check(base, scenario.get("key", KEY), model=scenario.get("model", MODEL),
                        probe="chat" if scenario.get("chat") else "models", timeout=scenario.get("timeout", 10),
                        ca_path=ca, auth_type=auth)
    py_hits = hits()
    cli, cli_output = checker(scenario, base, tmp_path, ca)
    cli_hits = hits()[len(py_hits):]

    assert not leaked(json.dumps(py)), "provider_check shows the key: %s" % py["msg"]
    assert not leaked(cli_output), "the check shows the key: %s" % cli_output
    assert (py["reason"], cli["reason"]) == (scenario["reason"],) * 2, (py["msg"], cli["msg"])
    if auth in AUTH_TYPES:
        assert normalise(cli) == normalise(dict(py))
    else:  # no protocol, no variable to read the base URL from: only the message is the same
        assert normalise(cli)["msg"] == normalise(dict(py))["msg"]
    for words in scenario.get("expect", ()):
        assert words in py["msg"] and words in cli["msg"], (words, py["msg"], cli["msg"])

    if scenario["reason"] in ("invalid_url", "invalid_key", "invalid_input"):
        assert not py_hits + cli_hits, "a refused input still reached the provider: %s" % (py_hits + cli_hits)
    assert sent(cli_hits) == sent(py_hits), "the check and provider_check asked differently"
    for path, body in scenario.get("bodies", {}).items():
        posted = [hit[2] for hit in sent(py_hits) if hit[:2] == (POST, path)]
        assert posted == [body], (path, posted)
    key_headers, absent = expected_headers(auth, base)
    for hit in py_hits + cli_hits:
        assert {h: hit[4].get(h) for h in key_headers} == key_headers, (hit[2], hit[4])
        assert not [h for h in absent if h in hit[4]], (hit[2], hit[4])
    assert not net["stub"].hits("redirect-target"), "a redirect was followed"


def _scenario(name):
    return next(p.values[0] for p in SCENARIOS if p.values[0]["name"] == name)


@pytest.mark.parametrize("name, line", [("ok-models", "ok: "), ("unauthorized-403", "FAILED: ")])
def test_check_prints_one_line_and_exits_by_reason(name, line, net, bundle, tmp_path):
    """Without --json: `ok: <message> (reason: ok)`, exit 0; `FAILED: <message> (reason: <reason>)`, exit 1."""
    scenario = _scenario(name)
    printed, out = run_check(bundle, scenario, base_url(scenario, net), tmp_path, None, json_output=False)
    assert printed.startswith(line) and printed.endswith(" (reason: %s)" % scenario["reason"]), printed
    assert out.returncode == (0 if scenario["reason"] == "ok" else 1)
    assert not leaked(printed)


def test_bundle_holds_only_what_the_check_imports(bundle):
    """check.pyz: the check, the collection's module_utils it reaches and ansible.module_utils; nothing else of the
    collection (no module, plugin, role or test) and nothing else of ansible."""
    names = zipfile.ZipFile(bundle).namelist()
    ours = sorted({n.rsplit("/", 1)[1].split(".")[0] for n in names if n.startswith(
        "ansible_collections/qwenops/qwen_code/plugins/module_utils/_") and "__init__" not in n})
    assert ours == ["_auth_types", "_presets", "_provider_check", "_transport"], ours
    packages = {"ansible/", "ansible_collections/", "ansible_collections/qwenops/",
                "ansible_collections/qwenops/qwen_code/", "ansible_collections/qwenops/qwen_code/plugins/"}
    allowed = [n for n in names if n == "__main__.py" or n.startswith("ansible/module_utils/") or n.startswith(
        "ansible_collections/qwenops/qwen_code/plugins/module_utils/") or (
        n.rsplit("/", 1)[0] + "/" in packages and n.rsplit("/", 1)[1] in ("__init__.py", "__init__.pyc"))]
    assert allowed == names, sorted(set(names) - set(allowed))
    assert "ansible/module_utils/urls.py" in names and "ansible/module_utils/urls.pyc" in names


def _load_check_py():
    spec = importlib.util.spec_from_file_location("qwen_image_check", os.path.join(REPO, "image", "check.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("environ, expected", [
    ({"OPENAI_API_KEY": "key-1", "OPENAI_BASE_URL": "http://o/v1", "OPENAI_MODEL": "m"},
     ("http://o/v1", "key-1", "m", "openai")),
    ({"ANTHROPIC_API_KEY": "key-1", "GEMINI_API_KEY": "key-2", "ANTHROPIC_BASE_URL": "http://a",
      "ANTHROPIC_MODEL": "c"},
     ("http://a", "key-1", "c", "anthropic")),  # the CLI's order: anthropic before gemini
    ({"GEMINI_API_KEY": "key-2", "GEMINI_MODEL": "gm"},
     ("https://generativelanguage.googleapis.com", "key-2", "gm", "gemini")),
    ({"GOOGLE_API_KEY": "key-3", "GOOGLE_MODEL": "vm"},
     ("https://aiplatform.googleapis.com", "key-3", "vm", "vertex-ai")),
    ({"QWEN_AUTH_TYPE": "openai-responses", "OPENAI_API_KEY": "key-1", "OPENAI_BASE_URL": "http://o/v1"},
     ("http://o/v1", "key-1", "", "openai-responses")),
    ({"QWEN_AUTH_TYPE": "gemini", "OPENAI_API_KEY": "key-1", "GOOGLE_GEMINI_BASE_URL": "http://g"},
     ("http://g", "", "", "gemini")),  # the chosen protocol's variables only
    ({}, ("", "", "", "openai")),
    ({"QWEN_AUTH_TYPE": "bogus", "OPENAI_API_KEY": "key-1"}, ("", "", "", "bogus")),
])
def test_check_reads_the_protocol_s_variables(environ, expected, monkeypatch):
    """The protocol is QWEN_AUTH_TYPE or the first one whose key is set (openai, anthropic, gemini, vertex-ai), and
    its variables give base URL (the CLI's default for gemini and vertex-ai), key and model."""
    check = _load_check_py()
    calls = []

    def fake(base_url, api_key, model=None, **kwargs):
        calls.append((base_url, api_key, model, kwargs["auth_type"]))
        return {"reason": "ok", "msg": "fine"}
    monkeypatch.setattr(check, "provider_check", fake)
    assert check.check([], environ) == (0, "ok: fine (reason: ok)")
    assert calls == [expected]


@pytest.mark.parametrize("value, seconds", [(None, 10), ("", 10), ("3", 3), ("2.5", 2.5), ("0", 10), ("-1", 10),
                                            ("x", 10), ("inf", 10), ("nan", 10)])
def test_check_timeout_and_options(value, seconds, monkeypatch):
    check = _load_check_py()
    calls = []

    def fake(base_url, api_key, **kwargs):
        calls.append(kwargs)
        return {"reason": "timeout", "msg": "slow"}
    monkeypatch.setattr(check, "provider_check", fake)
    environ = {"NODE_EXTRA_CA_CERTS": "/ca.pem"} if value is None else {"QWEN_CHECK_TIMEOUT": value}
    assert check.check(["--chat"], environ) == (1, "FAILED: slow (reason: timeout)")
    assert calls[0]["timeout"] == seconds and str(calls[0]["timeout"]) == str(seconds)
    assert calls[0]["probe"] == "chat"
    assert calls[0]["ca_path"] == ("/ca.pem" if value is None else None)
