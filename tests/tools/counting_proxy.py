"""An HTTPS (CONNECT) proxy on 127.0.0.1 that counts the bytes every client fetches through it, per upstream host.

The benchmark and the artifact-cache tests route registry traffic through it (qwen_code_https_proxy for the hosts,
https_proxy for the controller) to measure what a run downloads, and to prove that a run downloads nothing. Only
the hosts given with --allow are reachable through it (default: the npm registry); anything else is refused with
403, so a test can never send traffic elsewhere by mistake.

    python3 counting_proxy.py --port-file /tmp/proxy.port [--allow registry.npmjs.org] [--port 0]
                              [--auth-file FILE]   (FILE holds user:password: CONNECTs without it get 407)
                              [--allow-port 443]   (upstream ports allowed, repeatable; default 443 only)
    curl http://127.0.0.1:$(cat /tmp/proxy.port)/stats      -> {"total_down": ..., "hosts": {...}}
    curl -X POST http://127.0.0.1:$(cat /tmp/proxy.port)/reset

Standard library only.
"""
import argparse
import base64
import json
import select
import socket
import socketserver
import sys
import threading


class Counters:
    def __init__(self):
        self.lock = threading.Lock()
        self.hosts, self.refused, self.unauthorized = {}, [], 0

    def reset(self):
        with self.lock:
            self.hosts = {}
            self.refused = []
            self.unauthorized = 0

    def add(self, host, up=0, down=0, connection=False):
        with self.lock:
            entry = self.hosts.setdefault(host, {"up": 0, "down": 0, "connections": 0})
            entry["up"] += up
            entry["down"] += down
            entry["connections"] += 1 if connection else 0

    def snapshot(self):
        with self.lock:
            hosts = {h: dict(v) for h, v in self.hosts.items()}
            return {"hosts": hosts, "refused": list(self.refused), "unauthorized": self.unauthorized,
                    "total_down": sum(v["down"] for v in hosts.values()),
                    "total_up": sum(v["up"] for v in hosts.values()),
                    "connections": sum(v["connections"] for v in hosts.values())}


def read_head(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
        if len(data) > 65536:
            return None, b""
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def make_handler(counters, allowed, credentials=None, ports=("443",)):
    class Handler(socketserver.BaseRequestHandler):
        def reply(self, status, body=b"", ctype="text/plain"):
            self.request.sendall(("HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                                  % (status, ctype, len(body))).encode() + body)

        def handle(self):
            head, rest = read_head(self.request)
            if not head:
                return
            method, target = (head.split("\r\n", 1)[0].split(" ") + ["", ""])[:2]
            if method == "GET" and target == "/stats":
                return self.reply("200 OK", json.dumps(counters.snapshot()).encode(), "application/json")
            if method == "POST" and target == "/reset":
                counters.reset()
                return self.reply("200 OK", b"reset\n")
            if method != "CONNECT":
                return self.reply("501 Not Implemented", b"only CONNECT (https) is proxied\n")
            if credentials is not None:
                wanted = "basic " + base64.b64encode(credentials.encode()).decode()
                given = [line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]
                         if line.lower().startswith("proxy-authorization:")]
                if not given or given[0].lower() != wanted.lower():
                    with counters.lock:
                        counters.unauthorized += 1
                    return self.reply("407 Proxy Authentication Required", b"credentials needed\n")
            host, port = (target.rsplit(":", 1) + [""])[:2]
            if host not in allowed or port not in ports:
                with counters.lock:
                    counters.refused.append(target)
                return self.reply("403 Forbidden", b"not an allowed upstream\n")
            try:
                upstream = socket.create_connection((host, int(port)), timeout=30)
            except OSError as e:
                return self.reply("502 Bad Gateway", str(e).encode())
            counters.add(host, connection=True)
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
                counters.add(host, up=len(rest))
            self.pipe(upstream, host)

        def pipe(self, upstream, host):
            client = self.request
            sockets = [client, upstream]
            try:
                while True:
                    readable = select.select(sockets, [], [], 120)[0]
                    if not readable:
                        return
                    for s in readable:
                        data = s.recv(65536)
                        if not data:
                            return
                        if s is client:
                            upstream.sendall(data)
                            counters.add(host, up=len(data))
                        else:
                            client.sendall(data)
                            counters.add(host, down=len(data))
            except OSError:
                return
            finally:
                upstream.close()
    return Handler


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(port=0, allowed=("registry.npmjs.org",), credentials=None, ports=(443,)):
    """Starts the proxy in a background thread; returns (server, counters). server.server_address[1] is the port.
    With credentials ("user:password"), a CONNECT without them is refused with 407. ports: the upstream ports a
    CONNECT may name (443 only unless told)."""
    counters = Counters()
    server = Server(("127.0.0.1", port), make_handler(counters, set(allowed), credentials,
                                                      {str(p) for p in ports}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, counters


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--allow", action="append", help="upstream host allowed (repeatable)")
    parser.add_argument("--auth-file", help="file holding user:password that clients must send")
    parser.add_argument("--allow-port", action="append", type=int, help="upstream port allowed (repeatable; 443)")
    args = parser.parse_args()
    credentials = None
    if args.auth_file:
        with open(args.auth_file) as f:
            credentials = f.read().strip()
    server = serve(args.port, args.allow or ["registry.npmjs.org"], credentials, args.allow_port or [443])[0]
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write("%d\n" % port)
    print("counting proxy on 127.0.0.1:%d" % port, file=sys.stderr, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
