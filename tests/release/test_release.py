"""The release path (tests/tools/release --scratch): in a clone of HEAD, antsibull-changelog release, the collection
tarball, the image tagged with the collection and qwen versions, its CycloneDX SBOM and SHA256SUMS. This checkout
is left as it is (fragments, tags); the image build reuses the layers tests/image built from the same files."""
import collections
import json
import os
import pathlib
import re
import subprocess
import tarfile
import time

import pytest
import yaml

from harness import HOST_CA, REPO
from image_sbom import walk
from releases import DEFAULT

LOGS = os.path.join(REPO, "tests", "output", "logs", "release")
RELEASE_VENV = os.path.join(REPO, ".venv", "release")
VERSION = yaml.safe_load(open(os.path.join(REPO, "galaxy.yml")))["version"]
QWEN = DEFAULT
TAG = "qwenops/qwen-code:%s-qwen%s" % (VERSION, QWEN)
CANARY = os.environ["QWEN_TEST_CANARY_KEY"]
Release = collections.namedtuple("Release", "clone dist")


def run(cmd, log=None, check=True, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    if log:
        os.makedirs(LOGS, exist_ok=True)
        with open(os.path.join(LOGS, log), "a") as f:
            f.write("$ %s\n%s%s\n" % (" ".join(cmd), proc.stdout, proc.stderr))
    if check:
        assert proc.returncode == 0, "%s failed:\n%s%s" % (cmd, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    """The release tool's scratch mode, run once: the clone and its dist directory."""
    fragments = sorted(p.name for p in pathlib.Path(REPO, "changelogs", "fragments").glob("*.yml"))
    clone = tmp_path_factory.mktemp("release") / "clone"
    cmd = [os.path.join(REPO, "tests", "tools", "release"), "--scratch", str(clone)]
    if os.path.exists(HOST_CA):  # this workplace intercepts TLS: the build's downloads need its CA
        cmd += ["--ca-bundle", HOST_CA]
    start = time.time()
    run(cmd, log="release.log", env=dict(os.environ, QWEN_RELEASE_VENV=RELEASE_VENV))
    print("release made in %.0f s" % (time.time() - start))
    # This checkout keeps its fragments.
    assert sorted(p.name for p in pathlib.Path(REPO, "changelogs", "fragments").glob("*.yml")) == fragments
    return Release(clone, clone / "dist")


def test_changelog_released(release):
    clone = release.clone
    changes = yaml.safe_load((clone / "changelogs" / "changelog.yaml").read_text())
    assert VERSION in changes["releases"] and changes["releases"][VERSION]["release_date"]
    assert changes["releases"][VERSION]["changes"]["release_summary"]
    text = (clone / "CHANGELOG.rst").read_text()
    assert "\nv%s\n" % VERSION in text
    sections = re.findall(r"^(.+)\n-+$", text, re.M)
    for section in ("Release Summary", "Major Changes", "Minor Changes", "New Plugins", "New Modules",
                    "New Playbooks", "New Roles"):
        assert section in sections, sections
    # A first release: nothing was ever released that could break, be deprecated, be removed or be fixed.
    if len(changes["releases"]) == 1:
        for section in ("Breaking Changes / Porting Guide", "Deprecated Features",
                        "Removed Features (previously deprecated)", "Bugfixes"):
            assert section not in sections
    run([os.path.join(RELEASE_VENV, "bin", "antsibull-changelog"), "lint"], cwd=clone, log="changelog-lint.log")


def test_fragments_consumed_in_the_clone_only(release):
    clone = release.clone
    assert not list((clone / "changelogs" / "fragments").glob("*.yml"))
    assert run(["git", "log", "-1", "--format=%s"], cwd=clone).stdout.strip() == "Release %s" % VERSION
    assert run(["git", "status", "--porcelain"], cwd=clone).stdout == ""
    assert run(["git", "tag", "--points-at", "HEAD"], cwd=clone).stdout.split() == [VERSION]
    # This checkout gets no tag (and keeps its fragments: see the fixture).
    assert run(["git", "tag", "--list", VERSION], cwd=REPO).stdout.strip() == ""


def test_tarball_installs_without_junk(release, tmp_path):
    clone, dist = release.clone, release.dist
    tarball = dist / ("qwenops-qwen_code-%s.tar.gz" % VERSION)
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    assert "CHANGELOG.rst" in names and "changelogs/changelog.yaml" in names and "MANIFEST.json" in names
    junk = re.compile(r"(^|/)(\.venv|\.ci|bench|certs|dist|\.git|\.cache|\.ansible|node_modules|__pycache__|"
                      r"\.pytest_cache|\.plugin-cache\.yaml)(/|$)|^tests/output/|\.tar\.gz$")
    assert not [n for n in names if junk.search(n)]
    # Only tmp_path on the collections path: this checkout (qwenops.qwen_code too) would count as installed.
    run([os.path.join(RELEASE_VENV, "bin", "ansible-galaxy"), "collection", "install", "--offline", "-p",
         str(tmp_path), str(tarball)], log="install.log", env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path)))
    installed = tmp_path / "ansible_collections" / "qwenops" / "qwen_code"
    manifest = json.loads((installed / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["version"] == VERSION
    assert (installed / "roles" / "qwen_code" / "tasks" / "main.yml").is_file()
    assert (installed / "CHANGELOG.rst").read_text() == (clone / "CHANGELOG.rst").read_text()


def test_image_tag_labels_and_version(release):
    clone = release.clone
    config = json.loads(run(["docker", "image", "inspect", TAG]).stdout)[0]["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == "%s-qwen%s" % (VERSION, QWEN)
    assert labels["org.opencontainers.image.revision"] == run(["git", "rev-parse", "HEAD"], cwd=clone).stdout.strip()
    assert labels["org.opencontainers.image.source"] == "https://github.com/qwenops/qwen_code"
    assert labels["org.opencontainers.image.created"]
    assert labels["io.github.qwenops.collection-version"] == VERSION
    assert labels["io.github.qwenops.qwen-code-version"] == QWEN
    assert run(["docker", "run", "--rm", TAG, "--version"], log="version.log").stdout.strip() == QWEN
    # Nothing secret went in: no key in the environment or the history (the release has none to give).
    history = run(["docker", "history", "--no-trunc", TAG]).stdout
    assert CANARY not in history and not [e for e in config.get("Env") or [] if re.search(r"KEY|TOKEN", e)]


@pytest.fixture(scope="module")
def sbom(release):
    dist = release.dist
    path = dist / ("qwen-code-image-%s-qwen%s.cdx.json" % (VERSION, QWEN))
    return path, json.loads(path.read_text())


def test_sbom_valid_cyclonedx(sbom):
    path, doc = sbom
    assert doc["bomFormat"] == "CycloneDX" and doc["specVersion"] in ("1.5", "1.6")
    run([os.path.join(RELEASE_VENV, "bin", "python"), os.path.join(REPO, "tests", "tools", "image_sbom.py"),
         "--validate", str(path)], log="sbom.log")


def test_sbom_lists_the_image_qwen_node_and_debian(sbom):
    path, doc = sbom
    image_id = json.loads(run(["docker", "image", "inspect", TAG]).stdout)[0]["Id"]
    meta = doc["metadata"]["component"]
    assert meta["type"] == "container" and meta["version"] == "%s-qwen%s" % (VERSION, QWEN)
    assert {"name": "oci:image:id", "value": image_id} in meta["properties"]
    purls = [c.get("purl", "").split("?")[0] for c in walk(doc["components"])]  # without qualifiers
    assert "pkg:npm/%%40qwen-code/qwen-code@%s" % QWEN in purls
    launcher = run(["docker", "run", "--rm", "--entrypoint", "cat", TAG, "/usr/local/bin/qwen"]).stdout
    node = re.search(r"/node/([0-9.]+)/bin/node", launcher).group(1)
    assert [p for p in purls if p.startswith("pkg:npm/node-linux-") and p.endswith("@" + node)], "no Node " + node
    debs = [p for p in purls if p.startswith("pkg:deb/debian/")]
    assert len(debs) > 50 and [p for p in debs if p.startswith("pkg:deb/debian/libc6@")], debs
    assert [c for c in walk(doc["components"]) if c["type"] == "operating-system"]
    # The image depends on the OS, qwen and Node; every dependency names a component of the document.
    refs = {c["bom-ref"] for c in walk(doc["components"])}
    top = [d for d in doc["dependencies"] if d["ref"] == meta["bom-ref"]][0]["dependsOn"]
    assert len(top) == 3 and set(top) <= refs
    assert all(d["ref"] in refs | {meta["bom-ref"]} and set(d.get("dependsOn", [])) <= refs
               for d in doc["dependencies"])
    text = path.read_text()
    assert CANARY not in text and "_authToken" not in text and "PRIVATE KEY" not in text


def test_sha256sums_verify(release, sbom):
    dist = release.dist
    sums = (dist / "SHA256SUMS").read_text().split("\n")
    names = sorted(line.split()[1] for line in sums if line)
    assert names == sorted(["qwenops-qwen_code-%s.tar.gz" % VERSION, sbom[0].name])
    run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=dist, log="sha256sums.log")
