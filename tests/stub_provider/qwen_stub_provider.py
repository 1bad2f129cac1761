"""A minimal OpenAI-compatible provider for tests: the real qwen CLI talks to it on loopback.

Standard library only (Python 3.9+), so it runs inside the Debian test containers as they are.

It checks every request the way a provider would: `Authorization: Bearer <key>` must carry the expected key
(read from --expect-key-file, never from the command line, which `ps` shows) and the requested model must be
--expect-model. It answers chat completions (streamed or not) with --reply, and logs one JSON line per request
to --log, written before the answer goes out: method, path, auth_ok, model, stream, status, and on chat requests
tools_offered (the tool names the client offered). It never logs the key or the Authorization header.

With --tool-call COMMAND it plays a model that uses qwen's shell tool (`run_shell_command`, arguments
{"command": ...}, as qwen-code 0.24.4 declares it): a chat request with no `tool` role message is answered with a
call of that tool (logged "tool_call": true) if the request's `tools` offer it, else with --reply (logged
"tool_call": false, "tool_not_offered": name). A request carrying a `tool` message (the tool's result) is answered
with --reply + " TOOL-OUTPUT: " + that result, trimmed to 2000 characters, which is also logged as "tool_result".

qwen 0.24.4 headless runs shell commands with child_process and takes the result at the child's `exit`, so the
output of a command that prints and exits at once is often lost ("Output: (empty)"); a tool-call COMMAND that must
show its output should keep running a moment after printing, e.g. 'echo qwenops-tool-$((6*7)); sleep 0.3'.

With --background it is the one way every test starts it (Ansible task, docker exec, subprocess, shell): it binds
the port, forks a detached server (own session, stdio on --output), waits until the port accepts connections, writes
--port-file and --pidfile and exits 0; or exits 1 with the tail of the server's output. A stub still running from an
earlier start with the same --pidfile is stopped first. tests/tools/stub_harness.py drives it from Python.

    python3 qwen_stub_provider.py --port 18080 --expect-key-file key --expect-model m --log /var/log/stub.jsonl
    python3 qwen_stub_provider.py ... --tool-call 'echo qwenops-tool-$((6*7)); sleep 0.3'
    python3 qwen_stub_provider.py --background --port 0 --port-file port --pidfile pid ...
"""
import argparse
import functools
import hmac
import json
import os
import signal
import socket
import ssl
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_REPLY = "stub-provider-reply: hello from the qwenops stub"
SHELL_TOOL = "run_shell_command"  # qwen-code's ToolNames.SHELL; its schema requires "command"
TOOL_RESULT_MAX = 2000


def tool_names(tools):
    """The function names in an OpenAI `tools` list, ignoring malformed entries."""
    names = []
    for tool in tools if isinstance(tools, list) else []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names


def message_text(content):
    """The text of a message's content: a string, or a list of parts (qwen sends [{"type": "text", ...}])."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [part if isinstance(part, str) else part.get("text") if isinstance(part, dict) else None
                 for part in content]
        return "".join(text for text in texts if isinstance(text, str))
    return "" if content is None else str(content)


class Stub:
    def __init__(self, key, model, reply, log_path, tool_call=None):
        self.key, self.model, self.reply, self.log_path = key, model, reply, log_path
        self.tool_call = tool_call
        self.lock = threading.Lock()

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

        def _auth_ok(self):
            header = self.headers.get("Authorization", "")
            if stub.key is None:
                return True
            return header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), stub.key.encode())

        def _send_json(self, status, payload):
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status, code, message, kind="invalid_request_error"):
            self._send_json(status, {"error": {"message": message, "type": kind, "code": code}})

        def _path(self):
            return self.path.split("?", 1)[0].rstrip("/")

        def _refusal(self, entry, path, paths, auth_ok):
            """The 404 of a path not in paths or the 401 of a wrong key, noted in entry; None for neither."""
            if path not in paths:
                entry["status"] = 404
                return functools.partial(self._error, 404, "not_found", "Unknown path %s" % path)
            if not auth_ok:
                entry["status"] = 401
                return functools.partial(self._error, 401, "invalid_api_key", "Incorrect API key provided.")
            return None

        def do_GET(self):
            path, auth_ok = self._path(), self._auth_ok()
            entry = {"method": "GET", "path": path, "auth_ok": auth_ok, "model": None, "stream": False}
            respond = self._refusal(entry, path, ("/v1/models", "/models"), auth_ok)
            if respond is None:
                entry["status"] = 200
                ids = [stub.model or "stub-model", "qwenops/other-model", "qwenops/stub-coder-mini"]
                respond = functools.partial(self._send_json, 200, {"object": "list", "data": [
                    {"id": i, "object": "model", "created": 0, "owned_by": "qwenops-stub"} for i in ids]})
            stub.log(entry)  # before answering, so whoever holds the answer finds the line
            respond()

        def do_POST(self):
            path, auth_ok = self._path(), self._auth_ok()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            model = body.get("model") if isinstance(body, dict) else None
            stream = bool(body.get("stream")) if isinstance(body, dict) else False
            entry = {"method": "POST", "path": path, "auth_ok": auth_ok, "model": model, "stream": stream}
            respond = (self._refusal(entry, path, ("/v1/chat/completions", "/chat/completions"), auth_ok)
                       or self._chat(entry, body, model, stream))
            stub.log(entry)  # before answering, so whoever holds the answer finds the line
            respond()

        def _chat(self, entry, body, model, stream):
            """The answer to a chat request on a known path with the right key, noted in entry."""
            if not isinstance(body, dict):
                entry["status"] = 400
                return functools.partial(self._error, 400, "invalid_json", "The request body is not JSON.")
            if stub.model and model != stub.model:
                entry["status"] = 404
                return functools.partial(self._error, 404, "model_not_found", "The model `%s` does not exist." % model)
            entry["status"] = 200
            reply, call = self._answer(body, entry)
            if stream:
                return functools.partial(self._stream, model, body, reply, call)
            return functools.partial(self._complete, model, reply, call)

        def _answer(self, body, entry):
            """The reply text and the tool call (or None) for a valid chat request; notes the choice in entry."""
            offered = tool_names(body.get("tools"))
            entry["tools_offered"] = offered
            if stub.tool_call is None:
                return stub.reply, None
            messages = body.get("messages") if isinstance(body.get("messages"), list) else []
            results = [m for m in messages if isinstance(m, dict) and m.get("role") == "tool"]
            if results:
                result = message_text(results[-1].get("content")).strip()[:TOOL_RESULT_MAX]
                entry["tool_result"] = result
                return stub.reply + " TOOL-OUTPUT: " + result, None
            if SHELL_TOOL not in offered:
                entry["tool_call"], entry["tool_not_offered"] = False, SHELL_TOOL
                return stub.reply, None
            entry["tool_call"] = True
            return None, {"id": "call_" + uuid.uuid4().hex[:24], "type": "function",
                          "function": {"name": SHELL_TOOL, "arguments": json.dumps({"command": stub.tool_call})}}

        def _complete(self, model, reply, call):
            message = {"role": "assistant", "content": reply}
            if call is not None:
                message["tool_calls"] = [call]
            self._send_json(200, {
                "id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion", "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop" if call is None else "tool_calls",
                             "message": message}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})

        def _stream(self, model, body, reply, call):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            ident, created = "chatcmpl-" + uuid.uuid4().hex, int(time.time())

            def chunk(delta, finish=None, usage=None):
                payload = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                           "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                if usage is not None:
                    payload["choices"] = []
                    payload["usage"] = usage
                self.wfile.write(("data: %s\n\n" % json.dumps(payload)).encode())
                self.wfile.flush()

            if call is not None:
                # As providers do: the first chunk names the call, the arguments follow in pieces.
                args = call["function"]["arguments"]
                chunk({"role": "assistant", "content": None, "tool_calls": [
                    {"index": 0, "id": call["id"], "type": "function",
                     "function": {"name": call["function"]["name"], "arguments": ""}}]})
                pieces = [args[i:i + 16] for i in range(0, len(args), 16)]
                for piece in pieces:
                    chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                count = len(pieces)
                chunk({}, finish="tool_calls")
            else:
                chunk({"role": "assistant", "content": ""})
                words = reply.split(" ")
                for i, word in enumerate(words):
                    chunk({"content": word + (" " if i < len(words) - 1 else "")})
                count = len(words)
                chunk({}, finish="stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                chunk({}, usage={"prompt_tokens": 10, "completion_tokens": count, "total_tokens": 10 + count})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


STARTUP_TIMEOUT = 20  # seconds --background waits for the server to accept connections
OUTPUT_TAIL = 20  # lines of the server's output shown when it does not start


def make_server(args):
    """The listening server, key read and TLS set up: whatever fails here fails before anything is detached."""
    key = None
    if args.expect_key_file:
        with open(args.expect_key_file) as f:
            key = f.read().strip()
    stub = Stub(key, args.expect_model, args.reply, args.log, args.tool_call)
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
    parser.add_argument("--expect-key-file", help="file holding the API key every request must carry")
    parser.add_argument("--expect-model", help="the only model that exists")
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
