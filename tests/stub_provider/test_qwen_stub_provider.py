"""The stub provider checks key and model like a provider, and never logs the key."""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

STUB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "qwen_stub_provider.py")
KEY = "sk-stub-CANARY-44"
# A private opener without proxies: other tests in the session may install a global one (ansible's open_url does).
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    d = tmp_path_factory.mktemp("stub")
    (d / "key").write_text(KEY + "\n")
    proc = subprocess.Popen([sys.executable, STUB, "--port", "0", "--port-file", str(d / "port"),
                             "--expect-key-file", str(d / "key"), "--expect-model", "m1", "--reply", "hello there",
                             "--log", str(d / "log.jsonl")])
    for _attempt in range(100):
        if (d / "port").exists():
            break
        time.sleep(0.05)
    yield "http://127.0.0.1:%s/v1" % (d / "port").read_text().strip(), d / "log.jsonl"
    proc.terminate()
    proc.wait()


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
