#!/usr/bin/env bash
# The qwenops GitHub Action's one step (action.yml; docs/ACTION.md): qwen in the image by `docker run`, with only the
# variables named below (never the runner's INPUT_*, ACTIONS_* or GITHUB_TOKEN, never the Docker socket), the key by
# name (never on a command line), the agent's output inside ::stop-commands:: and the outputs in GITHUB_OUTPUT under
# a random delimiter. Inputs arrive as QA_* variables (action.yml's env), never as script text.
set -euo pipefail
me=qwen-action

fail() { echo "::error title=$me::$*"; exit 2; }
one_of() {  # value name choices...
  local value=$1 name=$2 choice
  shift 2
  for choice in "$@"; do [ "$value" = "$choice" ] && return 0; done
  fail "$name '$value' is not one of: $*"
}
# A random token from the kernel (the agent never sees it: it is not in the container).
token() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

one_of "$QA_ACTION_MODE" mode prompt review
one_of "$QA_AUTH_TYPE" auth_type openai openai-responses anthropic gemini vertex-ai
one_of "$QA_OUTPUT_FORMAT" output_format text json
one_of "$QA_EXECUTION_SANDBOX" execution_sandbox off auto required
one_of "$QA_KEY_ISOLATION" key_isolation required on off
one_of "$QA_TRUSTED_WORKSPACE" trusted_workspace true false
[ -n "$QA_API_KEY" ] || fail "api_key is empty (give it from a secret: api_key: \${{ secrets.NAME }})"
[ -n "$QA_MODEL" ] || fail "model is empty"
[ -n "$QA_IMAGE" ] || fail "image is empty"
[ -d "$QA_WORKSPACE" ] || fail "workspace '$QA_WORKSPACE' is not a directory"
if [ -n "$QA_PROVIDER" ] && [ -n "$QA_BASE_URL" ]; then fail "give provider or base_url, not both"; fi

# The protocol's variables (the image's entrypoint reads these; docs/IMAGE.md).
case "$QA_AUTH_TYPE" in
  openai|openai-responses) key=OPENAI_API_KEY base=OPENAI_BASE_URL model=OPENAI_MODEL ;;
  anthropic) key=ANTHROPIC_API_KEY base=ANTHROPIC_BASE_URL model=ANTHROPIC_MODEL ;;
  gemini) key=GEMINI_API_KEY base=GOOGLE_GEMINI_BASE_URL model=GEMINI_MODEL ;;
  vertex-ai) key=GOOGLE_API_KEY base=GOOGLE_VERTEX_BASE_URL model=GOOGLE_MODEL ;;
esac
export "$key=$QA_API_KEY" "$model=$QA_MODEL" QWEN_AUTH_TYPE="$QA_AUTH_TYPE" QWEN_KEY_ISOLATION="$QA_KEY_ISOLATION"
export QWEN_EXECUTION_SANDBOX="$QA_EXECUTION_SANDBOX"
names=("$key" "$model" QWEN_AUTH_TYPE QWEN_KEY_ISOLATION QWEN_EXECUTION_SANDBOX)
if [ -n "$QA_BASE_URL" ]; then export "$base=$QA_BASE_URL"; names+=("$base"); fi
if [ -n "$QA_PROVIDER" ]; then export QWEN_PROVIDER="$QA_PROVIDER"; names+=(QWEN_PROVIDER); fi
if [ "$QA_TRUSTED_WORKSPACE" = true ]; then export QWEN_TRUSTED_FOLDERS=/workspace; names+=(QWEN_TRUSTED_FOLDERS); fi
export QWEN_CODE_SUPPRESS_YOLO_WARNING=1
names+=(QWEN_CODE_SUPPRESS_YOLO_WARNING)

# docker run: no --privileged, no socket, no -e NAME=value; each variable by name only.
run=(docker run --rm --network "$QA_NETWORK" --volume "$QA_WORKSPACE:/workspace" --workdir /workspace)
for name in "${names[@]}"; do run+=(--env "$name"); done
if [ "$QA_EXECUTION_SANDBOX" != off ]; then
  # What bwrap needs inside a container (docs/IMAGE.md): without systempaths it cannot mount /proc.
  run+=(--security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined)
fi

made=()
if [ "$QA_ACTION_MODE" = review ]; then
  one_of "$QA_REVIEW_EFFORT" review_effort low medium high
  one_of "$QA_FAIL_ON" fail_on request-changes none
  [ "$QA_EXECUTION_SANDBOX" = off ] || fail "mode review runs qwen's bundled review skill, which qwen turns off" \
    "under its execution sandbox: set execution_sandbox: off (docs/SANDBOX.md)"
  [ "$QA_TRUSTED_WORKSPACE" = true ] || fail "mode review runs shell commands, which qwen declines in a folder it does" \
    "not trust: set trusted_workspace: true (docs/ACTION.md, Security)"
  # The review writes its state under /workspace/.qwen/tmp and reports under .qwen/reviews: private tmpfs mounts, so
  # nothing of uid 1000's lands in the runner's checkout. Their mount points are made here, as the runner's user
  # (Docker would make them as root), mode 1777 (Docker gives a tmpfs the mode of the directory it covers), and
  # removed after.
  for dir in .qwen .qwen/tmp .qwen/reviews; do
    if [ ! -e "$QA_WORKSPACE/$dir" ]; then mkdir "$QA_WORKSPACE/$dir"; made=("$dir" "${made[@]}"); fi
  done
  chmod 1777 "$QA_WORKSPACE/.qwen/tmp" "$QA_WORKSPACE/.qwen/reviews"
  run+=(--tmpfs "/workspace/.qwen/tmp:rw,nosuid,nodev,mode=1777" --tmpfs "/workspace/.qwen/reviews:rw,nosuid,nodev,mode=1777")
  run+=("$QA_IMAGE" review run)
  if [ -n "$QA_REVIEW_TARGET" ]; then run+=("$QA_REVIEW_TARGET"); fi
  run+=(--json --fail-on "$QA_FAIL_ON" --effort "$QA_REVIEW_EFFORT")
  if [ "$QA_APPROVAL_MODE" != default ]; then run+=(--approval-mode "$QA_APPROVAL_MODE"); fi
else
  [ -n "$QA_PROMPT" ] || fail "prompt is empty"
  one_of "$QA_APPROVAL_MODE" approval_mode plan default auto-edit auto yolo
  run+=("$QA_IMAGE" -p "$QA_PROMPT" --approval-mode "$QA_APPROVAL_MODE" -o "$QA_OUTPUT_FORMAT")
fi
# shellcheck disable=SC2317  # run by the trap
cleanup() {
  local dir
  for dir in "${made[@]}"; do rmdir "$QA_WORKSPACE/$dir" 2>/dev/null || true; done
}
trap cleanup EXIT

out=$(mktemp "${RUNNER_TEMP:-/tmp}/qwen-action.XXXXXX")
# Whatever the agent prints (stdout and stderr) is shown between these two lines, where the runner obeys no workflow
# command: the token is random and never enters the container.
stop=$(token)
echo "::stop-commands::$stop"
set +e
# qwen's stderr into this step's output in order (inside the stop), its stdout into the file.
"${run[@]}" </dev/null 2>&1 >"$out"
rc=$?
set -e
cat "$out"
echo "::$stop::"

# The outputs: the answer and qwen's JSON (mode review: its result; output_format json: its messages).
answer=$(cat "$out") result=""
if [ "$QA_ACTION_MODE" = review ] || [ "$QA_OUTPUT_FORMAT" = json ]; then
  result=$answer
  answer=$(python3 - "$out" <<'PY' || true
import json, sys
try:
    data = json.load(open(sys.argv[1]))
except ValueError:
    sys.exit(0)
if isinstance(data, dict):  # qwen review run --json
    print(data.get("verdictLine") or "")
else:  # qwen -o json: the messages; the last result's text
    results = [m for m in data if isinstance(m, dict) and m.get("type") == "result"]
    print(results[-1].get("result", "") if results else "")
PY
)
fi
output() {  # name value: a heredoc in GITHUB_OUTPUT whose random delimiter the value does not hold
  local delim
  delim="qwen_$(token)"
  while [[ "$2" == *"$delim"* ]]; do delim="qwen_$(token)"; done
  printf '%s<<%s\n%s\n%s\n' "$1" "$delim" "$2" "$delim" >>"$GITHUB_OUTPUT"
}
output answer "$answer"
output result "$result"
output exit_code "$rc"
rm -f "$out"
if [ "$rc" != 0 ]; then
  if [ "$QA_ACTION_MODE" = review ] && [ "$rc" = 3 ]; then
    echo "::error title=$me::the review requests changes (qwen review run exit 3)"
  else
    echo "::error title=$me::qwen exited $rc"
  fi
fi
exit "$rc"
