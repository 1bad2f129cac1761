"""A minimal provider for tests that speaks every protocol the qwen CLI speaks headless: the real CLI talks to it
on loopback.

Standard library only (Python 3.9+), so it runs inside the Debian test containers as they are.

What it serves, by protocol (the `protocol` of a log line), with the header the key must travel in:

  openai            POST /v1/chat/completions, /chat/completions (streamed: `data:` chunks, then `data: [DONE]`);
                    GET /v1/models, /models. Key: `Authorization: Bearer`.
  openai-responses  POST /v1/responses, /responses ("stream": true: text/event-stream response.created,
                    response.output_item.added, response.output_text.delta..., response.output_item.done,
                    response.completed; false: one response object with output and usage). Key: Bearer.
  anthropic         POST /v1/messages (streamed: `event:` + `data:` message_start, ping, content_block_start,
                    content_block_delta..., content_block_stop, message_delta with stop_reason, message_stop; else
                    one message); GET /v1/models sent with an `anthropic-version` header. Key: `x-api-key` or
                    `Authorization: Bearer` (qwen sends x-api-key only to *.anthropic.com, Bearer elsewhere).
  gemini            POST /v1beta/models/{model}:streamGenerateContent (one `data:` line an event, the last chunk
                    with finishReason STOP), :generateContent, :countTokens ({"totalTokens": N});
                    GET /v1beta/models. Key: `x-goog-api-key`.
  vertex-ai         Vertex AI express mode: POST /v1beta1/publishers/google/models/{model}: and /v1/publishers/...
                    with the same three methods (qwen's SDK sends model "p/m" as publishers/p/models/m). Key:
                    `x-goog-api-key`.

It checks every request the way a provider would. The key must be one of the lines of --expect-key-file (read
from a file, never from the command line, which `ps` shows; several lines for a fleet that gives each user a key)
and travel in a header the protocol reads. The model (from the body, or from the path for gemini and vertex-ai)
must be --expect-model. Refusals come in the protocol's own error shape: 404 for an unknown path (in the openai
shape when the path names no protocol), 401 for a missing or wrong key or one in a header the protocol does not
read, 400 for a body that is not JSON, 404 for an unknown model. The shapes:
  openai, openai-responses  {"error": {"message", "type": "invalid_request_error", "code": "invalid_api_key" |
                            "not_found" | "invalid_json" | "model_not_found"}}
  anthropic                 {"type": "error", "error": {"type": "authentication_error" | "not_found_error" |
                            "invalid_request_error", "message"}}
  gemini, vertex-ai         {"error": {"code": 401 | 404 | 400, "message", "status": "UNAUTHENTICATED" |
                            "NOT_FOUND" | "INVALID_ARGUMENT"}}. Google itself answers a wrong key with 400
                            INVALID_ARGUMENT; the stub answers 401 (as for every protocol, so a test asserts one
                            status for a wrong key) and keeps Google's details, an ErrorInfo with reason
                            API_KEY_INVALID.

It answers chat requests with --reply and logs one JSON line per request to --log, written before the answer goes
out: method, path (without the query), protocol (null for an unknown path), auth_ok, key_index (0-based line of
--expect-key-file holding the key the request carried, whatever its header, or null), key_header (the header it
came in, lowercase, or null), model, stream, status, and on chat requests tools_offered (the tool names the client
offered). It never logs a key or the header's value.

With --tool-call COMMAND it plays a model that uses qwen's shell tool (`run_shell_command`, arguments
{"command": ...}, as qwen-code 0.24.4 declares it), in every protocol's own shape (a tool_calls delta, a
function_call output item, a tool_use block, a functionCall part): a chat request that carries no tool result is
answered with a call of that tool (logged "tool_call": true) if the request's tools offer it, else with --reply
(logged "tool_call": false, "tool_not_offered": name). A request carrying a tool result (a `tool` message, a
function_call_output item, a tool_result block, a functionResponse part) is answered with --reply + " TOOL-OUTPUT: "
+ the last result, trimmed to 2000 characters, which is also logged as "tool_result".

qwen 0.24.4 headless runs shell commands with child_process and takes the result at the child's `exit`, so the
output of a command that prints and exits at once is often lost ("Output: (empty)"); a tool-call COMMAND that must
show its output should keep running a moment after printing, e.g. 'echo qwenops-tool-$((6*7)); sleep 0.3'.

With --background it is the one way every test starts it (Ansible task, docker exec, subprocess, shell): it binds
the port, forks a detached server (own session, stdio on --output), waits until the port accepts connections, writes
--port-file and --pidfile and exits 0; or exits 1 with the tail of the server's output. A stub still running from an
earlier start with the same --pidfile is stopped first. tests/tools/stub_harness.py drives it from Python.

    python3 qwen_stub_provider.py --port 18080 --expect-key-file keys --expect-model m --log /var/log/stub.jsonl
    python3 qwen_stub_provider.py ... --tool-call 'echo qwenops-tool-$((6*7)); sleep 0.3'
    python3 qwen_stub_provider.py --background --port 0 --port-file port --pidfile pid ...
"""
import argparse
import collections
import functools
import hmac
import json
import os
import re
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

DEFAULT_REPLY = "stub-provider-reply: hello from the qwenops stub"
SHELL_TOOL = "run_shell_command"  # qwen-code's ToolNames.SHELL; its schema requires "command"
TOOL_RESULT_MAX = 2000
OTHER_MODELS = ["qwenops/other-model", "qwenops/stub-coder-mini"]  # listed after --expect-model
KEY_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")  # every header some protocol reads a key from
STATUS = {"path": 404, "auth": 401, "json": 400, "model": 404}  # the refusals, by kind
PROMPT_TOKENS = 10  # what every answer says the prompt cost

# A tool call the stub makes: arguments is the JSON text of the arguments, ident a fresh hex id the protocols prefix.
Call = collections.namedtuple("Call", "ident name arguments")


def dicts(value):
    """The dicts in value when it is a list: a request's malformed entries are skipped."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def names(items):
    """The string `name` of each of items (dicts)."""
    return [item["name"] for item in items if isinstance(item.get("name"), str)]


def message_text(content):
    """The text of a message's content: a string, or a list of parts (qwen sends [{"type": "text", ...}])."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part if isinstance(part, str) else part.get("text") if isinstance(part, dict) else None
                 for part in content]
        return "".join(text for text in texts if isinstance(text, str))
    return "" if content is None else str(content)


def last_text(items, field):
    """The text of field in the last of items (a request's tool results), None when there are none."""
    return message_text(items[-1].get(field)) if items else None


def pieces(text, call):
    """What a stream sends in turn: the call's arguments 16 characters at a time, or the words of text, each but the
    last with the space that followed it."""
    if call is not None:
        return [call.arguments[i:i + 16] for i in range(0, len(call.arguments), 16)]
    words = text.split(" ")
    return [word + " " for word in words[:-1]] + words[-1:]


def typed(kind, **fields):
    """An event whose data repeats its name as "type" (Anthropic, OpenAI Responses)."""
    return kind, dict(type=kind, **fields)


def fresh_id(prefix):
    return prefix + uuid.uuid4().hex[:24]


class OpenAIChat:
    """OpenAI chat completions."""
    name = "openai"
    key_headers = ("authorization",)
    ERRORS = {"path": ("not_found", "Unknown path {}"), "auth": ("invalid_api_key", "Incorrect API key provided."),
              "json": ("invalid_json", "The request body is not JSON."),
              "model": ("model_not_found", "The model `{}` does not exist.")}

    def error(self, kind, subject):
        code, text = self.ERRORS[kind]
        return {"error": {"message": text.format(subject), "type": "invalid_request_error", "code": code}}

    @staticmethod
    def models(ids):
        return {"object": "list", "data": [{"id": i, "object": "model", "created": 0, "owned_by": "qwenops-stub"}
                                           for i in ids]}

    @staticmethod
    def tools(body):
        return names(dicts([tool.get("function") for tool in dicts(body.get("tools"))]))

    @staticmethod
    def tool_result(body):
        return last_text([m for m in dicts(body.get("messages")) if m.get("role") == "tool"], "content")

    @staticmethod
    def _tool_call(call, arguments):
        return {"id": "call_" + call.ident, "type": "function", "function": {"name": call.name, "arguments": arguments}}

    def message(self, model, text, call):
        message = {"role": "assistant", "content": text}
        if call is not None:
            message["tool_calls"] = [self._tool_call(call, call.arguments)]
        return {"id": fresh_id("chatcmpl-"), "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "finish_reason": "stop" if call is None else "tool_calls",
                             "message": message}],
                "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": 10, "total_tokens": PROMPT_TOKENS + 10}}

    def events(self, model, text, call, body):
        ident, created = fresh_id("chatcmpl-"), int(time.time())

        def chunk(delta, finish=None):
            return None, {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                          "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        sent = pieces(text, call)
        if call is not None:
            # As providers do: the first chunk names the call, the arguments follow in pieces.
            yield chunk({"role": "assistant", "content": None, "tool_calls": [dict(self._tool_call(call, ""), index=0)]})
            for piece in sent:
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        else:
            yield chunk({"role": "assistant", "content": ""})
            for piece in sent:
                yield chunk({"content": piece})
        yield chunk({}, "stop" if call is None else "tool_calls")
        if (body.get("stream_options") or {}).get("include_usage"):
            yield None, {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                         "choices": [], "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": len(sent),
                                                  "total_tokens": PROMPT_TOKENS + len(sent)}}
        yield None, "[DONE]"


class OpenAIResponses(OpenAIChat):
    """OpenAI Responses (qwen's openai-responses, or wireApi "responses"); keys and errors as chat completions."""
    name = "openai-responses"

    @staticmethod
    def tools(body):
        return names([tool for tool in dicts(body.get("tools")) if tool.get("type") == "function"])

    @staticmethod
    def tool_result(body):
        return last_text([i for i in dicts(body.get("input")) if i.get("type") == "function_call_output"], "output")

    @staticmethod
    def _item(text, call):
        if call is not None:
            return {"type": "function_call", "id": "fc_" + call.ident, "call_id": "call_" + call.ident,
                    "name": call.name, "arguments": call.arguments, "status": "completed"}
        return {"type": "message", "id": fresh_id("msg_"), "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}

    @staticmethod
    def _response(ident, model, output, count=None):
        """The response object: in progress, or completed with its usage when count (output tokens) is given."""
        response = {"id": ident, "object": "response", "created_at": int(time.time()), "model": model,
                    "status": "in_progress" if count is None else "completed", "output": output}
        if count is not None:
            response["usage"] = {"input_tokens": PROMPT_TOKENS, "output_tokens": count,
                                 "total_tokens": PROMPT_TOKENS + count}
        return response

    def message(self, model, text, call):
        return self._response(fresh_id("resp_"), model, [self._item(text, call)], len(pieces(text, call)))

    def events(self, model, text, call, body):
        ident, item, sent = fresh_id("resp_"), self._item(text, call), pieces(text, call)
        yield typed("response.created", response=self._response(ident, model, []))
        begun = dict(item, status="in_progress", **({"content": []} if call is None else {"arguments": ""}))
        yield typed("response.output_item.added", output_index=0, item=begun)
        for piece in sent:
            if call is None:
                yield typed("response.output_text.delta", output_index=0, item_id=item["id"], content_index=0,
                            delta=piece)
            else:
                yield typed("response.function_call_arguments.delta", output_index=0, item_id=item["id"],
                            delta=piece)
        yield typed("response.output_item.done", output_index=0, item=item)
        yield typed("response.completed", response=self._response(ident, model, [item], len(sent)))


class Anthropic:
    """Anthropic Messages."""
    name = "anthropic"
    key_headers = ("x-api-key", "authorization")
    ERRORS = {"path": ("not_found_error", "Not found: {}"), "auth": ("authentication_error", "invalid x-api-key"),
              "json": ("invalid_request_error", "The request body is not valid JSON."),
              "model": ("not_found_error", "model: {}")}

    def error(self, kind, subject):
        kind_, text = self.ERRORS[kind]
        return {"type": "error", "error": {"type": kind_, "message": text.format(subject)}}

    @staticmethod
    def models(ids):
        return {"data": [{"type": "model", "id": i, "display_name": i, "created_at": "2025-01-01T00:00:00Z"}
                         for i in ids], "has_more": False, "first_id": ids[0], "last_id": ids[-1]}

    @staticmethod
    def tools(body):
        return names(dicts(body.get("tools")))

    @staticmethod
    def tool_result(body):
        blocks = [b for m in dicts(body.get("messages")) for b in dicts(m.get("content"))]
        return last_text([b for b in blocks if b.get("type") == "tool_result"], "content")

    @staticmethod
    def message(model, text, call):
        if call is None:
            block = {"type": "text", "text": text}
        else:
            block = {"type": "tool_use", "id": "toolu_" + call.ident, "name": call.name,
                     "input": json.loads(call.arguments)}
        return {"id": fresh_id("msg_"), "type": "message", "role": "assistant", "model": model, "content": [block],
                "stop_reason": "end_turn" if call is None else "tool_use", "stop_sequence": None,
                "usage": {"input_tokens": PROMPT_TOKENS, "output_tokens": len(pieces(text, call))}}

    def events(self, model, text, call, body):
        message, sent = self.message(model, text, call), pieces(text, call)
        (block,) = message["content"]
        yield typed("message_start", message=dict(message, content=[], stop_reason=None,
                                                  usage={"input_tokens": PROMPT_TOKENS, "output_tokens": 1}))
        yield typed("ping")
        yield typed("content_block_start", index=0,
                    content_block=dict(block, text="") if call is None else dict(block, input={}))
        for piece in sent:
            delta = ({"type": "text_delta", "text": piece} if call is None
                     else {"type": "input_json_delta", "partial_json": piece})
            yield typed("content_block_delta", index=0, delta=delta)
        yield typed("content_block_stop", index=0)
        yield typed("message_delta", delta={"stop_reason": message["stop_reason"], "stop_sequence": None},
                    usage={"output_tokens": len(sent)})
        yield typed("message_stop")


class Gemini:
    """The Gemini API (generativelanguage); Vertex AI express mode speaks the same."""
    name = "gemini"
    key_headers = ("x-goog-api-key",)
    ERRORS = {"path": ("NOT_FOUND", "Method not found: {}"),
              "auth": ("UNAUTHENTICATED", "API key not valid. Please pass a valid API key."),
              "json": ("INVALID_ARGUMENT", "Invalid JSON payload received."),
              "model": ("NOT_FOUND", "models/{} is not found for API version v1beta, or is not supported for "
                                     "generateContent.")}

    def error(self, kind, subject):
        status, text = self.ERRORS[kind]
        error = {"code": STATUS[kind], "message": text.format(subject), "status": status}
        if kind == "auth":
            error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
                                 "domain": "googleapis.com"}]
        return {"error": error}

    @staticmethod
    def models(ids):
        return {"models": [{"name": "models/" + i, "displayName": i, "inputTokenLimit": 131072,
                            "outputTokenLimit": 8192,
                            "supportedGenerationMethods": ["generateContent", "countTokens"]} for i in ids]}

    @staticmethod
    def tools(body):
        return names([d for tool in dicts(body.get("tools")) for d in dicts(tool.get("functionDeclarations"))])

    @staticmethod
    def tool_result(body):
        parts = [p for c in dicts(body.get("contents")) for p in dicts(c.get("parts"))]
        results = dicts([part.get("functionResponse") for part in parts])
        if not results:
            return None
        response = results[-1].get("response")  # qwen sends {"output": text}
        output = response.get("output") if isinstance(response, dict) else None
        return output if isinstance(output, str) else json.dumps(response)

    @staticmethod
    def count(body):
        """countTokens: a number that grows with the contents."""
        return len(re.findall(r"\w+", json.dumps(body.get("contents")))) + 1

    @staticmethod
    def _chunk(ident, model, part, count=None):
        """One GenerateContentResponse holding part; the last (finishReason STOP and the usage) when count (output
        tokens) is given."""
        candidate = {"content": {"role": "model", "parts": [part]}, "index": 0}
        chunk = {"candidates": [candidate], "modelVersion": model, "responseId": ident}
        if count is not None:
            candidate["finishReason"] = "STOP"
            chunk["usageMetadata"] = {"promptTokenCount": PROMPT_TOKENS, "candidatesTokenCount": count,
                                      "totalTokenCount": PROMPT_TOKENS + count}
        return chunk

    def message(self, model, text, call):
        part = {"text": text} if call is None else {"functionCall": {"name": call.name,
                                                                     "args": json.loads(call.arguments)}}
        return self._chunk(fresh_id("r"), model, part, len(pieces(text, call)))

    def events(self, model, text, call, body):
        if call is not None:  # a function call comes whole, in the last chunk
            yield None, self.message(model, text, call)
            return
        ident, sent = fresh_id("r"), pieces(text, call)
        for piece in sent[:-1]:
            yield None, self._chunk(ident, model, {"text": piece})
        yield None, self._chunk(ident, model, {"text": sent[-1]}, len(sent))


class Vertex(Gemini):
    """Vertex AI in express mode (an API key, no project in the path)."""
    name = "vertex-ai"


OPENAI, RESPONSES, ANTHROPIC, GEMINI, VERTEX = OpenAIChat(), OpenAIResponses(), Anthropic(), Gemini(), Vertex()
BODY_PATHS = {"/v1/chat/completions": OPENAI, "/chat/completions": OPENAI, "/v1/responses": RESPONSES,
              "/responses": RESPONSES, "/v1/messages": ANTHROPIC}
GOOGLE_METHODS = {"streamGenerateContent": "stream", "generateContent": "generate", "countTokens": "count"}
GEMINI_PATH = re.compile(r"/v1beta/models/(.+):(\w+)")
VERTEX_PATH = re.compile(r"/v1(?:beta1)?/publishers/([^/]+)/models/(.+):(\w+)")


def route(method, path, headers):
    """(protocol, action, the model the path names) for a request; None for a path no protocol serves. The action is
    "models", "chat" (the body says whether to stream), "stream", "generate", "count", or None for a method the
    protocol lacks."""
    if method == "GET":
        if path in ("/v1/models", "/models"):
            return (ANTHROPIC if "anthropic-version" in headers else OPENAI), "models", None
        return (GEMINI, "models", None) if path == "/v1beta/models" else None
    if path in BODY_PATHS:
        return BODY_PATHS[path], "chat", None
    match = GEMINI_PATH.fullmatch(path)
    if match:
        return GEMINI, GOOGLE_METHODS.get(match[2]), unquote(match[1])
    match = VERTEX_PATH.fullmatch(path)
    if match:
        publisher, model = unquote(match[1]), unquote(match[2])
        return VERTEX, GOOGLE_METHODS.get(match[3]), model if publisher == "google" else publisher + "/" + model
    return None


def presented_key(headers, accepted):
    """(header, key) of the key a request carries: from the first of the accepted headers that is there, else from
    any other key header (which the protocol does not read); (None, None) without one. The key is None when an
    Authorization header holds no Bearer token."""
    for name in accepted + tuple(h for h in KEY_HEADERS if h not in accepted):
        value = headers.get(name)
        if value is None:
            continue
        if name == "authorization":
            scheme, token = (value.split(None, 1) + ["", ""])[:2]
            return name, token.strip() if scheme.lower() == "bearer" else None
        return name, value.strip()
    return None, None


def read_keys(path):
    """The keys of a key file, one a line, as (0-based line number, key); a blank line holds none."""
    with open(path) as f:
        return [(number, line.strip()) for number, line in enumerate(f.read().splitlines()) if line.strip()]


class Stub:
    def __init__(self, keys, model, reply, log_path, tool_call=None):
        """keys: (line number, key) pairs, or None to accept any request."""
        self.keys, self.model, self.reply, self.log_path = keys, model, reply, log_path
        self.tool_call = tool_call
        self.lock = threading.Lock()

    def key_index(self, key):
        """The line number of key among the expected keys, or None."""
        for number, expected in self.keys or ():
            if key is not None and hmac.compare_digest(key.encode(), expected.encode()):
                return number
        return None

    def log(self, entry):
        if not self.log_path:
            return
        with self.lock, open(self.log_path, "a") as f:
            f.write(json.dumps(entry) + "\n")


def make_handler(stub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "qwenops-stub/1"

        def log_message(self, *args):  # quiet: the JSON log is the record
            pass

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def _serve(self, method):
            path = self.path.split("?", 1)[0].rstrip("/")
            found = route(method, path, self.headers)
            protocol, action, model = found or (OPENAI, None, None)
            key_header, key = presented_key(self.headers, protocol.key_headers)
            key_index = stub.key_index(key)
            auth_ok = stub.keys is None or (key_header in protocol.key_headers and key_index is not None)
            body = self._body() if method == "POST" else {}
            if model is None and isinstance(body, dict):
                model = body.get("model")
            stream = action == "stream" or (action == "chat" and isinstance(body, dict) and bool(body.get("stream")))
            entry = {"method": method, "path": path, "protocol": found and protocol.name, "auth_ok": auth_ok,
                     "key_index": key_index, "key_header": key_header, "model": model, "stream": stream}
            respond = self._refusal(entry, protocol, action, body) or self._success(entry, protocol, action, body)
            stub.log(entry)  # before answering, so whoever holds the answer finds the line
            respond()

        def _body(self):
            """The request's JSON body ({} when empty), or None when it is not JSON."""
            length = int(self.headers.get("Content-Length") or 0)
            try:
                return json.loads(self.rfile.read(length) if length else b"{}")
            except ValueError:
                return None

        def _refusal(self, entry, protocol, action, body):
            """The answer to a request refused (unknown path, key, body, model; in that order), noted in entry; None
            for a request to serve."""
            if action is None:
                kind, subject = "path", entry["path"]
            elif not entry["auth_ok"]:
                kind, subject = "auth", None
            elif not isinstance(body, dict):
                kind, subject = "json", None
            elif action != "models" and stub.model and entry["model"] not in stub.model.split(","):
                kind, subject = "model", entry["model"]
            else:
                return None
            entry["status"] = STATUS[kind]
            return functools.partial(self._send_json, STATUS[kind], protocol.error(kind, subject))

        def _success(self, entry, protocol, action, body):
            """The answer to a request served, noted in entry."""
            entry["status"] = 200
            if action == "models":
                return functools.partial(self._send_json, 200, protocol.models((stub.model or "stub-model").split(",") +
                                                                               OTHER_MODELS))
            if action == "count":
                return functools.partial(self._send_json, 200, {"totalTokens": protocol.count(body)})
            text, call = self._answer(protocol, body, entry)
            if entry["stream"]:
                return functools.partial(self._send_events, protocol.events(entry["model"], text, call, body))
            return functools.partial(self._send_json, 200, protocol.message(entry["model"], text, call))

        def _answer(self, protocol, body, entry):
            """The reply text and the tool call (or None) for a chat request served; notes the choice in entry."""
            offered = protocol.tools(body)
            entry["tools_offered"] = offered
            if stub.tool_call is None:
                return stub.reply, None
            result = protocol.tool_result(body)
            if result is not None:
                entry["tool_result"] = result.strip()[:TOOL_RESULT_MAX]
                return stub.reply + " TOOL-OUTPUT: " + entry["tool_result"], None
            if SHELL_TOOL not in offered:
                entry["tool_call"], entry["tool_not_offered"] = False, SHELL_TOOL
                return stub.reply, None
            entry["tool_call"] = True
            return None, Call(uuid.uuid4().hex[:24], SHELL_TOOL, json.dumps({"command": stub.tool_call}))

        def _send_json(self, status, payload):
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _send_events(self, events):
            """Server-sent events from (name or None, payload: a dict, or a string sent as it is) pairs."""
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for name, payload in events:
                data = payload if isinstance(payload, str) else json.dumps(payload)
                self.wfile.write((("event: %s\n" % name if name else "") + "data: %s\n\n" % data).encode())
                self.wfile.flush()

    return Handler


STARTUP_TIMEOUT = 20  # seconds --background waits for the server to accept connections
OUTPUT_TAIL = 20  # lines of the server's output shown when it does not start


def make_server(args):
    """The listening server, key read and TLS set up: whatever fails here fails before anything is detached."""
    keys = read_keys(args.expect_key_file) if args.expect_key_file else None
    stub = Stub(keys, args.expect_model, args.reply, args.log, args.tool_call)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(stub))
    server.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    return server


def write_file(path, text):
    """Written whole or not at all, for whoever polls for the file."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def process_gone(pid):
    """Whether pid has exited. A zombie counts as gone: a container's init (`sleep infinity`) never reaps it."""
    try:
        os.kill(pid, 0)
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except ProcessLookupError:
        return True
    except OSError:
        return False


def stop_previous(pidfile):
    """Stops the stub an earlier --background start recorded in pidfile, if that process is still a stub."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if os.path.basename(__file__).encode() not in f.read():
                return  # gone, or the pid now belongs to another program
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not process_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def accepts_connections(host, port):
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until_serving(pid, ready, host, port):
    """True once the detached server (pid) has said it is ready on the pipe and the port accepts a connection."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with os.fdopen(ready, "rb") as pipe:
        said_ready = pipe.read(1) == b"1"  # EOF (b"") if the child died first
    while said_ready and time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
        if accepts_connections(host, port):
            return True
        time.sleep(0.05)
    return False


def background(args):
    """Starts the server detached from the caller; returns the exit status of the start."""
    if args.pidfile:
        stop_previous(args.pidfile)
    server = make_server(args)
    port = server.server_address[1]
    if args.output:
        output, scratch = open(args.output, "ab"), None
    else:
        fd, scratch = tempfile.mkstemp(prefix="qwen-stub-", suffix=".out")
        output = os.fdopen(fd, "ab")
    ready, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the server: its own session, nothing of the caller's stdio (docker exec and Ansible wait for it)
        status = 1
        try:
            os.close(ready)
            os.setsid()
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(output.fileno(), 1)
            os.dup2(output.fileno(), 2)
            os.write(ready_w, b"1")
            os.close(ready_w)
            server.serve_forever()
            status = 0
        except BaseException:  # noqa: B036 - the child must never return into the caller's code
            import traceback
            traceback.print_exc()
        finally:
            os._exit(status)
    os.close(ready_w)
    server.server_close()  # the child holds the listening socket now
    output.close()
    if not wait_until_serving(pid, ready, args.host, port):
        if not process_gone(pid):
            os.kill(pid, signal.SIGKILL)
        with open(args.output or scratch, errors="replace") as f:
            tail = f.read().splitlines()[-OUTPUT_TAIL:]
        if scratch:
            os.unlink(scratch)
        sys.stderr.write("qwen stub provider did not start on %s:%d; its output ends:\n%s\n"
                         % (args.host, port, "\n".join(tail) or "(nothing)"))
        return 1
    if scratch:
        os.unlink(scratch)  # the server keeps writing to it, unnamed
    if args.pidfile:
        write_file(args.pidfile, "%d\n" % pid)
    if args.port_file:
        write_file(args.port_file, "%d\n" % port)
    print("qwen stub provider: pid %d, %s://%s:%d" % (pid, "https" if args.tls_cert else "http", args.host, port))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (see --port-file)")
    parser.add_argument("--port-file", help="write the listening port here once ready")
    parser.add_argument("--expect-key-file",
                        help="file holding the API keys, one a line: every request must carry one of them")
    parser.add_argument("--expect-model", help="the only model that exists (or the only models: a,b)")
    parser.add_argument("--reply", default=DEFAULT_REPLY)
    parser.add_argument("--log", help="append one JSON line per request (never the key)")
    parser.add_argument("--tool-call", metavar="COMMAND",
                        help="answer a first turn with a %s call running COMMAND, then echo its result" % SHELL_TOOL)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--pidfile")
    parser.add_argument("--background", action="store_true",
                        help="detach, return once the port accepts connections (exit 1 with the output's tail if not)")
    parser.add_argument("--output", help="with --background: the server's stdout and stderr (appended)")
    args = parser.parse_args(argv)
    if args.background:
        return background(args)

    server = make_server(args)
    if args.pidfile:
        write_file(args.pidfile, "%d\n" % os.getpid())
    if args.port_file:
        write_file(args.port_file, "%d\n" % server.server_address[1])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
