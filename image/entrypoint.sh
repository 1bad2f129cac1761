#!/bin/sh
# qwen-code-headless entrypoint. Configuration comes only from the run-time environment:
#   OPENAI_API_KEY or OPENAI_API_KEY_FILE (a mounted secret), OPENAI_MODEL, and OPENAI_BASE_URL or
#   QWEN_PROVIDER=<preset>; QWEN_TRUSTED_FOLDERS (colon-separated) for folders whose .env and .qwen/settings.json
#   qwen may honour. `check` asks the provider; anything else is passed to qwen.
set -eu
me=qwen-code-headless

# Folder trust is on in /etc/qwen-code/settings.json: qwen ignores the .env and .qwen/settings.json of a folder
# that is not trusted (a mounted checkout cannot send the key elsewhere) and runs there with approval mode
# `default`. Every folder is untrusted but those in QWEN_TRUSTED_FOLDERS. The rules live in a private file of this
# run, so any uid works and a mounted home is left alone.
if [ -z "${QWEN_CODE_TRUSTED_FOLDERS_PATH:-}" ]; then
  rules_dir=$(mktemp -d)
  rules='{"/": "DO_NOT_TRUST"'
  old_ifs=$IFS
  IFS=:
  set -f
  for folder in ${QWEN_TRUSTED_FOLDERS:-}; do
    case "$folder" in
      "") continue ;;
      /*) ;;
      *) echo "$me: QWEN_TRUSTED_FOLDERS entry '$folder' is not an absolute path" >&2; exit 2 ;;
    esac
    case "$folder" in
      *[!A-Za-z0-9._/@+=,-]*)
        echo "$me: QWEN_TRUSTED_FOLDERS entry '$folder' may hold only letters, digits and ._/@+=,-" >&2; exit 2 ;;
    esac
    rules="$rules, \"$folder\": \"TRUST_FOLDER\""
  done
  set +f
  IFS=$old_ifs
  printf '%s}\n' "$rules" >"$rules_dir/trustedFolders.json"
  QWEN_CODE_TRUSTED_FOLDERS_PATH=$rules_dir/trustedFolders.json
  export QWEN_CODE_TRUSTED_FOLDERS_PATH
fi

if [ -n "${OPENAI_API_KEY_FILE:-}" ]; then
  if [ ! -r "$OPENAI_API_KEY_FILE" ]; then
    echo "$me: OPENAI_API_KEY_FILE=$OPENAI_API_KEY_FILE is not a readable file" >&2; exit 2
  fi
  OPENAI_API_KEY=$(tr -d '\r\n' <"$OPENAI_API_KEY_FILE")
  export OPENAI_API_KEY
fi

if [ -n "${QWEN_PROVIDER:-}" ] && [ -z "${OPENAI_BASE_URL:-}" ]; then
  OPENAI_BASE_URL=$(awk -F= -v p="$QWEN_PROVIDER" '$1 == p { print substr($0, length(p) + 2) }' /etc/qwen-code/providers)
  if [ -z "$OPENAI_BASE_URL" ]; then
    echo "$me: unknown QWEN_PROVIDER '$QWEN_PROVIDER'; use one of: $(cut -d= -f1 /etc/qwen-code/providers | tr '\n' ' ')(or set OPENAI_BASE_URL)" >&2
    exit 2
  fi
  export OPENAI_BASE_URL
fi

# The image's HOME may not be writable when the container runs as another uid (docker run --user): use a
# private temporary home then (the policy is in the system settings, which apply to every uid).
if [ ! -w "${HOME:-/nonexistent}" ]; then
  HOME=$(mktemp -d)
  cp -r /home/qwen/.qwen "$HOME/" 2>/dev/null || mkdir -m 0700 "$HOME/.qwen"
  export HOME
fi

case "${1:-}" in
  -v|--version|-h|--help) exec qwen "$@" ;;
esac

missing=""
[ -n "${OPENAI_API_KEY:-}" ] || missing="$missing OPENAI_API_KEY (or OPENAI_API_KEY_FILE),"
presets=$(cut -d= -f1 /etc/qwen-code/providers | paste -sd'|' -)
[ -n "${OPENAI_BASE_URL:-}" ] || missing="$missing OPENAI_BASE_URL (or QWEN_PROVIDER=$presets),"
[ -n "${OPENAI_MODEL:-}" ] || missing="$missing OPENAI_MODEL,"
if [ -n "$missing" ]; then
  echo "$me: no provider configured: set${missing%,} (e.g. docker run -e OPENAI_API_KEY -e OPENAI_BASE_URL -e OPENAI_MODEL ...)" >&2
  exit 2
fi

if [ "${1:-}" = check ]; then
  shift
  node=$(sed -n 's/^exec \([^ ]*\) .*/\1/p' /usr/local/bin/qwen)
  # The launcher's CA bundle, if the image has one, applies to the check too.
  if [ -f /etc/qwen-code/ca-bundle.pem ]; then export NODE_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS:-/etc/qwen-code/ca-bundle.pem}"; fi
  # Node's fetch follows HTTPS_PROXY/NO_PROXY only when asked to (Node >= 22.21), as qwen itself does.
  if [ -n "${HTTPS_PROXY:-}${https_proxy:-}${HTTP_PROXY:-}${http_proxy:-}" ]; then export NODE_USE_ENV_PROXY=1; fi
  exec "$node" /opt/qwen-code/image/check.mjs "$@"
fi
exec qwen "$@"
