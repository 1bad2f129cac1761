"""The stub provider checks key and model like a provider, and never logs the key; --background detaches it."""
import collections
import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

import qwen_stub_provider
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


# Every protocol qwen speaks headless, as qwen-code 0.24.4 sends it (see the stub's docstring), against a stub that
# holds a fleet's keys, one a line; line 1 is blank, so the key on line 2 is key_index 2.
FLEET_KEYS = ["sk-fleet-alice", "", "sk-fleet-carol", "sk-fleet-dave", "sk-fleet-erin", "sk-fleet-frank"]
MODEL = "qwenops/stub-coder"
PROTOCOLS = ["openai", "openai-responses", "anthropic", "gemini", "vertex-ai"]
PATHS = {"openai": "/v1/chat/completions", "openai-responses": "/v1/responses", "anthropic": "/v1/messages",
         "gemini": "/v1beta/models/%s", "vertex-ai": "/v1beta1/publishers/google/models/%s"}
GOOGLE = ("gemini", "vertex-ai")
KEY_HEADER = {"openai": "authorization", "openai-responses": "authorization", "anthropic": "x-api-key",
              "gemini": "x-goog-api-key", "vertex-ai": "x-goog-api-key"}
SCHEMA = SHELL_TOOL["function"]["parameters"]
FINISH = {"openai": ("stop", "tool_calls"), "openai-responses": ("completed", "completed"),
          "anthropic": ("end_turn", "tool_use"), "gemini": ("STOP", "STOP"), "vertex-ai": ("STOP", "STOP")}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    stub_ = LocalStub(tmp_path_factory.mktemp("fleet"), key="\n".join(FLEET_KEYS) + "\n", model=MODEL,
                      reply="hello there")
    yield stub_
    stub_.stop()


@pytest.fixture(scope="module")
def fleet_tools(tmp_path_factory):
    stub_ = LocalStub(tmp_path_factory.mktemp("fleettools"), key=FLEET_KEYS[0], model=MODEL, reply="hello there",
                      tool_call=TOOL_COMMAND)
    yield stub_
    stub_.stop()


def key_headers(header, key):
    """The request headers carrying key in header (a Bearer token for authorization), none for header None."""
    if header is None:
        return {}
    return {"Authorization": "Bearer " + key} if header == "authorization" else {header: key}


def turn(protocol, stream, model=MODEL, result=None):
    """(path, body) of a chat request in protocol's shape: a user asks, the shell tool is offered; with result, a
    call of the tool and its output (result) follow."""
    path = PATHS[protocol]
    if protocol in GOOGLE:
        path = path % model + (":streamGenerateContent?alt=sse" if stream else ":generateContent")
        contents = [{"role": "user", "parts": [{"text": "run it"}]}]
        if result is not None:
            contents += [{"role": "model", "parts": [{"functionCall": {"name": "run_shell_command", "args": {}}}]},
                         {"role": "user", "parts": [{"functionResponse": {
                             "id": "call_qwen_1", "name": "run_shell_command", "response": {"output": result}}}]}]
        return path, {"contents": contents, "tools": [{"functionDeclarations": [
            {"name": "read_file", "parametersJsonSchema": {}},
            {"name": "run_shell_command", "parametersJsonSchema": SCHEMA}]}]}
    body = {"model": model, "stream": stream}
    if protocol == "openai":
        body["tools"], body["messages"] = [OTHER_TOOL, SHELL_TOOL], [{"role": "user", "content": "run it"}]
        if result is not None:
            body["messages"] += [{"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function", "function": {"name": "run_shell_command", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": result}]}]
    elif protocol == "openai-responses":
        body["tools"] = [{"type": "function", "name": name, "parameters": SCHEMA}
                         for name in ("read_file", "run_shell_command")]
        body["input"] = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "run it"}]}]
        if result is not None:
            body["input"] += [{"type": "function_call", "call_id": "call_1", "name": "run_shell_command",
                               "arguments": "{}"},
                              {"type": "function_call_output", "call_id": "call_1", "output": result}]
    else:
        body["tools"] = [{"name": name, "input_schema": SCHEMA} for name in ("read_file", "run_shell_command")]
        body["messages"] = [{"role": "user", "content": "run it"}]
        if result is not None:
            body["messages"] += [
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "run_shell_command",
                                                   "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": result}]}]
    return path, body


# What one request to a LocalStub got: status, content type and body text, and the request's log line.
Exchange = collections.namedtuple("Exchange", "status content_type body entry")


def send(stub_, method, path, payload=None, headers=None, raw=None):
    """The Exchange of one request to stub_ (a LocalStub)."""
    before = len(stub_.requests())
    data = raw if raw is not None else json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(stub_.base + path, data=data, method=method,
                                 headers=dict({"Content-Type": "application/json"}, **(headers or {})))
    try:
        with OPENER.open(req, timeout=5) as resp:
            status, content_type, body = resp.status, resp.headers.get("Content-Type"), resp.read().decode()
    except urllib.error.HTTPError as e:
        status, content_type, body = e.code, e.headers.get("Content-Type"), e.read().decode()
    return Exchange(status, content_type, body, stub_.requests()[before])


def converse(stub_, protocol, stream, key=FLEET_KEYS[0], header=None, **turn_options):
    """send() of a chat turn in protocol's shape, its key in header (by default the one the protocol reads)."""
    path, body = turn(protocol, stream, **turn_options)
    return send(stub_, "POST", path, body, key_headers(header or KEY_HEADER[protocol], key))


def server_sent_events(body):
    """(event name or None, data) of each event of a text/event-stream body; each event holds one data line."""
    events = []
    for block in body.split("\n\n")[:-1]:
        lines = block.split("\n")
        name = lines.pop(0)[len("event: "):] if lines[0].startswith("event: ") else None
        (data,) = lines
        assert data.startswith("data: ")
        events.append((name, data[len("data: "):]))
    assert body.endswith("\n\n")
    return events


def read_stream(protocol, body):
    """(text, the call as (name, arguments) or None, finish) of a streamed answer, checking protocol's framing."""
    events = server_sent_events(body)
    names = [event[0] for event in events]
    if protocol == "openai":
        assert set(names) == {None} and events[-1][1] == "[DONE]"
        deltas = [c["choices"][0] for c in (json.loads(event[1]) for event in events[:-1]) if c["choices"]]
        calls = [tc for d in deltas for tc in d["delta"].get("tool_calls", [])]
        call = (calls[0]["function"]["name"], json.loads("".join(tc["function"]["arguments"] for tc in calls))
                ) if calls else None
        return "".join(d["delta"].get("content") or "" for d in deltas), call, deltas[-1]["finish_reason"]
    datas = [json.loads(event[1]) for event in events]
    if protocol in GOOGLE:
        assert set(names) == {None}
        candidates = [d["candidates"][0] for d in datas]
        assert [bool(c.get("finishReason")) for c in candidates] == [False] * (len(datas) - 1) + [True]
        assert "usageMetadata" in datas[-1]
        parts = [p for c in candidates for p in c["content"]["parts"]]
        calls = [(p["functionCall"]["name"], p["functionCall"]["args"]) for p in parts if "functionCall" in p]
        return "".join(p.get("text", "") for p in parts), (calls or [None])[0], candidates[-1]["finishReason"]
    assert names == [d["type"] for d in datas]
    if protocol == "openai-responses":
        assert names[0] == "response.created" and names[-1] == "response.completed"
        items = [d["item"] for d in datas if d["type"] == "response.output_item.done"]
        calls = [(i["name"], json.loads(i["arguments"])) for i in items if i["type"] == "function_call"]
        text = "".join(d["delta"] for d in datas if d["type"] == "response.output_text.delta")
        return text, (calls or [None])[0], datas[-1]["response"]["status"]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 1
    (block,) = [d["content_block"] for d in datas if d["type"] == "content_block_start"]
    deltas = [d["delta"] for d in datas if d["type"] == "content_block_delta"]
    call = (block["name"], json.loads("".join(d["partial_json"] for d in deltas))) if block["type"] == "tool_use" \
        else None
    return "".join(d.get("text", "") for d in deltas), call, datas[-2]["delta"]["stop_reason"]


def read_answer(protocol, body):
    """(text, the call as (name, arguments) or None, finish) of an answer that is one JSON document."""
    answer = json.loads(body)
    if protocol == "openai":
        choice = answer["choices"][0]
        calls = [(c["function"]["name"], json.loads(c["function"]["arguments"]))
                 for c in choice["message"].get("tool_calls", [])]
        return choice["message"]["content"] or "", (calls or [None])[0], choice["finish_reason"]
    if protocol == "openai-responses":
        (item,) = answer["output"]
        assert answer["usage"]["total_tokens"] > 0
        if item["type"] == "function_call":
            return "", (item["name"], json.loads(item["arguments"])), answer["status"]
        return item["content"][0]["text"], None, answer["status"]
    if protocol == "anthropic":
        assert answer["type"] == "message" and answer["usage"]["output_tokens"] > 0
        (block,) = answer["content"]
        call = (block["name"], block["input"]) if block["type"] == "tool_use" else None
        return block.get("text", ""), call, answer["stop_reason"]
    candidate = answer["candidates"][0]
    (part,) = candidate["content"]["parts"]
    call = (part["functionCall"]["name"], part["functionCall"]["args"]) if "functionCall" in part else None
    return part.get("text", ""), call, candidate["finishReason"]


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "json"])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_each_protocol_answers_and_logs(fleet, protocol, stream):
    got = converse(fleet, protocol, stream, key=FLEET_KEYS[2])
    assert got.status == 200
    assert got.content_type == ("text/event-stream" if stream else "application/json")
    assert (read_stream if stream else read_answer)(protocol, got.body) == ("hello there", None, FINISH[protocol][0])
    path = turn(protocol, stream)[0].split("?")[0]
    assert got.entry == {"method": "POST", "path": path, "protocol": protocol, "auth_ok": True, "key_index": 2,
                         "key_header": KEY_HEADER[protocol], "model": MODEL, "stream": stream, "status": 200,
                         "tools_offered": ["read_file", "run_shell_command"]}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_key_of_the_file_is_accepted_as_its_line(fleet, protocol):
    for index, key in enumerate(FLEET_KEYS):
        if key:
            got = converse(fleet, protocol, False, key=key)
            assert got.status == 200 and got.entry["auth_ok"] and got.entry["key_index"] == index
    assert not any(key in pathlib.Path(fleet.log).read_text() for key in FLEET_KEYS if key)


def refusal(protocol, got):
    """(status, what the error body says went wrong) of a refusal, after checking the body has protocol's shape and
    the log line the status."""
    error = json.loads(got.body)
    assert got.entry["status"] == got.status and got.content_type == "application/json"
    if protocol in GOOGLE:
        assert error["error"]["code"] == got.status and error["error"]["message"]
        return got.status, error["error"]["status"]
    if protocol == "anthropic":
        assert error["type"] == "error" and error["error"]["message"]
        return got.status, error["error"]["type"]
    assert error["error"]["type"] == "invalid_request_error" and error["error"]["message"]
    return got.status, error["error"]["code"]


UNAUTHENTICATED = {"openai": "invalid_api_key", "openai-responses": "invalid_api_key",
                   "anthropic": "authentication_error", "gemini": "UNAUTHENTICATED", "vertex-ai": "UNAUTHENTICATED"}
NOT_FOUND = {"openai": "model_not_found", "openai-responses": "model_not_found", "anthropic": "not_found_error",
             "gemini": "NOT_FOUND", "vertex-ai": "NOT_FOUND"}
BAD_BODY = {"openai": "invalid_json", "openai-responses": "invalid_json", "anthropic": "invalid_request_error",
            "gemini": "INVALID_ARGUMENT", "vertex-ai": "INVALID_ARGUMENT"}
OTHER_HEADER = {"openai": "x-api-key", "openai-responses": "x-goog-api-key", "anthropic": "x-goog-api-key",
                "gemini": "authorization", "vertex-ai": "x-api-key"}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wrong_key_missing_key_or_another_header_is_refused(fleet, protocol):
    got = converse(fleet, protocol, True, key="sk-not-in-the-file")
    assert refusal(protocol, got) == (401, UNAUTHENTICATED[protocol])
    assert (got.entry["auth_ok"], got.entry["key_index"], got.entry["key_header"]) == (False, None,
                                                                                       KEY_HEADER[protocol])
    # The right key in a header the protocol does not read: refused, but the log says whose key it was.
    got = converse(fleet, protocol, True, key=FLEET_KEYS[3], header=OTHER_HEADER[protocol])
    assert refusal(protocol, got) == (401, UNAUTHENTICATED[protocol])
    assert (got.entry["auth_ok"], got.entry["key_index"], got.entry["key_header"]) == (False, 3,
                                                                                       OTHER_HEADER[protocol])
    path, payload = turn(protocol, True)
    got = send(fleet, "POST", path, payload)
    assert refusal(protocol, got) == (401, UNAUTHENTICATED[protocol])
    assert (got.entry["auth_ok"], got.entry["key_index"], got.entry["key_header"]) == (False, None, None)


def test_google_refusal_of_a_key_keeps_googles_reason():
    """Google itself answers a bad key with 400 and this reason; the stub answers 401 with the same reason."""
    error = qwen_stub_provider.GEMINI.error("auth", None)["error"]
    assert error["details"][0]["reason"] == "API_KEY_INVALID"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_unknown_model_and_bad_body_are_refused_in_the_protocols_shape(fleet, protocol):
    got = converse(fleet, protocol, True, model="qwenops/no-such-model")
    assert refusal(protocol, got) == (404, NOT_FOUND[protocol]) and "no-such-model" in got.body
    assert (got.entry["model"], got.entry["auth_ok"]) == ("qwenops/no-such-model", True)
    got = send(fleet, "POST", turn(protocol, True)[0], headers=key_headers(KEY_HEADER[protocol], FLEET_KEYS[0]),
               raw=b"{not json")
    assert refusal(protocol, got) == (400, BAD_BODY[protocol])


def test_anthropic_takes_the_key_as_x_api_key_or_bearer(fleet):
    """qwen sends x-api-key to *.anthropic.com only, a Bearer token to every other host."""
    for header in ("x-api-key", "authorization"):
        got = converse(fleet, "anthropic", True, key=FLEET_KEYS[3], header=header)
        assert got.status == 200 and read_stream("anthropic", got.body)[0] == "hello there"
        assert (got.entry["key_header"], got.entry["key_index"]) == (header, 3)


def test_model_lists(fleet):
    got = send(fleet, "GET", "/v1/models", headers=key_headers("authorization", FLEET_KEYS[0]))
    assert got.status == 200 and [m["id"] for m in json.loads(got.body)["data"]][0] == MODEL
    assert (got.entry["protocol"], got.entry["key_index"]) == ("openai", 0)
    for header in ("x-api-key", "authorization"):
        headers = dict(key_headers(header, FLEET_KEYS[2]), **{"anthropic-version": "2023-06-01"})
        got = send(fleet, "GET", "/v1/models", headers=headers)
        listed = json.loads(got.body)
        assert got.status == 200 and listed["data"][0] == {"type": "model", "id": MODEL, "display_name": MODEL,
                                                           "created_at": "2025-01-01T00:00:00Z"}
        assert listed["has_more"] is False and listed["first_id"] == MODEL
        assert (got.entry["protocol"], got.entry["key_index"], got.entry["key_header"]) == ("anthropic", 2, header)
    got = send(fleet, "GET", "/v1beta/models", headers=key_headers("x-goog-api-key", FLEET_KEYS[3]))
    assert got.status == 200 and json.loads(got.body)["models"][0]["name"] == "models/" + MODEL
    assert (got.entry["protocol"], got.entry["key_index"]) == ("gemini", 3)


def test_model_lists_refuse_a_wrong_key_in_their_protocols_shape(fleet):
    for headers, path, protocol in (({"x-api-key": "wrong", "anthropic-version": "2023-06-01"}, "/v1/models",
                                     "anthropic"), ({"x-goog-api-key": "wrong"}, "/v1beta/models", "gemini")):
        got = send(fleet, "GET", path, headers=headers)
        assert refusal(protocol, got) == (401, UNAUTHENTICATED[protocol]) and got.entry["protocol"] == protocol


@pytest.mark.parametrize("path", ["/v1beta/models/%s:countTokens", "/v1beta1/publishers/google/models/%s:countTokens",
                                  "/v1/publishers/google/models/%s:countTokens",
                                  "/v1beta1/publishers/qwenops/models/stub-coder:countTokens"])
def test_count_tokens(fleet, path):
    payload = {"contents": [{"role": "user", "parts": [{"text": "how many tokens is this"}]}]}
    got = send(fleet, "POST", path.replace("%s", MODEL), payload, key_headers("x-goog-api-key", FLEET_KEYS[0]))
    counted = json.loads(got.body)["totalTokens"]
    assert got.status == 200 and isinstance(counted, int) and counted > 5
    assert got.entry["model"] == MODEL and got.entry["protocol"] == ("gemini" if "v1beta/" in path else "vertex-ai")


def test_vertex_model_paths(fleet):
    """qwen's SDK sends a model "p/m" to Vertex as publishers/p/models/m, and the v1 paths serve as v1beta1's."""
    for path in ("/v1beta1/publishers/qwenops/models/stub-coder:generateContent",
                 "/v1/publishers/google/models/%s:streamGenerateContent?alt=sse" % MODEL):
        got = send(fleet, "POST", path, turn("vertex-ai", False)[1], key_headers("x-goog-api-key", FLEET_KEYS[0]))
        assert got.status == 200 and (got.entry["protocol"], got.entry["model"]) == ("vertex-ai", MODEL)
        assert (read_stream if got.entry["stream"] else read_answer)("vertex-ai", got.body)[0] == "hello there"


def test_unknown_google_method_is_a_google_not_found(fleet):
    got = send(fleet, "POST", "/v1beta/models/%s:embedContent" % MODEL, {"contents": []},
               key_headers("x-goog-api-key", FLEET_KEYS[0]))
    assert refusal("gemini", got) == (404, "NOT_FOUND") and got.entry["protocol"] == "gemini"


def test_key_file_lines(tmp_path):
    """Blank lines and the spaces around a key are no part of it; an empty file lets no request in."""
    (tmp_path / "keys").write_text("  \n sk-one \r\n\nsk-three\n")
    assert qwen_stub_provider.read_keys(str(tmp_path / "keys")) == [(1, "sk-one"), (3, "sk-three")]
    empty = LocalStub(tmp_path, key="", model=MODEL)
    try:
        got = converse(empty, "gemini", False, key="")
        assert got.status == 401 and got.entry["key_index"] is None
    finally:
        empty.stop()


def test_the_key_a_request_presents():
    """The first header the protocol reads wins; an Authorization header without a Bearer token holds no key; a key
    in a header the protocol does not read is still named, so the log can say where it went."""
    presented = qwen_stub_provider.presented_key
    both = {"x-api-key": " sk-a ", "authorization": "Bearer sk-b"}
    assert presented(both, ("x-api-key", "authorization")) == ("x-api-key", "sk-a")
    assert presented(both, ("authorization",)) == ("authorization", "sk-b")
    assert presented({"authorization": "Basic c2s="}, ("authorization",)) == ("authorization", None)
    assert presented({"authorization": ""}, ("authorization",)) == ("authorization", None)
    assert presented({"x-goog-api-key": "sk-c"}, ("authorization",)) == ("x-goog-api-key", "sk-c")
    assert presented({}, ("authorization",)) == (None, None)


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "json"])
@pytest.mark.parametrize("protocol", PROTOCOLS[1:])
def test_tool_call_in_each_protocol(fleet_tools, protocol, stream):
    read = read_stream if stream else read_answer
    got = converse(fleet_tools, protocol, stream)
    assert got.status == 200
    assert read(protocol, got.body) == ("", ("run_shell_command", {"command": TOOL_COMMAND}), FINISH[protocol][1])
    assert got.entry["tool_call"] is True and got.entry["tools_offered"] == ["read_file", "run_shell_command"]
    output = "qwenops-tool-42\n" + "x" * 3000
    got = converse(fleet_tools, protocol, stream, result=output)
    assert got.status == 200
    assert read(protocol, got.body) == ("hello there TOOL-OUTPUT: " + output[:2000], None, FINISH[protocol][0])
    assert got.entry["tool_result"] == output[:2000] and "tool_call" not in got.entry


# The real CLI through the stub, one auth type after the other, each with its own key of the fleet's file. It needs
# what CI's unit stage lacks (Node 20 there, and no CLI): QWEN_TEST_NODE22, a Node >= 22 binary, and QWEN_TEST_CLI,
# the cli.js of a qwen-code release (0.24.4 for openai-responses via wireApi).
NODE22, QWEN_CLI = os.environ.get("QWEN_TEST_NODE22"), os.environ.get("QWEN_TEST_CLI")
CLI_KEY_LINE = {"openai": 0, "openai-responses": 2, "anthropic": 3, "gemini": 4, "vertex-ai": 5}


def cli_settings(auth_type, base, env_key):
    """A private settings.json selecting auth_type, headless, with one model served by the stub at base."""
    entry = {"id": MODEL, "baseUrl": base, "envKey": env_key}
    if auth_type.startswith("openai"):
        entry["baseUrl"] = base + "/v1"
        if auth_type == "openai-responses":
            entry["wireApi"] = "responses"
    return {"$version": 4, "security": {"auth": {"selectedType": auth_type}}, "model": {"name": MODEL},
            "modelProviders": {"openai" if auth_type.startswith("openai") else auth_type: [entry]},
            "privacy": {"usageStatisticsEnabled": False}}


# deselected unless QWEN_TEST_NODE22 (a Node >= 22 binary) and QWEN_TEST_CLI (a qwen-code cli.js) are both set: the
# real CLI does not run here (tests/conftest.py)
@pytest.mark.realcli
@pytest.mark.parametrize("auth_type", PROTOCOLS)
def test_the_real_cli_answers_through_the_stub(fleet, tmp_path, auth_type):
    version = subprocess.run([NODE22, "--version"], capture_output=True, text=True, check=True).stdout
    assert int(version.lstrip("v").split(".")[0]) >= 22, "QWEN_TEST_NODE22 is Node %s" % version
    qwen_home = tmp_path / ".qwen"
    qwen_home.mkdir()
    (qwen_home / "settings.json").write_text(json.dumps(cli_settings(auth_type, fleet.base, "QWENOPS_TEST_KEY")))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "QWEN_HOME": str(qwen_home), "NO_COLOR": "1",
           "QWENOPS_TEST_KEY": FLEET_KEYS[CLI_KEY_LINE[auth_type]]}
    before = len(fleet.requests())
    run = subprocess.run([NODE22, QWEN_CLI, "-p", "summarize"], input="test\n", capture_output=True, text=True,
                         env=env, cwd=str(tmp_path), timeout=180, check=False)
    requests = fleet.requests()[before:]
    assert run.returncode == 0 and "hello there" in run.stdout, (run.stdout, run.stderr, requests)
    assert requests and {(r["protocol"], r["auth_ok"], r["key_index"], r["status"]) for r in requests} == {
        (auth_type, True, CLI_KEY_LINE[auth_type], 200)}
    if auth_type == "anthropic":  # to a host not *.anthropic.com, qwen sends the key as a Bearer token
        assert {r["key_header"] for r in requests} == {"authorization"}
