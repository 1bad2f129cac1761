"""The contributor's loop: nox sessions that need neither root nor Docker (docs/NOX.md).

    nox                      lint, sanity, unit and docs (the default sessions)
    nox -s unit-root         the unit tests that need root (real accounts, the swap attack); as root
    nox -s duplicates        pylint's duplicate-code check (.pylintrc), failing on findings

lint and docs-check are antsibull-nox's sessions (antsibull-nox.toml); sanity wraps tests/tools/run-sanity (ansible-test
sanity --local, no container), unit runs pytest on tests/unit and tests/stub_provider. Every session installs from
PyPI with the pins of tests/constraints-nox.txt. The Docker and root stages (Molecule, integration, image, EE,
release) stay stages of tests/all, which runs these sessions for its lint, unit and sanity stages.

The session virtualenvs are in ~/.cache/qwenops/nox-HASH (one per checkout, outside it), or in $QWEN_NOX_ENVDIR.
QWEN_NOX_PYTHON picks the sessions' Python (default: the one nox runs on).
"""
# /// script
# dependencies = ["nox==2026.10.20", "antsibull-nox==1.10.0"]
# ///

import hashlib
import os
import sys

import nox

try:
    import antsibull_nox
except ImportError:
    print("nox needs antsibull-nox beside it: pip install -r tests/requirements-nox.txt", file=sys.stderr)
    sys.exit(1)

REPO = os.path.dirname(os.path.abspath(__file__))
CONSTRAINTS = os.path.join(REPO, "tests", "constraints-nox.txt")

# Outside the checkout (linters walking it would meet the virtualenvs), one per checkout.
nox.options.envdir = os.environ.get("QWEN_NOX_ENVDIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "qwenops",
    "nox-" + hashlib.sha256(REPO.encode()).hexdigest()[:12])
nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.error_on_external_run = True
nox.options.sessions = ["lint", "sanity", "unit", "docs"]

# lint (yamllint, pylint with .pylintrc, antsibull-nox's own config check) and docs-check (antsibull-docs
# lint-collection-docs): antsibull-nox.toml.
antsibull_nox.load_antsibull_nox_toml()

PYTHON = os.environ.get("QWEN_NOX_PYTHON") or None

# What the unit tests import or run beside their Python (ansible-playbook, ansible-doc, ansible-galaxy).
UNIT_PACKAGES = ["ansible-core", "cryptography", "pytest", "pytest-httpserver", "pytest-xdist"]


def _install(session, *packages):
    session.install("--disable-pip-version-check", "-c", CONSTRAINTS, *packages)


def _test_env(session):
    """What tests/tools/env.sh gives the suites: the test tools and the stub provider on the import path, a
    collection path resolving qwenops.qwen_code to this checkout, the canary key."""
    root = os.path.join(nox.options.envdir, "collections")
    base = os.path.join(root, "ansible_collections", "qwenops")
    os.makedirs(base, exist_ok=True)
    link = os.path.join(base, "qwen_code")
    if os.path.realpath(link) != REPO:
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(REPO, link)
    return {
        "PYTHONPATH": os.pathsep.join(os.path.join(REPO, "tests", d) for d in ("tools", "stub_provider")),
        "ANSIBLE_COLLECTIONS_PATH": root,
        "QWEN_TEST_CANARY_KEY": os.environ.get("QWEN_TEST_CANARY_KEY", "sk-qwenops-CANARY-5c1e0b7d9a"),
        "ANSIBLE_FORCE_COLOR": "0",
        "PY_COLORS": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        # git refuses a checkout another user owns (tests/all runs the sessions as its unprivileged user)
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": REPO,
    }


def _pytest(session, marker, workers):
    _install(session, *UNIT_PACKAGES)
    session.chdir(REPO)
    session.run("pytest", "-q", "-p", "no:cacheprovider", "-rs", "-n", workers, "-m", marker,
                "tests/unit", "tests/stub_provider", *session.posargs, env=_test_env(session))


@nox.session(python=PYTHON, name="unit")
def unit(session):
    """The unit tests that need no root (pytest -m 'not root'): nothing is skipped."""
    _pytest(session, "not root", os.environ.get("QWEN_NOX_WORKERS", "2"))


@nox.session(python=PYTHON, name="unit-root", default=False)
def unit_root(session):
    """The unit tests marked root: real accounts (useradd), root-owned files, the swap attack. Run as root."""
    if os.geteuid() != 0:
        session.error("unit-root creates accounts and root-owned files: run it as root")
    _pytest(session, "root", "0")


@nox.session(python=PYTHON, name="sanity")
def sanity(session):
    """ansible-test sanity --local on a copy of the tracked files (tests/tools/run-sanity): no container."""
    _install(session, "ansible-core")
    env = _test_env(session)
    env["QWEN_SANITY_VENV"] = session.virtualenv.location
    session.run(os.path.join(REPO, "tests", "tools", "run-sanity"), *session.posargs, env=env, external=True)


@nox.session(name="docs", python=False, requires=["docs-check"])
def docs(session):  # pylint: disable=unused-argument
    """The documentation of every module, plugin and role (antsibull-nox's docs-check)."""


@nox.session(python=PYTHON, name="duplicates", default=False)
def duplicates(session):
    """pylint's duplicate-code check alone (its settings in .pylintrc), on plugins/ and tests/ less the fixtures:
    fails on any finding."""
    _install(session, "pylint")
    session.chdir(REPO)
    session.run("pylint", "--rcfile=.pylintrc", "--recursive=y", "--disable=all", "--enable=duplicate-code",
                "--ignore-paths=^tests/integration/fixtures/.*,^tests/output/.*", "plugins", "tests", *session.posargs)


if __name__ == "__main__":
    nox.main()
