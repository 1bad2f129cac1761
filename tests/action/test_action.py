"""The GitHub Action (action.yml, ci/github/qwen-action.sh) run as a runner runs a composite action
(composite_runner.py), on the image of this checkout (the session fixture of tests/conftest.py, which tests/image
shares: built once), against the stub provider in a container of its own, whose network namespace qwen's container
joins (the action's network input `container:NAME`): loopback only, and the key broker's port shared with no other
test. It answers; its JSON output; an agent whose output holds workflow commands is not obeyed; review mode fails
with qwen's own exit code 3 on requested changes; the container sees none of the runner's variables and no Docker
socket; bad inputs are refused before docker runs."""
import json
import os
import re
import shlex

import pytest
import yaml

from composite_runner import run_action
from harness import REPO, Container
from stub_harness import requests_in, start_in_container

LOGS = os.path.join(REPO, "tests", "output", "logs", "action")
CANARY = os.environ["QWEN_TEST_CANARY_KEY"]
MODEL = "qwenops/stub-coder"
ANSWER = "QWENOPS-ACTION-ANSWER"
# What the runner's environment holds that the agent must never see (the runner sets INPUT_* for other actions'
# steps, and the ACTIONS_* tokens for every step).
RUNNER_SECRETS = {"INPUT_API_KEY": CANARY, "ACTIONS_RUNTIME_TOKEN": "runtime-token-qwenops",
                  "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-token-qwenops",
                  "ACTIONS_ID_TOKEN_REQUEST_URL": "https://oidc.example/qwenops", "GITHUB_TOKEN": "ghs_qwenops"}


class Stub:
    """The stub provider in a container (the image's Python; sleep as its command) on its loopback: url for qwen,
    network for the action's network input, requests() its log."""

    def __init__(self, image, **options):
        self.container = Container(image, "stub", "--entrypoint", "sleep", prefix="qwen-action", command=["infinity"])
        start_in_container(self.container, CANARY, MODEL, 18300, log="/tmp/stub.jsonl", **options)
        self.url, self.network = "http://127.0.0.1:18300/v1", "container:" + self.container.name

    def requests(self):
        return requests_in(self.container, log="/tmp/stub.jsonl")

    def stop(self):
        self.container.remove()


def action(image, stub, tmp_path, log, **inputs):
    """Runs the action with the stub as provider (its key from the 'secret'), returns the runner's Result."""
    workspace, temp = tmp_path / "workspace", tmp_path / "runner-temp"
    workspace.mkdir(exist_ok=True)
    temp.mkdir(exist_ok=True)
    given = dict(model=MODEL, api_key=CANARY, base_url=stub.url, image=image, network=stub.network)
    given.update(inputs)
    result = run_action(REPO, given, str(workspace), str(temp), env=RUNNER_SECRETS)
    os.makedirs(LOGS, exist_ok=True)
    with open(os.path.join(LOGS, log), "a") as f:
        f.write("%s\n%s\noutputs: %s\n" % (json.dumps(inputs), result.stdout, json.dumps(result.outputs)))
    assert CANARY not in result.stdout + json.dumps(result.outputs)
    return result


@pytest.fixture
def stub(image):
    """A stub whose answer tries workflow commands, each on a line of its own."""
    reply = "\n".join([ANSWER, "::set-output name=answer::pwned", "::add-mask::" + ANSWER, "::error::agent-says-fail",
                       "::stop-commands::x", "::warning::after-a-stop-of-its-own"])
    stub_ = Stub(image, reply=reply)
    yield stub_
    stub_.stop()


def test_answer_and_workflow_commands_not_obeyed(image, stub, tmp_path):
    result = action(image, stub, tmp_path, "answer.log", prompt="summarize")
    assert result.returncode == 0, result.stdout
    assert result.outputs["answer"].splitlines()[0] == ANSWER, result.outputs
    assert "::set-output name=answer::pwned" in result.outputs["answer"]  # the agent's text, as text
    assert result.outputs["result"] == "" and result.outputs["exit_code"] == "0"
    # The agent's lines reached the log, and the runner obeyed none of them.
    assert "::error::agent-says-fail" in result.stdout
    assert result.commands == [], result.commands
    chats = [r for r in stub.requests() if r["path"].endswith("/chat/completions")]
    assert chats and all(r["auth_ok"] and r["model"] == MODEL for r in chats)


def test_json_output(image, stub, tmp_path):
    result = action(image, stub, tmp_path, "json.log", prompt="summarize", output_format="json")
    assert result.returncode == 0, result.stdout
    messages = json.loads(result.outputs["result"])
    final = [m for m in messages if m["type"] == "result"][-1]
    assert final["is_error"] is False and final["result"].startswith(ANSWER)
    assert result.outputs["answer"] == final["result"]
    assert result.commands == []


def test_container_sees_no_runner_variable_nor_docker_socket(image, tmp_path):
    """The agent (yolo, trusted workspace) dumps its environment and looks for Docker's socket. The dump is what
    the stub's model gets back as the tool's result."""
    probe = ("env | sort; for s in /var/run/docker.sock /run/docker.sock; do [ -e $s ] && echo SOCKET:$s; done; "
             "echo probe-done; sleep 0.3")
    stub_ = Stub(image, reply=ANSWER, tool_call=probe)
    try:
        result = action(image, stub_, tmp_path, "environment.log", prompt="run the probe", approval_mode="yolo",
                        trusted_workspace="true")
        assert result.returncode == 0, result.stdout
        dumps = [r["tool_result"] for r in stub_.requests() if r.get("tool_result")]
    finally:
        stub_.stop()
    assert dumps and "probe-done" in dumps[0] and "OPENAI_MODEL=" + MODEL in dumps[0], dumps
    names = [line.split("=", 1)[0] for line in dumps[0].splitlines() if "=" in line]
    assert not [n for n in names if n.startswith(("INPUT_", "ACTIONS_", "GITHUB_", "RUNNER_"))], names
    for value in RUNNER_SECRETS.values():
        assert value not in dumps[0]
    assert "SOCKET:/" not in dumps[0]  # (the command itself, echoed, says SOCKET:$s)


def test_review_fails_with_qwen_exit_code_3_on_requested_changes(image, tmp_path):
    """mode review runs `qwen review run --json --fail-on request-changes --effort low` in the workspace. The stub
    plays the model that the /review skill drives: its first turn composes the verdict with the CLI's own
    compose-review (a Critical tagged [test], which needs no verifier), as the skill's Step 6 does; qwen review run
    reads the composed file of its run and exits 3."""
    state = json.dumps({"modelId": MODEL, "bodyCriticals": ["app.py:2 divides by zero on an empty list [test]"]})
    compose = ("echo '[]' > .qwen/tmp/qwenops-comments.json && echo %s | \"${QWEN_CODE_CLI:-qwen}\" review "
               "compose-review --comments .qwen/tmp/qwenops-comments.json "
               "--out .qwen/tmp/qwen-review-local-composed.json; sleep 0.3" % shlex.quote(state))
    stub_ = Stub(image, reply="review composed", tool_call=compose)
    try:
        result = action(image, stub_, tmp_path, "review.log", mode="review", trusted_workspace="true",
                        review_effort="low")
        requests = stub_.requests()
    finally:
        stub_.stop()
    assert result.returncode == 3, result.stdout
    assert result.outputs["exit_code"] == "3"
    verdict = json.loads(result.outputs["result"])
    assert verdict["completed"] is True and verdict["event"] == "REQUEST_CHANGES", verdict
    assert result.outputs["answer"] == "Verdict: Request changes"
    # The step's own error annotation is the one command obeyed.
    assert result.commands == [("error", "title=qwen-action", "the review requests changes (qwen review run exit 3)")]
    assert [r for r in requests if r.get("tool_call")], requests
    # The review's files stayed in the container's tmpfs: the checkout is as it was.
    assert os.listdir(tmp_path / "workspace") == []


@pytest.mark.parametrize("inputs, message", [
    (dict(mode="review"), "set trusted_workspace: true"),
    (dict(mode="review", trusted_workspace="true", execution_sandbox="auto"), "set execution_sandbox: off"),
    (dict(prompt="p", auth_type="openai-chat"), "auth_type 'openai-chat' is not one of"),
    (dict(prompt="p", provider="openrouter", base_url="https://x.example/v1"), "give provider or base_url, not both"),
    (dict(prompt="p", api_key=""), "api_key is empty"),
])
def test_bad_inputs_fail_before_docker_runs(tmp_path, inputs, message):
    """Each refusal is the step's one error annotation and exit 2, before docker runs (the image "none" does not
    exist: a docker run would fail otherwise)."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (tmp_path / "temp").mkdir()
    given = dict(model=MODEL, api_key=CANARY, image="none")
    given.update(inputs)
    result = run_action(REPO, given, str(workspace), str(tmp_path / "temp"))
    assert result.returncode == 2, result.stdout
    assert len(result.commands) == 1 and result.commands[0][0] == "error", result.commands
    assert message in result.commands[0][2], result.commands


def test_the_image_is_named_on_one_line_the_release_tooling_rewrites():
    """action.yml's image input and the GitLab template's image each name the image on one line of their own
    (`    default: REF`, `    name: REF`), which the release tooling rewrites to repo@sha256:DIGEST."""
    with open(os.path.join(REPO, "action.yml")) as f:
        text = f.read()
    ref = yaml.safe_load(text)["inputs"]["image"]["default"]
    assert re.fullmatch(r"qwenops/qwen-code(:[\w.-]+|@sha256:[0-9a-f]{64})", ref), ref
    assert re.findall(r"(?m)^    default: qwenops/qwen-code\S*$", text) == ["    default: " + ref]
    with open(os.path.join(REPO, "ci", "gitlab", "qwen-code.gitlab-ci.yml")) as f:
        text = f.read()
    assert re.findall(r"(?m)^    name: qwenops/qwen-code\S*$", text) == ["    name: " + ref]
