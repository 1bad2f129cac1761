# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight of the qwen_code role in one task per host (documentation: plugins/modules/preflight.py).

Each check is a variable (of the role, lazily templated) whose value is a problem message, or a list of them; an
empty one passes. Ansible evaluates every task in a worker of its own for every host, skipped or not, so a preflight
of thirty assert and set_fact tasks cost a fleet thirty rounds of workers on every run; this is one."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

try:  # ansible-core 2.19 and later template only strings trusted as templates
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - ansible-core 2.16 to 2.18
    def trust_as_template(value):
        return value

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What install_info returns besides the host's facts.
NOT_FACTS = ("invocation", "changed", "failed", "msg", "warnings", "deprecations")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("checks", "read_host", "read_host_from", "host_var", "host_checks", "results",
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

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = dict(task_vars or {})
        args = self._task.args
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

        templar = self._templar.copy_with_new_env(available_variables=task_vars)
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
            task_vars[host_var] = host
            templar = self._templar.copy_with_new_env(available_variables=task_vars)
            name, problems = self._first_failure(templar, host_checks)
            if problems:
                result.update(host, failed=True, msg=" ".join(problems), check=name)
                return result

        for name in warnings:
            result.setdefault("warnings", []).extend(self._problems(self._evaluate(templar, name)))
        decided = dict((key, self._evaluate(templar, name)) for key, name in results.items())
        result.update(host, changed=False, checked=True, decided=decided)
        return result
