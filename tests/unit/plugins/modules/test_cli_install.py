"""cli_install: the release's own tarball verified before npm sees it, the pinned tree installed exactly or not at all,
no install script ever run, all or nothing into a versioned prefix, offline from a tarball, ripgrep made executable,
staging never left behind. A local registry (pytest-httpserver) serves a stand-in release, which the test's own
tables (known integrities, pinned trees) vouch for; a stand-in npm (a shell script) shows each failure mode; the
machine's real npm installs for real."""

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

from ansible_collections.qwenops.qwen_code.plugins.module_utils._cli_locks import LOCKS, known_lock, lock_problem
from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import known_integrity
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import (
    REPO, AuthProxy, collection_with, run_module, umask)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

PACKAGE = "@qwen-code/qwen-code"
TOP = "node_modules/" + PACKAGE

# Stands in for `node npm-cli.js install --global --prefix=P ... TARBALL` and `npm ci --prefix=P/lib`: records its
# argv (each call's in .calls), then builds what npm would, or fails (FAKE_NPM_FAIL, FAKE_NPM_FAIL_CI for ci only,
# FAKE_NPM_FAIL_ONCE for the first call only), hangs (FAKE_NPM_SLEEP) the way a broken registry or a kill would, or
# prints what npm prints (FAKE_NPM_SAY, on stderr). npm ci lays the tree out as a project: the package in
# P/lib/node_modules, its executable in node_modules/.bin, the hidden lockfile, and the dependencies in
# FAKE_NPM_DEPS (name@version ...); it saves the lockfile and package.json it was given.
FAKE_NPM = r"""#!/bin/sh
printf '%s\n' "$@" > "$FAKE_NPM_LOG"
printf '%s\n' "$*" >> "$FAKE_NPM_LOG.calls"
env > "$FAKE_NPM_LOG.env"
umask > "$FAKE_NPM_LOG.umask"
[ -n "$FAKE_NPM_UMASK" ] && umask "$FAKE_NPM_UMASK"
[ -n "$FAKE_NPM_SAY" ] && echo "$FAKE_NPM_SAY" >&2
[ -n "$FAKE_NPM_FAIL" ] && { echo "npm error code ECONNREFUSED" >&2; exit 1; }
[ -n "$FAKE_NPM_FAIL_ONCE" ] && [ ! -e "$FAKE_NPM_LOG.failed" ] && {
  touch "$FAKE_NPM_LOG.failed"; echo "npm error code ECONNRESET" >&2; exit 1; }
[ "$1" = ci ] && [ -n "$FAKE_NPM_FAIL_CI" ] && { echo "npm error code E503 (mirror unavailable)" >&2; exit 1; }
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
echo "{\"name\": \"@qwen-code/qwen-code\", \"version\": \"${FAKE_NPM_VERSION:-""" + DEFAULT + r"""}\"}" > "$pkg/package.json"
printf 'rg' > "$pkg/vendor/ripgrep/x64-linux/rg"; chmod 0644 "$pkg/vendor/ripgrep/x64-linux/rg"
printf '#!/usr/bin/env node' > "$pkg/dist/cli.js"; chmod u+x "$pkg/dist/cli.js"
printf '#!/usr/bin/env node' > "$pkg/cli-entry.js"; chmod u+x "$pkg/cli-entry.js"
ln -s "$link" "$bin/qwen"
if [ "$1" = ci ]; then for dep in $FAKE_NPM_DEPS; do
  mkdir -p "$pkg/node_modules/${dep%@*}"; echo "{\"version\": \"${dep##*@}\"}" > "$pkg/node_modules/${dep%@*}/package.json"
done; fi
[ -n "$FAKE_NPM_SETUID" ] && chmod 4755 "$pkg/dist/cli.js"
[ -n "$FAKE_NPM_SLEEP" ] && sleep "$FAKE_NPM_SLEEP"
exit 0
"""


def sri(data):
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def make_package_tgz(version, optional=True, scripts=None):
    buf = io.BytesIO()
    manifest = {"name": PACKAGE, "version": version, "bin": {"qwen": "cli.js"}}
    if optional:
        manifest["optionalDependencies"] = {"qwenops-no-such-native-pkg": "1.0.0"}
    if scripts:
        manifest["scripts"] = scripts
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


STAND_IN = make_package_tgz(DEFAULT)


def stand_in_lock(version=DEFAULT, data=STAND_IN, deps=()):
    """A pinned tree of the stand-in: the release, and the optional dependencies deps ((name, version, extra)...)."""
    lock = {"lockfileVersion": 3, "requires": True, "packages": {
        "": {"dependencies": {PACKAGE: version}},
        TOP: {"version": version, "resolved": "https://registry.npmjs.org/%s/-/qwen-code-%s.tgz" % (PACKAGE, version),
              "integrity": sri(data), "bin": {"qwen": "cli-entry.js"},
              "optionalDependencies": dict((name, v) for name, v, dummy in deps)}}}
    for name, v, extra in deps:
        lock["packages"][TOP + "/node_modules/" + name] = dict(
            {"version": v, "resolved": "https://registry.npmjs.org/%s/-/%s-%s.tgz" % (name, name, v),
             "integrity": sri(("%s@%s" % (name, v)).encode()), "optional": True}, **extra)
    return lock


def tables(tmp_path, known=None, locks=None):
    """Environment for a module run with the test's own tables: known integrities {version: integrity} of the
    package, and pinned trees {version: lock}."""
    return collection_with(tmp_path, {
        "_known_artifacts": "KNOWN_INTEGRITY = %r" % ({PACKAGE: dict(known or {})},),
        "_cli_locks": "LOCKS = %r" % (dict((PACKAGE + "@" + v, json.dumps(lock)) for v, lock in (locks or {}).items()),)})


@pytest.fixture
def registry(httpserver):
    """Serves PACKAGE@version: its version document (integrity: the tarball's, unless given) and its tarball."""
    def serve(version=DEFAULT, tgz=STAND_IN, integrity=None):
        url = httpserver.url_for("/%s/-/qwen-code-%s.tgz" % (PACKAGE, version))
        httpserver.expect_request("/%s/%s" % (PACKAGE, version)).respond_with_json(
            {"name": PACKAGE, "version": version, "dist": {"integrity": integrity or sri(tgz), "tarball": url}})
        httpserver.expect_request("/%s/-/qwen-code-%s.tgz" % (PACKAGE, version)).respond_with_data(tgz)
    serve.url = httpserver.url_for("/").rstrip("/")
    serve.server = httpserver
    return serve


@pytest.fixture
def fake(tmp_path, registry, no_proxy_env):
    npm = tmp_path / "npm-cli.sh"
    npm.write_text(FAKE_NPM)
    log = tmp_path / "npm-argv.log"
    registry()
    # The stand-in is the release this collection "knows" as its default, with a pinned tree of the stand-in alone.
    default_tables = tables(tmp_path, known={DEFAULT: sri(STAND_IN)}, locks={DEFAULT: stand_in_lock()})

    def run(check=False, env=None, **over):
        # npm resolves the tree unless a test asks for the pinned tree (lock=True)
        a = {"version": DEFAULT, "dest": str(tmp_path / "cli" / DEFAULT), "node": "/bin/sh", "npm_cli": str(npm),
             "lock": False, "registry": registry.url}
        a.update(over)
        run_env = dict(default_tables, FAKE_NPM_LOG=str(log))
        run_env.update(env or {})
        return run_module("cli_install", a, tmp_path, check=check, env=run_env)
    run.log = log
    run.cli = tmp_path / "cli"
    run.registry = registry
    return run


def calls(fake):
    return (fake.log.parent / "npm-argv.log.calls").read_text().splitlines()


def test_installs_into_its_own_prefix_and_fixes_ripgrep(fake):
    r = fake()
    assert r["changed"] and r["trust"] == "known" and r["installed_from"] == "registry", r.get("msg")
    rg = fake.cli / DEFAULT / "lib" / "node_modules" / PACKAGE / "vendor" / "ripgrep" / "x64-linux" / "rg"
    assert stat.S_IMODE(os.stat(rg).st_mode) == 0o755 and r["executables"] == ["vendor/ripgrep/x64-linux/rg"]
    assert stat.S_IMODE(os.stat(fake.cli / DEFAULT).st_mode) == 0o755
    assert os.listdir(fake.cli) == [DEFAULT], "staging, download or npm cache left behind"
    argv = fake.log.read_text().split("\n")
    assert "install" in argv and "--global" in argv and "--ignore-scripts" in argv
    assert "--registry=%s" % fake.registry.url in argv and "--offline" not in argv
    # npm installs the tarball the module fetched and verified, never name@version from the registry
    assert "%s@%s" % (PACKAGE, DEFAULT) not in argv
    assert [a for a in argv if a.startswith("%s/.%s.partial-" % (fake.cli, DEFAULT))
            and a.endswith(".download/qwen-code-%s.tgz" % DEFAULT)]
    assert [a for a in argv if a.startswith("--cache=%s/.%s.partial-" % (fake.cli, DEFAULT))], "a throwaway npm cache"
    assert "no dependency tree" in json.dumps(r["warnings"]), "the run must say npm resolved the dependencies"


def test_installed_release_runs_nothing(fake):
    fake()
    fake.log.unlink()
    requests = len(fake.registry.server.log)
    r = fake()
    assert not r["changed"] and not fake.log.exists() and len(fake.registry.server.log) == requests


def test_failed_npm_is_retried_then_leaves_nothing_and_says_why(fake):
    r = fake(attempts=2, env={"FAKE_NPM_FAIL": "1"})
    assert r["failed"] and "ECONNREFUSED" in r["msg"] and "exit 1" in r["msg"] and "failed 2 times" in r["msg"]
    assert len(calls(fake)) == 2
    assert os.listdir(fake.cli) == []


def test_wrong_version_installed_is_refused(fake):
    r = fake(env={"FAKE_NPM_VERSION": "0.24.5"})
    assert r["failed"] and "not " + DEFAULT in r["msg"] and os.listdir(fake.cli) == []


def test_check_mode_runs_no_npm_and_asks_nothing(fake):
    r = fake(check=True)
    assert r["changed"] and not fake.log.exists() and not fake.cli.exists()
    assert not fake.registry.server.log


def test_stale_staging_is_removed_and_fresh_staging_kept(fake):
    fake.cli.mkdir()
    stale, fresh = fake.cli / ".0.23.4.partial-old", fake.cli / ".0.23.4.partial-running"
    stale.mkdir()
    fresh.mkdir()
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    r = fake()
    assert r["removed_staging"] == [str(stale)]
    assert sorted(os.listdir(fake.cli)) == [".0.23.4.partial-running", DEFAULT]


def test_a_release_completed_meanwhile_is_kept(fake, tmp_path):
    # Another run renames its tree into place while this one's npm is still busy.

    def other_run():
        # Once this run's npm has started (it writes its argv first, then sleeps 3 s): a fixed delay would race
        # the module's own start on a loaded machine.
        deadline = time.monotonic() + 60
        while not fake.log.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        prefix = fake.cli / DEFAULT / "lib" / "node_modules" / PACKAGE
        prefix.mkdir(parents=True)
        (prefix / "package.json").write_text(json.dumps({"version": DEFAULT, "by": "other"}))
    t = threading.Thread(target=other_run)
    t.start()
    r = fake(env={"FAKE_NPM_SLEEP": "3"})
    t.join()
    assert r["changed"] and not r.get("failed"), r.get("msg")
    data = json.loads((fake.cli / DEFAULT / "lib" / "node_modules" / PACKAGE / "package.json").read_text())
    assert data["by"] == "other" and os.listdir(fake.cli) == [DEFAULT]


# --- the release's own tarball: verified before npm sees it, on every path -----------------------------------

def test_tarball_must_match_integrity_before_npm_runs(fake, tmp_path):
    tgz = tmp_path / "q.tgz"
    tgz.write_bytes(b"not what was fetched")
    r = fake(tarball=str(tgz), integrity=sri(STAND_IN))
    assert r["failed"] and "integrity mismatch" in r["msg"] and not fake.log.exists()


def test_a_tarball_is_checked_against_the_known_integrity_whatever_the_integrity_option_says(fake, tmp_path):
    forged = make_package_tgz(DEFAULT, scripts={"postinstall": "id -u > /tmp/pwned"})
    tgz = tmp_path / "q.tgz"
    tgz.write_bytes(forged)
    r = fake(tarball=str(tgz), integrity=sri(forged))  # an artifact cache filled from a tampered mirror
    assert r["failed"] and "integrity check failed" in r["msg"] and "collection knows" in r["msg"], r.get("msg")
    assert not fake.log.exists() and not fake.cli.exists()


def test_tarball_install_is_offline(fake, tmp_path):
    tgz = tmp_path / "q.tgz"
    tgz.write_bytes(STAND_IN)
    r = fake(tarball=str(tgz), integrity=sri(STAND_IN))
    assert r["changed"] and r["trust"] == "known", r.get("msg")
    argv = fake.log.read_text().split("\n")
    assert "--offline" in argv and str(tgz) in argv and "--ignore-scripts" in argv
    assert not [a for a in argv if a.startswith("--registry")]
    assert not fake.registry.server.log, "offline: the registry is not asked"


@pytest.mark.parametrize("lock", [True, False])
def test_a_mirror_serving_another_tarball_for_a_known_release_is_refused_before_npm(fake, lock, httpserver):
    """The review's mirror: it re-signs a tampered release, so its version document's integrity matches the tarball
    it serves. The module refuses it against the collection's table, before downloading it."""
    httpserver.clear()
    forged = make_package_tgz(DEFAULT, scripts={"postinstall": "id -u > /tmp/pwned"})
    fake.registry(tgz=forged)
    for attempt in (1, 2):
        r = fake(lock=lock)
        assert r["failed"] and "integrity check failed" in r["msg"] and "collection knows" in r["msg"], r.get("msg")
        assert not fake.log.exists() and os.listdir(str(fake.cli)) == []
    assert [req.path for req, dummy in httpserver.log] == ["/%s/%s" % (PACKAGE, DEFAULT)] * 2, \
        "never downloaded, nor retried"


def test_a_mirror_whose_document_lies_about_its_tarball_is_refused(fake, httpserver):
    httpserver.clear()
    fake.registry(tgz=b"something else", integrity=sri(STAND_IN))
    r = fake(lock=True)
    assert r["failed"] and "integrity mismatch" in r["msg"] and not fake.log.exists(), r.get("msg")
    assert os.listdir(str(fake.cli)) == []


def test_an_unreachable_registry_is_retried_then_named(fake):
    r = fake(registry="http://127.0.0.1:9", attempts=2)
    assert r["failed"] and "127.0.0.1:9" in r["msg"] and not fake.log.exists()


def test_a_release_the_collection_does_not_know_is_refused_before_anything(fake, tmp_path):
    for check in (False, True):
        r = fake(version="0.99.1", dest=str(fake.cli / "0.99.1"), check=check)
        assert r["failed"] and "not a release this collection knows" in r["msg"] and DEFAULT in r["msg"]
        assert "allow_unpinned" in r["msg"]
    assert not fake.log.exists() and not fake.registry.server.log and not fake.cli.exists()


def test_allow_unpinned_trusts_the_registry_and_says_so(fake):
    fake.registry(version="0.99.1")
    r = fake(version="0.99.1", dest=str(fake.cli / "0.99.1"), allow_unpinned=True, lock=True,
             env={"FAKE_NPM_VERSION": "0.99.1"})
    assert r["changed"] and r["trust"] == "registry" and r["installed_from"] == "registry", r.get("msg")
    assert fake.log.read_text().split("\n")[0] == "install" and "--ignore-scripts" in fake.log.read_text()
    assert "allow_unpinned" in json.dumps(r["warnings"])


def test_ignore_scripts_is_always_given(fake, tmp_path):
    fake(lock=True)
    fake(lock=False, dest=str(fake.cli / "other" / DEFAULT))
    tgz = tmp_path / "q.tgz"
    tgz.write_bytes(STAND_IN)
    fake(tarball=str(tgz), dest=str(fake.cli / "third" / DEFAULT))
    assert len(calls(fake)) == 3 and all("--ignore-scripts" in c.split() for c in calls(fake))


@pytest.mark.skipif(not (shutil.which("node") and os.path.exists("/usr/lib/node_modules/npm/bin/npm-cli.js")),
                    reason="needs the machine's node and npm")
def test_real_npm_runs_no_install_script(tmp_path, registry, httpserver):
    """A release with a postinstall script that the collection knows (the test's table): npm installs it, and the
    script never runs."""
    httpserver.clear()
    marker = tmp_path / "postinstall-ran"
    data = make_package_tgz("0.98.0", optional=False, scripts={"postinstall": "id -u > %s" % marker,
                                                               "install": "id -u > %s" % marker})
    registry(version="0.98.0", tgz=data)
    dest = tmp_path / "cli" / "0.98.0"
    r = run_module("cli_install", {
        "version": "0.98.0", "dest": str(dest), "node": shutil.which("node"), "npm_cli": REAL_NPM,
        "registry": registry.url, "executables": ["cli.js"], "cache": str(tmp_path / "npm-cache")}, tmp_path,
        env=tables(tmp_path, known={"0.98.0": sri(data)}))
    assert r["changed"], r.get("msg")
    assert not marker.exists(), "npm ran the package's install script as root"


REAL_NPM = "/usr/lib/node_modules/npm/bin/npm-cli.js"


@pytest.mark.skipif(not (shutil.which("node") and os.path.exists(REAL_NPM)), reason="needs the machine's node and npm")
def test_real_npm_installs_a_tarball_offline_skipping_missing_optional_packages(tmp_path):
    tgz = tmp_path / ("qwen-code-" + DEFAULT + ".tgz")
    tgz.write_bytes(STAND_IN)
    dest = tmp_path / "cli" / DEFAULT
    env = tables(tmp_path, known={DEFAULT: sri(STAND_IN)})
    # Any registry request would fail: offline means none is made.
    env.update(npm_config_registry="http://127.0.0.1:9/", https_proxy="http://127.0.0.1:9")
    r = run_module("cli_install", {
        "version": DEFAULT, "dest": str(dest), "node": shutil.which("node"), "npm_cli": REAL_NPM,
        "tarball": str(tgz), "integrity": sri(STAND_IN), "cache": str(tmp_path / "empty-npm-cache")}, tmp_path,
        env=env)
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


def test_auth_token_reaches_npm_in_a_private_npmrc_only(fake, httpserver):
    registry = fake.registry.url + "/repo/npm"
    httpserver.clear()
    url = registry + "/%s/-/qwen-code-%s.tgz" % (PACKAGE, DEFAULT)
    httpserver.expect_request("/repo/npm/%s/%s" % (PACKAGE, DEFAULT)).respond_with_json(
        {"name": PACKAGE, "version": DEFAULT, "dist": {"integrity": sri(STAND_IN), "tarball": url}})
    httpserver.expect_request("/repo/npm/%s/-/qwen-code-%s.tgz" % (PACKAGE, DEFAULT)).respond_with_data(STAND_IN)
    r = fake(registry=registry, auth_token="npm_S3CRET-T0KEN")
    assert r["changed"], r.get("msg")
    argv = fake.log.read_text().split("\n")
    userconfig = [a for a in argv if a.startswith("--userconfig=")]
    assert len(userconfig) == 1 and userconfig[0].startswith("--userconfig=%s/.%s.partial-" % (fake.cli, DEFAULT))
    assert (fake.log.parent / "npm-argv.log.npmrc").read_text() == \
        "//localhost:%d/repo/npm/:_authToken=npm_S3CRET-T0KEN\n" % httpserver.port
    assert (fake.log.parent / "npm-argv.log.npmrc.mode").read_text().split() == ["600", "700"]
    # The module's own requests (the version document, the tarball) carry the token too, to the registry only.
    assert [req.headers.get("Authorization") for req, dummy in httpserver.log] == ["Bearer npm_S3CRET-T0KEN"] * 2
    # What ps shows of npm (its argv) and what npm inherits (its environment): no token.
    assert "S3CRET" not in fake.log.read_text() and "S3CRET" not in (fake.log.parent / "npm-argv.log.env").read_text()
    assert "S3CRET" not in r["_raw"]
    assert not os.path.exists(userconfig[0].split("=", 1)[1]), "the npmrc must be removed"
    assert os.listdir(fake.cli) == [DEFAULT]


def test_token_cannot_add_lines_to_the_npmrc(fake):
    r = fake(auth_token="npm_T0KEN\nscript-shell=/tmp/evil")
    assert r["failed"] and "one line" in r["msg"] and not fake.log.exists()


def test_no_npmrc_without_a_token(fake):
    fake()
    assert not [a for a in fake.log.read_text().split("\n") if a.startswith("--userconfig")]


def test_proxies_reach_npm_in_its_environment_not_on_its_command_line(fake):
    proxy = "http://alice:pr0xy-pw@proxy.example.com:3128"
    # (the stand-in registry is on loopback: no_proxy lets the module's own requests reach it directly)
    r = fake(https_proxy=proxy, http_proxy=proxy, no_proxy="localhost,127.0.0.1,.internal")
    assert r["changed"], r.get("msg")
    env = (fake.log.parent / "npm-argv.log.env").read_text().split("\n")
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        assert "%s=%s" % (name, proxy) in env, name
    assert "no_proxy=localhost,127.0.0.1,.internal" in env and "NO_PROXY=localhost,127.0.0.1,.internal" in env
    assert "pr0xy-pw" not in fake.log.read_text() and "pr0xy-pw" not in r["_raw"]


def test_install_is_usable_by_everyone_under_umask_077(fake):
    with umask(0o077):
        r = fake(env={"FAKE_NPM_UMASK": "077", "FAKE_NPM_SETUID": "1"})
    assert r["changed"], r.get("msg")
    assert (fake.log.parent / "npm-argv.log.umask").read_text().strip() == "0022", "npm inherits umask 022"
    dest = fake.cli / DEFAULT
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
    document = {"name": PACKAGE, "version": "0.99.0", "bin": {"qwen": "cli.js"},
                "dist": {"tarball": tarball, "integrity": sri(data)}}
    packument = {"name": PACKAGE, "dist-tags": {"latest": "0.99.0"}, "versions": {"0.99.0": document}}

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
    httpserver.expect_request("/@qwen-code/qwen-code/0.99.0").respond_with_handler(
        authorized(lambda: Response(json.dumps(document), content_type="application/json")))
    httpserver.expect_request("/@qwen-code/qwen-code/-/qwen-code-0.99.0.tgz").respond_with_handler(
        authorized(lambda: Response(data, content_type="application/octet-stream")))
    proxy = AuthProxy()
    try:
        dest = tmp_path / "cli" / "0.99.0"
        with umask(0o077):
            r = run_module("cli_install", {
                "version": "0.99.0", "dest": str(dest), "node": shutil.which("node"), "npm_cli": REAL_NPM,
                "registry": registry, "auth_token": "npm_S3CRET", "http_proxy": proxy.auth_url,
                "executables": ["cli.js"]}, tmp_path, env=tables(tmp_path, known={"0.99.0": sri(data)}))
    finally:
        proxy.stop()
    assert r["changed"], r.get("msg")
    assert os.path.islink(str(dest / "bin" / "qwen"))
    assert stat.S_IMODE(os.stat(str(dest / "lib" / "node_modules" / PACKAGE / "package.json")).st_mode) == 0o644
    assert stat.S_IMODE(os.stat(str(dest / "lib")).st_mode) == 0o755
    assert proxy.requests and set(proxy.auth_seen) == {proxy.expected}, (proxy.requests, proxy.auth_seen)
    # the module's own two requests (version document, tarball); npm then installs the verified file
    assert [req.headers.get("Authorization") for req, dummy in httpserver.log] == ["Bearer npm_S3CRET"] * 2
    assert "S3CRET" not in r["_raw"] and proxy.password not in r["_raw"]


# --- the pinned tree: npm ci of the collection's lockfile, exactly, laid out as npm install --global lays it out --

def test_pinned_tree_is_installed_with_npm_ci_in_the_global_layout(fake, httpserver):
    registry = fake.registry.url + "/repo/npm"
    url = registry + "/%s/-/qwen-code-%s.tgz" % (PACKAGE, DEFAULT)
    httpserver.expect_request("/repo/npm/%s/%s" % (PACKAGE, DEFAULT)).respond_with_json(
        {"name": PACKAGE, "version": DEFAULT, "dist": {"integrity": sri(STAND_IN), "tarball": url}})
    httpserver.expect_request("/repo/npm/%s/-/qwen-code-%s.tgz" % (PACKAGE, DEFAULT)).respond_with_data(STAND_IN)
    with umask(0o077):
        r = fake(lock=True, registry=registry, auth_token="npm_S3CRET-T0KEN", env={"FAKE_NPM_UMASK": "077"})
    assert r["changed"] and r["installed_from"] == "lock" and r["trust"] == "known", r.get("msg")
    assert r["npm_attempts"] == 1 and not r.get("warnings"), r.get("warnings")
    argv = fake.log.read_text().split("\n")
    assert argv[0] == "ci" and "--global" not in argv and not [a for a in argv if a.startswith(PACKAGE)]
    assert "--ignore-scripts" in argv
    prefix = [a for a in argv if a.startswith("--prefix=")]
    assert len(prefix) == 1 and prefix[0].startswith("--prefix=%s/.%s.partial-" % (fake.cli, DEFAULT))
    assert prefix[0].endswith("/lib") and "--registry=%s" % registry in argv
    # npm got the collection's lockfile, and a package.json that asks for this release alone, as the verified file
    lock, package = (json.loads((fake.log.parent / name).read_text()) for name in ("npm-argv.log.lock",
                                                                                   "npm-argv.log.package"))
    spec = package["dependencies"][PACKAGE]
    assert list(package["dependencies"]) == [PACKAGE]
    assert spec.startswith("file:%s/.%s.partial-" % (fake.cli, DEFAULT))
    assert spec.endswith(".download/qwen-code-%s.tgz" % DEFAULT)
    assert lock["packages"][TOP]["resolved"] == spec and lock["packages"][""]["dependencies"] == {PACKAGE: spec}
    pinned = stand_in_lock()
    assert lock["packages"][TOP]["integrity"] == pinned["packages"][TOP]["integrity"]
    # the token as on the other path: a private npmrc, never on npm's command line or in its environment
    assert (fake.log.parent / "npm-argv.log.npmrc").read_text().endswith(":_authToken=npm_S3CRET-T0KEN\n")
    assert "S3CRET" not in fake.log.read_text() + (fake.log.parent / "npm-argv.log.env").read_text() + r["_raw"]
    dest = fake.cli / DEFAULT
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
    assert os.listdir(str(fake.cli)) == [DEFAULT], "staging, npmrc, download or npm cache left behind"


def test_a_failing_npm_ci_is_retried_then_fails_never_resolving_instead(fake):
    r = fake(lock=True, attempts=2, env={"FAKE_NPM_FAIL_CI": "1"})
    assert r["failed"] and "E503" in r["msg"] and "failed 2 times" in r["msg"], r.get("msg")
    assert "never resolved another way" in r["msg"]
    assert [c.split()[0] for c in calls(fake)] == ["ci", "ci"], "no npm install --global fallback"
    assert os.listdir(str(fake.cli)) == []


def test_a_transient_npm_ci_failure_is_retried(fake):
    r = fake(lock=True, env={"FAKE_NPM_FAIL_ONCE": "1"})
    assert r["changed"] and r["installed_from"] == "lock" and r["npm_attempts"] == 2, r.get("msg")
    assert [c.split()[0] for c in calls(fake)] == ["ci", "ci"]
    assert os.listdir(str(fake.cli)) == [DEFAULT]


def test_an_integrity_failure_is_not_retried_and_names_the_package(fake, tmp_path):
    lock = stand_in_lock(deps=[("qwenops-dep", "1.0.3", {})])
    env = tables(tmp_path, known={DEFAULT: sri(STAND_IN)}, locks={DEFAULT: lock})
    wanted = lock["packages"][TOP + "/node_modules/qwenops-dep"]["integrity"]
    env.update(FAKE_NPM_FAIL_CI="1", FAKE_NPM_SAY="npm error code EINTEGRITY\nnpm error %s integrity checksum failed "
               "when using sha512: wanted %s but got sha512-AAAA. (12 bytes)" % (wanted, wanted))
    r = fake(lock=True, env=env)
    assert r["failed"] and "integrity check" in r["msg"] and "qwenops-dep@1.0.3" in r["msg"], r.get("msg")
    assert len(calls(fake)) == 1 and os.listdir(str(fake.cli)) == []


def test_a_pinned_package_npm_left_out_fails_the_install(fake, tmp_path):
    """npm 10's answer to an optional package whose tarball fails its integrity: a warning, exit 0, the package left
    out. The module checks the tree against the lock for this host and refuses it."""
    lock = stand_in_lock(deps=[("qwenops-native-linux", "1.0.0", {"os": ["linux"]}),
                               ("qwenops-native-win32", "1.0.0", {"os": ["win32"]}),
                               ("qwenops-helper", "2.0.0", {})])
    env = tables(tmp_path, known={DEFAULT: sri(STAND_IN)}, locks={DEFAULT: lock})
    corrupted = ("npm warn tarball tarball data for qwenops-native-linux@http://mirror/x.tgz (%s) seems to be "
                 "corrupted. Trying again." % lock["packages"][TOP + "/node_modules/qwenops-native-linux"]["integrity"])
    r = fake(lock=True, env=dict(env, FAKE_NPM_DEPS="qwenops-helper@2.0.0", FAKE_NPM_SAY=corrupted))
    assert r["failed"] and "qwenops-native-linux 1.0.0 is missing" in r["msg"], r.get("msg")
    assert "seems to be corrupted" in r["msg"] and "integrity check" in r["msg"] and "win32" not in r["msg"]
    assert len(calls(fake)) == 1 and os.listdir(str(fake.cli)) == [], "an integrity failure is not retried"
    # left out without a word (npm's answer to an optional package it could not fetch): retried, then refused
    (fake.log.parent / "npm-argv.log.calls").unlink()
    r = fake(lock=True, attempts=2, env=dict(env, FAKE_NPM_DEPS="qwenops-helper@2.0.0"))
    assert r["failed"] and "failed 2 times" in r["msg"] and "qwenops-native-linux 1.0.0 is missing" in r["msg"]
    assert len(calls(fake)) == 2 and os.listdir(str(fake.cli)) == []
    # the whole tree (the other platform's package is not expected): installed
    r = fake(lock=True, env=dict(env, FAKE_NPM_DEPS="qwenops-helper@2.0.0 qwenops-native-linux@1.0.0"))
    assert r["changed"] and r["installed_from"] == "lock", r.get("msg")


def test_a_package_that_is_not_pinned_fails_the_install(fake):
    r = fake(lock=True, attempts=1, env={"FAKE_NPM_DEPS": "left-pad@1.3.0"})
    assert r["failed"] and "left-pad is not in the pinned tree" in r["msg"], r.get("msg")


def test_without_a_pinned_tree_npm_resolves_it(fake, tmp_path):
    fake.registry(version="0.99.1")
    env = tables(tmp_path, known={DEFAULT: sri(STAND_IN), "0.99.1": sri(STAND_IN)},
                 locks={DEFAULT: stand_in_lock()})
    r = fake(lock=True, version="0.99.1", dest=str(fake.cli / "0.99.1"), env=dict(env, FAKE_NPM_VERSION="0.99.1"))
    assert r["changed"] and r["installed_from"] == "registry" and r["trust"] == "known", r.get("msg")
    argv = fake.log.read_text().split("\n")
    assert argv[0] == "install" and argv[-2].endswith("/qwen-code-0.99.1.tgz")
    assert "no dependency tree" in json.dumps(r["warnings"])
    r = fake(lock=False, version=DEFAULT)
    assert r["installed_from"] == "registry" and fake.log.read_text().split("\n")[0] == "install"


def test_a_tarball_is_installed_offline_whatever_lock_says(fake, tmp_path):
    tgz = tmp_path / "q.tgz"
    tgz.write_bytes(STAND_IN)
    r = fake(lock=True, tarball=str(tgz))
    assert r["installed_from"] == "tarball" and "--offline" in fake.log.read_text().split("\n"), r.get("msg")


def test_every_pinned_tree_is_a_global_layout_of_sha512_pinned_tarballs_with_libc():
    assert LOCKS, "no pinned tree"
    for key in LOCKS:
        package, version = key.rsplit("@", 1)
        lock = known_lock(package, version)
        assert known_integrity(package, version), "%s: a pinned release must be in _known_artifacts" % key
        assert lock_problem(lock, package, version, known_integrity(package, version)) is None, key
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
    (lambda lock: lock["packages"][TOP].update(version="0.24.5"), "does not hold"),
    (lambda lock: lock["packages"].update({"node_modules/sharp": {
        "version": "1.0.0", "resolved": "https://registry.npmjs.org/sharp/-/sharp-1.0.0.tgz",
        "integrity": "sha512-AAAA"}}), "not the layout of a global install"),
    (lambda lock: lock["packages"].update({TOP + "/node_modules/x": {
        "version": "1.0.0", "resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz", "integrity": "sha1-AAAA"}}),
     "sha512"),
    (lambda lock: lock["packages"].update({TOP + "/node_modules/x": {"resolved": "file:../x", "link": True}}),
     "sha512"),
    (lambda lock: lock["packages"].update({TOP + "/node_modules/x": {
        "version": "1.0.0", "resolved": "git+ssh://git@example.com/x.git", "integrity": "sha512-AAAA"}}),
     "registry tarball"),
    (lambda lock: lock["packages"][TOP].update(bin={"qwen": "../../../../etc/passwd"}), "leaves the package"),
    (lambda lock: lock["packages"][TOP].update(bin={"../qwen": "cli-entry.js"}), "leaves the package"),
    (lambda lock: lock["packages"][TOP].update(integrity="sha512-" + "A" * 86 + "=="), "collection knows"),
])
def test_a_lock_that_is_not_a_pinned_global_tree_is_refused(change, problem):
    lock = known_lock(PACKAGE, DEFAULT)
    known = known_integrity(PACKAGE, DEFAULT)
    assert lock_problem(lock, PACKAGE, DEFAULT, known) is None
    change(lock)
    assert problem in lock_problem(lock, PACKAGE, DEFAULT, known)
    assert lock_problem([], PACKAGE, DEFAULT) == "not an npm lockfile of version 3"


def test_a_broken_pinned_tree_fails_before_npm_runs(fake, tmp_path):
    lock = stand_in_lock()
    lock["packages"][TOP + "/node_modules/x"] = {"version": "1", "resolved": "file:x"}
    r = fake(lock=True, env=tables(tmp_path, known={DEFAULT: sri(STAND_IN)}, locks={DEFAULT: lock}))
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
    name the public registry; npm asks the configured one (its replace-registry-host). The CLI itself npm takes from
    the file the module verified."""
    public = "https://registry.npmjs.org/"
    registry = "http://127.0.0.1:%d/" % httpserver.port
    cli = make_tgz({"name": PACKAGE, "version": "0.99.0", "bin": {"qwen": "./cli.js"},
                    "dependencies": {"qwenops-dep": "^1.0.0"},
                    "optionalDependencies": {"qwenops-win": "1.0.0", "qwenops-musl": "1.0.0"},
                    "scripts": {"postinstall": "id -u > %s/postinstall-ran" % tmp_path}},
                   {"package/cli.js": "#!/usr/bin/env node\nconsole.log('qwen stand-in');\n",
                    "package/vendor/ripgrep/x64-linux/rg": "#!/bin/sh\n"})
    dep = make_tgz({"name": "qwenops-dep", "version": "1.0.3"}, {"package/index.js": "module.exports = 1;\n"})

    def entry(name, version, data, **extra):
        return dict({"version": version, "resolved": "%s%s/-/%s-%s.tgz" % (public, name, name.split("/")[-1], version),
                     "integrity": sri(data)}, **extra)
    lock = {"lockfileVersion": 3, "requires": True, "packages": {
        "": {"dependencies": {PACKAGE: "0.99.0"}},
        TOP: entry(PACKAGE, "0.99.0", cli, bin={"qwen": "cli.js"}, dependencies={"qwenops-dep": "^1.0.0"},
                   optionalDependencies={"qwenops-win": "1.0.0", "qwenops-musl": "1.0.0"}, hasInstallScript=True),
        TOP + "/node_modules/qwenops-dep": entry("qwenops-dep", "1.0.3", dep),
        TOP + "/node_modules/qwenops-win": entry("qwenops-win", "1.0.0", b"never served", optional=True,
                                                 os=["win32"]),
        TOP + "/node_modules/qwenops-musl": entry("qwenops-musl", "1.0.0", b"never served", optional=True,
                                                  os=["linux"], libc=["musl"]),
    }}
    httpserver.expect_request("/@qwen-code/qwen-code/0.99.0").respond_with_json(
        {"name": PACKAGE, "version": "0.99.0", "dist": {
            "integrity": sri(cli), "tarball": registry + "@qwen-code/qwen-code/-/qwen-code-0.99.0.tgz"}})
    httpserver.expect_request("/@qwen-code/qwen-code/-/qwen-code-0.99.0.tgz").respond_with_data(cli)
    httpserver.expect_request("/qwenops-dep/-/qwenops-dep-1.0.3.tgz").respond_with_data(dep)
    dest = tmp_path / "cli" / "0.99.0"
    r = run_module("cli_install", {
        "version": "0.99.0", "dest": str(dest), "node": shutil.which("node"), "npm_cli": REAL_NPM,
        "registry": registry, "executables": ["cli.js"], "cache": str(tmp_path / "npm-cache")}, tmp_path,
        env=tables(tmp_path, known={"0.99.0": sri(cli)}, locks={"0.99.0": lock}))
    assert r["changed"] and r["installed_from"] == "lock", r.get("msg")
    # the module's version document and download of the CLI, then npm's one download (no packument)
    assert [req.path for req, dummy in httpserver.log] == [
        "/@qwen-code/qwen-code/0.99.0", "/@qwen-code/qwen-code/-/qwen-code-0.99.0.tgz",
        "/qwenops-dep/-/qwenops-dep-1.0.3.tgz"]
    modules = dest / "lib" / "node_modules"
    assert sorted(os.listdir(str(modules))) == ["@qwen-code"]
    assert sorted(os.listdir(str(modules / PACKAGE / "node_modules"))) == ["qwenops-dep"]
    assert sorted(os.listdir(str(dest / "lib"))) == ["node_modules"]
    assert os.readlink(str(dest / "bin" / "qwen")) == "../lib/node_modules/@qwen-code/qwen-code/cli.js"
    assert stat.S_IMODE(os.stat(str(modules / PACKAGE / "cli.js")).st_mode) == 0o755
    assert not (tmp_path / "postinstall-ran").exists(), "npm ran an install script"
    assert not r.get("warnings"), r.get("warnings")
