"""The stub provider (tests/stub_provider/qwen_stub_provider.py) started on this machine or inside a container, and
its JSON log read back, for the Python suites, the benchmarks and the Molecule verifiers. Every start is the
stub's own `--background` mode: it returns once the port accepts connections. The key it expects always reaches it
through a file only its owner can read, written from memory or through stdin: never on a command line."""
import json
import os
import signal
import subprocess
import sys
import time

import qwen_stub_provider
from harness import docker

STUB = os.path.abspath(qwen_stub_provider.__file__)
REPLY = "QWENOPS-STUB-ANSWER"
LOG = "/var/log/qwen-stub.jsonl"  # where a stub inside a host logs by default
IN_CONTAINER = "/usr/local/bin/qwen_stub_provider.py"


def options(port, key_file=None, model=None, reply=REPLY, log=None, tool_call=None, host="127.0.0.1"):
    """The stub's command-line options (never the key: key_file names the file holding it)."""
    args = ["--background", "--host", host, "--port", str(port), "--reply", reply]
    for flag, value in (("--expect-key-file", key_file), ("--expect-model", model), ("--log", log),
                        ("--tool-call", tool_call)):
        if value is not None:
            args += [flag, value]
    return args


def parse_log(text):
    """The stub's log: one dict per request (method, path, auth_ok, model, stream, status...)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class LocalStub:
    """A stub on this machine's loopback; its files (key, log, port, pid, output) in directory. key is the key file's
    text: several keys go one a line."""

    def __init__(self, directory, key=None, model=None, reply=REPLY, tool_call=None):
        self.dir = str(directory)
        self.keyfile = os.path.join(self.dir, "key") if key is not None else None
        if key is not None:
            with open(os.open(self.keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(key)
        self.log = os.path.join(self.dir, "log.jsonl")
        port_file, pid_file = os.path.join(self.dir, "port"), os.path.join(self.dir, "pid")
        started = subprocess.run([sys.executable, STUB] + options(0, self.keyfile, model, reply, self.log, tool_call) +
                                 ["--port-file", port_file, "--pidfile", pid_file,
                                  "--output", os.path.join(self.dir, "output")], capture_output=True, text=True,
                                 check=False)
        if started.returncode != 0:
            raise RuntimeError(started.stderr)
        with open(port_file) as f:
            self.port = int(f.read())
        with open(pid_file) as f:
            self.pid = int(f.read())
        self.base = "http://127.0.0.1:%d" % self.port  # what anthropic, gemini and vertex-ai clients are given
        self.url = self.base + "/v1"

    def requests(self):
        """Every request logged so far ([] before the first)."""
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return parse_log(f.read())

    def stop(self):
        """Stops the stub and waits until it has exited (it is not this process's child: init reaps it)."""
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        for _attempt in range(100):
            if qwen_stub_provider.process_gone(self.pid):
                return
            time.sleep(0.05)


def start_in_container(container, key, model, port, tool_call=None, log=LOG, reply=REPLY):
    """A stub on the container's loopback (a harness.Container), expecting key (several keys: one a line) and model;
    logs to log (its stdout and stderr to log + ".out")."""
    container.copy_in(STUB, IN_CONTAINER)
    key_file = "/root/stub-key-%d" % port
    container.write_secret(key_file, key)
    started = docker("exec", container.name, "python3", IN_CONTAINER,
                     *options(port, key_file, model, reply, log, tool_call) + ["--output", log + ".out"], check=False)
    if started.returncode != 0:
        raise RuntimeError(started.stderr)


def requests_in(container, log=LOG):
    """Every request the stub in the container logged to log ([] before the first)."""
    return parse_log(container.sh("cat %s 2>/dev/null || true" % log).stdout)
