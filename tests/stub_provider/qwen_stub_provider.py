"""A minimal OpenAI-compatible provider for tests: the real qwen CLI talks to it on loopback.

Standard library only (Python 3.9+), so it runs inside the Debian test containers as they are.

It checks every request the way a provider would: `Authorization: Bearer <key>` must carry the expected key
(read from --expect-key-file, never from the command line, which `ps` shows) and the requested model must be
--expect-model. It answers chat completions (streamed or not) with --reply, and logs one JSON line per request
to --log: method, path, auth_ok, model, stream, status. It never logs the key or the Authorization header.

    python3 qwen_stub_provider.py --port 18080 --expect-key-file key --expect-model m --log /var/log/stub.jsonl
"""
import argparse
import hmac
import json
import os
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_REPLY = "stub-provider-reply: hello from the qwenops stub"


class Stub:
    def __init__(self, key, model, reply, log_path):
        self.key, self.model, self.reply, self.log_path = key, model, reply, log_path
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

        def do_GET(self):
            path, auth_ok = self._path(), self._auth_ok()
            entry = {"method": "GET", "path": path, "auth_ok": auth_ok, "model": None, "stream": False}
            if path not in ("/v1/models", "/models"):
                status = 404
                self._error(404, "not_found", "Unknown path %s" % path)
            elif not auth_ok:
                status = 401
                self._error(401, "invalid_api_key", "Incorrect API key provided.")
            else:
                status = 200
                ids = [stub.model or "stub-model", "qwenops/other-model", "qwenops/stub-coder-mini"]
                self._send_json(200, {"object": "list", "data": [
                    {"id": i, "object": "model", "created": 0, "owned_by": "qwenops-stub"} for i in ids]})
            entry["status"] = status
            stub.log(entry)

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
            if path not in ("/v1/chat/completions", "/chat/completions"):
                entry["status"] = 404
                self._error(404, "not_found", "Unknown path %s" % path)
            elif not auth_ok:
                entry["status"] = 401
                self._error(401, "invalid_api_key", "Incorrect API key provided.")
            elif body is None or not isinstance(body, dict):
                entry["status"] = 400
                self._error(400, "invalid_json", "The request body is not JSON.")
            elif stub.model and model != stub.model:
                entry["status"] = 404
                self._error(404, "model_not_found", "The model `%s` does not exist." % model)
            else:
                entry["status"] = 200
                if stream:
                    self._stream(model, body)
                else:
                    self._complete(model)
            stub.log(entry)

        def _complete(self, model):
            self._send_json(200, {
                "id": "chatcmpl-" + uuid.uuid4().hex, "object": "chat.completion", "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": stub.reply}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}})

        def _stream(self, model, body):
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

            chunk({"role": "assistant", "content": ""})
            words = stub.reply.split(" ")
            for i, word in enumerate(words):
                chunk({"content": word + (" " if i < len(words) - 1 else "")})
            chunk({}, finish="stop")
            if (body.get("stream_options") or {}).get("include_usage"):
                chunk({}, usage={"prompt_tokens": 10, "completion_tokens": len(words), "total_tokens": 10 + len(words)})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (see --port-file)")
    parser.add_argument("--port-file", help="write the listening port here once ready")
    parser.add_argument("--expect-key-file", help="file holding the API key every request must carry")
    parser.add_argument("--expect-model", help="the only model that exists")
    parser.add_argument("--reply", default=DEFAULT_REPLY)
    parser.add_argument("--log", help="append one JSON line per request (never the key)")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--pidfile")
    args = parser.parse_args(argv)

    key = None
    if args.expect_key_file:
        with open(args.expect_key_file) as f:
            key = f.read().strip()
    stub = Stub(key, args.expect_model, args.reply, args.log)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(stub))
    server.daemon_threads = True
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
