"""cli_install: all or nothing into a versioned prefix, offline from a tarball, ripgrep made executable, staging
never left behind. A stand-in npm (a shell script) shows each failure mode; the machine's real npm installs a
tarball offline."""
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

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module

PACKAGE = "@qwen-code/qwen-code"

# Stands in for `node npm-cli.js install --global --prefix=P ... SPEC`: records its argv, then builds what npm
# would, or fails (FAKE_NPM_FAIL) or hangs (FAKE_NPM_SLEEP) the way a broken registry or a kill would.
FAKE_NPM = r"""#!/bin/sh
printf '%s\n' "$@" > "$FAKE_NPM_LOG"
env > "$FAKE_NPM_LOG.env"
[ -n "$FAKE_NPM_FAIL" ] && { echo "npm error code ECONNREFUSED" >&2; exit 1; }
for a in "$@"; do case "$a" in --prefix=*) prefix=${a#--prefix=};; --cache=*) mkdir -p "${a#--cache=}/_cacache";; esac; done
pkg="$prefix/lib/node_modules/@qwen-code/qwen-code"
mkdir -p "$pkg/vendor/ripgrep/x64-linux" "$prefix/bin"
echo "{\"name\": \"@qwen-code/qwen-code\", \"version\": \"${FAKE_NPM_VERSION:-0.24.4}\"}" > "$pkg/package.json"
printf 'rg' > "$pkg/vendor/ripgrep/x64-linux/rg"; chmod 0644 "$pkg/vendor/ripgrep/x64-linux/rg"
[ -n "$FAKE_NPM_SLEEP" ] && sleep "$FAKE_NPM_SLEEP"
exit 0
"""


@pytest.fixture
def fake(tmp_path):
    npm = tmp_path / "npm-cli.sh"
    npm.write_text(FAKE_NPM)
    log = tmp_path / "npm-argv.log"

    def run(check=False, env=None, **over):
        a = {"version": "0.24.4", "dest": str(tmp_path / "cli" / "0.24.4"), "node": "/bin/sh", "npm_cli": str(npm)}
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
        time.sleep(1)
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


def make_package_tgz(version):
    buf = io.BytesIO()
    files = {"package/package.json": json.dumps({"name": PACKAGE, "version": version, "bin": {"qwen": "cli.js"},
                                                 "optionalDependencies": {"qwenops-no-such-native-pkg": "1.0.0"}}),
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
