"""Runs a composite action (action.yml) the way a GitHub runner does, for tests/action.

Each step: its `env` and `run` with `${{ inputs.* }}`, `${{ github.* }}`, `${{ runner.* }}`, `${{ env.* }}` and
`${{ steps.<id>.outputs.* }}` substituted (inputs default from action.yml), its `run` written to a file and run with
its shell (`bash --noprofile --norc -eo pipefail {0}`, the runner's template for `shell: bash`), with GITHUB_WORKSPACE,
GITHUB_OUTPUT, GITHUB_ENV, GITHUB_ACTION_PATH and RUNNER_TEMP set. Its output is read the way the runner reads it:
workflow commands (`::name params::value`) are obeyed except between `::stop-commands::TOKEN` and `::TOKEN::`, and
GITHUB_OUTPUT is parsed as `name=value` lines and `name<<DELIMITER` heredocs. The action's outputs are its `outputs`
with their `value` expressions evaluated. A failing step stops the action, as on the runner.
"""
import os
import re
import subprocess
import uuid

import yaml

EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
COMMAND = re.compile(r"^::([A-Za-z-]+)(?: ([^:]*))?::(.*)$")
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail"]


def parse_output_file(text):
    """GITHUB_OUTPUT / GITHUB_ENV as the runner parses them: name=value, or name<<DELIMITER ... DELIMITER."""
    values, lines, i = {}, text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            assert i < len(lines), "unterminated heredoc %r for %s" % (delimiter, name)
            i += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def obeyed_commands(output):
    """The workflow commands the runner obeys in a step's output: (name, params, value), none while a
    ::stop-commands::TOKEN is in force (until a line ::TOKEN::)."""
    obeyed, stopped = [], None
    for line in output.splitlines():
        if stopped is not None:
            if line == "::%s::" % stopped:
                stopped = None
            continue
        match = COMMAND.match(line)
        if not match:
            continue
        name, params, value = match.group(1), match.group(2) or "", match.group(3)
        if name == "stop-commands":
            stopped = value
            continue
        obeyed.append((name, params, value))
    return obeyed


class Result:
    """One run of the action: returncode (of the failing step, or 0), stdout of every step, the workflow commands
    the runner obeyed, the action's outputs."""

    def __init__(self):
        self.returncode, self.stdout, self.commands, self.outputs = 0, "", [], {}


def run_action(action_dir, inputs, workspace, runner_temp, env=None):
    """Runs action_dir/action.yml with inputs (a dict), in workspace, with the runner's environment env (on top of
    PATH and HOME); returns a Result."""
    with open(os.path.join(action_dir, "action.yml")) as f:
        action = yaml.safe_load(f)
    assert action["runs"]["using"] == "composite"
    given = dict(inputs)
    for name, spec in action.get("inputs", {}).items():
        if name not in given:
            assert not spec.get("required"), "input %s is required" % name
            given[name] = str(spec.get("default", ""))
    contexts = {"github": {"workspace": workspace, "action_path": action_dir},
                "runner": {"temp": runner_temp}, "steps": {}, "env": {}}
    contexts["inputs"] = {name: evaluate(str(value), contexts) for name, value in given.items()}
    base_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    base_env.update(env or {})
    base_env.update(GITHUB_WORKSPACE=workspace, RUNNER_TEMP=runner_temp, GITHUB_ACTION_PATH=action_dir, CI="true",
                    GITHUB_ACTIONS="true")
    result = Result()
    for step in action["runs"]["steps"]:
        files = {}
        for name in ("GITHUB_OUTPUT", "GITHUB_ENV"):
            files[name] = os.path.join(runner_temp, "%s-%s" % (name.lower(), uuid.uuid4().hex))
            open(files[name], "w").close()
        step_env = dict(base_env, **contexts["env"], **files)
        for name, value in (step.get("env") or {}).items():
            step_env[name] = evaluate(str(value), contexts)
        assert step.get("shell") == "bash", "only shell: bash is modelled"
        script = os.path.join(runner_temp, "step-%s.sh" % uuid.uuid4().hex)
        with open(script, "w") as f:
            f.write(evaluate(step["run"], contexts))
        # One stream, in order, as the runner reads a step's output for commands.
        proc = subprocess.run(BASH + [script], cwd=workspace, env=step_env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False)
        result.stdout += proc.stdout
        result.commands += obeyed_commands(proc.stdout)
        with open(files["GITHUB_OUTPUT"]) as f:
            outputs = parse_output_file(f.read())
        with open(files["GITHUB_ENV"]) as f:
            contexts["env"].update(parse_output_file(f.read()))
        if step.get("id"):
            contexts["steps"][step["id"]] = {"outputs": outputs}
        if proc.returncode != 0:
            result.returncode = proc.returncode
            break
    for name, spec in (action.get("outputs") or {}).items():
        result.outputs[name] = evaluate(spec["value"], contexts)
    return result


def evaluate(text, contexts):
    """Substitutes each ${{ a.b.c }} (a property path: what action.yml uses) by its value, '' when absent."""
    def value(match):
        node = contexts
        for part in match.group(1).split("."):
            if not isinstance(node, dict) or part not in node:
                return ""
            node = node[part]
        return str(node)
    return EXPR.sub(value, text)
