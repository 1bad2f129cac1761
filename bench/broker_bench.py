"""What the key broker (roles/qwen_code/files/qwen-key-broker.js) adds to a streamed request: openai chat
completions against the stub provider, straight to the stub and through the broker, in alternating rounds.

    python3 bench/broker_bench.py [--rounds 5] [--sequential 100] [--concurrent 20] [--json]

Each round runs, for each side (the order alternates round by round): --sequential streams one after the other on
fresh connections ("sequential"), as many on one kept-alive connection ("keepalive", as the qwen CLI does), then
--concurrent streams at once on fresh connections ("concurrent"). Reported per side and pattern: median and
p90 of the time to the first byte of the body and of the total, and what the broker adds at the median (the goal:
<= 5 ms to the first byte). The broker runs `serve --listen` on loopback with a route for this process's uid; the
key and token are fake strings generated per run, and neither is printed.
"""
import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tests", "tools"), os.path.join(REPO, "tests", "stub_provider")]
from stub_harness import LocalStub  # noqa: E402

BROKER = os.path.join(REPO, "roles", "qwen_code", "files", "qwen-key-broker.js")
BODY = json.dumps({"model": "m1", "stream": True, "messages": [{"role": "user", "content": "hello"}]}).encode()


RETRIES = {}


def one(port, path, token):
    """(ttfb, total) in ms of one streamed request on a fresh connection. The stub (a Python ThreadingHTTPServer,
    listen backlog 5) now and then resets a connection when 20 arrive at once: that attempt is retried, counted in
    RETRIES, and not measured."""
    for _attempt in range(5):
        try:
            return attempt(port, path, token)
        except ConnectionResetError:
            RETRIES[port] = RETRIES.get(port, 0) + 1
    return attempt(port, path, token)


def attempt(port, path, token, c=None):
    t0 = time.perf_counter()
    keep = c is not None
    c = c or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", path, body=BODY, headers={"Authorization": "Bearer " + token,
                                                "Content-Type": "application/json"})
    r = c.getresponse()
    first = r.read1(65536)
    ttfb = time.perf_counter() - t0
    data = first
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        data += chunk
    total = time.perf_counter() - t0
    if not keep:
        c.close()
    if r.status != 200 or b"[DONE]" not in data:
        raise RuntimeError("request failed: %d" % r.status)
    return ttfb * 1000, total * 1000


def concurrent(port, path, token, n):
    out = [None] * n

    def run(i):
        out[i] = one(port, path, token)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sequential", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--broker-log", help="the broker's stdout (its JSON log lines) goes here")
    parser.add_argument("--node", default=os.environ.get("QWEN_TEST_NODE") or shutil.which("node"))
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="qwb-bench-")
    key = "sk-qwenops-broker-TEST-bench-" + secrets.token_hex(8)
    token = "qwb-" + secrets.token_hex(24)
    stub = LocalStub(tmp, key=key + "\n", model="m1")
    port = free_port()
    cfg = os.path.join(tmp, "broker.json")
    with open(os.open(cfg, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        json.dump({"version": 1, "limits": {"max_streams": 1000, "max_streams_per_user": 1000},
                   "routes": [{"token": token, "uid": os.getuid(), "user": "bench", "provider": "oai",
                               "protocol": "openai", "upstream": stub.url, "key": key}]}, f)
    broker = subprocess.Popen([args.node, BROKER, "serve", "--config", cfg, "--listen", "127.0.0.1:%d" % port],
                              stdout=open(args.broker_log, "ab") if args.broker_log else subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for dummy in range(200):
        try:
            opener.open("http://127.0.0.1:%d/_broker/health" % port, timeout=1).read()
            break
        except OSError:
            time.sleep(0.05)
    sides = {"direct": (stub.port, "/v1/chat/completions", key), "broker": (port, "/oai/v1/chat/completions", token)}
    patterns = ("sequential", "concurrent", "keepalive")
    samples = {(s, p): {"ttfb": [], "total": []} for s in sides for p in patterns}
    try:
        for side in sides:  # warm-up, not counted
            concurrent(*sides[side], 5)
        for rnd in range(args.rounds):
            order = list(sides) if rnd % 2 == 0 else list(reversed(list(sides)))
            for side in order:
                for dummy in range(args.sequential):
                    ttfb, total = one(*sides[side])
                    samples[(side, "sequential")]["ttfb"].append(ttfb)
                    samples[(side, "sequential")]["total"].append(total)
                conn = http.client.HTTPConnection("127.0.0.1", sides[side][0], timeout=30)
                for dummy in range(args.sequential):
                    ttfb, total = attempt(*sides[side], c=conn)
                    samples[(side, "keepalive")]["ttfb"].append(ttfb)
                    samples[(side, "keepalive")]["total"].append(total)
                conn.close()
                for ttfb, total in concurrent(*sides[side], args.concurrent):
                    samples[(side, "concurrent")]["ttfb"].append(ttfb)
                    samples[(side, "concurrent")]["total"].append(total)
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(15)
        stub.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    node_version = subprocess.run([args.node, "--version"], capture_output=True, text=True,
                                  check=True).stdout.strip()
    results = {"rounds": args.rounds, "sequential": args.sequential, "concurrent": args.concurrent,
               "node": node_version, "cpus": os.cpu_count(), "results": {}}
    for pattern in patterns:
        entry = {}
        for side in sides:
            s = samples[(side, pattern)]
            entry[side] = {"n": len(s["ttfb"]),
                           "ttfb_median": statistics.median(s["ttfb"]), "ttfb_p90": pct(s["ttfb"], 90),
                           "total_median": statistics.median(s["total"]), "total_p90": pct(s["total"], 90)}
        entry["retries"] = {side: RETRIES.get(sides[side][0], 0) for side in sides}
        entry["added_ttfb_median"] = entry["broker"]["ttfb_median"] - entry["direct"]["ttfb_median"]
        entry["added_total_median"] = entry["broker"]["total_median"] - entry["direct"]["total_median"]
        results["results"][pattern] = entry
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("key broker overhead, %d rounds, node %s, %d cpus (ms)" % (args.rounds, node_version, os.cpu_count()))
    heading = ("pattern", "side", "n", "ttfb med", "ttfb p90", "total med", "total p90")
    print("%-11s %-7s %5s %11s %9s %12s %10s" % heading)
    for pattern, entry in results["results"].items():
        for side in sides:
            e = entry[side]
            cells = (pattern, side, e["n"], e["ttfb_median"], e["ttfb_p90"], e["total_median"], e["total_p90"])
            print("%-11s %-7s %5d %11.2f %9.2f %12.2f %10.2f" % cells)
        cells = (pattern, "added", "", entry["added_ttfb_median"], "", entry["added_total_median"])
        print("%-11s %-7s %5s %+11.2f %9s %+12.2f" % cells)
    print("connections reset and retried (not measured): %s" % results["results"]["sequential"]["retries"])


if __name__ == "__main__":
    main()
