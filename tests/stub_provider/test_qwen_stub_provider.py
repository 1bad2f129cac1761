"""The stub provider checks key and model like a provider, and never logs the key; --background detaches it."""
import json
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from qwen_stub_provider import process_gone
from stub_harness import STUB, LocalStub

KEY = "sk-stub-CANARY-44"
# A private opener without proxies: other tests in the session may install a global one (ansible's open_url does).
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def started(tmp_path_factory, name, **options):
    """A stub expecting KEY (with a trailing newline in its file, as editors leave it) and model m1: its URL and
    its log."""
    stub_ = LocalStub(tmp_path_factory.mktemp(name), key=KEY + "\n", model="m1", reply="hello there", **options)
    return stub_, (stub_.url, pathlib.Path(stub_.log))


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    stub_, handle = started(tmp_path_factory, "stub")
    yield handle
    stub_.stop()


def call(url, payload=None, key=KEY):
    req = urllib.request.Request(url, data=json.dumps(payload).encode() if payload is not None else None,
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    try:
        with OPENER.open(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_models(stub):
    status, body = call(stub[0] + "/models")
    assert status == 200 and "m1" in [m["id"] for m in json.loads(body)["data"]]


def test_chat_non_streaming(stub):
    status, body = call(stub[0] + "/chat/completions", {"model": "m1", "messages": []})
    assert status == 200 and json.loads(body)["choices"][0]["message"]["content"] == "hello there"


def test_chat_streaming(stub):
    payload = {"model": "m1", "stream": True, "messages": [], "stream_options": {"include_usage": True}}
    status, body = call(stub[0] + "/chat/completions", payload)
    events = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    assert status == 200 and events[-1] == "[DONE]"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in map(json.loads, events[:-1]) if c["choices"])
    assert text == "hello there"
    assert "usage" in json.loads(events[-2])


def test_wrong_key_and_model(stub):
    assert call(stub[0] + "/models", key="wrong")[0] == 401
    status, body = call(stub[0] + "/chat/completions", {"model": "m2", "messages": []})
    assert status == 404 and json.loads(body)["error"]["code"] == "model_not_found"
    assert call(stub[0] + "/nope")[0] == 404


def test_log_has_checks_but_no_key(stub):
    lines = [json.loads(line) for line in stub[1].read_text().splitlines()]
    assert any(entry["auth_ok"] is False for entry in lines) and any(entry["auth_ok"] for entry in lines)
    assert KEY not in stub[1].read_text()


TOOL_COMMAND = "echo qwenops-tool-$((6*7))"
SHELL_TOOL = {"type": "function", "function": {"name": "run_shell_command", "parameters": {
    "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}}
OTHER_TOOL = {"type": "function", "function": {"name": "read_file", "parameters": {"type": "object"}}}


@pytest.fixture(scope="module")
def tool_stub(tmp_path_factory):
    stub_, handle = started(tmp_path_factory, "toolstub", tool_call=TOOL_COMMAND)
    yield handle
    stub_.stop()


def log_lines(log):
    return log.read_text().splitlines() if log.exists() else []


def chat(stub_, payload):
    """POST a chat completion; returns status, body and the request's log line (the stub logs after answering)."""
    before = len(log_lines(stub_[1]))
    status, body = call(stub_[0] + "/chat/completions", payload)
    for _attempt in range(100):
        lines = log_lines(stub_[1])
        if len(lines) > before:
            return status, body, json.loads(lines[before])
        time.sleep(0.05)
    raise AssertionError("the stub logged nothing for %r" % payload)


def stream_events(body):
    events = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(event) for event in events[:-1]]


def test_tool_call_non_streaming(tool_stub):
    payload = {"model": "m1", "messages": [{"role": "user", "content": "run it"}], "tools": [OTHER_TOOL, SHELL_TOOL]}
    status, body, entry = chat(tool_stub, payload)
    choice = json.loads(body)["choices"][0]
    assert status == 200 and choice["finish_reason"] == "tool_calls"
    (tool_call,) = choice["message"]["tool_calls"]
    assert tool_call["type"] == "function" and tool_call["id"]
    assert tool_call["function"]["name"] == "run_shell_command"
    assert json.loads(tool_call["function"]["arguments"]) == {"command": TOOL_COMMAND}
    assert entry["tool_call"] is True and entry["tools_offered"] == ["read_file", "run_shell_command"]
    assert "tool_result" not in entry


def test_tool_call_streaming(tool_stub):
    payload = {"model": "m1", "stream": True, "messages": [{"role": "user", "content": "run it"}],
               "tools": [SHELL_TOOL], "stream_options": {"include_usage": True}}
    status, body, entry = chat(tool_stub, payload)
    chunks = stream_events(body)
    assert status == 200 and "usage" in chunks[-1]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    calls = [tc for delta in deltas for tc in delta.get("tool_calls", [])]
    assert calls[0]["function"]["name"] == "run_shell_command" and calls[0]["id"] and len(calls) > 2
    assert all(tc["index"] == 0 for tc in calls)
    arguments = "".join(tc["function"]["arguments"] for tc in calls)
    assert json.loads(arguments) == {"command": TOOL_COMMAND}
    assert not "".join(delta.get("content") or "" for delta in deltas)
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert entry["tool_call"] is True


@pytest.mark.parametrize("stream", [False, True])
def test_tool_result_is_echoed(tool_stub, stream):
    output = "qwenops-tool-42\n" + "x" * 3000
    messages = [{"role": "user", "content": "run it"},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
                    "name": "run_shell_command", "arguments": json.dumps({"command": TOOL_COMMAND})}}]},
                # qwen sends the tool result as a list of text parts
                {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": output}]}]
    payload = {"model": "m1", "stream": stream, "messages": messages, "tools": [SHELL_TOOL]}
    status, body, entry = chat(tool_stub, payload)
    if stream:
        chunks = stream_events(body)
        text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    else:
        choice = json.loads(body)["choices"][0]
        text = choice["message"]["content"]
        assert choice["finish_reason"] == "stop" and "tool_calls" not in choice["message"]
    assert status == 200 and text == "hello there TOOL-OUTPUT: " + output[:2000]
    assert entry["tool_result"] == output[:2000] and "tool_call" not in entry


def test_tool_not_offered_gets_plain_reply(tool_stub):
    for tools in ([OTHER_TOOL], None):
        payload = {"model": "m1", "messages": [{"role": "user", "content": "run it"}]}
        if tools is not None:
            payload["tools"] = tools
        status, body, entry = chat(tool_stub, payload)
        choice = json.loads(body)["choices"][0]
        assert status == 200 and choice["message"] == {"role": "assistant", "content": "hello there"}
        assert entry["tool_call"] is False and entry["tool_not_offered"] == "run_shell_command"
        assert entry["tools_offered"] == ([] if tools is None else ["read_file"])


def test_tool_mode_keeps_checks_and_never_logs_key(tool_stub):
    assert call(tool_stub[0] + "/chat/completions", {"model": "m1", "messages": []}, key="wrong")[0] == 401
    assert call(tool_stub[0] + "/chat/completions", {"model": "m2", "messages": [], "tools": [SHELL_TOOL]})[0] == 404
    assert KEY not in tool_stub[1].read_text()


def test_default_mode_logs_tools_but_never_calls_them(stub):
    payload = {"model": "m1", "messages": [{"role": "user", "content": "run it"}], "tools": [SHELL_TOOL]}
    status, body, entry = chat(stub, payload)
    assert status == 200 and json.loads(body)["choices"][0]["message"]["content"] == "hello there"
    assert entry["tools_offered"] == ["run_shell_command"] and "tool_call" not in entry


def test_background_returns_detached_once_serving(tmp_path):
    """The start returns although its caller reads its stdout to the end (as docker exec and Ansible do): the server
    holds none of the caller's stdio. It answers at once, and the key is on no command line."""
    (tmp_path / "key").write_text(KEY)
    start = subprocess.run([sys.executable, STUB, "--background", "--port", "0", "--port-file", str(tmp_path / "port"),
                            "--pidfile", str(tmp_path / "pid"), "--expect-key-file", str(tmp_path / "key")],
                           capture_output=True, text=True, timeout=30, check=True)
    pid = int((tmp_path / "pid").read_text())
    try:
        url = "http://127.0.0.1:%s/v1" % (tmp_path / "port").read_text().strip()
        assert call(url + "/models")[0] == 200
        assert "pid %d" % pid in start.stdout
        assert KEY.encode() not in pathlib.Path("/proc/%d/cmdline" % pid).read_bytes()
    finally:
        subprocess.run(["kill", str(pid)], check=False)


def test_background_start_replaces_the_stub_of_the_same_pidfile(tmp_path):
    first = LocalStub(tmp_path, key=KEY)
    second = LocalStub(tmp_path, key=KEY)
    try:
        for _attempt in range(100):
            if process_gone(first.pid):
                break
            time.sleep(0.05)
        assert process_gone(first.pid) and second.pid != first.pid
        assert call(second.url + "/models")[0] == 200
    finally:
        second.stop()


def test_background_start_that_cannot_listen_fails(tmp_path):
    (tmp_path / "taken").mkdir()
    taken = LocalStub(tmp_path / "taken")
    try:
        start = subprocess.run([sys.executable, STUB, "--background", "--port", str(taken.port), "--pidfile",
                                str(tmp_path / "pid")], capture_output=True, text=True, timeout=30, check=False)
        assert start.returncode != 0 and "Address already in use" in start.stderr
        assert not (tmp_path / "pid").exists()
    finally:
        taken.stop()
