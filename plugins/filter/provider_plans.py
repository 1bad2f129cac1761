# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who talks to which provider, with which key: the role's variables (qwen_code_users, whose items may be dicts,
qwen_code_providers and the single-provider variables) turned into each user's .env variables, the managed part of
their settings.json (modelProviders, auth type, model), and the distinct (endpoint, key) pairs to check, read back
from those files. Everything is validated here, before any host changes, with messages that name the variable and
never quote a key."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.qwenops.qwen_code.plugins.filter.input_problems import _url
from ansible_collections.qwenops.qwen_code.plugins.module_utils._auth_types import AUTH_TYPES
from ansible_collections.qwenops.qwen_code.plugins.module_utils._key_broker import HOST as BROKER_HOST
from ansible_collections.qwenops.qwen_code.plugins.module_utils._key_broker import broker_url, token_for
from ansible_collections.qwenops.qwen_code.plugins.module_utils._presets import PROVIDER_PRESETS, preset_url
# The one recursive merge (qwen_code_settings wins over the role's keys).
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_files import merge
from ansible_collections.qwenops.qwen_code.plugins.module_utils._user_names import USER_NAME

PROVIDER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,40}$")
USER_KEYS = ("name", "auth_type", "provider", "base_url", "api_key", "model", "providers")
# (a user's own name, auth type and single provider, or their own list of providers)
PROVIDER_KEYS = ("name", "auth_type", "provider", "base_url", "api_key", "models")
SINGLE_KEYS = ("auth_type", "provider", "base_url", "api_key", "model")
OAUTH = "qwen-oauth"


def key_variable(provider_name):
    """The .env variable that holds a provider entry's key (its modelProviders envKey)."""
    return "QWENOPS_KEY_" + re.sub(r"[^A-Z0-9]", "_", provider_name.upper())


def user_names(users):
    """The account names of qwen_code_users, whose items are names or dicts with a name (anything else: None)."""
    if not isinstance(users, list):
        return []
    return [u if isinstance(u, str) else u.get("name") if isinstance(u, dict) else None for u in users]


def _bad_text(value):
    return not isinstance(value, str) or any(c.isspace() or c in "\"'\\" or ord(c) < 0x20 for c in value)


class _Plan(object):
    def __init__(self, defaults, release):
        self.defaults, self.release = defaults, release
        self.problems = []
        self.allow_insecure = bool(defaults.get("allow_insecure_base_url"))
        self._defaults_single = False  # not worked out yet

    def problem(self, text):
        if text not in self.problems:
            self.problems.append(text)

    def provider(self, entry, var, where, at, single=False):
        """A checked provider entry (name, auth_type, base_url, api_key, models, and where and at: the variable
        that lists it and the one that names it), or None (problems recorded). var(field) names the variable a field
        comes from; single: the entry stands for the single-provider variables (provider, base_url, api_key, model)."""
        start = len(self.problems)
        name = entry.get("name")
        auth_type = entry.get("auth_type") or "openai"
        if not isinstance(name, str) or not PROVIDER_NAME.match(name):
            self.problem("%s %r must be a short name of letters, digits, - and _ (it names the key's variable)"
                         % (var("name"), name if isinstance(name, str) else type(name).__name__))
        if auth_type not in AUTH_TYPES:
            self.problem("%s %r is not a protocol the qwen CLI speaks with a key: use one of %s"
                         % (var("auth_type"), auth_type, ", ".join(AUTH_TYPES)))
            return None
        supported = self.release.get("auth_types") or []
        if auth_type not in supported:
            self.problem("%s %s is not supported by qwen %s (with a key it speaks %s): pin a newer qwen_code_version"
                         % (var("auth_type"), auth_type, self.release.get("version"), ", ".join(supported)))
        preset = entry.get("provider") or "custom"
        base_url = entry.get("base_url") or ""
        if preset != "custom" and preset not in PROVIDER_PRESETS:
            self.problem("%s %r is unknown: use one of %s, or custom with %s"
                         % (var("provider"), preset, ", ".join(sorted(PROVIDER_PRESETS)), var("base_url")))
        elif not base_url:
            base_url = preset_url(preset, auth_type) or ""
            if not base_url and preset == "custom":
                self.problem("%s is 'custom' but %s is empty: set %s to the provider's URL (e.g. "
                             "https://llm.example.com/v1)" % (var("provider"), var("base_url"), var("base_url")))
            elif not base_url:
                self.problem("%s %s has no %s endpoint (it offers %s): set %s, or choose another provider"
                             % (var("provider"), preset, auth_type, ", ".join(PROVIDER_PRESETS[preset]),
                                var("base_url")))
        if base_url:
            problem = _url(var("base_url"), base_url, "base_url", self.allow_insecure)
            if problem:
                self.problem(problem)
            elif auth_type == "anthropic" and base_url.rstrip("/").endswith("/v1"):
                self.problem("%s %r ends in /v1: the qwen CLI adds /v1/messages to an Anthropic base URL itself, so "
                             "give it without /v1 (e.g. https://api.anthropic.com)" % (var("base_url"), base_url))
        key = entry.get("api_key")
        if not isinstance(key, str) or not key:
            self.problem("%s is empty: set it to the provider's API key, ideally from Ansible Vault (%s: "
                         "\"{{ vault_qwen_key }}\")" % (var("api_key"), var("api_key")))
        elif _bad_text(key):
            self.problem("%s contains whitespace, a quote or a backslash, which no provider key has: check for a "
                         "stray newline or quotes around the vaulted value" % var("api_key"))
        models = entry.get("models")
        if single:
            if not models or _bad_text(models[0]) or not models[0]:
                self.problem("%s must be the provider's model id without spaces or quotes, e.g. qwen/qwen3-coder "
                             "(OpenRouter) or qwen3-coder-plus (DashScope); it is %r"
                             % (var("models"), models[0] if models else None))
        elif not isinstance(models, list) or not models:
            self.problem("%s must be a non-empty list of model ids" % var("models"))
        else:
            for model in models:
                if not isinstance(model, str) or not model or _bad_text(model):
                    self.problem("%s: %r is not a model id (no spaces or quotes)" % (var("models"), model))
        if len(self.problems) > start:
            return None
        return dict(name=name, auth_type=auth_type, base_url=base_url, api_key=key, models=list(models), where=where,
                    at=at)

    def single(self, prefix, values):
        """The one provider that single-provider variables describe; prefix names them (qwen_code_, or
        qwen_code_users[alice].)."""
        def var(field):
            return prefix + {"models": "model"}.get(field, field)
        preset = values.get("provider") or "custom"
        return self.provider(dict(name=preset, auth_type=values.get("auth_type") or "openai", provider=preset,
                                  base_url=values.get("base_url"), api_key=values.get("api_key"),
                                  models=[values.get("model")]), var, var("provider"), var("provider"), single=True)

    def defaults_single(self):
        if self._defaults_single is False:
            entry = self.single("qwen_code_", dict((k, self.defaults.get(k)) for k in SINGLE_KEYS))
            self._defaults_single = [entry] if entry else None
        return self._defaults_single

    def provider_list(self, entries, where):
        """The checked entries of a providers list, or None (problems recorded)."""
        if not isinstance(entries, list) or not entries:
            self.problem("%s must be a non-empty list of providers" % where)
            return None
        checked = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                self.problem("%s[%d] must be a dict (%s)" % (where, i, ", ".join(PROVIDER_KEYS)))
                checked.append(None)
                continue
            label = entry.get("name") if isinstance(entry.get("name"), str) else str(i)
            at = "%s[%s]" % (where, label)
            unknown = sorted(k for k in entry if k not in PROVIDER_KEYS)
            if unknown:
                self.problem("%s has unknown keys %s: a provider takes %s"
                             % (at, ", ".join(unknown), ", ".join(PROVIDER_KEYS)))
            checked.append(self.provider(entry, lambda field, at=at: "%s.%s" % (at, field), where, at))
        seen = {}
        for entry in (e for e in checked if e):
            group = AUTH_TYPES[entry["auth_type"]]["group"]
            for model in entry["models"]:
                other = seen.get((group, model))
                if other and other != entry["name"]:
                    self.problem("%s: model %s is in both %s and %s, which speak the same protocol (%s); qwen chooses "
                                 "among one protocol's models by id, so an id may appear once per protocol"
                                 % (where, model, other, entry["name"], group))
                seen[(group, model)] = entry["name"]
        if None in checked:
            return None
        return checked

    def one_variable_each(self, providers):
        """Whether each of one user's providers keeps its key in a .env variable of its own (problems recorded when
        not): key_variable folds case and every character but letters and digits, so prod-x, prod_x and Prod-X share
        one, the later key would replace the earlier, and qwen would send it to the earlier provider's endpoint."""
        first = {}
        for entry in providers:
            variable = key_variable(entry["name"])
            other = first.setdefault(variable, entry)
            if other is entry:
                continue
            if other["name"] == entry["name"] and other["where"] == entry["where"]:
                self.problem("%s has two providers named %s: each name must be unique (it names the key's variable)"
                             % (entry["where"], entry["name"]))
            else:
                self.problem("%s and %s would both keep their key in %s (the name upper-cased, - as _), so qwen "
                             "would send one provider's key to the other's endpoint: rename one"
                             % (other["at"], entry["at"], variable))
        return len(first) == len(providers)

    def user(self, item, index):
        """(name, providers, auth type) of one qwen_code_users item; providers is [] for qwen-oauth and None when
        the user's providers have problems (recorded); None altogether for an item that is not a user."""
        if isinstance(item, str):
            item = dict(name=item)
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not USER_NAME.match(item["name"]):
            self.problem("qwen_code_users[%d] must be an account name or a dict with a name (an existing account, "
                         "e.g. alice)" % index)
            return None
        name = item["name"]
        where = "qwen_code_users[%s]" % name
        unknown = sorted(k for k in item if k not in USER_KEYS)
        if unknown:
            self.problem("%s has unknown keys %s: a user takes %s" % (where, ", ".join(unknown), ", ".join(USER_KEYS)))
            return name, None, None
        own = dict((k, item[k]) for k in SINGLE_KEYS if k in item)
        auth_type = own.get("auth_type") or self.defaults.get("auth_type") or "openai"
        if auth_type == OAUTH:
            return name, [], OAUTH
        if "providers" in item:
            providers = self.provider_list(item["providers"], where + ".providers")
        elif own:
            values = dict((k, self.defaults.get(k)) for k in SINGLE_KEYS)
            values.update(own)
            entry = self.single(where + ".", values)
            providers = [entry] if entry else None
        elif self.defaults.get("providers"):
            providers = self.provider_list(self.defaults["providers"], "qwen_code_providers")
        else:
            providers = self.defaults_single()
        # Whatever the variables they come from, a user's providers share one .env.
        if providers and not self.one_variable_each(providers):
            providers = None
        return name, providers, providers[0]["auth_type"] if providers else auth_type


def _standard_env(entry):
    """The CLI's own variables for the default provider (so that `qwen --model other` reaches it too)."""
    spec = AUTH_TYPES[entry["auth_type"]]
    env = {spec["key_env"]: entry["api_key"], spec["model_env"]: entry["models"][0]}
    env[spec["base_env"]] = entry["base_url"]
    return env


def _settings(providers, auth_type, wire_api, oauth_model=None):
    settings = {"security": {"auth": {"selectedType": auth_type}}}
    if not providers:
        if oauth_model:
            settings["model"] = {"name": oauth_model}
        return settings
    settings["model"] = {"name": providers[0]["models"][0]}
    groups = {}
    for entry in providers:
        spec = AUTH_TYPES[entry["auth_type"]]
        for model in entry["models"]:
            item = {"id": model, "name": "%s (%s)" % (model, entry["name"]), "baseUrl": entry["base_url"],
                    "envKey": key_variable(entry["name"])}
            if spec.get("wire_api") and wire_api:
                item["wireApi"] = spec["wire_api"]
            groups.setdefault(spec["group"], []).append(item)
    settings["modelProviders"] = groups
    return settings


def _files(providers, auth_type, defaults, release, brokered=False):
    """(env, settings) of one user's files for these providers: the default provider's own variables, each
    provider's key variable, the proxies; the managed settings with qwen_code_settings merged over them."""
    env = _standard_env(providers[0]) if providers else {}
    for entry in providers:
        env[key_variable(entry["name"])] = entry["api_key"]
    env.update(defaults.get("proxy_env") or {})
    if brokered and ("HTTPS_PROXY" in env or "HTTP_PROXY" in env):
        # qwen reaches the broker on loopback, never through the proxy (the broker uses the proxy itself)
        listed = [h.strip() for h in env.get("NO_PROXY", "").split(",") if h.strip()]
        env["NO_PROXY"] = ",".join(listed + [h for h in (BROKER_HOST,) if h not in listed])
    settings = merge(_settings(providers, auth_type, release.get("wire_api"), defaults.get("model")),
                     defaults.get("settings") or {})
    return env, settings


def _protocol(group, wire_api):
    """The auth type the CLI speaks to a modelProviders entry of group with wireApi wire_api (None: none it knows)."""
    for auth_type, spec in AUTH_TYPES.items():
        if spec["group"] == group and spec.get("wire_api") == wire_api:
            return auth_type
    return None


def _sent_keys(env, settings):
    """(auth_type, base_url, api_key, model, variable) for each key a user's files send: every modelProviders entry
    whose envKey this .env holds (the key that variable will hold, whichever provider put it there) and the selected
    protocol's own variables. Read from what the role writes rather than from the providers as configured, so that
    the provider check can never ask another pair than the one qwen will use. Entries of qwen_code_settings whose key
    is not in the .env are not the role's to check."""
    sent = []
    groups = settings.get("modelProviders")
    for group, entries in groups.items() if isinstance(groups, dict) else ():
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, dict) or not isinstance(entry.get("envKey"), str) or entry["envKey"] not in env:
                continue
            auth_type = _protocol(group, entry.get("wireApi"))
            if auth_type and isinstance(entry.get("baseUrl"), str) and isinstance(entry.get("id"), str):
                sent.append((auth_type, entry["baseUrl"], env[entry["envKey"]], entry["id"], entry["envKey"]))
    selected = ((settings.get("security") or {}).get("auth") or {}).get("selectedType")
    spec = AUTH_TYPES.get(selected) if isinstance(selected, str) else None
    if spec and all(spec[v] in env for v in ("key_env", "base_env", "model_env")):
        sent.append((selected, env[spec["base_env"]], env[spec["key_env"]], env[spec["model_env"]], spec["key_env"]))
    return sent


def provider_plans(users, defaults, release):
    """Each user's providers, as the role writes them. users is qwen_code_users; defaults holds the single-provider
    variables (auth_type, provider, base_url, api_key, model), providers (qwen_code_providers),
    allow_insecure_base_url, proxy_env (added to every .env) and settings (qwen_code_settings, merged over the
    managed settings); release holds version, auth_types (the protocols it speaks with a key) and wire_api (whether
    openai entries take wireApi).

    Returns problems (messages naming the variable, never a key), names (the users, in order), users (name ->
    auth_type, providers: [{name, auth_type, models}]: no keys), env (name -> the .env variables: holds keys),
    settings (name -> the managed settings: no keys) and checks (one per distinct auth type, endpoint and key that
    the users' env and settings send, see _sent_keys: id, auth_type, base_url, api_key, model, key_name, providers,
    users).

    With defaults' key_broker ({port}: qwen_code_key_isolation), each user's files name the broker
    (module_utils/_key_broker.py: broker_url) and a token of that user's (token_for) instead of each provider's
    endpoint and key, and routes lists what the broker needs per token (token, user, provider, protocol, upstream,
    key: holds keys). The checks stay on the providers and keys themselves. A qwen-oauth user is refused then."""
    if not isinstance(defaults, dict) or not isinstance(release, dict):
        raise AnsibleFilterError("provider_plans needs defaults and release dicts")
    plan = _Plan(defaults, release)
    out = dict(problems=plan.problems, names=[], users={}, checks=[], env={}, settings={}, routes=[])
    broker = defaults.get("key_broker") or None
    if not isinstance(users, list) or not users:
        plan.problem("qwen_code_users must be a non-empty list of existing account names, e.g. qwen_code_users: "
                     "[alice, bob]")
        return out
    checks = {}
    for index, item in enumerate(users):
        got = plan.user(item, index)
        if got is None:
            continue
        name, providers, auth_type = got
        if name in out["users"]:
            plan.problem("qwen_code_users names %s twice" % name)
            continue
        out["names"].append(name)
        if providers is None:
            continue
        env, settings = _files(providers, auth_type, defaults, release)
        owners = dict((key_variable(e["name"]), e["name"]) for e in providers)
        if providers:
            # (only to name the provider in the check's messages: its key is also in its protocol's own variable)
            owners[AUTH_TYPES[providers[0]["auth_type"]]["key_env"]] = providers[0]["name"]
        for sent_type, base_url, api_key, model, variable in _sent_keys(env, settings):
            check = checks.setdefault((sent_type, base_url, api_key), dict(
                id="c%d" % (len(checks) + 1), auth_type=sent_type, base_url=base_url, api_key=api_key, model=model,
                providers=[], users=[], variables=[]))
            for field, value in (("providers", owners.get(variable)), ("users", name), ("variables", variable)):
                if value and value not in check[field]:
                    check[field].append(value)
        out["users"][name] = dict(
            auth_type=auth_type,
            providers=[dict(name=e["name"], auth_type=e["auth_type"], models=e["models"]) for e in providers])
        if broker and providers:
            # The files point at the broker with a token of this user's; the broker holds the key (its routes). The
            # checks above stay on the provider itself, with the key: the broker passes exactly that pair on.
            via_broker = []
            for entry in providers:
                token = token_for(entry["api_key"], name, entry["name"], entry["base_url"])
                out["routes"].append(dict(token=token, user=name, provider=entry["name"],
                                          protocol=entry["auth_type"], upstream=entry["base_url"],
                                          key=entry["api_key"]))
                url = broker_url(broker["port"], entry["name"], entry["base_url"])
                via_broker.append(dict(entry, api_key=token, base_url=url))
            env, settings = _files(via_broker, auth_type, defaults, release, brokered=True)
        elif broker:
            plan.problem("qwen_code_users[%s] signs in with qwen-oauth, whose tokens the key broker cannot hold "
                         "(qwen refreshes them itself): give %s a provider with a key, or set "
                         "qwen_code_key_isolation: false" % (name, name))
        out["env"][name] = env
        out["settings"][name] = settings
    for check in checks.values():
        check["key_name"] = "%s for %s (%s)" % (
            "the key of " + "/".join(check["providers"]) if check["providers"] else "the value",
            ", ".join(check["users"]), ", ".join(check.pop("variables")))
        out["checks"].append(check)
    return out


class FilterModule(object):
    def filters(self):
        return {"provider_plans": provider_plans, "user_names": user_names}
