# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the qwen_code role decides from its inputs and install_info's read of a host: the release to run, the
policy it writes, the launcher's links and Node, and what the host lacks. The qwenops.qwen_code.preflight action
calls these once per host and returns the results in __qwen_code_host.decided; vars/main.yml only names them.

Controller side only. Each function takes plain values (the inputs as _role_inputs.gather gives them)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath
import re

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_files import merge

SERIES = re.compile(r"^(\d+\.\d+)\.\d+$")


def flag(value):
    """Jinja's `| bool` (the checks use it too: _checks imports it from here)."""
    return boolean(value, strict=False)


def cli_version(inp):
    """qwen_code_version, or what the registry called `latest` once for the play (preflight.yml)."""
    if inp["qwen_code_version"] == "latest":
        return str((inp["__qwen_code_latest"] or {}).get("version", ""))
    return str(inp["qwen_code_version"])


def cli_series(version):
    return SERIES.sub(r"\1", version)


def release(inp, series):
    """The releases table's row of the series (None for one the collection does not know)."""
    return inp["__qwen_code_releases"].get(series)


def folder_trust(inp, row):
    """Folder trust only where the release honours it: before 0.21, a folder without a rule counts as trusted."""
    return flag(inp["qwen_code_folder_trust"]) and flag(row["deny_by_rule"])


def trust_rules(inp, trusted):
    """Each user's trustedFolders.json: every folder untrusted, but those the operator trusts."""
    if not trusted:
        return {}
    rules = {"/": "DO_NOT_TRUST"}
    rules.update((folder, "TRUST_FOLDER") for folder in inp["qwen_code_trusted_folders"] or [])
    return rules


def role_policy(inp, row, trusted):
    """The role's part of the system settings: the schema, folder trust, no statistics or telemetry unless asked,
    self-update as asked (0.7 spells it disableAutoUpdate)."""
    auto_update = flag(inp["qwen_code_auto_update"])
    if row["auto_update_key"] == "disableAutoUpdate":
        general = {"disableAutoUpdate": not auto_update}
    else:
        general = {"enableAutoUpdate": auto_update}
    return {"$version": row["settings_version"], "security": {"folderTrust": {"enabled": trusted}},
            "privacy": {"usageStatisticsEnabled": flag(inp["qwen_code_usage_statistics"])},
            "telemetry": {"enabled": False}, "general": general}


def policy_variables(inp):
    """The first-class policy variables, each only when it is set (an unset one leaves the CLI's default)."""
    parts = []
    for name, path in (("qwen_code_approval_mode", ("tools", "approvalMode")),
                       ("qwen_code_tools_allowed", ("tools", "allowed")),
                       ("qwen_code_tools_excluded", ("tools", "exclude")),
                       ("qwen_code_sandbox", ("tools", "sandbox")),
                       ("qwen_code_mcp_servers", ("mcpServers",)),
                       ("qwen_code_mcp_allowed", ("mcp", "allowed")),
                       ("qwen_code_mcp_excluded", ("mcp", "excluded"))):
        value = inp[name]
        is_set = len(str(value)) > 0 if name == "qwen_code_sandbox" else len(value) > 0
        if is_set:
            part = value
            for key in reversed(path):
                part = {key: part}
            parts.append(part)
    merged = {}
    for part in parts:
        merged = merge(merged, part)
    return merged


def sandbox_wanted(inp):
    """qwen_code_execution_sandbox without unset options (argument_specs may fill them with null): {} when off."""
    wanted = inp["qwen_code_execution_sandbox"] or {}
    if not isinstance(wanted, dict):
        return wanted
    return dict((k, v) for k, v in wanted.items() if v is not None)


def execution_sandbox(inp):
    """tools.executionSandbox as the role writes it (literals, bwrap named), or None when qwen_code_execution_sandbox
    is off (empty or null)."""
    wanted = sandbox_wanted(inp)
    if not wanted:
        return None
    return {"backend": "bwrap", "filesystem": wanted.get("filesystem"), "network": wanted.get("network")}


def system_settings(inp, row, trusted):
    """The system file: the role's policy, the policy variables, then qwen_code_managed_settings over both."""
    merged = merge(role_policy(inp, row, trusted), policy_variables(inp))
    sandbox = execution_sandbox(inp)
    if sandbox:
        merged = merge(merged, {"tools": {"executionSandbox": sandbox}})
    return merge(merged, inp["qwen_code_managed_settings"] or {})


def system_defaults(inp, row):
    """The system defaults file: only what qwen_code_default_settings gives, with the schema."""
    defaults = inp["qwen_code_default_settings"] or {}
    if not defaults:
        return {}
    return dict({"$version": row["settings_version"]}, **defaults)


def proxy_env(inp):
    """The proxies, for each user's ~/.qwen/.env (only those set). Never part of what the preflight returns (its
    result shows in -v output, and a proxy URL may hold a password): the role asks the proxy_env filter."""
    env = (("HTTPS_PROXY", inp["qwen_code_https_proxy"]), ("HTTP_PROXY", inp["qwen_code_http_proxy"]),
           ("NO_PROXY", inp["qwen_code_no_proxy"]))
    return dict((name, value) for name, value in env if value)


def input_plan(inp):
    """Everything decided from the inputs alone (the release known: check_version passed)."""
    version = cli_version(inp)
    row = release(inp, cli_series(version))
    trusted = folder_trust(inp, row)
    return {"cli_version": version, "cli_series": cli_series(version), "release": row, "folder_trust": trusted,
            "trust_rules": trust_rules(inp, trusted), "system_settings": system_settings(inp, row, trusted),
            "system_defaults": system_defaults(inp, row),
            "verify": {"wanted": flag(inp["qwen_code_verify_provider"]) or flag(inp["qwen_code_smoke_test"]),
                       "mode": inp["qwen_code_verify"]},
            "oauth": oauth(inp), "key_broker": key_broker(inp), "execution_sandbox": execution_sandbox(inp)}


def key_broker(inp):
    """What provider_plans is given for qwen_code_key_isolation: the broker's port, or None without isolation."""
    return {"port": inp["qwen_code_key_broker_port"]} if flag(inp["qwen_code_key_isolation"]) else None


def oauth(inp):
    """Who gets pre-provisioned OAuth credentials, and in which shape: a dict of configured user names to
    credentials (per_user), or one set of credentials (qwen_code_oauth_creds itself, or qwen_code_oauth_creds_file)
    for every configured user. check-credentials.yml builds each user's credentials from this; user_config's inputs
    (and so their digest, which the preflight works out before check-credentials.yml runs) name the same users."""
    creds = inp["qwen_code_oauth_creds"]
    if not inp["qwen_code_oauth_creds_file"] and isinstance(creds, dict) and "access_token" not in creds:
        return {"per_user": True, "users": [str(name) for name in creds]}
    single = bool(inp["qwen_code_oauth_creds_file"]) or bool(creds)
    return {"per_user": False, "users": list(inp["__qwen_code_user_names"]) if single else []}


def version_plan(inp):
    """The release to run, before its checks (check_version refuses an unknown one)."""
    version = cli_version(inp)
    return {"cli_version": version, "cli_series": cli_series(version), "release": release(inp, cli_series(version))}


def launcher_links(inp, host_os):
    """sudo -u runs commands with sudo's secure_path, which lacks /usr/local/bin on the RHEL family: there the
    launcher gets a link in /usr/bin."""
    secure_path = host_os.get("sudo_secure_path")
    launcher_dir = posixpath.dirname(inp["qwen_code_launcher_path"])
    if secure_path is not None and launcher_dir not in secure_path and "/usr/bin" in secure_path \
            and launcher_dir != "/usr/bin":
        return [link_candidate(inp)]
    return []


def link_candidate(inp):
    return "/usr/bin/" + posixpath.basename(inp["qwen_code_launcher_path"])


def node_dir(inp):
    return "%s/node/%s" % (inp["qwen_code_install_root"], inp["qwen_code_node_version"])


def node_bin(inp, host):
    """The Node binary that runs npm and qwen, by method (the preflight found the system one)."""
    method = inp["qwen_code_node_method"]
    if method == "private":
        return node_dir(inp) + "/bin/node"
    if method == "distro":
        return "/usr/bin/node"
    return (host.get("system_node") or {}).get("path", "node")


def node_package(inp, host):
    return "node-linux-" + inp["__qwen_code_node_arch"][host["os"]["architecture"]]


def node_exclude(inp):
    """The parts of the Node package left out (npm_unpack's exclude): its C headers, unless asked for."""
    return [] if inp["qwen_code_node_headers"] else ["include"]


def decide_node(inp, host):
    """A private Node is unpacked when it is missing, another package, or lacks what is now wanted; one unpacked
    with more than is wanted is kept."""
    if inp["qwen_code_node_method"] != "private":
        return False
    unpacked = (host.get("node") or {}).get(inp["qwen_code_node_version"]) or {}
    exclude = node_exclude(inp)
    return unpacked.get("name", "") != node_package(inp, host) \
        or any(part not in exclude for part in unpacked.get("excluded", []))


def decide_cli(version, host):
    return version not in host.get("cli", [])


def decide_npm(inp, host, cli):
    return cli and inp["qwen_code_npm_version"] not in host.get("npm", [])


def decide_fetch(inp, version, host, node, npm, cli):
    """The tarballs the controller fetches for this host with qwen_code_artifact_cache (fetch-artifacts.yml)."""
    fetch = []
    if node:
        package = node_package(inp, host)
        fetch.append({"id": "%s@%s" % (package, inp["qwen_code_node_version"]), "name": package,
                      "version": inp["qwen_code_node_version"]})
    if npm:
        fetch.append({"id": "npm@%s" % inp["qwen_code_npm_version"], "name": "npm",
                      "version": inp["qwen_code_npm_version"]})
    if cli:
        package = inp["__qwen_code_package"]
        fetch.append({"id": "%s@%s" % (package, version), "name": package, "version": version})
    return fetch


def runtime_unpacks(inp, host, node, npm):
    """What install-missing.yml unpacks from the registry in one call: the private Node and npm, as each is needed
    (with_integrity adds what the controller fetched)."""
    unpacks = []
    if node:
        package = node_package(inp, host)
        unpacks.append({"id": "%s@%s" % (package, inp["qwen_code_node_version"]), "name": package,
                        "version": inp["qwen_code_node_version"], "dest": node_dir(inp),
                        "exclude": node_exclude(inp)})
    if npm:
        unpacks.append({"id": "npm@%s" % inp["qwen_code_npm_version"], "name": "npm",
                        "version": inp["qwen_code_npm_version"],
                        "dest": "%s/npm/%s" % (inp["qwen_code_install_root"], inp["qwen_code_npm_version"])})
    return unpacks


def with_integrity(unpacks, artifacts, cached):
    """runtime_unpacks for npm_unpack: with qwen_code_artifact_cache (cached; artifacts: what fetch-artifacts.yml
    registered), each with the integrity the controller fetched."""
    fetched = dict((r["item"]["id"], r) for r in (artifacts or {}).get("results", []) if "item" in r) if cached else {}
    packages = []
    for unpack in unpacks:
        package = dict((k, v) for k, v in unpack.items() if k != "id")
        if cached:
            package["integrity"] = fetched[unpack["id"]]["integrity"]
        packages.append(package)
    return packages


def needs(inp, host, cached, fetch, node, npm, cli, links, ca_sha256, launcher_sha256):
    """What this host lacks (the install steps, install-missing.yml, run only then)."""
    root = host.get("install_root")
    needs_root = root is None \
        or (root["exists"] and [root.get("directory"), root.get("mode"), root.get("uid"), root.get("gid")]
            != [True, "0755", 0, 0]) \
        or (not root["exists"] and cached and len(fetch) > 0)
    launcher_path = inp["qwen_code_launcher_path"]
    host_links = host.get("links") or {}
    return {
        "root": needs_root,
        "node": node,
        "distro_node": inp["qwen_code_node_method"] == "distro"
        and not (host.get("system_node") or {}).get("version", ""),
        "npm": npm,
        "cli": cli,
        "ca": bool(inp["qwen_code_ca_bundle"]) and (host.get("ca_bundle") or {}).get("sha256") != ca_sha256,
        "launcher": (host.get("launcher") or {}).get("sha256") != launcher_sha256,
        "links": len([link for link in links
                      if (host_links.get(link) or {}).get("target") != launcher_path]) > 0,
        # qwen_code_execution_sandbox's bwrap, where install_info looked for it (the main entry point, with users)
        "bubblewrap": execution_sandbox(inp) is not None and "execution_sandbox" in host
        and not host["execution_sandbox"].get("bwrap"),
    }


def manifest_facts(inp, version, links, ca_sha256, launcher_sha256, ca_path):
    """The host's facts in the manifest (plugins/module_utils/_manifest.py)."""
    return {
        "install_root": inp["qwen_code_install_root"],
        "launcher": {"path": inp["qwen_code_launcher_path"], "sha256": launcher_sha256, "links": links},
        "ca_bundle": {"path": ca_path, "sha256": ca_sha256} if inp["qwen_code_ca_bundle"] else {},
        "active": {"cli": version,
                   "node": inp["qwen_code_node_version"] if inp["qwen_code_node_method"] == "private" else "",
                   "npm": inp["qwen_code_npm_version"]},
    }


def changed(lacks, configured, oauth_deployed):
    """Whether the run changed (or, in check mode, would change) the host, credentials included."""
    return bool(lacks) or bool((configured or {}).get("changed", False)) \
        or bool((oauth_deployed or {}).get("changed", False))


def verify_now(verify, lacks, configured, oauth_deployed):
    """verify.yml runs its checks after a run that changed the host (qwen_code_verify on_change), or always."""
    if not verify["wanted"]:
        return False
    if verify["mode"] == "always":
        return True
    return verify["mode"] == "on_change" and changed(lacks, configured, oauth_deployed)
