#!/bin/sh
# qwen-code-headless entrypoint. Configuration comes only from the run-time environment:
#   one protocol's key (or <KEY>_FILE, a mounted secret), model and base URL (or QWEN_PROVIDER=<preset>):
#   OPENAI_*, ANTHROPIC_*, GEMINI_* (+ GOOGLE_GEMINI_BASE_URL), GOOGLE_* (Vertex AI express: GOOGLE_API_KEY,
#   GOOGLE_MODEL, GOOGLE_VERTEX_BASE_URL); QWEN_AUTH_TYPE chooses among several, and openai-responses needs it.
#   QWEN_TRUSTED_FOLDERS (colon-separated): folders whose .env and .qwen/settings.json qwen may honour.
#   `check` asks the provider; anything else is passed to qwen.
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

# Keys from files (Docker and Kubernetes secrets): <KEY VARIABLE>_FILE, for every protocol.
for var in OPENAI_API_KEY ANTHROPIC_API_KEY GEMINI_API_KEY GOOGLE_API_KEY; do
  eval "file=\${${var}_FILE:-}"
  if [ -n "$file" ]; then
    if [ ! -r "$file" ]; then echo "$me: ${var}_FILE=$file is not a readable file" >&2; exit 2; fi
    value=$(tr -d '\r\n' <"$file")
    export "$var=$value"
  fi
done

# The protocol: QWEN_AUTH_TYPE, else the one whose key is set (as the CLI infers it). The image's own settings select
# none, so that they never beat these variables.
auth=${QWEN_AUTH_TYPE:-}
if [ -z "$auth" ]; then
  if [ -n "${OPENAI_API_KEY:-}" ]; then auth=openai
  elif [ -n "${ANTHROPIC_API_KEY:-}" ]; then auth=anthropic
  elif [ -n "${GEMINI_API_KEY:-}" ]; then auth=gemini
  elif [ -n "${GOOGLE_API_KEY:-}" ]; then auth=vertex-ai
  fi
fi
base_optional=""
case "$auth" in
  openai|openai-responses) key=OPENAI_API_KEY base=OPENAI_BASE_URL model=OPENAI_MODEL ;;
  anthropic) key=ANTHROPIC_API_KEY base=ANTHROPIC_BASE_URL model=ANTHROPIC_MODEL ;;
  gemini) key=GEMINI_API_KEY base=GOOGLE_GEMINI_BASE_URL model=GEMINI_MODEL base_optional=1 ;;
  vertex-ai) key=GOOGLE_API_KEY base=GOOGLE_VERTEX_BASE_URL model=GOOGLE_MODEL base_optional=1 ;;
  "") key="" ;;
  *) echo "$me: QWEN_AUTH_TYPE '$auth' is not one of openai, openai-responses, anthropic, gemini, vertex-ai" >&2
     exit 2 ;;
esac

# QWEN_PROVIDER=<preset>: that vendor's base URL for this protocol (/etc/qwen-code/providers: name, protocol, URL).
if [ -n "${QWEN_PROVIDER:-}" ] && [ -n "$auth" ] && eval "[ -z \"\${$base:-}\" ]"; then
  url=$(awk -v p="$QWEN_PROVIDER" -v t="$auth" '$1 == p && $2 == t { print $3 }' /etc/qwen-code/providers)
  if [ -z "$url" ]; then
    offers=$(awk -v t="$auth" '$2 == t { print $1 }' /etc/qwen-code/providers | paste -sd' ' -)
    echo "$me: QWEN_PROVIDER '$QWEN_PROVIDER' has no $auth endpoint; presets with one: $offers (or set $base)" >&2
    exit 2
  fi
  export "$base=$url"
fi

# The image's HOME may not be writable when the container runs as another uid (docker run --user): use a
# private temporary home then (the policy is in the system settings, which apply to every uid).
if [ ! -w "${HOME:-/nonexistent}" ]; then
  HOME=$(mktemp -d)
  cp -r /home/qwen/.qwen "$HOME/" 2>/dev/null || mkdir -m 0700 "$HOME/.qwen"
  export HOME
fi

case "${1:-}" in
  -v|--version|-h|--help) # The protocol, explicitly: openai-responses is never inferred, and a set of variables of another protocol must not
# win by the CLI's own order of inference.
exec qwen --auth-type "$auth" "$@" ;;
esac

if [ -z "$auth" ]; then
  echo "$me: no provider configured: set one protocol's variables, e.g. OPENAI_API_KEY (or OPENAI_API_KEY_FILE) +" \
    "OPENAI_BASE_URL (or QWEN_PROVIDER=<preset>) + OPENAI_MODEL; ANTHROPIC_API_KEY + ANTHROPIC_BASE_URL +" \
    "ANTHROPIC_MODEL; GEMINI_API_KEY + GEMINI_MODEL; GOOGLE_API_KEY + GOOGLE_MODEL (Vertex AI express mode);" \
    "QWEN_AUTH_TYPE=openai-responses with the OPENAI_* variables (e.g. docker run -e OPENAI_API_KEY ...)" >&2
  exit 2
fi
missing=""
eval "[ -n \"\${$key:-}\" ]" || missing="$missing $key (or ${key}_FILE),"
[ -n "$base_optional" ] || eval "[ -n \"\${$base:-}\" ]" || missing="$missing $base (or QWEN_PROVIDER=<preset>),"
eval "[ -n \"\${$model:-}\" ]" || missing="$missing $model,"
if [ -n "$missing" ]; then
  echo "$me: the $auth provider is incomplete: set${missing%,}" >&2
  exit 2
fi
export QWEN_AUTH_TYPE="$auth"

if [ "${1:-}" = check ]; then
  shift
  # The collection's own provider check (image/check.py and the modules it imports, bundled by build_check.py) on
  # the distribution's Python, isolated (-I -S: no PYTHON* variable, no user or site packages, nothing from the
  # working directory). It trusts what qwen trusts: Node's roots, exported at build time, and NODE_EXTRA_CA_CERTS
  # (the launcher's CA bundle, if the image has one). HTTPS_PROXY/NO_PROXY apply as they do to qwen.
  if [ -f /etc/qwen-code/ca-bundle.pem ]; then export NODE_EXTRA_CA_CERTS="${NODE_EXTRA_CA_CERTS:-/etc/qwen-code/ca-bundle.pem}"; fi
  SSL_CERT_FILE=/opt/qwen-code/image/node-roots.pem
  export SSL_CERT_FILE
  unset SSL_CERT_DIR
  exec /usr/bin/python3 -I -S /opt/qwen-code/image/check.pyz "$@"
fi
# The protocol, explicitly: openai-responses is never inferred, and a set of variables of another protocol must not
# win by the CLI's own order of inference.
exec qwen --auth-type "$auth" "$@"
