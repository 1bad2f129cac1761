"""The key_broker module's host checks (the module itself runs in molecule/isolation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.qwenops.qwen_code.plugins.modules import key_broker


@pytest.mark.parametrize("start, port, refused", [
    ("1024\n", 1009, False), ("1010\n", 1009, False), ("1009\n", 1009, True), ("0\n", 1009, True),
    ("80\n", 1009, True), (None, 1009, False)])
def test_a_port_users_may_bind_is_refused(tmp_path, start, port, refused):
    path = tmp_path / "ip_unprivileged_port_start"
    if start is not None:
        path.write_text(start)
    problem = key_broker.port_start_problem(port, str(path))
    assert (problem is not None) == refused
    if refused:
        assert "sysctl -w net.ipv4.ip_unprivileged_port_start=1024" in problem
        assert ("below %s" % start.strip() in problem) == (int(start) > 1)


def test_the_units_bind_loopback_and_run_hardened_as_the_account():
    socket = key_broker.SOCKET_UNIT.format(host="127.0.0.1", port=1009)
    assert "ListenStream=127.0.0.1:1009" in socket
    service = key_broker.SERVICE_UNIT.format(unit="qwen-key-broker", account="qwen-broker", node="/n", script="/s",
                                             config="/c")
    for line in ("User=qwen-broker", "NoNewPrivileges=true", "ProtectSystem=strict", "ProtectHome=true",
                 "CapabilityBoundingSet=\n", "IPAddressDeny=any", "IPAddressAllow=localhost", "MemoryMax=",
                 "TasksMax=", "Restart=on-failure", "ExecStart=/n /s serve --config /c"):
        assert line in service, line
