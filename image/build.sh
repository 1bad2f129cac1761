#!/bin/sh
# Runs in the image's build stage: installs Node and qwen with the collection's own role (tasks_from: image), which
# also writes the system settings and the image user's ~/.qwen and exports the presets the entrypoint uses; then
# bundles the `check` command (image/build.yml).
set -eu
collection=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${QWEN_CODE_VERSION:-}" ]; then
  default=$(sed -n 's/^DEFAULT = "\(.*\)"$/\1/p' "$collection/plugins/module_utils/_releases.py")
  echo "image/build.sh: QWEN_CODE_VERSION is not set. Pass the qwen release to install:" \
    "docker build --build-arg QWEN_CODE_VERSION=$default ... (the collection's default release," \
    "plugins/module_utils/_releases.py; python3 tests/tools/releases.py prints it)" >&2
  exit 1
fi
# Extra CAs from certs/ (a TLS-intercepting proxy, a private mirror): trusted for the downloads now and by qwen
# at run time, through the role's qwen_code_ca_bundle.
bundle=""
for f in "$collection"/certs/*.crt "$collection"/certs/*.pem; do
  [ -f "$f" ] || continue
  cat "$f" >>/tmp/extra-ca.pem
  bundle=/tmp/extra-ca.pem
done
cat >/tmp/image-vars.json <<JSON
{"qwen_code_version": "${QWEN_CODE_VERSION}", "qwen_code_npm_registry": "${NPM_REGISTRY}",
 "qwen_code_ca_bundle": "${bundle}"}
JSON
ANSIBLE_NOCOLOR=1 ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \
  ansible-playbook -i localhost, -c local "$collection/image/build.yml" -e @/tmp/image-vars.json
rm -f /tmp/extra-ca.pem /tmp/image-vars.json
