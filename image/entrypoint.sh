#!/bin/sh
# qwen-code-headless entrypoint. Configuration comes only from the run-time environment:
#   one protocol's key (or <KEY>_FILE, a mounted secret), model and base URL (or QWEN_PROVIDER=<preset>):
#   OPENAI_*, ANTHROPIC_*, GEMINI_* (+ GOOGLE_GEMINI_BASE_URL), GOOGLE_* (Vertex AI express: GOOGLE_API_KEY,
#   GOOGLE_MODEL, GOOGLE_VERTEX_BASE_URL); QWEN_AUTH_TYPE chooses among several, and openai-responses needs it.
#   QWEN_TRUSTED_FOLDERS (colon-separated): folders whose .env and .qwen/settings.json qwen may honour.
#   `check` asks the provider; `broker` runs only the key broker (two-container mode); anything else is passed to qwen.
#   Key isolation (docs/IMAGE.md): started as root, the entrypoint gives the key to the key broker (its own account)
#   and runs qwen as uid 1000 with a token only; QWEN_KEY_ISOLATION=on (default) | required | off.
#   QWEN_BROKER=127.0.0.1:PORT + QWEN_BROKER_TOKEN: the key is in a broker container sharing this network namespace.
#   Execution sandbox (docs/IMAGE.md): QWEN_EXECUTION_SANDBOX=auto (default) | required | off runs every command qwen
#   runs under bwrap, per QWEN_EXECUTION_SANDBOX_FILESYSTEM (workspace-write | read-only) and _NETWORK (closed | open).
set -eu
me=qwen-code-headless
uid=$(id -u)
keys="OPENAI_API_KEY ANTHROPIC_API_KEY GEMINI_API_KEY GOOGLE_API_KEY"

# Exec "$@" as qwen: from root, uid and gid 1000 for good, no supplementary groups, no capabilities (inheritable,
# ambient and bounding sets cleared; the kernel clears the effective and permitted ones on the uid change) and
# no-new-privileges. qwen and every command it runs are never root.
as_qwen() {
  if [ "$uid" = 0 ]; then
    exec setpriv --reuid=1000 --regid=1000 --clear-groups --inh-caps=-all --ambient-caps=-all --bounding-set=-all \
      --no-new-privs -- "$@"
  fi
  exec "$@"
}
forget_keys() {
  for var in $keys; do unset "$var" "${var}_FILE"; done
  unset QWEN_BROKER_TOKEN
}

isolation=${QWEN_KEY_ISOLATION:-on}
case "$isolation" in
  on|required|off) ;;
  *) echo "$me: QWEN_KEY_ISOLATION '$isolation' is not one of on, required, off" >&2; exit 2 ;;
esac
sandbox=${QWEN_EXECUTION_SANDBOX:-auto}
sandbox_fs=${QWEN_EXECUTION_SANDBOX_FILESYSTEM:-workspace-write}
sandbox_net=${QWEN_EXECUTION_SANDBOX_NETWORK:-closed}
case "$sandbox" in
  auto|required|off) ;;
  *) echo "$me: QWEN_EXECUTION_SANDBOX '$sandbox' is not one of auto, required, off" >&2; exit 2 ;;
esac
case "$sandbox_fs" in
  workspace-write|read-only) ;;
  *) echo "$me: QWEN_EXECUTION_SANDBOX_FILESYSTEM '$sandbox_fs' is not one of workspace-write, read-only" >&2; exit 2 ;;
esac
case "$sandbox_net" in
  closed|open) ;;
  *) echo "$me: QWEN_EXECUTION_SANDBOX_NETWORK '$sandbox_net' is not one of closed, open" >&2; exit 2 ;;
esac
# `qwen review` drives qwen's bundled review skill, and qwen turns skills off under its execution sandbox
# (docs/SANDBOX.md): a review is never sandboxed; `required` refuses it, `auto` says so.
if [ "${1:-}" = review ] && [ "$sandbox" != off ]; then
  why="qwen review runs qwen's bundled review skill, which qwen turns off under its execution sandbox"
  if [ "$sandbox" = required ]; then
    echo "$me: QWEN_EXECUTION_SANDBOX=required: $why; run the review with QWEN_EXECUTION_SANDBOX=off" >&2
    exit 2
  fi
  echo "$me: the execution sandbox is off for this review: $why" >&2
  sandbox=off
fi

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
  # qwen's own file (it runs as uid 1000 when the entrypoint starts as root)
  if [ "$uid" = 0 ]; then chown -R 1000:1000 "$rules_dir"; fi
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
    # Read here as root, the secret should be readable by root only: qwen's uid reading it defeats isolation.
    if [ "$uid" = 0 ] && setpriv --reuid=1000 --regid=1000 --clear-groups test -r "$file" 2>/dev/null; then
      exposed="${exposed:-}${var}_FILE=$file "
    fi
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
  -v|--version|-h|--help)
    # No provider is asked: no key is passed on.
    if [ "$uid" = 0 ] && [ "$isolation" != off ]; then forget_keys; fi
    # The protocol, explicitly: openai-responses is never inferred, and a set of variables of another protocol must
    # not win by the CLI's own order of inference.
    as_qwen qwen --auth-type "$auth" "$@" ;;
esac

# The key broker's port on loopback (below 1024: root binds it, the broker account gets the socket).
broker_port=${QWEN_BROKER_PORT:-1009}
case "$broker_port" in
  ""|*[!0-9]*) echo "$me: QWEN_BROKER_PORT '$broker_port' is not a port number" >&2; exit 2 ;;
esac

# The path of a URL, without trailing slashes (what the broker keeps of the upstream URL: the client's base URL is
# http://127.0.0.1:PORT/p + this path).
url_path() {
  printf '%s\n' "$1" | sed -n 's,^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*\([^?#]*\).*$,\1,p' | sed 's,/*$,,'
}

# Writes the broker's config (root:qwen-broker 0640 in a private directory) from this environment, with
# qwen-key-broker image-config (the key is never quoted by this shell); sets broker_dir, broker_token, broker_url.
broker_config() {
  broker_dir=$(mktemp -d /tmp/qwen-key-broker.XXXXXX)
  chgrp qwen-broker "$broker_dir" && chmod 0750 "$broker_dir"
  ca=${NODE_EXTRA_CA_CERTS:-}
  if [ -z "$ca" ] && [ -f /etc/qwen-code/ca-bundle.pem ]; then ca=/etc/qwen-code/ca-bundle.pem; fi
  out=$(QWEN_AUTH_TYPE="$auth" qwen-key-broker image-config --out "$broker_dir/config.json" \
    --listen "127.0.0.1:$1" --ca-file "$ca") || exit 2
  chgrp qwen-broker "$broker_dir/config.json" && chmod 0640 "$broker_dir/config.json"
  broker_token=$(printf '%s\n' "$out" | sed -n 1p)
  broker_url=$(printf '%s\n' "$out" | sed -n 2p)
}

# The supervisor, as root with a clean environment: binds the port, runs the broker as qwen-broker.
supervise() {
  env -i PATH=/usr/local/bin:/usr/bin:/bin qwen-key-broker supervise --config "$broker_dir/config.json" \
    --user qwen-broker --log "$1" --pidfile "$broker_dir/broker.pid"
}

if [ "${1:-}" = broker ]; then
  # Two-container mode, the broker's side: only the broker runs here (docs/IMAGE.md).
  if [ "$uid" != 0 ]; then
    echo "$me: broker: the broker container must start as root (it binds the port, then runs the broker as the" \
      "account qwen-broker): run it without --user" >&2
    exit 2
  fi
  missing=""
  [ -n "$auth" ] && eval "[ -n \"\${$key:-}\" ]" || missing="$missing one protocol's key (or <KEY>_FILE),"
  [ -z "$auth" ] || [ -n "$base_optional" ] || eval "[ -n \"\${$base:-}\" ]" ||
    missing="$missing $base (or QWEN_PROVIDER=<preset>),"
  [ -n "${QWEN_BROKER_TOKEN:-}" ] ||
    missing="$missing QWEN_BROKER_TOKEN (the agent containers' token, e.g. \$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \\n')),"
  if [ -n "$missing" ]; then echo "$me: broker: set${missing%,}" >&2; exit 2; fi
  broker_config "$broker_port"
  hint="-e QWEN_AUTH_TYPE=$auth -e $model"
  [ -n "$base_optional" ] || hint="$hint -e $base"
  echo "$me: key broker for $auth on 127.0.0.1:$broker_port (route uid 1000); agent containers:" \
    "--network container:<this container> -e QWEN_BROKER=127.0.0.1:$broker_port -e QWEN_BROKER_TOKEN $hint" >&2
  forget_keys
  # Its log on this container's output (docker logs): one JSON line per request, never a key or token.
  exec env -i PATH=/usr/local/bin:/usr/bin:/bin qwen-key-broker supervise --config "$broker_dir/config.json" \
    --user qwen-broker --log /proc/self/fd/1 --pidfile "$broker_dir/broker.pid"
fi

# Two-container mode, the agent's side: the key is in a broker container that shares this network namespace.
client=""
if [ -n "${QWEN_BROKER:-}" ]; then
  case "$QWEN_BROKER" in
    127.0.0.1:[0-9]*) ;;
    *) echo "$me: QWEN_BROKER '$QWEN_BROKER' must be 127.0.0.1:PORT (the broker container's loopback)" >&2; exit 2 ;;
  esac
  for var in $keys; do
    if eval "[ -n \"\${$var:-}\" ]"; then
      echo "$me: QWEN_BROKER is set: $var belongs to the broker container only, not to this one" >&2; exit 2
    fi
  done
  if [ -z "$auth" ]; then
    echo "$me: QWEN_BROKER is set: set QWEN_AUTH_TYPE too (openai, openai-responses, anthropic, gemini, vertex-ai)" >&2
    exit 2
  fi
  if [ -z "${QWEN_BROKER_TOKEN:-}" ]; then
    echo "$me: QWEN_BROKER is set: set QWEN_BROKER_TOKEN, the broker container's token" >&2; exit 2
  fi
  client=1
  upstream=""
  eval "upstream=\${$base:-}"
  export "$key=$QWEN_BROKER_TOKEN"
fi

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

proxies="${HTTPS_PROXY:-}${https_proxy:-}${HTTP_PROXY:-}${http_proxy:-}"
through_broker() {  # $1: the broker's base URL for qwen: the protocol's key and base URL variables become the broker's
  forget_keys
  export "$key=$token"
  export "$base=$1"
  if [ -n "$proxies" ]; then
    np=${NO_PROXY:-${no_proxy:-}}
    NO_PROXY="${np:+$np,}127.0.0.1" no_proxy="${np:+$np,}127.0.0.1"
    export NO_PROXY no_proxy
  fi
}
if [ -n "$client" ]; then
  token=$QWEN_BROKER_TOKEN
  through_broker "http://$QWEN_BROKER/p$(url_path "$upstream")"
fi

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
  # No agent runs in a check: it asks the provider with the key itself (or through QWEN_BROKER), as uid 1000.
  as_qwen /usr/bin/python3 -I -S /opt/qwen-code/image/check.pyz "$@"
fi

if [ -z "$client" ] && [ "$isolation" != off ]; then
  if [ "$uid" != 0 ]; then
    why="the container runs as uid $uid, not root, so the entrypoint cannot hide the key from qwen"
    if [ "$isolation" = required ]; then
      echo "$me: QWEN_KEY_ISOLATION=required: $why; start it as root (no --user: it runs qwen as uid 1000 itself)" \
        "or use the two-container mode (QWEN_BROKER, docs/IMAGE.md)" >&2
      exit 2
    fi
    echo "$me: key isolation is off: $why (commands qwen runs can read it); start it as root (no --user) or use" \
      "the two-container mode (QWEN_BROKER, docs/IMAGE.md); QWEN_KEY_ISOLATION=off silences this" >&2
  else
    if [ -n "${exposed:-}" ]; then
      why="${exposed% } is readable by qwen's uid 1000, so the agent can read the key: mount it readable by root only (e.g. mode 0400)"
      if [ "$isolation" = required ]; then echo "$me: QWEN_KEY_ISOLATION=required: $why" >&2; exit 2; fi
      echo "$me: warning: $why" >&2
    fi
    # The broker on 127.0.0.1:1009 (or the next free port up to 1018, unless QWEN_BROKER_PORT chooses one).
    last=$broker_port
    [ -n "${QWEN_BROKER_PORT:-}" ] || last=$((broker_port + 9))
    port=$broker_port
    while :; do
      broker_config "$port"
      supervise "$broker_dir/broker.log" </dev/null >/dev/null 2>>"$broker_dir/supervisor.log" &
      pid=$!
      # The supervisor writes its pidfile once it holds the port, or exits when the port is taken.
      while [ ! -s "$broker_dir/broker.pid" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
      [ -s "$broker_dir/broker.pid" ] && break
      rm -rf "$broker_dir"
      if [ "$port" -ge "$last" ]; then
        range=$broker_port
        [ "$last" = "$broker_port" ] || range="$broker_port-$last"
        echo "$me: the key broker cannot bind 127.0.0.1:$range (in use: --network host?); set QWEN_BROKER_PORT to" \
          "a free port, or QWEN_KEY_ISOLATION=off" >&2
        exit 2
      fi
      port=$((port + 1))
    done
    if ! qwen-key-broker wait --listen "127.0.0.1:$port" --timeout-ms 10000; then
      echo "$me: the key broker did not answer on 127.0.0.1:$port within 10 s; the end of its log:" >&2
      tail -n 5 "$broker_dir/supervisor.log" "$broker_dir/broker.log" >&2
      exit 2
    fi
    token=$broker_token
    through_broker "$broker_url"
  fi
fi

# The execution sandbox (qwen >= 0.24: tools.executionSandbox): every shell command and file change qwen makes runs
# under bwrap, the filesystem read-only but the workspace (workspace-write) and a scratch directory, the network
# unshared (closed). First a probe with qwen's own bwrap arguments, as qwen's identity: Docker's defaults forbid it.
if [ "$sandbox" != off ]; then
  net_arg=""
  [ "$sandbox_net" = open ] || net_arg=--unshare-net
  qwen_uid=$uid
  [ "$uid" != 0 ] || qwen_uid=1000
  what=""
  fix="start the container with --security-opt seccomp=unconfined --security-opt apparmor=unconfined"
  fix="$fix --security-opt systempaths=unconfined (docs/IMAGE.md, \"Execution sandbox\")"
  # shellcheck disable=SC2086  # net_arg: no argument or one
  if ! said=$(as_qwen /usr/bin/bwrap --ro-bind / / --unshare-pid --proc /proc --dev /dev --die-with-parent $net_arg \
      -- /bin/true </dev/null 2>&1); then
    said=$(printf '%s\n' "$said" | sed -n '1s/^bwrap: //p')
    case "$said" in
      *"new namespace"*|*"unshare"*|*"setting up uid map"*)
        what="no user namespace (Docker's default seccomp or AppArmor profile, or the host forbids them)" ;;
      *"mount proc"*) what="no /proc of its own (Docker masks parts of /proc)" ;;
      *) what="bwrap: ${said:-failed}" ;;
    esac
  elif [ "$sandbox_fs" = workspace-write ] && ! (as_qwen test -w "$PWD"); then
    # qwen creates .qwen/ in the workspace for the sandbox, and fails on a directory it cannot write.
    what="the workspace $PWD is not writable by uid $qwen_uid"
    fix="mount a checkout that uid can write, or set QWEN_EXECUTION_SANDBOX_FILESYSTEM=read-only"
  fi
  if [ -z "$what" ]; then
    # The policy is read from user or system settings only: a system settings file of this run, the image's with
    # tools.executionSandbox added, root's and read-only for qwen (when started as another uid, that uid's: the
    # commands qwen runs cannot write it, the sandbox mounts it read-only).
    src=${QWEN_CODE_SYSTEM_SETTINGS_PATH:-/etc/qwen-code/settings.json}
    settings_dir=$(mktemp -d /tmp/qwen-system-settings.XXXXXX)
    /usr/bin/python3 -I -S - "$src" "$sandbox_fs" "$sandbox_net" >"$settings_dir/settings.json" <<'PY' || exit 2
import json
import sys

path, filesystem, network = sys.argv[1:]
try:
    with open(path) as f:
        settings = json.load(f)
except FileNotFoundError:
    settings = {}
except (OSError, ValueError) as e:
    sys.exit("qwen-code-headless: cannot add the execution sandbox to the system settings %s: %s" % (path, e))
settings.setdefault("tools", {})["executionSandbox"] = {
    "backend": "bwrap", "filesystem": filesystem, "network": network}
json.dump(settings, sys.stdout, indent=2)
print()
PY
    chmod 0444 "$settings_dir/settings.json"
    chmod 0555 "$settings_dir"
    # system-defaults.json stays where it was: by default the CLI looks for it beside the system settings file.
    QWEN_CODE_SYSTEM_DEFAULTS_PATH=${QWEN_CODE_SYSTEM_DEFAULTS_PATH:-$(dirname "$src")/system-defaults.json}
    QWEN_CODE_SYSTEM_SETTINGS_PATH=$settings_dir/settings.json
    export QWEN_CODE_SYSTEM_DEFAULTS_PATH QWEN_CODE_SYSTEM_SETTINGS_PATH
  elif [ "$sandbox" = required ]; then
    echo "$me: QWEN_EXECUTION_SANDBOX=required: the sandbox cannot run here, $what: $fix" >&2
    exit 2
  else
    echo "$me: the execution sandbox is off: $what: $fix; QWEN_EXECUTION_SANDBOX=off silences this" >&2
  fi
fi
# `qwen review` takes no --auth-type: the review it starts infers the protocol from these variables, which
# openai-responses never is.
if [ "${1:-}" = review ]; then
  if [ "$auth" = openai-responses ]; then echo "$me: qwen review cannot use openai-responses: use openai" >&2; exit 2; fi
  as_qwen qwen "$@"
fi
# The protocol, explicitly: openai-responses is never inferred, and a set of variables of another protocol must not
# win by the CLI's own order of inference.
as_qwen qwen --auth-type "$auth" "$@"
