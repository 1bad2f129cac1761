"""report_rows and report_markdown: a row per host from install_info results, unreachable and failed hosts included,
and a table that a message cannot break."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.qwenops.qwen_code.plugins.filter.report import report_markdown, report_rows
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

EXPIRY = 1767225600000  # 2026-01-01 00:00 UTC

OK_HOST = {
    "changed": False, "os": {"distribution": "Debian", "version": "12", "architecture": "x86_64"},
    "cli": ["0.23.4", DEFAULT], "node": {"22.23.3": {}}, "launcher": {"release": DEFAULT},
    "manifest": {"format": 1, "active": {"cli": DEFAULT, "node": "22.23.3", "npm": "10.9.9"}},
    "drift": {"system": {"/etc/qwen-code/settings.json": "ok"}, "users": {
        "alice": {"files": {".env": "ok", "settings.json": "ok"},
                  "oauth": {"expiry_date": EXPIRY, "expires_in": 100, "expired": False}},
        "bob": {"files": {".env": "ok", "settings.json": "ok"}}}},
    "problems": []}

DRIFTED_HOST = {
    "changed": False, "os": {"distribution": "Ubuntu", "version": "24.04", "architecture": "aarch64"},
    "cli": [DEFAULT], "node": {}, "launcher": {"release": DEFAULT}, "system_node": {"version": "22.1.0"},
    "manifest": {"format": 1, "active": {"cli": DEFAULT, "node": "", "npm": ""}},
    "drift": {"system": {"/etc/qwen-code/settings.json": "drifted"}, "users": {
        "alice": {"files": {".env": "missing", "settings.json": "drifted", "trustedFolders.json": "invalid"},
                  "oauth": {"expiry_date": EXPIRY, "expires_in": -5, "expired": True}},
        "carol": {"files": {".env": "ok"}}}},
    "problems": ["/etc/qwen-code/settings.json differs from what the role wrote",
                 "alice: ~/.qwen/.env is missing", "alice: ~/.qwen/settings.json differs from what the role wrote",
                 "alice: ~/.qwen/trustedFolders.json is not valid JSON"]}

RESULTS = {
    "web1": OK_HOST,
    "web2": DRIFTED_HOST,
    "web3": {"unreachable": True, "changed": False, "msg": "Failed to connect to the host via ssh: | timed out"},
    "web4": {"failed": True, "msg": "Missing sudo password"},
    "web5": {},
}


def test_rows():
    rows = report_rows(RESULTS, {"web1": {"reason": "ok", "changed": False}, "web2": {"reason": "unauthorized"},
                                 "web3": {"skipped": True}})
    assert [r["host"] for r in rows] == ["web1", "web2", "web3", "web4", "web5"]
    web1, web2, web3, web4, web5 = rows
    assert web1["status"] == "ok" and web1["problems"] == [] and web1["provider"] == "ok"
    assert (web1["os"], web1["arch"], web1["active"], web1["releases"], web1["node"]) == (
        "Debian 12", "x86_64", DEFAULT, ["0.23.4", DEFAULT], "22.23.3")
    assert web1["users"] == {"alice": "ok", "bob": "ok"} and web1["users_ok"] == 2
    assert web1["oauth"]["alice"]["text"] == "2026-01-01 00:00Z" and web1["settings_drift"] == []
    assert web2["status"] == "problems" and web2["node"] == "22.1.0 (system)" and web2["arch"] == "aarch64"
    assert web2["users"] == {"alice": "3 problems", "carol": "ok"} and web2["users_ok"] == 1
    assert web2["oauth"]["alice"]["text"] == "2026-01-01 00:00Z (expired)"
    assert web2["settings_drift"] == ["/etc/qwen-code/settings.json drifted", "alice: ~/.qwen/settings.json drifted",
                                      "alice: ~/.qwen/trustedFolders.json invalid"]
    assert web2["problems"][-1] == "provider check: unauthorized" and len(web2["problems"]) == 5
    assert web3["status"] == "unreachable" and web3["provider"] == ""
    assert web3["problems"] == ["unreachable: Failed to connect to the host via ssh: | timed out"]
    assert web4["status"] == "failed" and web4["problems"] == ["failed: Missing sudo password"]
    assert web5["status"] == "failed" and web5["problems"] == ["failed: no result"]
    json.dumps(rows)


def test_markdown_table():
    text = report_markdown(report_rows(RESULTS))
    lines = text.splitlines()
    assert lines[0] == "5 hosts: failed 2, ok 1, problems 1, unreachable 1"
    assert lines[2].startswith("| Host | Status | OS |") and lines[3] == "|" + "---|" * 13
    table = lines[4:]
    assert len(table) == 5 and all(line.count(" | ") == 12 for line in table)
    assert table[0].startswith("| web1 | ok | Debian 12 | x86_64 | %s | 0.23.4<br>%s | 22.23.3 |" % (DEFAULT, DEFAULT))
    assert "ssh: \\| timed out" in table[2]  # a | in a message stays inside its cell
    assert "alice: 2026-01-01 00:00Z (expired)" in table[1]


def test_no_hosts():
    assert report_markdown(report_rows({})).splitlines()[0] == "0 hosts: none"


def test_key_isolation_on_off_and_a_broker_that_does_not_answer():
    rows = report_rows({"off": OK_HOST, "on": dict(OK_HOST, key_broker={"exists": True, "port": 1009, "answers": True}),
                        "down": dict(OK_HOST, key_broker={"exists": True, "port": 1009, "answers": False})})
    assert [(r["key_isolation"], r["status"]) for r in rows] == [("off", "ok"), ("on", "ok"), ("broker down", "problems")]
    assert rows[2]["problems"][0].startswith("the key broker does not answer on 127.0.0.1:1009")
