# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report (playbooks/report.yml): each host's install_info result (with drift) becomes one row, and the
rows one Markdown table. In Python rather than in a Jinja template: a host that was unreachable or failed has none
of the keys a template would reach for, and a table cell must not break on a `|` in a message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

# The table's columns: (heading, row key).
COLUMNS = (("Host", "host"), ("Status", "status"), ("OS", "os"), ("Arch", "arch"), ("Active", "active"),
           ("Installed", "releases"), ("Node", "node"), ("Users", "users"), ("OAuth expiry", "oauth"),
           ("Key isolation", "key_isolation"), ("Settings drift", "settings_drift"), ("Provider", "provider"), ("Problems", "problems"))
_SETTINGS_FILES = ("settings.json", "trustedFolders.json")
_MESSAGE_LENGTH = 300


def _expiry_text(oauth):
    if not oauth.get("expiry_date"):
        return "unknown"
    when = datetime.datetime.fromtimestamp(oauth["expiry_date"] / 1000.0, datetime.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%MZ") + (" (expired)" if oauth.get("expired") else "")


def _node(info, manifest):
    active = manifest.get("active") or {}
    if active.get("node"):
        return active["node"]
    system = (info.get("system_node") or {}).get("version")
    if system:
        return "%s (system)" % system
    if active:
        return "system"
    return ", ".join(sorted(info.get("node") or {}))


def _provider(check):
    if not check or check.get("skipped"):
        return ""
    if check.get("unreachable") or (check.get("failed") and not check.get("reason")):
        return "not checked: %s" % str(check.get("msg", ""))[:_MESSAGE_LENGTH]
    return check.get("reason") or "ok"


def _failed_row(row, result):
    row["status"] = "unreachable" if result.get("unreachable") else "failed"
    message = str(result.get("msg") or ("no result" if not result else ""))[:_MESSAGE_LENGTH]
    row["problems"] = ["%s: %s" % (row["status"], message) if message else row["status"]]
    return row


def report_row(host, result, check=None):
    """One host's row from its registered install_info result (and provider_check result, when one ran)."""
    row = dict(host=host, status="", os="", arch="", active="", releases=[], node="", users={}, users_ok=0,
               oauth={}, key_isolation="", settings_drift=[], provider=_provider(check), problems=[])
    result = result if isinstance(result, dict) else {}
    if result.get("unreachable") or result.get("failed") or result.get("skipped") or "os" not in result:
        return _failed_row(row, result)
    manifest = result.get("manifest") or {}
    drift = result.get("drift") or {}
    osinfo = result["os"]
    row.update(os=" ".join(v for v in (osinfo.get("distribution"), osinfo.get("version")) if v),
               arch=osinfo.get("architecture") or "",
               active=(manifest.get("active") or {}).get("cli") or (result.get("launcher") or {}).get("release") or "",
               releases=list(result.get("cli") or []), node=_node(result, manifest))
    for name, user in sorted((drift.get("users") or {}).items()):
        prefix = name + ": "
        count = len([p for p in result.get("problems") or [] if p.startswith(prefix)])
        row["users"][name] = "ok" if not count else "%d problem%s" % (count, "" if count == 1 else "s")
        row["users_ok"] += 0 if count else 1
        if user.get("oauth"):
            row["oauth"][name] = dict(user["oauth"], text=_expiry_text(user["oauth"]))
        row["settings_drift"].extend("%s: ~/.qwen/%s %s" % (name, f, s)
                                     for f, s in sorted((user.get("files") or {}).items())
                                     if f in _SETTINGS_FILES and s != "ok")
    row["settings_drift"][:0] = ["%s %s" % (path, state) for path, state in sorted((drift.get("system") or {}).items())
                                 if state != "ok"]
    row["problems"] = list(result.get("problems") or [])
    broker = result.get("key_broker") or {}
    row["key_isolation"] = "off" if not broker.get("exists") else "on" if broker.get("answers") else "broker down"
    if row["key_isolation"] == "broker down":
        row["problems"].append("the key broker does not answer on 127.0.0.1:%s: users' qwen cannot reach their "
                               "providers (systemctl status qwen-key-broker.socket qwen-key-broker.service, or "
                               "/var/log/qwen-key-broker/broker.log; a run of the role starts it)" % broker.get("port"))
    if row["provider"] not in ("", "ok"):
        row["problems"].append("provider check: %s" % row["provider"])
    row["status"] = "problems" if row["problems"] else "ok"
    return row


def report_rows(results, checks=None):
    """A row per host, in host order: results maps each host to its registered install_info result (a host with
    none, unreachable or failed gets a row saying so); checks maps hosts to provider_check results."""
    checks = checks or {}
    return [report_row(host, results[host], checks.get(host)) for host in results]


def _cell(value):
    if isinstance(value, list):
        text = "<br>".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = "<br>".join("%s: %s" % (k, v.get("text") if isinstance(v, dict) else v) for k, v in value.items())
    else:
        text = str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def report_markdown(rows):
    """The rows as a Markdown table (one line per host), with a count of hosts per status above it."""
    counts = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    lines = ["%d host%s: %s" % (len(rows), "" if len(rows) == 1 else "s",
                                ", ".join("%s %d" % (s, counts[s]) for s in sorted(counts)) or "none"), "",
             "| " + " | ".join(h for h, dummy in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key, "")) for dummy, key in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


class FilterModule(object):
    def filters(self):
        return {"report_rows": report_rows, "report_markdown": report_markdown}
