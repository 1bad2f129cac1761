"""The preflight's checks (plugins/plugin_utils/_checks.py), one table row each: the inputs, and the message the
role prints word for word (tests/integration/test_bad_input.py and Molecule grep them) or none."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT, SERIES
from ansible_collections.qwenops.qwen_code.plugins.plugin_utils import _checks, _decisions
from ansible_collections.qwenops.qwen_code.plugins.plugin_utils._role_inputs import VARIABLES
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

with open(os.path.join(REPO, "roles", "qwen_code", "vars", "main.yml")) as f:
    ROLE_VARS = yaml.safe_load(f)
with open(os.path.join(REPO, "roles", "qwen_code", "defaults", "main.yml")) as f:
    DEFAULTS = yaml.safe_load(f)
PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def inputs(**change):
    inp = dict(VARIABLES)
    inp.update((k, v) for k, v in DEFAULTS.items() if k in VARIABLES)
    inp.update(qwen_code_version=DEFAULT, __qwen_code_releases=SERIES,
               __qwen_code_distro_node_major=ROLE_VARS["__qwen_code_distro_node_major"],
               __qwen_code_node_arch=ROLE_VARS["__qwen_code_node_arch"],
               __qwen_code_package=ROLE_VARS["__qwen_code_package"], __qwen_code_ca_path=ROLE_VARS["__qwen_code_ca_path"],
               __qwen_code_user_names=["alice", "bob"], qwen_code_install_root="/opt/qwen-code",
               qwen_code_launcher_path="/usr/local/bin/qwen")
    inp.update(change)
    return inp


def plan(**change):
    inp = inputs(**change)
    return inp, _decisions.input_plan(inp) if _decisions.version_plan(inp)["release"] else _decisions.version_plan(inp)


HOST = {"os": {"id": "debian", "major_version": "12", "architecture": "x86_64", "libc": {"name": "glibc",
                                                                                         "version": "2.36"},
               "package_manager": "apt", "sudo_secure_path": None},
        "users": {"alice": {"home": "/home/alice", "home_exists": True}}, "missing_users": [],
        "install_root": {"exists": False}, "system_node": None, "links": {}, "manifest": {}}


def host(**change):
    return dict(HOST, **change)


VERSION_TEXT = ("is not a release this collection knows (0.7, 0.12, 0.15, 0.21, 0.23, 0.24 series): its settings "
                "schema and Node requirement are unverified, so it is refused rather than guessed. Pin a known release "
                "(default " + DEFAULT + ") or update the collection.")

# (name of the case, the check called with the case's inputs, the inputs changed, the messages)
INPUT_CASES = [
    ("inputs pass", lambda i, p: _checks.check_inputs(i), {}, []),
    ("a relative install root", lambda i, p: _checks.check_inputs(i), {"qwen_code_install_root": "opt/q"},
     ["qwen_code_install_root 'opt/q' must be an absolute path"]),
    ("an empty base URL is not checked", lambda i, p: _checks.check_inputs(i), {"qwen_code_base_url": ""}, []),
    ("a bad base URL", lambda i, p: _checks.check_inputs(i), {"qwen_code_base_url": "ftp://x"}, None),
    ("lifecycle passes", lambda i, p: _checks.check_lifecycle(i), {}, []),
    ("configured and absent", lambda i, p: _checks.check_lifecycle(i), {"qwen_code_users_absent": ["bob", "alice"]},
     ["qwen_code_users_absent and qwen_code_users both name alice, bob: a user is either configured or offboarded."]),
    ("keep no release", lambda i, p: _checks.check_lifecycle(i), {"qwen_code_keep_releases": 0},
     ["qwen_code_keep_releases must be at least 1 (the active release is never removed)."]),
    ("keep a word", lambda i, p: _checks.check_lifecycle(i), {"qwen_code_keep_releases": "many"},
     ["qwen_code_keep_releases must be at least 1 (the active release is never removed)."]),
    ("a sandbox of another kind", lambda i, p: _checks.check_lifecycle(i), {"qwen_code_sandbox": "lxc"},
     ["qwen_code_sandbox must be true, false, docker or podman (or empty for the CLI's default)."]),
    ("the sandbox docker", lambda i, p: _checks.check_lifecycle(i), {"qwen_code_sandbox": "docker"}, []),
    ("an absent user that is no account name", lambda i, p: _checks.check_lifecycle(i),
     {"qwen_code_users_absent": ["carol", "Bad Name"]}, ["qwen_code_users_absent must be a list of account names."]),
    ("an absent user that is no string", lambda i, p: _checks.check_lifecycle(i),
     {"qwen_code_users_absent": [{"name": "carol"}]}, ["qwen_code_users_absent must be a list of account names."]),
    ("a known release", _checks.check_version, {}, []),
    ("an unknown series", _checks.check_version, {"qwen_code_version": "0.99.1"},
     ["qwen_code_version 0.99.1 " + VERSION_TEXT]),
    ("no release at all", _checks.check_version, {"qwen_code_version": "0.24"},
     ["qwen_code_version 0.24 " + VERSION_TEXT]),
    ("latest resolved to an unknown series", _checks.check_version,
     {"qwen_code_version": "latest", "__qwen_code_latest": {"version": "1.0.0"}},
     ["qwen_code_version latest (= 1.0.0) " + VERSION_TEXT]),
    ("a release the collection knows", _checks.check_release, {}, []),
    ("an unpinned release allowed", _checks.check_release,
     {"qwen_code_version": "0.24.9", "qwen_code_allow_unpinned_tree": True}, []),
    ("approval auto on 0.24", _checks.check_policy, {"qwen_code_approval_mode": "auto"}, []),
    ("approval auto on 0.15", _checks.check_policy,
     {"qwen_code_approval_mode": "auto", "qwen_code_version": "0.15.10"},
     ["qwen_code_approval_mode auto needs qwen 0.21 or later (qwen 0.15.10 knows plan, default, auto-edit and "
      "yolo)."]),
    ("model.name on 0.12", _checks.check_policy,
     {"qwen_code_managed_settings": {"model": {"name": "m"}}, "qwen_code_version": "0.12.0"},
     ["qwen_code_managed_settings sets model.name, which qwen 0.12.0 ignores: before 0.15 the model variable in each "
      "user's .env (OPENAI_MODEL) beats model.name in every settings file, the system file included. Choose the "
      "model per provider (qwen_code_model, qwen_code_providers) or pin qwen 0.15 or later."]),
    ("model.name on 0.15", _checks.check_policy,
     {"qwen_code_managed_settings": {"model": {"name": "m"}}, "qwen_code_version": "0.15.10"}, []),
    ("qwen-oauth on 0.12", _checks.check_oauth_release,
     {"qwen_code_auth_type": "qwen-oauth", "qwen_code_version": "0.12.0"}, []),
    ("qwen-oauth on 0.24", _checks.check_oauth_release, {"qwen_code_auth_type": "qwen-oauth"},
     ["qwen_code_auth_type qwen-oauth: qwen " + DEFAULT + " refuses it (\"Qwen OAuth free tier was discontinued on "
      "2026-04-15\"). Use qwen_code_auth_type: openai with a provider key, pin qwen_code_version 0.12.0 or older, or "
      "set security.auth.useExternal: true in qwen_code_settings if an external tool manages the tokens."]),
    ("qwen-oauth on 0.24 with an external tool", _checks.check_oauth_release,
     {"qwen_code_auth_type": "qwen-oauth", "qwen_code_settings": {"security": {"auth": {"useExternal": "yes"}}}}, []),
    ("per-user credentials of configured users", lambda i, p: _checks.check_oauth_users(i),
     {"qwen_code_oauth_creds": {"alice": {"access_token": "x"}}}, []),
    ("one user's credentials for everyone", lambda i, p: _checks.check_oauth_users(i),
     {"qwen_code_oauth_creds": {"access_token": "x", "refresh_token": "y"}}, []),
    ("per-user credentials of someone else", lambda i, p: _checks.check_oauth_users(i),
     {"qwen_code_oauth_creds": {"alice": {}, "mallory": {}, "eve": {}}},
     ["qwen_code_oauth_creds has entries for mallory, eve, which are not in qwen_code_users: give either the "
      "credentials themselves (access_token, refresh_token, token_type, expiry_date) or a dict of configured user "
      "names to credentials."]),
    ("folder trust on 0.24", _checks.warn_folder_trust, {"qwen_code_folder_trust": True}, []),
    ("folder trust off on 0.12", _checks.warn_folder_trust,
     {"qwen_code_folder_trust": False, "qwen_code_version": "0.12.0"}, []),
    ("folder trust on 0.12", _checks.warn_folder_trust,
     {"qwen_code_folder_trust": "true", "qwen_code_version": "0.12.0"},
     ["qwen 0.12.0 treats every folder without an explicit rule as trusted (and 0.7 then reads no .env outside "
      "trusted folders), so the role leaves folder trust off for it: the .env and .qwen/settings.json of any checkout "
      "are honoured and can send the key elsewhere. qwen 0.21 and later honour the collection's folder trust; pin one "
      "of those unless you need this release."]),
    ("a private Node recent enough", _checks.check_node_private,
     {"qwen_code_node_version": "22.23.3"}, []),
    ("a private Node too old", _checks.check_node_private, {"qwen_code_node_version": "20.19.0"},
     ["qwen_code_node_version '20.19.0' does not satisfy qwen " + DEFAULT + ", which needs Node >= 22: use an exact version "
      "such as 22.23.3."]),
    ("a private Node that is no exact version", _checks.check_node_private,
     {"qwen_code_node_version": "22"},
     ["qwen_code_node_version '22' does not satisfy qwen " + DEFAULT + ", which needs Node >= 22: use an exact version such as "
      "22.23.3."]),
    ("the system Node is not checked here", _checks.check_node_private,
     {"qwen_code_node_method": "system", "qwen_code_node_version": "1"}, []),
]


@pytest.mark.parametrize("check,change,expected", [c[1:] for c in INPUT_CASES], ids=[c[0] for c in INPUT_CASES])
def test_input_checks(check, change, expected):
    inp, p = plan(**change)
    problems = check(inp, p)
    if expected is None:
        assert len(problems) == 1
    elif expected and expected[0].endswith("must be an absolute path"):
        assert len(problems) == 1 and problems[0].startswith(expected[0])
    else:
        assert problems == expected


def test_the_unknown_release_names_the_variable_that_allows_it():
    inp, p = plan(qwen_code_version="0.24.9")
    problems = _checks.check_release(inp, p)
    assert len(problems) == 1 and "qwen_code_allow_unpinned_tree: true" in problems[0]


@pytest.mark.parametrize("bundle,content,cache,expected", [
    ("", None, "", []),
    ("/no/such.pem", None, "", ["qwen_code_ca_bundle '/no/such.pem' is not a file on the controller: point it at a "
                                "PEM bundle there."]),
    ("BUNDLE", "not a certificate", "", ["qwen_code_ca_bundle 'BUNDLE' holds no PEM certificate "
                                         "(-----BEGIN CERTIFICATE-----)."]),
    ("BUNDLE", PEM, "", []),
    ("", None, "CACHE_FILE", ["qwen_code_artifact_cache 'CACHE_FILE' must be an absolute path of a directory on the "
                              "controller (it is created when missing)."]),
    ("", None, "relative", ["qwen_code_artifact_cache 'relative' must be an absolute path of a directory on the "
                            "controller (it is created when missing)."]),
    ("", None, "/no/such/cache", []),
    ("", None, "TMP", []),
], ids=["nothing", "no file", "no PEM", "a PEM", "cache is a file", "relative cache", "missing cache", "cache dir"])
def test_check_controller(tmp_path, bundle, content, cache, expected):
    pem = tmp_path / "ca.pem"
    pem.write_text(content or "")
    cache_file = tmp_path / "cache-file"
    cache_file.write_text("")
    subst = {"BUNDLE": str(pem), "CACHE_FILE": str(cache_file), "TMP": str(tmp_path)}
    bundle, cache = subst.get(bundle, bundle), subst.get(cache, cache)
    read = []
    problems = _checks.check_controller(inputs(qwen_code_ca_bundle=bundle, qwen_code_artifact_cache=cache),
                                        lambda: read.append(1) or pem.read_text())
    assert problems == [e.replace("'BUNDLE'", "'%s'" % bundle).replace("'CACHE_FILE'", "'%s'" % cache)
                        for e in expected]
    assert len(read) <= 1


def test_check_providers_gives_the_plans_problems_one_line_each():
    assert _checks.check_providers(["a  b\n c", ""]) == ["a b c"]
    assert _checks.check_providers(None) == []


NODE_MSG = ", and qwen " + DEFAULT + " needs Node >= 22. Set qwen_code_node_path, or use qwen_code_node_method: private."
HOST_CASES = [
    ("a glibc host", lambda i, p, h: _checks.check_host_platform(i, h), {}, {}, []),
    ("a musl host", lambda i, p, h: _checks.check_host_platform(i, h), {},
     {"os": dict(HOST["os"], libc={"name": "musl", "version": ""})}, None),
    ("every user has a home", lambda i, p, h: _checks.check_host_users(h, "web1"), {}, {}, []),
    ("a missing account", lambda i, p, h: _checks.check_host_users(h, "web1"), {},
     {"missing_users": ["carol", "dave"]},
     ["qwen_code_users names accounts that do not exist on web1: carol, dave. Create them first (e.g. with "
      "ansible.builtin.user) or remove them from qwen_code_users."]),
    ("accounts without a home", lambda i, p, h: _checks.check_host_users(h, "web1"), {},
     {"users": {"alice": {"home": "/home/alice", "home_exists": False}, "bob": {"home": "/b", "home_exists": True},
                "carol": {"home": "/c", "home_exists": False}}},
     ["qwen_code_users names accounts without a home directory on web1: alice (/home/alice), carol (/c). Create "
      "their homes (e.g. ansible.builtin.user with create_home) or remove them from qwen_code_users."]),
    ("a new install root", lambda i, p, h: _checks.check_host_install_root(i, h), {}, {}, []),
    ("the distro method on Debian 12", _checks.check_host_node,
     {"qwen_code_node_method": "distro"}, {},
     ["qwen_code_node_method 'distro' cannot work here: Debian 12 ships Node 18, and qwen " + DEFAULT + " needs Node >= 22. "
      "Use qwen_code_node_method: private (a separate Node under /opt/qwen-code that leaves the system's untouched) "
      "or pin an older qwen_code_version."]),
    ("the distro method on Debian 13 for 0.15", _checks.check_host_node,
     {"qwen_code_node_method": "distro", "qwen_code_version": "0.15.10"},
     {"os": dict(HOST["os"], major_version="13")}, []),
    ("the distro method on Ubuntu without Node yet", _checks.check_host_node,
     {"qwen_code_node_method": "distro"}, {"os": dict(HOST["os"], id="ubuntu", major_version="24")}, []),
    ("the distro method with an old Node there", _checks.check_host_node,
     {"qwen_code_node_method": "distro"},
     {"os": dict(HOST["os"], id="ubuntu"), "system_node": {"path": "/usr/bin/node", "version": "18.19.1"}},
     ["qwen_code_node_method 'distro': /usr/bin/node is v18.19.1" + NODE_MSG]),
    ("the system method without Node", _checks.check_host_node,
     {"qwen_code_node_method": "system"}, {}, ["qwen_code_node_method 'system': no usable node found on PATH"
                                               + NODE_MSG]),
    ("the system method without Node at a path", _checks.check_host_node,
     {"qwen_code_node_method": "system", "qwen_code_node_path": "/opt/node/bin/node"}, {},
     ["qwen_code_node_method 'system': no usable node found at qwen_code_node_path '/opt/node/bin/node'" + NODE_MSG]),
    ("the system method with an old Node", _checks.check_host_node,
     {"qwen_code_node_method": "system"}, {"system_node": {"path": "/usr/local/bin/node", "version": "20.1.0"}},
     ["qwen_code_node_method 'system': /usr/local/bin/node is v20.1.0" + NODE_MSG]),
    ("the system method with a recent Node", _checks.check_host_node,
     {"qwen_code_node_method": "system"}, {"system_node": {"path": "/usr/bin/node", "version": "22.10.0"}}, []),
    ("the private method needs no host Node", _checks.check_host_node, {}, {}, []),
    ("no link for sudo", lambda i, p, h: _checks.check_host_links(i, p, h, "web1"), {}, {}, []),
    ("sudo's link is ours", lambda i, p, h: _checks.check_host_links(i, p, h, "web1"), {},
     {"os": dict(HOST["os"], sudo_secure_path=["/usr/sbin", "/usr/bin"]),
      "links": {"/usr/bin/qwen": {"exists": True, "target": "/usr/local/bin/qwen"}}}, []),
    ("sudo's link is someone else's", lambda i, p, h: _checks.check_host_links(i, p, h, "web1"), {},
     {"os": dict(HOST["os"], sudo_secure_path=["/usr/sbin", "/usr/bin"]),
      "links": {"/usr/bin/qwen": {"exists": True, "target": "/opt/other/qwen"}}},
     ["sudo's secure_path on web1 lacks /usr/local/bin, so the role links the launcher as /usr/bin/qwen for "
      "`sudo -u`, but that path is already something else: remove it (or set qwen_code_launcher_path to a directory "
      "of secure_path) and run again."]),
    ("the recorded root may go", lambda i, p, h: _checks.check_host_recorded_root(i, h), {},
     {"manifest": {"install_root": "/opt/old-qwen"}}, []),
    ("no manifest", lambda i, p, h: _checks.check_host_recorded_root(i, h), {}, {}, []),
    ("the recorded root is a system directory", lambda i, p, h: _checks.check_host_recorded_root(i, h), {},
     {"manifest": {"install_root": "/usr"}}, None),
]


@pytest.mark.parametrize("check,change,host_change,expected", [c[1:] for c in HOST_CASES],
                         ids=[c[0] for c in HOST_CASES])
def test_host_checks(check, change, host_change, expected):
    inp, p = plan(**change)
    h = host(**host_change)
    p = dict(p, launcher_links=_decisions.launcher_links(inp, h["os"]))
    problems = check(inp, p, h)
    if expected is None:
        assert len(problems) == 1
        if "manifest" in host_change:
            assert problems[0].startswith("The manifest records the install root /usr: qwen_code_install_root '/usr'")
    else:
        assert problems == expected


@pytest.mark.parametrize("entry,change,failed", [
    ("registry", {"qwen_code_keep_releases": 0}, None),  # the registry's entry checks only what the registry needs
    ("uninstall", {"qwen_code_keep_releases": 0}, "lifecycle"),
    ("uninstall", {"qwen_code_version": "9.9.9"}, None),
    ("install", {"qwen_code_version": "9.9.9"}, "version"),
    ("main", {"qwen_code_install_root": "relative", "qwen_code_version": "9.9.9"}, "inputs"),
    ("main", {"qwen_code_version": "0.24.9"}, "release"),
    ("main", {}, None),
])
def test_each_entry_runs_its_checks_in_order(entry, change, failed):
    inp = inputs(**change)
    name, problems = _checks.run_checks(entry, inp, _decisions.version_plan(inp), lambda: PEM)
    assert name == failed and bool(problems) == bool(failed)


def test_checks_that_rely_on_the_release_run_only_for_install_and_main():
    inp, p = plan(qwen_code_approval_mode="auto", qwen_code_version="0.15.10", qwen_code_node_version="1.0.0")
    asked = []
    assert _checks.run_release_checks("main", inp, p, lambda: asked.append(1) or [])[0] == "policy"
    assert _checks.run_release_checks("install", inp, p, lambda: asked.append(1) or [])[0] == "node_private"
    inp, p = plan(qwen_code_auth_type="qwen-oauth")
    assert _checks.run_release_checks("main", inp, p, lambda: ["bad key"]) == ("providers", ["bad key"])
    assert _checks.run_release_checks("main", inp, p, lambda: [])[0] == "oauth_release"
    assert _checks.run_release_checks("install", inp, p, lambda: ["bad key"]) == (None, [])
    assert not asked


def test_host_checks_of_each_entry():
    inp, p = plan()
    p = dict(p, launcher_links=[])
    homeless = host(missing_users=["carol"], manifest={"install_root": "/usr"})
    assert _checks.run_host_checks("main", inp, p, homeless, "web1")[0] == "host_users"
    assert _checks.run_host_checks("install", inp, p, homeless, "web1") == (None, [])
    assert _checks.run_host_checks("uninstall", inp, p, homeless, "web1")[0] == "host_recorded_root"
    assert _checks.run_warnings("install", inputs(qwen_code_version="0.12.0"), plan(qwen_code_version="0.12.0")[1]) \
        == []


@pytest.mark.parametrize("change, expected", [
    (dict(qwen_code_key_isolation=False, qwen_code_key_broker_port=80000), []),
    (dict(qwen_code_key_isolation=True), []),
    (dict(qwen_code_key_isolation=True, qwen_code_key_broker_port=8080),
     ["qwen_code_key_broker_port must be a port below 1024 (8080): only root can bind those, so no user can listen "
      "there in the broker's place."]),
    (dict(qwen_code_key_isolation=True, qwen_code_key_broker_account="root"),
     ["qwen_code_key_broker_account must be the name of a system account for the broker alone (e.g. qwen-broker), "
      "never root."]),
    (dict(qwen_code_key_isolation=True, qwen_code_key_broker_account="alice", __qwen_code_user_names=["alice"]),
     ["qwen_code_key_broker_account alice is also in qwen_code_users: the broker's account holds every user's key, "
      "so no user may log in as it."]),
    (dict(qwen_code_key_isolation=True, qwen_code_sandbox="docker"),
     ["qwen_code_key_isolation cannot be combined with qwen_code_sandbox docker: a sandboxed qwen runs in a "
      "container, whose connections the broker cannot tell apart by user. Set qwen_code_sandbox to false or empty."]),
])
def test_key_isolation(change, expected):
    assert _checks.check_key_isolation(inputs(**change)) == expected
