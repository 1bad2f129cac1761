# Sourced by tests/demo, tests/all and .ci/run: makes a fresh Debian machine ready to run the collection's
# tests, and costs ~nothing when it already is. Installs (as root, when missing): debootstrap, python3-venv and
# the shellcheck binary; a pinned virtualenv in .venv, on whose import path tests/tools and tests/stub_provider are,
# one in .venv/release for Galaxy's importer and the release tools, one in .venv/ee for ansible-builder and
# ansible-runner, one in .venv/nox for nox and antsibull-nox (on the system's python3, which an unprivileged user
# can run); a collection path (under ~/.cache) that resolves qwenops.qwen_code to this checkout.
# The Docker part (docker.io and a running dockerd) is qwen_env_docker: done here unless QWEN_ENV_DOCKER=0, which
# tests/all sets, calling qwen_env_docker before its first stage that needs Docker. The nox sessions of the
# contributor's loop (noxfile.py, docs/NOX.md) need none of this file: no root, no Docker.
# shellcheck shell=bash
QWEN_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export QWEN_REPO

_qwen_log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

_qwen_apt() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  # ansible-test sanity's shellcheck test is skipped where the binary is missing (tests/tools/run-sanity).
  command -v shellcheck >/dev/null || missing+=(shellcheck)
  python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
  # .venv/nox is on the system's Python (an unprivileged user runs it)
  /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3 python3-venv)
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { echo "need root to install: ${missing[*]}" >&2; return 1; }
    _qwen_log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# The Docker part: docker.io when missing, and a running dockerd.
qwen_env_docker() {
  docker info >/dev/null 2>&1 && return 0
  if ! command -v dockerd >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "need root to install: docker.io" >&2; return 1; }
    _qwen_log "installing docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null || return 1
  fi
  _qwen_log "starting dockerd"
  (setsid nohup dockerd >/var/log/dockerd.log 2>&1 &)
  local wait=60
  until docker info >/dev/null 2>&1; do
    wait=$((wait - 1))
    [ "$wait" -gt 0 ] || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; return 1; }
    sleep 1
  done
}

# A virtualenv in $QWEN_REPO/$1 with the pinned requirements file $QWEN_REPO/$2 (and the constraints file $3, if
# given), (re)built when one of them changes; on the Python $4 (default: python3 on PATH).
_qwen_pinned_venv() {
  local dir="$QWEN_REPO/$1" reqs="$QWEN_REPO/$2" stamp="$QWEN_REPO/$1/.requirements.sha256" want
  want=$(cat "$reqs" ${3:+"$QWEN_REPO/$3"} | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    _qwen_log "creating $1 from $2"
    "${4:-python3}" -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check -r "$reqs" || return 1
    echo "$want" >"$stamp"
  fi
}

_qwen_venv() {
  _qwen_pinned_venv .venv tests/requirements.txt || return 1
  # Galaxy's importer and the release tools (tests/tools/release-checks), apart: their caps would hold .venv back.
  _qwen_pinned_venv .venv/release tests/requirements-release.txt || return 1
  # ansible-builder and ansible-runner for the execution environment (tests/ee), as AWX's controller has them.
  _qwen_pinned_venv .venv/ee tests/requirements-ee.txt || return 1
  # nox and antsibull-nox (noxfile.py): tests/all runs the lint, unit and sanity sessions as an unprivileged user,
  # who cannot run a Python under root's home (pyenv's): the system's python3, and readable by all.
  _qwen_pinned_venv .venv/nox tests/requirements-nox.txt tests/constraints-nox.txt /usr/bin/python3 || return 1
  chmod -R a+rX "$QWEN_REPO/.venv/nox"
  # The test tools (tests/tools: harness.py, stub_harness.py, molecule_verify.py, counting_proxy.py) and the stub
  # provider import by name from every suite, the benchmarks and the Molecule verifiers.
  local site
  site=$("$QWEN_REPO/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') || return 1
  printf '%s\n' "$QWEN_REPO/tests/tools" "$QWEN_REPO/tests/stub_provider" >"$site/qwenops-tests.pth"
  # shellcheck disable=SC1091
  . "$QWEN_REPO/.venv/bin/activate"
}

_qwen_collection_path() {
  # Outside the checkout, so that linters walking the repo never meet a link back into it.
  local root base
  root="${XDG_CACHE_HOME:-$HOME/.cache}/qwenops/collections-$(printf '%s' "$QWEN_REPO" | sha256sum | cut -c1-12)"
  base="$root/ansible_collections/qwenops"
  mkdir -p "$base"
  ln -sfn "$QWEN_REPO" "$base/qwen_code"
  export ANSIBLE_COLLECTIONS_PATH="$root"
}

_qwen_apt && _qwen_venv && _qwen_collection_path || return 1
if [ "${QWEN_ENV_DOCKER:-1}" != 0 ]; then qwen_env_docker || return 1; fi
# The canary secret: every test uses it as the API key and greps every log for it.
export QWEN_TEST_CANARY_KEY="${QWEN_TEST_CANARY_KEY:-sk-qwenops-CANARY-5c1e0b7d9a}"
export ANSIBLE_FORCE_COLOR="${ANSIBLE_FORCE_COLOR:-0}"
export PY_COLORS="${PY_COLORS:-0}"
