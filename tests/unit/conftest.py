"""Fixtures of the unit tests, and the bootstrap that makes the collection importable.

Run from the repository root: .venv/bin/pytest tests/unit
The repository root is the collection root: under plain pytest this links it into a temporary
ansible_collections/qwenops/qwen_code tree and puts that on sys.path; under `ansible-test units` the collection loader
already provides it.
"""
import atexit
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid

import pytest


def _make_collection_importable():
    try:
        import ansible_collections.qwenops.qwen_code.plugins.module_utils._presets  # noqa: F401
        return
    except ImportError:
        pass
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    root = tempfile.mkdtemp(prefix="qwen-unit-collections-")
    atexit.register(shutil.rmtree, root, True)
    os.makedirs(os.path.join(root, "ansible_collections", "qwenops"))
    os.symlink(repo, os.path.join(root, "ansible_collections", "qwenops", "qwen_code"))
    sys.path.insert(0, root)
    import ansible_collections  # a namespace package (ansible's own collections may be in it): extend it

    ansible_collections.__path__.append(os.path.join(root, "ansible_collections"))


_make_collection_importable()

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import (  # noqa: E402
    ConnectProxy, RawServer, tls_provider, write_tls_files)


@pytest.fixture(scope="session")
def tls_pair(tmp_path_factory):
    """PEM file paths of private CAs and server certificates (see helpers.write_tls_files)."""
    return write_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls_server(tls_pair):
    """Starts https providers (helpers.tls_provider): tls_server() with the private CA's 127.0.0.1 certificate,
    tls_server("other_cert") with the stand-in public CA's, and so on."""
    servers = []

    def start(cert="cert"):
        servers.append(tls_provider(tls_pair, cert))
        return servers[-1]
    yield start
    for server in servers:
        server.clear()
        server.stop()


@pytest.fixture
def raw_server():
    servers = []

    def start(answer=b"", read_first=True):
        servers.append(RawServer(answer, read_first))
        return servers[-1]
    yield start
    for s in servers:
        s.stop()


@pytest.fixture
def connect_proxy():
    proxies = []

    def start(reject=None):
        proxies.append(ConnectProxy(reject))
        return proxies[-1]
    yield start
    for p in proxies:
        p.stop()


@pytest.fixture
def no_proxy_env(monkeypatch):
    """No proxy from the machine's environment leaks into a test."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
                 "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def homes():
    """A directory every account can reach (pytest's tmp_path is under a root-only directory, and the modules act
    in each home as that user)."""
    base = tempfile.mkdtemp(prefix="qwen-unit-homes-", dir="/var/tmp")
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def accounts(homes):
    """make(prefix) creates a throwaway account with its home under homes and returns its pwd entry; every one is
    deleted afterwards (needs root and useradd)."""
    made = []

    def make(prefix="qut"):
        name = prefix + uuid.uuid4().hex[:8]
        subprocess.run(["useradd", "--create-home", "--home-dir", os.path.join(homes, name), "--shell",
                        "/usr/sbin/nologin", "--user-group", name], check=True)
        made.append(name)
        return pwd.getpwnam(name)
    yield make
    for name in made:
        subprocess.run(["userdel", "--remove", name], check=False, capture_output=True)
