"""cli_install: all or nothing into a versioned prefix, offline from a tarball, ripgrep made executable, staging
never left behind. A stand-in npm (a shell script) shows each failure mode; the machine's real npm installs a
tarball offline."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
import threading
import time

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._cli_locks import LOCKS, known_lock
from ansible_collections.qwenops.qwen_code.plugins.modules.cli_install import lock_problem
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import (
    REPO, AuthProxy, collection_with, run_module, umask)

PACKAGE = "@qwen-code/qwen-code"

# Stands in for `node npm-cli.js install --global --prefix=P ... SPEC` and `npm ci --prefix=P/lib`: records its
# argv (each call's in .calls), then builds what npm would, or fails (FAKE_NPM_FAIL, FAKE_NPM_FAIL_CI for ci only) or
# hangs (FAKE_NPM_SLEEP) the way a broken registry or a kill would. npm ci lays the tree out as a project: the
# package in P/lib/node_modules, its executable in node_modules/.bin, the hidden lockfile; it saves the lockfile and
# package.json it was given.
FAKE_NPM = r"""#!/bin/sh
printf '%s\n' "$@" > "$FAKE_NPM_LOG"
printf '%s\n' "$*" >> "$FAKE_NPM_LOG.calls"
env > "$FAKE_NPM_LOG.env"
umask > "$FAKE_NPM_LOG.umask"
[ -n "$FAKE_NPM_UMASK" ] && umask "$FAKE_NPM_UMASK"
[ -n "$FAKE_NPM_FAIL" ] && { echo "npm error code ECONNREFUSED" >&2; exit 1; }
[ "$1" = ci ] && [ -n "$FAKE_NPM_FAIL_CI" ] && { echo "npm error code ETARGET (no such version)" >&2; exit 1; }
for a in "$@"; do case "$a" in --prefix=*) prefix=${a#--prefix=};; --cache=*) mkdir -p "${a#--cache=}/_cacache";;
  --userconfig=*) uc=${a#--userconfig=}; cp "$uc" "$FAKE_NPM_LOG.npmrc"; stat -c '%a' "$uc" "${uc%/*}" > "$FAKE_NPM_LOG.npmrc.mode";;
esac; done
if [ "$1" = ci ]; then
  cp "$prefix/package-lock.json" "$FAKE_NPM_LOG.lock"; cp "$prefix/package.json" "$FAKE_NPM_LOG.package"
  modules="$prefix/node_modules"; bin="$modules/.bin"; link=../@qwen-code/qwen-code/dist/cli.js
  mkdir -p "$modules"; echo '{"lockfileVersion": 3}' > "$modules/.package-lock.json"
else
  modules="$prefix/lib/node_modules"; bin="$prefix/bin"; link=../lib/node_modules/@qwen-code/qwen-code/dist/cli.js
fi
pkg="$modules/@qwen-code/qwen-code"
mkdir -p "$pkg/vendor/ripgrep/x64-linux" "$bin" "$pkg/dist"
echo "{\"name\": \"@qwen-code/qwen-code\", \"version\": \"${FAKE_NPM_VERSION:-0.24.4}\"}" > "$pkg/package.json"
printf 'rg' > "$pkg/vendor/ripgrep/x64-linux/rg"; chmod 0644 "$pkg/vendor/ripgrep/x64-linux/rg"
printf '#!/usr/bin/env node' > "$pkg/dist/cli.js"; chmod u+x "$pkg/dist/cli.js"
printf '#!/usr/bin/env node' > "$pkg/cli-entry.js"; chmod u+x "$pkg/cli-entry.js"
ln -s "$link" "$bin/qwen"
[ -n "$FAKE_NPM_SETUID" ] && chmod 4755 "$pkg/dist/cli.js"
[ -n "$FAKE_NPM_SLEEP" ] && sleep "$FAKE_NPM_SLEEP"
exit 0
"""


@pytest.fixture
def fake(tmp_path):
    npm = tmp_path / "npm-cli.sh"
    npm.write_text(FAKE_NPM)
    log = tmp_path / "npm-argv.log"

    def run(check=False, env=None, **over):
        # npm resolves the tree unless a test asks for the collection's pinned tree (lock=True; 0.24.4 has one)
        a = {"version": "0.24.4", "dest": str(tmp_path / "cli" / "0.24.4"), "node": "/bin/sh", "npm_cli": str(npm),
             "lock": False}
        a.update(over)
        return run_module("cli_install", a, tmp_path, check=check, env=dict({"FAKE_NPM_LOG": str(log)}, **(env or {})))
    run.log = log
    run.cli = tmp_path / "cli"
    return run


def test_installs_into_its_own_prefix_and_fixes_ripgrep(fake):
    r = fake()
    assert r["changed"], r.get("msg")
    rg = fake.cli / "0.24.4" / "lib" / "node_modules" / PACKAGE / "vendor" / "ripgrep" / "x64-linux" / "rg"
    assert stat.S_IMODE(os.stat(rg).st_mode) == 0o755 and r["executables"] == ["vendor/ripgrep/x64-linux/rg"]
    assert stat.S_IMODE(os.stat(fake.cli / "0.24.4").st_mode) == 0o755
    assert os.listdir(fake.cli) == ["0.24.4"], "staging or npm cache left behind"
    argv = fake.log.read_text().split("\n")
    assert "install" in argv and "--global" in argv and "%s@0.24.4" % PACKAGE in argv
    assert "--registry=https://registry.npmjs.org" in argv and "--offline" not in argv
    assert [a for a in argv if a.startswith("--cache=%s/.0.24.4.partial-" % fake.cli)], "a throwaway npm cache"


def test_installed_release_runs_nothing(fake):
    fake()
    fake.log.unlink()
    r = fake()
    assert not r["changed"] and not fake.log.exists()


def test_failed_npm_leaves_nothing_and_says_why(fake):
    r = fake(env={"FAKE_NPM_FAIL": "1"})
    assert r["failed"] and "ECONNREFUSED" in r["msg"] and "exit 1" in r["msg"]
    assert os.listdir(fake.cli) == []


def test_wrong_version_installed_is_refused(fake):
    r = fake(env={"FAKE_NPM_VERSION": "0.24.5"})
    assert r["failed"] and "not 0.24.4" in r["msg"] and os.listdir(fake.cli) == []


def test_check_mode_runs_no_npm(fake):
    r = fake(check=True)
    assert r["changed"] and not fake.log.exists() and not fake.cli.exists()


def test_stale_staging_is_removed_and_fresh_staging_kept(fake):
    fake.cli.mkdir()
    stale, fresh = fake.cli / ".0.23.4.partial-old", fake.cli / ".0.23.4.partial-running"
    stale.mkdir()
    fresh.mkdir()
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    r = fake()
    assert r["removed_staging"] == [str(stale)]
    assert sorted(os.listdir(fake.cli)) == [".0.23.4.partial-running", "0.24.4"]


def test_a_release_completed_meanwhile_is_kept(fake, tmp_path):
    # Another run renames its tree into place while this one's npm is still busy.

    def other_run():
        # Once this run's npm has started (it writes its argv first, then sleeps 3 s): a fixed delay would race
        # the module's own start on a loaded machine.
        deadline = time.monotonic() + 60
        while not fake.log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        prefix = fake.cli / "0.24.4" / "lib" / "node_modules" / PACKAGE
        prefix.mkdir(parents=True)
        (prefix / "package.json").write_text(json.dumps({"version": "0.24.4", "by": "other"}))
    t = threading.Thread(target=other_run)
    t.start()
    r = fake(env={"FAKE_NPM_SLEEP": "3"})
    t.join()
    assert r["changed"] and not r.get("failed"), r.get("msg")
    data = json.loads((fake.cli / "0.24.4" / "lib" / "node_modules" / PACKAGE / "package.json").read_text())
    assert data["by"] == "other" and os.listdir(fake.cli) == ["0.24.4"]


def test_tarball_must_match_integrity_before_npm_runs(fake, tmp_path):
    tgz = tmp_path / "q.tgz"
    tgz.write_bytes(b"not what was fetched")
    good = "sha512-" + base64.b64encode(hashlib.sha512(b"what was fetched").digest()).decode()
    r = fake(tarball=str(tgz), integrity=good)
    assert r["failed"] and "integrity mismatch" in r["msg"] and not fake.log.exists()


def test_tarball_install_is_offline(fake, tmp_path):
    tgz = tmp_path / "q.tgz"
    tgz.write_bytes(b"x")
    r = fake(tarball=str(tgz), integrity="sha512-" + base64.b64encode(hashlib.sha512(b"x").digest()).decode())
    assert r["changed"], r.get("msg")
    argv = fake.log.read_text().split("\n")
    assert "--offline" in argv and str(tgz) in argv and not [a for a in argv if a.startswith("--registry")]


def make_package_tgz(version, optional=True):
    buf = io.BytesIO()
    manifest = {"name": PACKAGE, "version": version, "bin": {"qwen": "cli.js"}}
    if optional:
        manifest["optionalDependencies"] = {"qwenops-no-such-native-pkg": "1.0.0"}
    files = {"package/package.json": json.dumps(manifest),
             "package/cli.js": "#!/usr/bin/env node\nconsole.log('qwen stand-in');\n",
             "package/vendor/ripgrep/x64-linux/rg": "#!/bin/sh\n"}
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            data = text.encode()
            info.size, info.mode = len(data), 0o755 if name.endswith("cli.js") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


REAL_NPM = "/usr/lib/node_modules/npm/bin/npm-cli.js"


@pytest.mark.skipif(not (shutil.which("node") and os.path.exists(REAL_NPM)), reason="needs the machine's node and npm")
def test_real_npm_installs_a_tarball_offline_skipping_missing_optional_packages(tmp_path):
    data = make_package_tgz("0.24.4")
    tgz = tmp_path / "qwen-code-0.24.4.tgz"
    tgz.write_bytes(data)
    dest = tmp_path / "cli" / "0.24.4"
    r = run_module("cli_install", {
        "version": "0.24.4", "dest": str(dest), "node": shutil.which("node"), "npm_cli": REAL_NPM,
        "tarball": str(tgz), "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
        "cache": str(tmp_path / "empty-npm-cache")}, tmp_path,
        # Any registry request would fail: offline means none is made.
        env={"npm_config_registry": "http://127.0.0.1:9/", "https_proxy": "http://127.0.0.1:9"})
    assert r["changed"], r.get("msg")
    assert os.path.islink(dest / "bin" / "qwen")
    rg = dest / "lib" / "node_modules" / PACKAGE / "vendor" / "ripgrep" / "x64-linux" / "rg"
    assert stat.S_IMODE(os.stat(rg).st_mode) == 0o755
    assert not (dest / "lib" / "node_modules" / PACKAGE / "node_modules").exists()


# --- security review: secrets stay off command lines; a restrictive umask locks nobody out ------------------

def test_registry_url_with_credentials_is_refused(fake):
    r = fake(registry="https://bob:hunter2@npm.example.com/")
    assert r["failed"] and "auth_token" in r["msg"] and "hunter2" not in r["msg"]
    assert not fake.log.exists()


def test_auth_token_reaches_npm_in_a_private_npmrc_only(fake):
    r = fake(registry="https://npm.example.com:8443/repo/npm", auth_token="npm_S3CRET-T0KEN")
    assert r["changed"], r.get("msg")
    argv = fake.log.read_text().split("\n")
    userconfig = [a for a in argv if a.startswith("--userconfig=")]
    assert len(userconfig) == 1 and userconfig[0].startswith("--userconfig=%s/.0.24.4.partial-" % fake.cli)
    assert (fake.log.parent / "npm-argv.log.npmrc").read_text() == \
        "//npm.example.com:8443/repo/npm/:_authToken=npm_S3CRET-T0KEN\n"
    assert (fake.log.parent / "npm-argv.log.npmrc.mode").read_text().split() == ["600", "700"]
    # What ps shows of npm (its argv) and what install scripts inherit (its environment): no token.
    assert "S3CRET" not in fake.log.read_text() and "S3CRET" not in (fake.log.parent / "npm-argv.log.env").read_text()
    assert "S3CRET" not in r["_raw"]
    assert not os.path.exists(userconfig[0].split("=", 1)[1]), "the npmrc must be removed"
    assert os.listdir(fake.cli) == ["0.24.4"]


def test_token_cannot_add_lines_to_the_npmrc(fake):
    r = fake(auth_token="npm_T0KEN\nscript-shell=/tmp/evil")
    assert r["failed"] and "one line" in r["msg"] and not fake.log.exists()


def test_no_npmrc_without_a_token(fake):
    fake()
    assert not [a for a in fake.log.read_text().split("\n") if a.startswith("--userconfig")]


def test_proxies_reach_npm_in_its_environment_not_on_its_command_line(fake):
    proxy = "http://alice:pr0xy-pw@proxy.example.com:3128"
    r = fake(https_proxy=proxy, http_proxy=proxy, no_proxy="localhost,.internal")
    assert r["changed"], r.get("msg")
    env = (fake.log.parent / "npm-argv.log.env").read_text().split("\n")
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        assert "%s=%s" % (name, proxy) in env, name
    assert "no_proxy=localhost,.internal" in env and "NO_PROXY=localhost,.internal" in env
    assert "pr0xy-pw" not in fake.log.read_text() and "pr0xy-pw" not in r["_raw"]


def test_install_is_usable_by_everyone_under_umask_077(fake):
    with umask(0o077):
        r = fake(env={"FAKE_NPM_UMASK": "077", "FAKE_NPM_SETUID": "1"})
    assert r["changed"], r.get("msg")
    assert (fake.log.parent / "npm-argv.log.umask").read_text().strip() == "0022", "npm inherits umask 022"
    dest = fake.cli / "0.24.4"
    pkg = dest / "lib" / "node_modules" / PACKAGE

    def mode(path):
        return stat.S_IMODE(os.lstat(str(path)).st_mode)
    assert mode(fake.cli) == 0o755 and mode(dest) == 0o755
    for dirpath, dirnames, filenames in os.walk(str(dest)):
        for name in dirnames:
            assert mode(os.path.join(dirpath, name)) == 0o755, os.path.join(dirpath, name)
    assert mode(pkg / "package.json") == 0o644
    assert mode(pkg / "dist" / "cli.js") == 0o755, "owner-executable becomes executable by all, without setuid"
    assert mode(pkg / "vendor" / "ripgrep" / "x64-linux" / "rg") == 0o755
    assert os.path.islink(str(dest / "bin" / "qwen"))


@pytest.mark.skipif(not (shutil.which("node") and os.path.exists(REAL_NPM)), reason="needs the machine's node and npm")
def test_real_npm_uses_the_token_and_the_proxy_credentials(tmp_path, httpserver, no_proxy_env):
    import re

    data = make_package_tgz("0.99.0", optional=False)
    registry = "http://127.0.0.1:%d/" % httpserver.port
    tarball = registry + "@qwen-code/qwen-code/-/qwen-code-0.99.0.tgz"
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    packument = {"name": PACKAGE, "dist-tags": {"latest": "0.99.0"}, "versions": {"0.99.0": {
        "name": PACKAGE, "version": "0.99.0", "bin": {"qwen": "cli.js"},
        "dist": {"tarball": tarball, "integrity": integrity}}}}

    def authorized(answer):
        def handler(request):
            from werkzeug import Response
            if request.headers.get("Authorization") != "Bearer npm_S3CRET":
                return Response("unauthorized", status=401)
            return answer()
        return handler
    from werkzeug import Response
    httpserver.expect_request(re.compile(r"^/@qwen-code(/|%2[fF])qwen-code$")).respond_with_handler(
        authorized(lambda: Response(json.dumps(packument), content_type="application/json")))
    httpserver.expect_request("/@qwen-code/qwen-code/-/qwen-code-0.99.0.tgz").respond_with_handler(
        authorized(lambda: Response(data, content_type="application/octet-stream")))
    proxy = AuthProxy()
    try:
        dest = tmp_path / "cli" / "0.99.0"
        with umask(0o077):
            r = run_module("cli_install", {
                "version": "0.99.0", "dest": str(dest), "node": shutil.which("node"), "npm_cli": REAL_NPM,
                "registry": registry, "auth_token": "npm_S3CRET", "http_proxy": proxy.auth_url,
                "executables": ["cli.js"]}, tmp_path)
    finally:
        proxy.stop()
    assert r["changed"], r.get("msg")
    assert os.path.islink(str(dest / "bin" / "qwen"))
    assert stat.S_IMODE(os.stat(str(dest / "lib" / "node_modules" / PACKAGE / "package.json")).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(str(dest / "lib")).st_mode) == 0o755
    assert proxy.requests and set(proxy.auth_seen) == {proxy.expected}, (proxy.requests, proxy.auth_seen)
    assert [req.headers.get("Authorization") for req, dummy in httpserver.log] == ["Bearer npm_S3CRET"] * 2
    assert "S3CRET" not in r["_raw"] and proxy.password not in r["_raw"]


# --- the pinned tree: npm ci of the collection's lockfile, laid out as npm install --global lays it out ----------

def test_pinned_tree_is_installed_with_npm_ci_in_the_global_layout(fake):
    with umask(0o077):
        r = fake(lock=True, registry="https://npm.example.com/repo/npm", auth_token="npm_S3CRET-T0KEN",
                 env={"FAKE_NPM_UMASK": "077"})
    assert r["changed"] and r["installed_from"] == "lock", r.get("msg")
    argv = fake.log.read_text().split("\n")
    assert argv[0] == "ci" and "--global" not in argv and not [a for a in argv if a.startswith(PACKAGE)]
    prefix = [a for a in argv if a.startswith("--prefix=")]
    assert len(prefix) == 1 and prefix[0].startswith("--prefix=%s/.0.24.4.partial-" % fake.cli)
    assert prefix[0].endswith("/lib") and "--registry=https://npm.example.com/repo/npm" in argv
    # npm got the collection's lockfile, and a package.json that asks for this release alone
    assert json.loads((fake.log.parent / "npm-argv.log.lock").read_text()) == known_lock(PACKAGE, "0.24.4")
    assert json.loads((fake.log.parent / "npm-argv.log.package").read_text()) == {"dependencies": {PACKAGE: "0.24.4"}}
    # the token as on the other path: a private npmrc, never on npm's command line or in its environment
    assert (fake.log.parent / "npm-argv.log.npmrc").read_text().endswith(":_authToken=npm_S3CRET-T0KEN\n")
    assert "S3CRET" not in fake.log.read_text() + (fake.log.parent / "npm-argv.log.env").read_text() + r["_raw"]
    dest = fake.cli / "0.24.4"
    lib = dest / "lib"
    # what a global install has, and nothing of the project npm ci worked in
    assert sorted(os.listdir(str(lib))) == ["node_modules"] and sorted(os.listdir(str(lib / "node_modules"))) == [
        "@qwen-code"]
    assert os.listdir(str(dest / "bin")) == ["qwen"]
    assert os.readlink(str(dest / "bin" / "qwen")) == "../lib/node_modules/@qwen-code/qwen-code/cli-entry.js"
    assert os.path.isfile(str(dest / "bin" / "qwen")), "the link resolves"
    for dirpath, dirnames, filenames in os.walk(str(dest)):
        for name in dirnames:
            assert stat.S_IMODE(os.lstat(os.path.join(dirpath, name)).st_mode) == 0o755, os.path.join(dirpath, name)
    rg = lib / "node_modules" / PACKAGE / "vendor" / "ripgrep" / "x64-linux" / "rg"
    assert stat.S_IMODE(os.stat(str(rg)).st_mode) == 0o755
    assert os.listdir(str(fake.cli)) == ["0.24.4"], "staging, npmrc or npm cache left behind"


def test_when_npm_ci_fails_npm_resolves_the_tree_in_a_clean_prefix(fake):
    r = fake(lock=True, env={"FAKE_NPM_FAIL_CI": "1"})
    assert r["changed"] and r["installed_from"] == "registry", r.get("msg")
    calls = (fake.log.parent / "npm-argv.log.calls").read_text().splitlines()
    assert [c.split()[0] for c in calls] == ["ci", "install"] and "--global" in calls[1].split()
    warnings = json.dumps(r["warnings"])  # (strings, or WarningSummary objects from ansible-core 2.19 on)
    assert "ETARGET" in warnings and "resolves the tree from the registry" in warnings, warnings
    lib = fake.cli / "0.24.4" / "lib"
    assert sorted(os.listdir(str(lib))) == ["node_modules"] and not (lib / "node_modules" / ".bin").exists()
    assert os.readlink(str(fake.cli / "0.24.4" / "bin" / "qwen")).endswith("/dist/cli.js")


def test_when_npm_ci_and_npm_install_fail_nothing_is_left(fake):
    r = fake(lock=True, env={"FAKE_NPM_FAIL": "1"})
    assert r["failed"] and "ECONNREFUSED" in r["msg"] and os.listdir(str(fake.cli)) == []
    assert len((fake.log.parent / "npm-argv.log.calls").read_text().splitlines()) == 2


def test_without_a_pinned_tree_npm_resolves_it(fake):
    r = fake(lock=True, version="0.99.1", dest=str(fake.cli / "0.99.1"), env={"FAKE_NPM_VERSION": "0.99.1"})
    assert r["changed"] and r["installed_from"] == "registry", r.get("msg")
    argv = fake.log.read_text().split("\n")
    assert argv[0] == "install" and "%s@0.99.1" % PACKAGE in argv
    r = fake(lock=False, version="0.24.4")
    assert r["installed_from"] == "registry" and fake.log.read_text().split("\n")[0] == "install"


def test_a_tarball_is_installed_offline_whatever_lock_says(fake, tmp_path):
    tgz = tmp_path / "q.tgz"
    tgz.write_bytes(b"x")
    r = fake(lock=True, tarball=str(tgz))
    assert r["installed_from"] == "tarball" and "--offline" in fake.log.read_text().split("\n"), r.get("msg")


def test_every_pinned_tree_is_a_global_layout_of_sha512_pinned_tarballs_with_libc():
    assert LOCKS, "no pinned tree"
    for key in LOCKS:
        package, version = key.rsplit("@", 1)
        lock = known_lock(package, version)
        assert lock_problem(lock, package, version) is None, key
        for location, entry in lock["packages"].items():
            # npm 10 would install sharp's musl builds on a glibc host (and the glibc ones on musl) without it
            if "linuxmusl" in location or location.endswith("-gnu") or "/sharp-linux-" in location \
                    or "/sharp-libvips-linux-" in location:
                assert entry.get("libc") == (["musl"] if "musl" in location else ["glibc"]), location


def test_the_roles_default_release_has_a_pinned_tree():
    import yaml
    with open(os.path.join(REPO, "roles", "qwen_code", "defaults", "main.yml")) as f:
        version = str(yaml.safe_load(f)["qwen_code_version"])
    assert known_lock(PACKAGE, version) is not None, \
        "pin the tree of %s (python3 tests/tools/cli_lock.py %s), or every fresh host resolves it" % (version, version)


@pytest.mark.parametrize("change, problem", [
    (lambda lock: lock.update(lockfileVersion=2), "version 3"),
    (lambda lock: lock["packages"][""].update(dependencies={PACKAGE: "0.24.5"}), "alone"),
    (lambda lock: lock["packages"]["node_modules/" + PACKAGE].update(version="0.24.5"), "does not hold"),
    (lambda lock: lock["packages"].update({"node_modules/sharp": {
        "version": "1.0.0", "resolved": "https://registry.npmjs.org/sharp/-/sharp-1.0.0.tgz",
        "integrity": "sha512-AAAA"}}), "not the layout of a global install"),
    (lambda lock: lock["packages"].update({"node_modules/%s/node_modules/x" % PACKAGE: {
        "version": "1.0.0", "resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz", "integrity": "sha1-AAAA"}}),
     "sha512"),
    (lambda lock: lock["packages"].update({"node_modules/%s/node_modules/x" % PACKAGE: {
        "resolved": "file:../x", "link": True}}), "sha512"),
    (lambda lock: lock["packages"].update({"node_modules/%s/node_modules/x" % PACKAGE: {
        "version": "1.0.0", "resolved": "git+ssh://git@example.com/x.git", "integrity": "sha512-AAAA"}}),
     "registry tarball"),
    (lambda lock: lock["packages"]["node_modules/" + PACKAGE].update(bin={"qwen": "../../../../etc/passwd"}),
     "leaves the package"),
    (lambda lock: lock["packages"]["node_modules/" + PACKAGE].update(bin={"../qwen": "cli-entry.js"}),
     "leaves the package"),
])
def test_a_lock_that_is_not_a_pinned_global_tree_is_refused(change, problem):
    lock = known_lock(PACKAGE, "0.24.4")
    assert lock_problem(lock, PACKAGE, "0.24.4") is None
    change(lock)
    assert problem in lock_problem(lock, PACKAGE, "0.24.4")
    assert lock_problem([], PACKAGE, "0.24.4") == "not an npm lockfile of version 3"


def test_a_broken_pinned_tree_fails_before_npm_runs(fake, tmp_path):
    lock = known_lock(PACKAGE, "0.24.4")
    lock["packages"]["node_modules/%s/node_modules/x" % PACKAGE] = {"version": "1", "resolved": "file:x"}
    env = collection_with(tmp_path, "_cli_locks", "LOCKS = %r" % ({PACKAGE + "@0.24.4": json.dumps(lock)},))
    r = fake(lock=True, env=env)
    assert r["failed"] and "pinned tree" in r["msg"] and "lock to false" in r["msg"] and not fake.log.exists()


def make_tgz(manifest, files):
    buf = io.BytesIO()
    files = dict(files, **{"package/package.json": json.dumps(manifest)})
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            data = text.encode()
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.skipif(not (shutil.which("node") and os.path.exists(REAL_NPM)), reason="needs the machine's node and npm")
def test_real_npm_installs_the_pinned_tree_without_asking_for_any_packument(tmp_path, httpserver, no_proxy_env):
    """A lock of the test's own (the CLI's real tree is too big to serve): the CLI, a dependency, and two optional
    platform packages this host must skip without fetching them, one by os, one by libc. The lock's resolved URLs
    name the public registry; npm asks the configured one (its replace-registry-host)."""
    public = "https://registry.npmjs.org/"
    registry = "http://127.0.0.1:%d/" % httpserver.port
    cli = make_tgz({"name": PACKAGE, "version": "0.99.0", "bin": {"qwen": "./cli.js"},
                    "dependencies": {"qwenops-dep": "^1.0.0"},
                    "optionalDependencies": {"qwenops-win": "1.0.0", "qwenops-musl": "1.0.0"}},
                   {"package/cli.js": "#!/usr/bin/env node\nconsole.log('qwen stand-in');\n",
                    "package/vendor/ripgrep/x64-linux/rg": "#!/bin/sh\n"})
    dep = make_tgz({"name": "qwenops-dep", "version": "1.0.3"}, {"package/index.js": "module.exports = 1;\n"})
    top = "node_modules/" + PACKAGE

    def entry(name, version, data, **extra):
        return dict({"version": version, "resolved": "%s%s/-/%s-%s.tgz" % (public, name, name.split("/")[-1], version),
                     "integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()}, **extra)
    lock = {"lockfileVersion": 3, "requires": True, "packages": {
        "": {"dependencies": {PACKAGE: "0.99.0"}},
        top: entry(PACKAGE, "0.99.0", cli, bin={"qwen": "cli.js"}, dependencies={"qwenops-dep": "^1.0.0"},
                   optionalDependencies={"qwenops-win": "1.0.0", "qwenops-musl": "1.0.0"}),
        top + "/node_modules/qwenops-dep": entry("qwenops-dep", "1.0.3", dep),
        top + "/node_modules/qwenops-win": entry("qwenops-win", "1.0.0", b"never served", optional=True,
                                                 os=["win32"]),
        top + "/node_modules/qwenops-musl": entry("qwenops-musl", "1.0.0", b"never served", optional=True,
                                                  os=["linux"], libc=["musl"]),
    }}
    httpserver.expect_request("/@qwen-code/qwen-code/-/qwen-code-0.99.0.tgz").respond_with_data(cli)
    httpserver.expect_request("/qwenops-dep/-/qwenops-dep-1.0.3.tgz").respond_with_data(dep)
    env = collection_with(tmp_path, "_cli_locks", "LOCKS = %r" % ({PACKAGE + "@0.99.0": json.dumps(lock)},))
    dest = tmp_path / "cli" / "0.99.0"
    r = run_module("cli_install", {
        "version": "0.99.0", "dest": str(dest), "node": shutil.which("node"), "npm_cli": REAL_NPM,
        "registry": registry, "executables": ["cli.js"], "cache": str(tmp_path / "npm-cache")}, tmp_path, env=env)
    assert r["changed"] and r["installed_from"] == "lock", r.get("msg")
    assert sorted(req.path for req, dummy in httpserver.log) == [
        "/@qwen-code/qwen-code/-/qwen-code-0.99.0.tgz", "/qwenops-dep/-/qwenops-dep-1.0.3.tgz"]
    modules = dest / "lib" / "node_modules"
    assert sorted(os.listdir(str(modules))) == ["@qwen-code"]
    assert sorted(os.listdir(str(modules / PACKAGE / "node_modules"))) == ["qwenops-dep"]
    assert sorted(os.listdir(str(dest / "lib"))) == ["node_modules"]
    assert os.readlink(str(dest / "bin" / "qwen")) == "../lib/node_modules/@qwen-code/qwen-code/cli.js"
    assert stat.S_IMODE(os.stat(str(modules / PACKAGE / "cli.js")).st_mode) == 0o755
    assert not r.get("warnings"), r.get("warnings")
