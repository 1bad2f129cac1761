# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The qwen_code role's preflight checks (tasks/preflight.yml runs them through the qwenops.qwen_code.preflight
action). Each takes plain values (the role's inputs as _role_inputs.gather gives them, what _decisions worked out,
and install_info's read of the host for the host_* ones) and returns a list of messages, each naming the variable
and the fix; an empty list passes. A check that relies on an earlier one says so in its docstring: the action calls
it only once that one passed (run_checks below).

Controller side only. Messages are tests/integration's and Molecule's: change their words with care."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import posixpath
import re

from ansible.module_utils.compat.version import LooseVersion
from ansible_collections.qwenops.qwen_code.plugins.filter.input_problems import input_problems
from ansible_collections.qwenops.qwen_code.plugins.module_utils._config_inputs import configured_and_absent
from ansible_collections.qwenops.qwen_code.plugins.module_utils._host_facts import platform_problems
from ansible_collections.qwenops.qwen_code.plugins.module_utils._install_root import root_problems
from ansible_collections.qwenops.qwen_code.plugins.module_utils._key_broker import account_problem, port_problem
from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import unknown_release_problem
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_names import USER_NAME
from ansible_collections.qwenops.qwen_code.plugins.plugin_utils._decisions import flag, oauth, sandbox_wanted

# What qwen 0.24 refuses as a sandboxed workspace besides homes (chunk executeBwrap's protectedRoots: the
# installation, its state, Node's and bwrap's directories and these), and the install root (Node and the CLI).
PROTECTED_ROOTS = ("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/proc", "/dev", "/sys")
# The package managers the role installs bubblewrap with (_host_facts.package_manager's names).
BWRAP_INSTALLERS = ("apt", "dnf", "yum", "zypper")

VERSION = re.compile(r"^\d+\.\d+\.\d+$")
SANDBOXES = [True, False, "", "docker", "podman", "true", "false"]
# The release the role installs by default, named by the version check's advice (its one source: _releases.py).
DEFAULT_RELEASE = DEFAULT


def _int(value):
    """Jinja's `| int` (0 when it is no number)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def at_least(version, major):
    """Jinja's `version is version(major ~ '.0.0', '>=')` (a loose comparison)."""
    try:
        return LooseVersion(str(version)) >= LooseVersion("%s.0.0" % major)
    except TypeError:  # pragma: no cover - a mix of numbers and words LooseVersion cannot order
        return False


def message(text):
    """One line, single spaces: how the messages of the former Jinja templates read."""
    return " ".join(text.split())


def _messages(*texts):
    return [message(t) for t in texts if t]


def check_inputs(inp):
    """URLs, proxies, paths and tokens (filter/input_problems.py); the base URL only when it is given (a preset's is
    known to be good, and an unknown preset has its own check). Never quotes a token or a proxy password."""
    values = dict((name, inp[name]) for name in (
        "qwen_code_npm_registry", "qwen_code_http_proxy", "qwen_code_https_proxy", "qwen_code_no_proxy",
        "qwen_code_install_root", "qwen_code_launcher_path", "qwen_code_node_path", "qwen_code_ca_bundle",
        "qwen_code_npm_auth_token", "qwen_code_trusted_folders", "qwen_code_managed_settings",
        "qwen_code_default_settings", "qwen_code_mcp_servers"))
    values["qwen_code_node_path"] = values["qwen_code_node_path"] or ""
    values["qwen_code_artifact_cache"] = str(inp["qwen_code_artifact_cache"])
    if inp["qwen_code_base_url"]:
        values["qwen_code_base_url"] = inp["qwen_code_base_url"]
    return _messages(*input_problems(values, allow_insecure_base_url=flag(inp["qwen_code_allow_insecure_base_url"])))


def check_controller(inp, read_ca_bundle, exists=os.path.exists, isfile=os.path.isfile, isdir=os.path.isdir):
    """The CA bundle and the artifact cache, on the controller. read_ca_bundle() gives the bundle's content (called
    only for a file)."""
    bundle, cache = inp["qwen_code_ca_bundle"], str(inp["qwen_code_artifact_cache"])
    if bundle and not isfile(bundle):
        return _messages("qwen_code_ca_bundle '%s' is not a file on the controller: point it at a PEM bundle there."
                         % bundle)
    if bundle and "-----BEGIN CERTIFICATE-----" not in read_ca_bundle():
        return _messages("qwen_code_ca_bundle '%s' holds no PEM certificate (-----BEGIN CERTIFICATE-----)." % bundle)
    if cache and not (cache.startswith("/") and (not exists(cache) or isdir(cache))):
        return _messages("qwen_code_artifact_cache '%s' must be an absolute path of a directory on the controller (it "
                         "is created when missing)." % cache)
    return []


def check_lifecycle(inp):
    """The policy and life-cycle variables."""
    absent = inp["qwen_code_users_absent"] or []
    overlap = configured_and_absent(inp["__qwen_code_user_names"], absent)
    sandbox = inp["qwen_code_sandbox"]
    if overlap:
        return _messages("qwen_code_users_absent and qwen_code_users both name %s: a user is either configured or "
                         "offboarded." % ", ".join(str(n) for n in overlap))
    if _int(inp["qwen_code_keep_releases"]) < 1:
        return _messages("qwen_code_keep_releases must be at least 1 (the active release is never removed).")
    if sandbox not in SANDBOXES:
        return _messages("qwen_code_sandbox must be true, false, docker or podman (or empty for the CLI's default).")
    if not all(isinstance(n, str) and USER_NAME.match(n) for n in absent):
        return _messages("qwen_code_users_absent must be a list of account names.")
    return []


def check_version(inp, plan):
    """qwen_code_version (or what `latest` resolved to) against the releases this collection knows."""
    version = plan["cli_version"]
    if VERSION.match(version) and plan["cli_series"] in inp["__qwen_code_releases"]:
        return []
    latest = " (= %s)" % version if inp["qwen_code_version"] == "latest" else ""
    return _messages(
        "qwen_code_version %s%s is not a release this collection knows (%s series): its settings schema and Node "
        "requirement are unverified, so it is refused rather than guessed. Pin a known release (default %s) or "
        "update the collection." % (inp["qwen_code_version"], latest, ", ".join(inp["__qwen_code_releases"]),
                                    DEFAULT_RELEASE))


def check_release(inp, plan):
    """A release the collection does not know (its tarball's sha512 is not in its table) trusts the registry for the
    CLI's code: refused unless the operator says so (the rule cli_install applies on the host)."""
    problem = unknown_release_problem(inp["__qwen_code_package"], plan["cli_version"],
                                      bool(inp["qwen_code_allow_unpinned_tree"]), "qwen_code_allow_unpinned_tree")
    return _messages(problem)


def check_policy(inp, plan):
    """The policy against what this release honours. Relies on check_version."""
    release, version = plan["release"], plan["cli_version"]
    managed = inp["qwen_code_managed_settings"] or {}
    model = managed.get("model") if isinstance(managed, dict) else None
    model_name = model.get("name") if isinstance(model, dict) else None
    if inp["qwen_code_approval_mode"] == "auto" and not release["approval_auto"]:
        return _messages("qwen_code_approval_mode auto needs qwen 0.21 or later (qwen %s knows plan, default, "
                         "auto-edit and yolo)." % version)
    if release["model_env_wins"] and model_name:
        return _messages(
            "qwen_code_managed_settings sets model.name, which qwen %s ignores: before 0.15 the model variable in each "
            "user's .env (OPENAI_MODEL) beats model.name in every settings file, the system file included. Choose the "
            "model per provider (qwen_code_model, qwen_code_providers) or pin qwen 0.15 or later." % version)
    return []


def check_oauth_release(inp, plan):
    """qwen-oauth only with a release that still accepts it (or an external tool managing the tokens). Relies on
    check_version."""
    settings = inp["qwen_code_settings"] or {}
    external = ((settings.get("security") or {}).get("auth") or {}).get("useExternal", False) \
        if isinstance(settings, dict) else False
    if inp["qwen_code_auth_type"] != "qwen-oauth" or plan["release"]["qwen_oauth"] or flag(external):
        return []
    return _messages(
        "qwen_code_auth_type qwen-oauth: qwen %s refuses it (\"Qwen OAuth free tier was discontinued on "
        "2026-04-15\"). Use qwen_code_auth_type: openai with a provider key, pin qwen_code_version 0.12.0 or older, "
        "or set security.auth.useExternal: true in qwen_code_settings if an external tool manages the tokens."
        % plan["cli_version"])


def check_oauth_users(inp):
    """Per-user OAuth credentials name configured users (never a token in a message)."""
    shape = oauth(inp)
    if not shape["per_user"]:
        return []
    unknown = [name for name in shape["users"] if name not in inp["__qwen_code_user_names"]]
    if not unknown:
        return []
    return _messages(
        "qwen_code_oauth_creds has entries for %s, which are not in qwen_code_users: give either the credentials "
        "themselves (access_token, refresh_token, token_type, expiry_date) or a dict of configured user names to "
        "credentials." % ", ".join(str(n) for n in unknown))


def warn_folder_trust(inp, plan):
    """A warning, not a failure. Relies on check_version."""
    if not flag(inp["qwen_code_folder_trust"]) or plan["release"]["deny_by_rule"]:
        return []
    return _messages(
        "qwen %s treats every folder without an explicit rule as trusted (and 0.7 then reads no .env outside trusted "
        "folders), so the role leaves folder trust off for it: the .env and .qwen/settings.json of any checkout are "
        "honoured and can send the key elsewhere. qwen 0.21 and later honour the collection's folder trust; pin one "
        "of those unless you need this release." % plan["cli_version"])


def check_node_private(inp, plan):
    """The private Node against the release. Relies on check_version."""
    version, major = inp["qwen_code_node_version"], plan["release"]["node_major"]
    if inp["qwen_code_node_method"] != "private" or (VERSION.match(str(version)) and at_least(version, major)):
        return []
    return _messages("qwen_code_node_version '%s' does not satisfy qwen %s, which needs Node >= %s: use an exact "
                     "version such as 22.23.3." % (version, plan["cli_version"], major))


def check_key_isolation(inp):
    """qwen_code_key_isolation's port, account and what it cannot be combined with (its qwen-oauth users are
    provider_plans' problem, check_providers)."""
    if not flag(inp["qwen_code_key_isolation"]):
        return []
    problem = (account_problem(inp["qwen_code_key_broker_account"], inp["__qwen_code_user_names"])
               or port_problem(inp["qwen_code_key_broker_port"]))
    if problem:
        return _messages(problem + ".")
    if inp["qwen_code_sandbox"] not in ("", False, "false"):
        return _messages("qwen_code_key_isolation cannot be combined with qwen_code_sandbox %s: a sandboxed qwen runs "
                         "in a container, whose connections the broker cannot tell apart by user. Set "
                         "qwen_code_sandbox to false or empty." % inp["qwen_code_sandbox"])
    return []


def _within(path, root):
    """path is root or lies below it."""
    path, root = posixpath.normpath(path), posixpath.normpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def _overlaps(a, b):
    return _within(a, b) or _within(b, a)


def check_execution_sandbox(inp, plan):
    """qwen_code_execution_sandbox: a release that reads it, and none of what qwen 0.24.4 turns off or refuses under
    it (docs/SANDBOX.md). Relies on check_version."""
    wanted = sandbox_wanted(inp)
    if not wanted:
        return []
    if not isinstance(wanted, dict) or sorted(wanted) != ["filesystem", "network"] \
            or wanted["filesystem"] not in ("read-only", "workspace-write") \
            or wanted["network"] not in ("open", "closed"):
        return _messages("qwen_code_execution_sandbox must be empty (off) or give exactly filesystem (read-only or "
                         "workspace-write) and network (open or closed).")
    if not plan["release"]["execution_sandbox"]:
        return _messages("qwen_code_execution_sandbox needs qwen 0.24 or later: qwen %s does not read "
                         "tools.executionSandbox (the 0.24 series is the first whose tarball has it; 0.23.4's has "
                         "not), so its commands would run unconfined. Pin a 0.24 release or later in "
                         "qwen_code_version, or leave the sandbox off."
                         % plan["cli_version"])
    if inp["qwen_code_sandbox"] not in ("", False, "false"):
        return _messages("qwen_code_execution_sandbox cannot be combined with qwen_code_sandbox %s: qwen 0.24 refuses "
                         "its execution sandbox inside Docker, Podman or a whole-CLI sandbox. Set qwen_code_sandbox to "
                         "false or empty." % inp["qwen_code_sandbox"])
    settings = inp["qwen_code_settings"] if isinstance(inp["qwen_code_settings"], dict) else {}
    where = [name for name, value in (("qwen_code_mcp_servers", inp["qwen_code_mcp_servers"]),
                                      ("qwen_code_managed_settings", plan["system_settings"].get("mcpServers")),
                                      ("qwen_code_default_settings", plan["system_defaults"].get("mcpServers")),
                                      ("qwen_code_settings", settings.get("mcpServers"))) if value]
    if where:
        return _messages("qwen_code_execution_sandbox cannot be combined with MCP servers (%s): qwen 0.24 refuses to "
                         "start with MCP servers under its execution sandbox (\"tools.executionSandbox does not yet "
                         "support ... MCP\"). Remove them, or leave the sandbox off." % where[0])
    roots = PROTECTED_ROOTS + (inp["qwen_code_install_root"],)
    bad = ["%s (overlaps %s)" % (folder, root) for folder in inp["qwen_code_trusted_folders"] or []
           for root in roots if _overlaps(folder, root)]
    if bad:
        return _messages("qwen_code_trusted_folders cannot be sandboxed workspaces: %s. qwen 0.24 refuses a writable "
                         "workspace that overlaps the system or the installation; trust project directories only."
                         % ", ".join(bad))
    return []


def check_providers(plan_problems):
    """Each user's providers and keys (filter/provider_plans.py's problems; never a key in a message)."""
    return _messages(*(plan_problems or []))


def check_host_platform(inp, host):
    """Any x86_64/aarch64 Linux with glibc 2.28 or later runs the private Node: what matters is the C library and
    the package manager, never the distribution's name."""
    return _messages(*platform_problems(host["os"], inp["qwen_code_node_method"]))


def check_host_users(host, hostname):
    """Every user in qwen_code_users exists and has a home."""
    if host.get("missing_users"):
        return _messages("qwen_code_users names accounts that do not exist on %s: %s. Create them first (e.g. with "
                         "ansible.builtin.user) or remove them from qwen_code_users."
                         % (hostname, ", ".join(host["missing_users"])))
    users = host.get("users") or {}
    homeless = [name for name, user in users.items() if not user.get("home_exists")]
    if homeless:
        return _messages("qwen_code_users names accounts without a home directory on %s: %s. Create their homes "
                         "(e.g. ansible.builtin.user with create_home) or remove them from qwen_code_users."
                         % (hostname, ", ".join("%s (%s)" % (u, users[u].get("home")) for u in homeless)))
    return []


def check_host_node(inp, plan, host):
    """Debian's Node for the distro method (known for Debian's releases; elsewhere, such as on Ubuntu, the version is
    checked right after apt installed it). A system Node, and Debian's when it is there already, must be recent
    enough. Relies on check_version."""
    method, major, version = inp["qwen_code_node_method"], plan["release"]["node_major"], plan["cli_version"]
    node = host.get("system_node") or {}
    os_facts = host.get("os") or {}
    distro_major = inp["__qwen_code_distro_node_major"].get(os_facts.get("major_version"))
    if method == "distro" and os_facts.get("id") == "debian" and distro_major is not None \
            and _int(distro_major) < major:
        return _messages(
            "qwen_code_node_method 'distro' cannot work here: Debian %s ships Node %s, and qwen %s needs Node >= %s. "
            "Use qwen_code_node_method: private (a separate Node under %s that leaves the system's untouched) or pin "
            "an older qwen_code_version."
            % (os_facts.get("major_version"), distro_major, version, major, inp["qwen_code_install_root"]))
    found = node.get("version")
    if (method == "system" or (method == "distro" and found is not None)) \
            and (found is None or not at_least(found, major)):
        if found is None:
            where = " at qwen_code_node_path '%s'" % inp["qwen_code_node_path"] if inp["qwen_code_node_path"] \
                else " on PATH"
            what = "no usable node found" + where
        else:
            what = "%s is v%s" % (node.get("path"), found)
        return _messages("qwen_code_node_method '%s': %s, and qwen %s needs Node >= %s. Set qwen_code_node_path, or "
                         "use qwen_code_node_method: private." % (method, what, version, major))
    return []


def check_host_install_root(inp, host):
    """Every directory on the install root's way is root's and writable by root alone, and no package owns it
    (module_utils/_install_root.py)."""
    return _messages(*root_problems(inp["qwen_code_install_root"], host.get("install_root") or {}))


def check_host_links(inp, plan, host, hostname):
    """The launcher's link for sudo would replace nothing of someone else's."""
    launcher = inp["qwen_code_launcher_path"]
    links = host.get("links") or {}
    theirs = [path for path, link in links.items()
              if path in plan["launcher_links"] and link.get("exists") and link.get("target") != launcher]
    if not theirs:
        return []
    return _messages("sudo's secure_path on %s lacks %s, so the role links the launcher as %s for `sudo -u`, but "
                     "that path is already something else: remove it (or set qwen_code_launcher_path to a directory "
                     "of secure_path) and run again." % (hostname, posixpath.dirname(launcher), ", ".join(theirs)))


def userns_fix(facts):
    """What to change on the host when the probe (module_utils/_userns.py) failed, from the sysctls it read and the
    step that failed."""
    probe, sysctls = facts["probe"], facts.get("sysctls") or {}
    if sysctls.get("kernel.unprivileged_userns_clone") == 0:
        return ("Debian's kernel.unprivileged_userns_clone is 0: set it to 1 (sysctl -w "
                "kernel.unprivileged_userns_clone=1, and a file in /etc/sysctl.d to keep it)")
    if sysctls.get("user.max_user_namespaces") == 0:
        return ("user.max_user_namespaces is 0 (RHEL's way to forbid them): set it to a positive number (sysctl -w "
                "user.max_user_namespaces=15000, and a file in /etc/sysctl.d to keep it)")
    if sysctls.get("kernel.apparmor_restrict_unprivileged_userns") == 1:
        return ("kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 24.04): give /usr/bin/bwrap an AppArmor "
                "profile that allows userns (a file in /etc/apparmor.d with `profile bwrap /usr/bin/bwrap "
                "flags=(unconfined) { userns, }`, loaded with apparmor_parser -r)")
    if probe.get("step") == "unshare" and facts.get("seccomp") == 2:
        return ("a seccomp filter refuses unshare (Docker's default profile does): start the container with "
                "--security-opt seccomp=unconfined, apparmor=unconfined and systempaths=unconfined")
    if probe.get("step") in ("mount", "map"):
        return ("mounts in the namespace are denied (Docker's docker-default AppArmor profile does): start the "
                "container with --security-opt apparmor=unconfined (and seccomp=unconfined, systempaths=unconfined)")
    if probe.get("step") == "proc":
        return ("no /proc can be mounted in the namespace, because parts of /proc are masked (Docker's system "
                "paths): start the container with --security-opt systempaths=unconfined")
    return "check that the kernel has user namespaces (CONFIG_USER_NS) and that nothing confines this account"


def check_host_execution_sandbox(inp, plan, host, hostname):
    """qwen_code_execution_sandbox on this host: no trusted folder holds a configured user's home, bubblewrap is
    there or can be installed, and a configured user may create user namespaces (install_info's probe)."""
    if not plan.get("execution_sandbox"):
        return []
    homes = sorted(set(u.get("home") for u in (host.get("users") or {}).values() if u.get("home")))
    bad = ["%s (holds %s)" % (folder, home) for folder in inp["qwen_code_trusted_folders"] or [] for home in homes
           if _within(home, folder)]
    if bad:
        return _messages("qwen_code_trusted_folders cannot be sandboxed workspaces on %s: %s. qwen 0.24 refuses a "
                         "workspace that contains a home (~/.qwen and the keys would be writable); trust project "
                         "directories only." % (hostname, ", ".join(bad)))
    facts = host.get("execution_sandbox") or {}
    manager = (host.get("os") or {}).get("package_manager")
    if not facts.get("bwrap") and manager not in BWRAP_INSTALLERS:
        return _messages("qwen_code_execution_sandbox needs bubblewrap (/usr/bin/bwrap), which the role installs with "
                         "apt, dnf or zypper, and %s has none of them (%s): install bubblewrap there yourself, or "
                         "leave the sandbox off." % (hostname, manager))
    probe = facts.get("probe")
    if not probe or probe.get("ok"):
        return []
    sysctls = facts.get("sysctls") or {}
    if sysctls.get("kernel.apparmor_restrict_unprivileged_userns") == 1 and facts.get("bwrap_profile") \
            and probe.get("step") in ("mount", "map") and sysctls.get("kernel.unprivileged_userns_clone") != 0 \
            and sysctls.get("user.max_user_namespaces") != 0:
        return []  # the probe has no profile of its own; bwrap's allows it
    return _messages("qwen_code_execution_sandbox: unprivileged users cannot create the user namespaces bubblewrap "
                     "needs on %s (the probe as %s failed at %s: %s), so every command qwen runs would fail. Fix: %s. "
                     "Or leave the sandbox off." % (hostname, facts.get("user", "a configured user"), probe.get("step"),
                                                    probe.get("errno") or probe.get("error"), userns_fix(facts)))


def check_host_recorded_root(inp, host):
    """uninstall: the install root the manifest records may be removed too."""
    manifest = host.get("manifest") or {}
    root = manifest.get("install_root", inp["qwen_code_install_root"])
    problems = input_problems({"qwen_code_install_root": root})
    if not problems:
        return []
    return _messages("The manifest records the install root %s: %s" % (root, " ".join(problems)))


# Which checks each entry point runs (plugins/modules/preflight.py documents them).
ENTRIES = ("main", "install", "uninstall", "registry")


def _first(steps):
    for name, check in steps:
        problems = check()
        if problems:
            return name, problems
    return None, []


def run_checks(entry, inp, plan, read_ca_bundle):
    """The checks of the variables alone, for an entry point, up to the release's: the first failing check's name
    and messages, or (None, []). plan: _decisions.version_plan. read_ca_bundle() gives the CA bundle's content."""
    steps = [("inputs", lambda: check_inputs(inp)),
             ("controller", lambda: check_controller(inp, read_ca_bundle))]
    if entry != "registry":
        steps.append(("lifecycle", lambda: check_lifecycle(inp)))
    if entry in ("main", "install"):
        steps += [("version", lambda: check_version(inp, plan)),
                  ("release", lambda: check_release(inp, plan))]
    return _first(steps)


def run_release_checks(entry, inp, plan, plan_problems):
    """The checks that rely on check_version (run_checks passed, so the release is known), for the main and install
    entry points. plan: _decisions.input_plan. plan_problems() gives provider_plans' problems."""
    users_too = entry == "main"
    steps = []
    if users_too:
        steps.append(("policy", lambda: check_policy(inp, plan)))
    steps.append(("node_private", lambda: check_node_private(inp, plan)))
    if users_too:
        steps += [("key_isolation", lambda: check_key_isolation(inp)),
                  ("execution_sandbox", lambda: check_execution_sandbox(inp, plan)),
                  ("providers", lambda: check_providers(plan_problems())),
                  ("oauth_release", lambda: check_oauth_release(inp, plan)),
                  ("oauth_users", lambda: check_oauth_users(inp))]
    return _first(steps)


def run_host_checks(entry, inp, plan, host, hostname):
    """The checks that need install_info's read of the host, for an entry point (run_checks passed)."""
    if entry == "uninstall":
        steps = [("host_recorded_root", lambda: check_host_recorded_root(inp, host))]
    else:
        steps = [("host_platform", lambda: check_host_platform(inp, host))]
        if entry == "main":
            steps += [("host_users", lambda: check_host_users(host, hostname)),
                      ("host_execution_sandbox", lambda: check_host_execution_sandbox(inp, plan, host, hostname))]
        steps += [("host_install_root", lambda: check_host_install_root(inp, host)),
                  ("host_node", lambda: check_host_node(inp, plan, host)),
                  ("host_links", lambda: check_host_links(inp, plan, host, hostname))]
    return _first(steps)


def run_warnings(entry, inp, plan):
    return warn_folder_trust(inp, plan) if entry == "main" else []
