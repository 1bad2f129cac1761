"""Markers of every test suite under tests/ (registered here; noxfile.py and tests/all select by them).

root     needs root: creates accounts with useradd, writes root-owned files or acts as another user.
         `nox -s unit-root` (as root) runs them; `nox -s unit` runs the others, as any user.
realcli  needs the real qwen CLI on Node >= 22: QWEN_TEST_NODE22 (a Node binary) and QWEN_TEST_CLI (a qwen-code
         cli.js).

A test whose need is not met is deselected, never skipped: a run reports what it left out as deselected, and a
skip always means something that should have run did not.
"""
import os

import pytest

MARKERS = {
    "root": "needs root (useradd, root-owned files, acting as another user): `nox -s unit-root`",
    "realcli": "needs QWEN_TEST_NODE22 (a Node >= 22 binary) and QWEN_TEST_CLI (a qwen-code cli.js)",
}


def pytest_configure(config):
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", "%s: %s" % (name, text))


def _unmet(item):
    if item.get_closest_marker("root") and os.geteuid() != 0:
        return True
    real_cli = os.environ.get("QWEN_TEST_NODE22") and os.environ.get("QWEN_TEST_CLI")
    return bool(item.get_closest_marker("realcli") and not real_cli)


def pytest_collection_modifyitems(config, items):
    dropped = [item for item in items if _unmet(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _unmet(item)]


@pytest.fixture(scope="session")
def image(tmp_path_factory):
    """The image of this checkout (harness.build_image), built once per session for tests/image and tests/action."""
    from harness import REPO, build_image  # pylint: disable=import-outside-toplevel  # only the Docker suites need it
    return build_image(tmp_path_factory.mktemp("context"), os.path.join(REPO, "tests", "output", "logs", "image",
                                                                        "build.log"))
