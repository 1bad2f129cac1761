"""tests/tools/upstream-drift (upstream_drift.py): against a stub registry on 127.0.0.1 serving a 0.25.0 made by
patching the real 0.24.4 tarball ($version 5, engines.node >=24, a new auth type), against the real registry's
default release, with tarballs that are not what the registry says, and its reading of the collection against the
collection's own modules.

The real 0.24.4 tarball is fetched once (verified against _known_artifacts.py) into the tool's cache,
~/.cache/qwenops/upstream-drift, and reused from there.
"""
import base64
import hashlib
import importlib.util
import io
import json
import os
import subprocess
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils import _auth_types, _config_inputs, _releases
from ansible_collections.qwenops.qwen_code.plugins.plugin_utils import _decisions
from ansible_collections.qwenops.qwen_code.tests.unit.tarballs import tar_of

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, "tests", "tools", "upstream-drift")


def _load_tool():
    path = os.path.join(REPO, "tests", "tools", "upstream_drift.py")
    spec = importlib.util.spec_from_file_location("qwen_upstream_drift", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


upstream_drift = _load_tool()
# The release the 0.25.0 is made from: the newest 0.24 release the collection knows (0.24.4; its bundle has the
# strings patched() replaces).
PATCHED_FROM = max((v for v in _releases.KNOWN_INTEGRITY[upstream_drift.PACKAGE] if v.startswith("0.24.")),
                   key=lambda v: tuple(int(x) for x in v.split(".")))
PATH = "/" + upstream_drift.PACKAGE.replace("/", "%2F")


def integrity(data):
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture(scope="module")
def real_release():
    """The published 0.24.4 tarball (path), from the registry once, then from the tool's cache."""
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "qwenops",
                         "upstream-drift")
    known = upstream_drift.collection_facts()["known"]
    dummy, path = upstream_drift.fetch_release(upstream_drift.PUBLIC_REGISTRY, upstream_drift.ssl_context(
        os.environ.get("NODE_EXTRA_CA_CERTS")), PATCHED_FROM, cache, known)
    return path


def patched(source):
    """0.24.4's tarball as a 0.25.0 that writes $version 5, needs Node 24 and has a new auth type, bedrock (every
    other member as published)."""
    edits = {"settings": 0, "auth": 0}
    out = io.BytesIO()
    with tarfile.open(source, "r:gz") as src, tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as dst:
        for member in src:
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name == "package/package.json":
                manifest = json.loads(data)
                manifest["version"] = "0.25.0"
                manifest["engines"]["node"] = ">=24.0.0"
                data = json.dumps(manifest, indent=2).encode()
            elif data is not None and member.name.startswith("package/chunks/"):
                if b"var SETTINGS_VERSION = 4;" in data:
                    data = data.replace(b"var SETTINGS_VERSION = 4;", b"var SETTINGS_VERSION = 5;")
                    edits["settings"] += 1
                anthropic = b'AuthType2["USE_ANTHROPIC"] = "anthropic";'
                if anthropic in data:
                    data = data.replace(anthropic, anthropic + b'\n  AuthType2["USE_BEDROCK"] = "bedrock";')
                    edits["auth"] += 1
            if data is not None:
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    assert edits == {"settings": 1, "auth": 1}
    return out.getvalue()


class StubRegistry:
    """A registry on 127.0.0.1 with one package: a packument whose dist-tag latest is `version`, and its tarball
    (served as `tarball`, documented with `documented` as its integrity). Logs each request's path; a context
    manager that stops serving on exit."""

    def __init__(self, version, tarball, documented=None):
        self.requests = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 (http.server's name)
                stub.requests.append(self.path)
                if self.path.lower() == PATH.lower():
                    body, ctype = json.dumps(stub.packument).encode(), "application/json"
                elif self.path == stub.tarball_path:
                    body, ctype = tarball, "application/octet-stream"
                else:
                    body, ctype = b"{}", "application/json"
                    self.send_response(404)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.tarball_path = "/%s/-/qwen-code-%s.tgz" % (upstream_drift.PACKAGE, version)
        self.packument = {"name": upstream_drift.PACKAGE, "dist-tags": {"latest": version}, "versions": {version: {
            "name": upstream_drift.PACKAGE, "version": version,
            "dist": {"tarball": self.url + self.tarball_path, "integrity": documented or integrity(tarball)}}}}
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def run_tool(*args):
    proc = subprocess.run([TOOL] + list(args), capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def table(stdout):
    """{what: (upstream, collection, status, to do)} of the tool's table."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in (line + " ").split(" | ", 4)]
        if len(cells) == 5 and cells[0] not in ("what",) and not cells[0].startswith("---"):
            rows[cells[0]] = tuple(cells[1:])
    return rows


def test_a_patched_025_names_each_gap(real_release, tmp_path):
    with StubRegistry("0.25.0", patched(real_release)) as stub:
        status, out, err = run_tool("--registry", stub.url, "--cache", str(tmp_path))
    assert status == 1, out + err
    rows = table(out)
    findings = dict((what, row) for what, row in rows.items() if row[2] != "ok")
    assert sorted(findings) == ["auth types (API key)", "engines.node", "release series", "settings $version"], out
    assert findings["release series"][:3] == ("0.25.0", "SERIES: 0.7, 0.12, 0.15, 0.21, 0.23, 0.24", "GAP")
    assert "add a row 0.25 to SERIES" in findings["release series"][3]
    assert findings["settings $version"][:3] == ("5", "row 0.24 (newest; 0.25 has none): 4", "CONTRADICTS")
    assert findings["engines.node"][:3] == (">=24.0.0 (major 24)", "row 0.24 (newest; 0.25 has none): node_major 22",
                                            "CONTRADICTS")
    assert findings["auth types (API key)"][0] == "anthropic, bedrock, gemini, openai, openai-responses, vertex-ai"
    assert findings["auth types (API key)"][2] == "GAP"
    assert "unknown to _auth_types.py: bedrock" in findings["auth types (API key)"][3]
    assert "4 finding(s)" in out
    assert stub.requests == [PATH, stub.tarball_path]


def test_the_default_release_is_current():
    """The real registry (through the machine's proxy and CA) and the collection's default release: every fact is
    found, and agrees with the table."""
    status, out, err = run_tool("--version", _releases.DEFAULT)
    assert status == 0, out + err
    rows = table(out)
    assert len(rows) == 12 and all(row[2] == "ok" for row in rows.values()), out
    row = _releases.SERIES[upstream_drift.series_of(_releases.DEFAULT)]
    assert rows["settings $version"][0] == str(row["settings_version"])
    assert rows["auth types (API key)"][0] == "anthropic, gemini, openai, openai-responses, vertex-ai"
    assert rows["system settings"][0] == "/etc/qwen-code/settings.json (QWEN_CODE_SYSTEM_SETTINGS_PATH)"
    assert "the release table is current" in out


def test_a_tarball_other_than_documented_is_refused(real_release, tmp_path):
    with open(real_release, "rb") as f:
        data = f.read()
    # bytes changed under the registry's integrity
    with StubRegistry("0.25.0", data[:-64] + bytes(b ^ 0xFF for b in data[-64:]), documented=integrity(data)) as stub:
        status, out, err = run_tool("--registry", stub.url, "--cache", str(tmp_path))
    assert (status, out) == (2, "")
    assert "the download does not have the registry's sha512" in err
    # a release the collection knows, which the registry documents with another integrity
    other = tar_of(("package/package.json", "file", b"{}", 0o644))
    with StubRegistry(_releases.DEFAULT, other) as stub:
        status, out, err = run_tool("--registry", stub.url, "--cache", str(tmp_path))
    assert (status, out) == (2, "")
    assert "another integrity than _known_artifacts.py: refusing it" in err
    assert stub.requests == [PATH]


def test_what_it_cannot_find_is_a_finding(tmp_path):
    """A release whose bundle no longer has what the readers look for: each fact is NOT FOUND, never ok."""
    path = tmp_path / "bare.tgz"
    manifest = json.dumps({"name": upstream_drift.PACKAGE, "version": "0.24.9", "engines": {}}).encode()
    path.write_bytes(tar_of(("package/package.json", "file", manifest, 0o644),
                            ("package/cli.js", "file", b"console.log('hi');\n", 0o644)))
    rows = upstream_drift.compare(upstream_drift.upstream_facts(upstream_drift.read_tarball(str(path))),
                                  upstream_drift.collection_facts())
    status = dict((r[0], r[3]) for r in rows)
    assert status.pop("release") == "note"
    assert status.pop("qwen-oauth") == "ok"  # no such type in the release; the row refuses it
    assert set(status.values()) == set(["NOT FOUND"]), rows


def test_it_reads_the_collection_as_the_collection_does():
    """The tool reads the collection's sources without importing them: what it reads is what the modules hold."""
    facts = upstream_drift.collection_facts()
    assert facts["default"] == _releases.DEFAULT and facts["series"] == _releases.SERIES
    assert facts["known"] == _releases.KNOWN_INTEGRITY[upstream_drift.PACKAGE]
    assert facts["auth_types"] == sorted(_auth_types.AUTH_TYPES)
    assert facts["system_settings_path"] == _config_inputs.SPEC["system_settings_path"]["default"]
    assert facts["system_defaults_path"] == _config_inputs.SPEC["system_defaults_path"]["default"]
    # The keys the role writes into the system settings: $version, the row's self-update key, and the tool's list.
    inp = {"qwen_code_auto_update": False, "qwen_code_usage_statistics": False}
    policy = _decisions.role_policy(inp, _releases.SERIES[series_last()], True)

    def leaves(tree, prefix=""):
        for key, value in tree.items():
            if isinstance(value, dict):
                yield from leaves(value, prefix + key + ".")
            else:
                yield prefix + key
    assert sorted(leaves(policy)) == sorted(("$version", "general.enableAutoUpdate")
                                            + upstream_drift.ROLE_POLICY_KEYS)


def series_last():
    return max(_releases.SERIES, key=upstream_drift.series_key)
