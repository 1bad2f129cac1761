# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight of the qwen_code role in one task per host (documentation: plugins/modules/preflight.py).

The checks are functions (plugins/plugin_utils/_checks.py) and so are the decisions (_decisions.py): this action
gathers the role's variables once (_role_inputs.py), calls the checks of its entry point, reads the host with
install_info, calls the host's checks and returns what it decided. Ansible evaluates every task in a worker of its
own for every host, skipped or not, so a preflight of thirty assert and set_fact tasks cost a fleet thirty rounds of
workers on every run; this is one."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.action import ActionBase
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


def sha256(text):
    return hashlib.sha256(to_bytes(text, errors="surrogate_or_strict")).hexdigest()


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("entry", "checks", "read_host", "read_host_from", "host_var", "host_checks", "results",
                             "warnings"))

    def _names(self, key):
        names = self._task.args.get(key) or []
        if not isinstance(names, list) or not all(isinstance(n, str) and NAME.match(n) for n in names):
            raise AnsibleActionFail("%s must be a list of variable names" % key)
        return names

    @staticmethod
    def _evaluate(templar, name):
        return templar.template(trust_as_template("{{ %s }}" % name))

    @staticmethod
    def _problems(value):
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
        return [" ".join(str(v).split()) for v in value if v is not None and str(v).strip()]

    def _first_failure(self, templar, names):
        """The problems of the first check (in order) that has any: a check may rely on the ones before it."""
        for name in names:
            problems = self._problems(self._evaluate(templar, name))
            if problems:
                return name, problems
        return None, []

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
        checks, host_checks = self._names("checks"), self._names("host_checks")
        warnings, results = self._names("warnings"), args.get("results") or {}
        read_host_from = args.get("read_host_from") or {}
        for key, names in (("results", results), ("read_host_from", read_host_from)):
            if not isinstance(names, dict) or not all(isinstance(n, str) and NAME.match(n) for n in names.values()):
                raise AnsibleActionFail("%s must map each key to a variable name" % key)

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
        name, problems = self._first_failure(templar, checks)
        if problems:
            result.update(failed=True, msg=" ".join(problems), check=name)
            return result

        host = {}
        if read_host is not None:
            # Arguments that only make sense once the checks passed (their variables may not even be defined before).
            read_host = dict(read_host, **dict((key, self._evaluate(templar, name))
                                               for key, name in read_host_from.items()))
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
            task_vars[host_var] = dict(host, decided=decided)
            templar = self._new_templar(task_vars)
            name, problems = self._first_failure(templar, host_checks)
            if problems:
                result.update(host, failed=True, msg=" ".join(problems), check=name)
                return result

        if entry is not None and decided:
            result.setdefault("warnings", []).extend(_checks.run_warnings(entry, inp, decided))
        for name in warnings:
            result.setdefault("warnings", []).extend(self._problems(self._evaluate(templar, name)))
        if not result.get("warnings"):
            result.pop("warnings", None)
        decided.update((key, self._evaluate(templar, name)) for key, name in results.items())
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
