# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight of the qwen_code role in one task per host (documentation: plugins/modules/preflight.py).

The checks are functions (plugins/plugin_utils/_checks.py) and so are the decisions (_decisions.py): this action
gathers the role's variables once (_role_inputs.py), calls the checks of its entry point, reads the host with
install_info, calls the host's checks and returns what it decided (whether user_config may be skipped included).
Ansible evaluates every task in a worker of its own for every host, skipped or not, so a preflight of thirty assert
and set_fact tasks cost a fleet thirty rounds of workers on every run; this is one."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase
from ansible_collections.qwenops.qwen_code.plugins.module_utils import _config_inputs
from ansible_collections.qwenops.qwen_code.plugins.plugin_utils import _checks, _decisions, _role_inputs

try:  # ansible-core 2.19 and later template only strings trusted as templates
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - ansible-core 2.16 to 2.18
    def trust_as_template(value):
        return value

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What install_info returns besides the host's facts.
NOT_FACTS = ("invocation", "changed", "failed", "msg", "warnings", "deprecations")
# The variable whose value is the launcher's checksum (vars/main.yml: the launcher's template, hashed there once).
LAUNCHER_SHA256 = "__qwen_code_launcher_sha256"
CA_CONTENT = "__qwen_code_ca_content"
PLANS_PROBLEMS = "__qwen_code_plans.problems"
# Everything user_config is given (vars/main.yml, passed whole by configure-users.yml): its digest tells install_info
# whether the host was configured with the same inputs last time.
CONFIG_INPUTS = "__qwen_code_config_inputs"


def sha256(text):
    return hashlib.sha256(to_bytes(text, errors="surrogate_or_strict")).hexdigest()


def inputs_digest(inputs):
    """The controller's digest of user_config's inputs: _config_inputs.digest over the inputs normalised as the module
    normalises them (the same function user_config records in the manifest). "" for inputs user_config would refuse:
    install_info then finds no digest current, and user_config names the problem. It covers the keys: never shown."""
    try:
        return _config_inputs.digest(_config_inputs.normalise(inputs))
    except ValueError:
        return ""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("entry", "read_host", "host_var"))

    @staticmethod
    def _evaluate(templar, name):
        return templar.template(trust_as_template("{{ %s }}" % name))

    def _new_templar(self, task_vars):
        return self._templar.copy_with_new_env(available_variables=task_vars)

    def run(self, tmp=None, task_vars=None):  # pylint: disable=too-many-locals,too-many-branches,too-many-statements
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = dict(task_vars or {})
        args = self._task.args
        entry = args.get("entry")
        if entry is not None and entry not in _checks.ENTRIES:
            raise AnsibleActionFail("entry must be one of %s" % ", ".join(_checks.ENTRIES))
        read_host = args.get("read_host")
        host_var = args.get("host_var", "__qwen_code_host")
        if not isinstance(host_var, str) or not NAME.match(host_var):
            raise AnsibleActionFail("host_var must be a variable name")
        if read_host is not None and not isinstance(read_host, dict):
            raise AnsibleActionFail("read_host must be the arguments of qwenops.qwen_code.install_info")

        templar = self._new_templar(task_vars)
        decided = {}
        inp = plan = None
        ca = {}
        if entry is not None:
            inp = _role_inputs.gather(lambda name: self._evaluate(templar, name), lambda name: name in task_vars)
            plan = _decisions.version_plan(inp)

            def read_ca_bundle():
                if "content" not in ca:
                    ca["content"] = self._evaluate(templar, CA_CONTENT)
                return ca["content"]

            name, problems = _checks.run_checks(entry, inp, plan, read_ca_bundle)
            if not problems and entry in ("main", "install"):
                # The release is known now: what the inputs alone decide, seen by the role's variables from here on.
                plan = _decisions.input_plan(inp)
                decided.update(plan)
                task_vars[host_var] = {"decided": decided}
                templar = self._new_templar(task_vars)
                name, problems = _checks.run_release_checks(
                    entry, inp, plan, lambda: self._evaluate(templar, PLANS_PROBLEMS))
            if problems:
                result.update(failed=True, msg=" ".join(problems), check="__qwen_code_check_" + name)
                return result

        host = {}
        if read_host is not None:
            if entry == "main" and _decisions.flag(read_host.get("drift", False)):
                # The digest of what user_config would be given: worked out only now, since it needs every input
                # (checked above). A no_log option of install_info, which says whether the manifest records the
                # same; never part of this action's result.
                read_host = dict(read_host, inputs_digest=inputs_digest(self._evaluate(templar, CONFIG_INPUTS)))
            if entry == "main" and decided.get("execution_sandbox") and read_host.get("users"):
                # The execution sandbox's probe, as the first configured user (the kernel's rules are the same for
                # every unprivileged account).
                read_host = dict(read_host, userns_probe=list(read_host["users"])[0])
            try:
                read = self._execute_module(module_name="qwenops.qwen_code.install_info", module_args=read_host,
                                            task_vars=task_vars)
            finally:
                self._remove_tmp_path(self._connection._shell.tmpdir)
            if read.get("failed") or read.get("unreachable"):
                read.setdefault("msg", "qwenops.qwen_code.install_info failed")
                return dict(result, **read)
            host = dict((k, v) for k, v in read.items() if k not in NOT_FACTS and not k.startswith("_ansible"))
            if entry is not None:
                if entry in ("main", "install"):
                    decided["launcher_links"] = _decisions.launcher_links(inp, host.get("os") or {})
                name, problems = _checks.run_host_checks(entry, inp, decided, host,
                                                         task_vars.get("inventory_hostname", ""))
                if problems:
                    result.update(host, failed=True, msg=" ".join(problems), check="__qwen_code_check_" + name)
                    return result
                if entry in ("main", "install"):
                    self._host_decisions(inp, decided, host, task_vars, host_var, ca)
                    # Whether user_config may be skipped: the same inputs as last time (install_info's
                    # inputs_current), every recorded file as the role wrote it (drift) and nothing lacking. The
                    # install entry point configures no users.
                    decided["config_current"] = entry == "main" and _config_inputs.config_current(
                        host, decided["needs"])

        if entry is not None and decided:
            result.setdefault("warnings", []).extend(_checks.run_warnings(entry, inp, decided))
        if not result.get("warnings"):
            result.pop("warnings", None)
        result.update(host, changed=False, checked=True, decided=decided)
        return result

    def _host_decisions(self, inp, decided, host, task_vars, host_var, ca):
        """What the host lacks, from install_info's read (the host's checks passed)."""
        decided["node_bin"] = _decisions.node_bin(inp, host)
        task_vars[host_var] = dict(host, decided=decided)
        templar = self._new_templar(task_vars)
        launcher_sha256 = self._evaluate(templar, LAUNCHER_SHA256)
        ca_sha256 = None
        if inp["qwen_code_ca_bundle"]:
            if "content" not in ca:
                ca["content"] = self._evaluate(templar, CA_CONTENT)
            ca_sha256 = sha256(ca["content"])
        version, links = decided["cli_version"], decided["launcher_links"]
        node = _decisions.decide_node(inp, host)
        cli = _decisions.decide_cli(version, host)
        npm = _decisions.decide_npm(inp, host, cli)
        fetch = _decisions.decide_fetch(inp, version, host, node, npm, cli)
        cached = len(str(inp["qwen_code_artifact_cache"])) > 0
        needs = _decisions.needs(inp, host, cached, fetch, node, npm, cli, links, ca_sha256, launcher_sha256)
        decided.update(
            needs=needs, fetch=fetch, lacks=any(needs.values()),
            runtime_unpacks=_decisions.runtime_unpacks(inp, host, node, npm),
            manifest_facts=_decisions.manifest_facts(inp, version, links, ca_sha256, launcher_sha256,
                                                     inp["__qwen_code_ca_path"]))
