"""The release path (tests/tools/release --scratch --push): in a clone of HEAD, antsibull-changelog release, the
collection tarball, the image tagged with the collection and qwen versions, its CycloneDX SBOM and SHA256SUMS, the
image pushed to a registry on loopback (Debian's docker-registry) and pinned by digest in a second commit. This
checkout is left as it is (fragments, tags); the image build reuses the layers tests/image built from the same
files."""
import collections
import glob
import json
import os
import pathlib
import re
import shutil
import socket
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
# QWEN_TEST_RELEASE_IMAGE_REPO: another repository (--image-repo), for runs beside another checkout's
IMAGE_REPO = os.environ.get("QWEN_TEST_RELEASE_IMAGE_REPO", "qwenops/qwen-code")
TAG = "%s:%s-qwen%s" % (IMAGE_REPO, VERSION, QWEN)
CANARY = os.environ["QWEN_TEST_CANARY_KEY"]
Release = collections.namedtuple("Release", "clone dist registry")
# Until the GitHub Action of issue 28 is in this checkout: an action.yml shaped like its image input, in a clone.
ACTION_FIXTURE = """\
name: qwen-code (release test fixture)
description: The image input the release pins.
inputs:
  image:
    description: The image to run.
    default: 'qwenops/qwen-code:main'
runs:
  using: composite
  steps:
    - shell: bash
      run: docker run --rm "$IMAGE" --version
      env:
        IMAGE: ${{ inputs.image }}
"""


def run(cmd, log=None, check=True, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    if log:
        os.makedirs(LOGS, exist_ok=True)
        with open(os.path.join(LOGS, log), "a") as f:
            f.write("$ %s\n%s%s\n" % (" ".join(cmd), proc.stdout, proc.stderr))
    if check:
        assert proc.returncode == 0, "%s failed:\n%s%s" % (cmd, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """Debian's docker-registry on 127.0.0.1 (dockerd pushes to a loopback registry over plain HTTP): the binary
    from the package, unpacked under .cache/ (not installed: the package would start a service on port 5000)."""
    binary = shutil.which("docker-registry") or os.path.join(REPO, ".cache", "docker-registry", "usr", "bin",
                                                             "docker-registry")
    if not os.path.exists(binary):
        download = tmp_path_factory.mktemp("registry-deb")
        if run(["apt-get", "download", "docker-registry"], cwd=download, check=False, log="registry.log").returncode:
            run(["apt-get", "update", "-qq"], log="registry.log")
            run(["apt-get", "download", "docker-registry"], cwd=download, log="registry.log")
        deb = glob.glob(str(download / "docker-registry_*.deb"))[0]
        run(["dpkg-deb", "-x", deb, str(download / "root")], log="registry.log")
        os.makedirs(os.path.join(REPO, ".cache"), exist_ok=True)
        shutil.move(str(download / "root"), os.path.join(REPO, ".cache", "docker-registry"))
    home = tmp_path_factory.mktemp("registry")
    address = "127.0.0.1:%d" % free_port()
    (home / "config.yml").write_text("version: 0.1\nlog: {level: warn}\nstorage:\n  filesystem: {rootdirectory: %s}\n"
                                     "http: {addr: '%s'}\n" % (home / "data", address))
    with open(home / "registry.log", "w") as out:
        server = subprocess.Popen([binary, "serve", str(home / "config.yml")], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.time() + 15
    while time.time() < deadline and server.poll() is None:
        try:
            socket.create_connection(address.split(":"), 0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    assert server.poll() is None, (home / "registry.log").read_text()
    yield address
    server.terminate()
    server.wait(10)


def release_source(tmp):
    """This checkout; without an action.yml yet, a clone of its HEAD with the fixture's action.yml committed."""
    if os.path.exists(os.path.join(REPO, "action.yml")):
        return REPO
    source = tmp / "source"
    run(["git", "clone", "-q", "--no-hardlinks", REPO, str(source)])
    (source / "action.yml").write_text(ACTION_FIXTURE)
    run(["git", "add", "action.yml"], cwd=source)
    run(["git", "-c", "user.name=release test", "-c", "user.email=release@test.invalid", "commit", "-q", "-m",
         "Release test: the GitHub Action's image input (fixture)"], cwd=source)
    return str(source)


@pytest.fixture(scope="session")
def release(tmp_path_factory, registry):
    """The release tool's scratch mode, run once, pushing to the loopback registry: the clone, its dist directory
    and the registry."""
    fragments = sorted(p.name for p in pathlib.Path(REPO, "changelogs", "fragments").glob("*.yml"))
    tmp = tmp_path_factory.mktemp("release")
    clone = tmp / "clone"
    cmd = [os.path.join(release_source(tmp), "tests", "tools", "release"), "--scratch", str(clone),
           "--image-repo", IMAGE_REPO, "--push", registry]
    if os.path.exists(HOST_CA):  # this workplace intercepts TLS: the build's downloads need its CA
        cmd += ["--ca-bundle", HOST_CA]
    start = time.time()
    run(cmd, log="release.log", env=dict(os.environ, QWEN_RELEASE_VENV=RELEASE_VENV))
    print("release made in %.0f s" % (time.time() - start))
    # This checkout keeps its fragments.
    assert sorted(p.name for p in pathlib.Path(REPO, "changelogs", "fragments").glob("*.yml")) == fragments
    yield Release(clone, clone / "dist", registry)
    run(["docker", "rmi", "%s/%s:%s-qwen%s" % (registry, IMAGE_REPO, VERSION, QWEN)], check=False)


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
    assert run(["git", "log", "-1", "--format=%s", "HEAD^"], cwd=clone).stdout.strip() == "Release %s" % VERSION
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
    # the release commit: the pin commit on top of it names the image's digest, which depends on this label
    assert labels["org.opencontainers.image.revision"] == run(["git", "rev-parse", "HEAD^"], cwd=clone).stdout.strip()
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


def test_image_pushed_and_pinned_by_digest(release):
    """The pin commit: on top of the release commit, it changes only the image reference (action.yml's image input,
    ci/gitlab/*.yml) to REGISTRY/REPO@<digest>, the digest of the pushed image (docker's own record of the push);
    the tag is on it and names the release commit; pulling the pinned reference gives the release's image."""
    clone = release.clone
    changed = run(["git", "diff", "--name-only", "HEAD^", "HEAD"], cwd=clone).stdout.split()
    assert "action.yml" in changed and set(changed) <= {"action.yml"} | {
        os.path.relpath(p, clone) for p in glob.glob(str(clone / "ci" / "gitlab" / "*.yml"))}, changed
    diff = run(["git", "diff", "-U0", "HEAD^", "HEAD"], cwd=clone).stdout
    assert len([line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]) == \
        len([line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")])
    pinned = yaml.safe_load((clone / "action.yml").read_text())["inputs"]["image"]["default"]
    image = json.loads(run(["docker", "image", "inspect", TAG]).stdout)[0]
    assert pinned.startswith("%s/%s@sha256:" % (release.registry, IMAGE_REPO)) and pinned in image["RepoDigests"], \
        (pinned, image["RepoDigests"])
    digest = pinned.split("@", 1)[1]
    assert run(["git", "log", "-1", "--format=%s"], cwd=clone).stdout.strip() == "Pin image " + digest
    assert run(["git", "tag", "--points-at", "HEAD"], cwd=clone).stdout.split() == [VERSION]
    tag_message = run(["git", "tag", "-l", "--format=%(contents)", VERSION], cwd=clone).stdout
    release_commit = run(["git", "rev-parse", "HEAD^"], cwd=clone).stdout.strip()
    assert "Release commit: " + release_commit in tag_message and pinned in tag_message, tag_message
    # Pulled by digest from the registry, the release's image (the local copy's id), which answers.
    run(["docker", "pull", "-q", pinned], log="pull.log")
    assert json.loads(run(["docker", "image", "inspect", pinned]).stdout)[0]["Id"] == image["Id"]
    assert run(["docker", "run", "--rm", pinned, "--version"], log="pull.log").stdout.strip() == QWEN
