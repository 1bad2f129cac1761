"""What the Molecule scenarios' testinfra verifiers (molecule/*/tests) share: running a command as a user, the stub
provider's log on the host, the canary key.

Also a pytest plugin, loaded into every verify through PYTEST_PLUGINS (.config/molecule/config.yml): a verify in
which no test ran fails. pytest alone passes when every test was skipped (testinfra skips the tests of an inventory
without hosts) and fails with "no tests ran" only when it collected nothing; the message says why here.
"""
import os
import shlex

import pytest

from stub_harness import LOG, parse_log

CANARY = os.environ["QWEN_TEST_CANARY_KEY"]


def as_user(user, cmd):
    """cmd run by user in a login shell (runuser: root's, which is how testinfra connects, or through sudo)."""
    return "runuser -l %s -c %s" % (user, shlex.quote(cmd))


def stub_requests(host, log=LOG):
    """Every request the stub provider on the host has logged: one dict each (method, path, auth_ok, model...)."""
    return parse_log(host.file(log).content_string)


_COUNTS = {"collected": 0, "ran": 0}


def pytest_collection_finish(session):
    _COUNTS["collected"] = len(session.items)


def pytest_runtest_logreport(report):
    if report.when == "call" or (report.when == "setup" and report.failed):
        _COUNTS["ran"] += 1


def pytest_sessionfinish(session, exitstatus):
    if not _COUNTS["ran"] and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter):
    if not _COUNTS["ran"]:
        terminalreporter.write_line("molecule verify: no test ran (%d collected): a verify that proves nothing fails"
                                    % _COUNTS["collected"], red=True)
