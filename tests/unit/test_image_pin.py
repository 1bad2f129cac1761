"""tests/tools/image_pin.py: the rewrite of the image reference that a release pins (action.yml's image input, the
GitLab templates), on fixtures shaped like them; and the digest read from a registry (a local server that asks for a
Bearer token the way Docker Hub does). tests/release pushes to a real registry on loopback."""
import hashlib
import http.server
import importlib.util
import json
import os
import threading

import pytest
import yaml

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

# tests/tools is on .venv's import path (tests/tools/env.sh), not under `ansible-test units`: load it by path.
_SPEC = importlib.util.spec_from_file_location("image_pin", os.path.join(REPO, "tests", "tools", "image_pin.py"))
image_pin = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(image_pin)
PinError, manifest_digest, split_reference = image_pin.PinError, image_pin.manifest_digest, image_pin.split_reference
pin_action, pin_files, pin_template = image_pin.pin_action, image_pin.pin_files, image_pin.pin_template

DIGEST = "sha256:" + "0123456789abcdef" * 4
REF = "docker.io/qwenops/qwen-code@" + DIGEST
REPOS = ["qwenops/qwen-code"]

ACTION = """\
name: qwen-code
description: Runs the qwen CLI in the qwenops/qwen-code image (the release pins it by digest).
inputs:
  prompt:
    description: What to ask.
    required: true
  image:
    description: >-
      The image to run.
    default: 'qwenops/qwen-code:0.1.0-qwen0.99.0'
  qwen_version:
    description: A qwen release.
    default: ''
runs:
  using: composite
  steps:
    - shell: bash
      run: docker run --rm "$IMAGE" -p "$PROMPT"
      env:
        IMAGE: ${{ inputs.image }}
"""


def test_action_default_pinned_and_nothing_else():
    new = pin_action(ACTION, REF, REPOS)
    assert yaml.safe_load(new)["inputs"]["image"]["default"] == REF
    changed = [(a, b) for a, b in zip(ACTION.splitlines(), new.splitlines()) if a != b]
    assert changed == [("    default: 'qwenops/qwen-code:0.1.0-qwen0.99.0'", "    default: '%s'" % REF)]


@pytest.mark.parametrize("line", [
    "    default: docker.io/qwenops/qwen-code:0.1.0-qwen0.99.0  # the release pins it",
    '    default: "qwenops/qwen-code:main"',
    # the previous release's pin, from a registry with a port: a release pins again
    "    default: 127.0.0.1:5000/qwenops/qwen-code@sha256:" + "f" * 64,
])
def test_action_default_forms(line):
    text = ACTION.replace("    default: 'qwenops/qwen-code:0.1.0-qwen0.99.0'", line)
    new = pin_action(text, REF, REPOS)
    assert yaml.safe_load(new)["inputs"]["image"]["default"] == REF
    assert new.count("\n") == text.count("\n")
    if "#" in line:
        assert "%s  # the release pins it" % REF in new


@pytest.mark.parametrize("change, message", [
    # no image input's default to pin
    (("    default: 'qwenops/qwen-code:0.1.0-qwen0.99.0'\n", ""), "0 lines"),
    # an image input whose default is another image
    (("'qwenops/qwen-code:0.1.0-qwen0.99.0'", "'ghcr.io/other/image:1'"), "0 lines"),
    # the image named where the pin would not reach: it would stay unpinned
    (('"$IMAGE" -p', 'qwenops/qwen-code:latest -p'), "line 18 names the image"),
    (("  qwen_version:\n    description: A qwen release.\n    default: ''",
      "  broker_image:\n    description: Another.\n    default: qwenops/qwen-code:0.1.0"), "line 13 names the image"),
    # the default nested deeper than the input's own keys is not the input's default
    (("    default: 'qwenops", "    x:\n      default: 'qwenops"), "names the image"),
])
def test_action_refused(change, message):
    text = ACTION.replace(*change)
    assert text != ACTION
    with pytest.raises(PinError, match=message):
        pin_action(text, REF, REPOS)


TEMPLATE = """\
spec:
  inputs:
    image:
      default: "qwenops/qwen-code:0.1.0-qwen0.99.0"
---
# qwenops/qwen-code:0.1.0 is the image (a comment is left alone)
qwen:
  image:
    name: qwenops/qwen-code:0.1.0-qwen0.99.0
    entrypoint: [""]
  variables:
    QWEN_IMAGE: docker.io/qwenops/qwen-code:0.1.0-qwen0.99.0
  script:
    - docker run --rm "$QWEN_IMAGE" -p "$[[ inputs.prompt ]]"
"""


def test_template_lines_pinned():
    new, count = pin_template(TEMPLATE, REF, REPOS)
    assert count == 3
    docs = list(yaml.safe_load_all(new))
    assert docs[0]["spec"]["inputs"]["image"]["default"] == REF
    assert docs[1]["qwen"]["image"]["name"] == REF and docs[1]["qwen"]["variables"]["QWEN_IMAGE"] == REF
    assert "# qwenops/qwen-code:0.1.0 is the image" in new


def test_template_image_inside_a_script_refused():
    text = TEMPLATE.replace('"$QWEN_IMAGE"', "qwenops/qwen-code:0.1.0")
    with pytest.raises(PinError, match="line 14 names the image inside a longer value"):
        pin_template(text, REF, REPOS)


def test_pin_files(tmp_path):
    action, template, other = tmp_path / "action.yml", tmp_path / "qwen.yml", tmp_path / "other.yml"
    action.write_text(ACTION.replace("qwenops/qwen-code:0", "myorg/qwen-code:0"))
    template.write_text(TEMPLATE)
    other.write_text("job:\n  image: debian:trixie\n")
    ref = "127.0.0.1:5000/myorg/qwen-code@" + DIGEST
    before = action.read_text(), template.read_text()
    # check (the release's, before it commits anything): what would change, nothing written
    assert pin_files([str(action), str(template)], ref, "myorg/qwen-code", write=False) == [str(action), str(template)]
    assert (action.read_text(), template.read_text()) == before
    # the repository given (a fork's) and the collection's own are both found
    assert pin_files([str(action), str(template), str(other)], ref, "myorg/qwen-code") == [str(action), str(template)]
    assert yaml.safe_load(action.read_text())["inputs"]["image"]["default"] == ref
    assert other.read_text() == "job:\n  image: debian:trixie\n"
    with pytest.raises(PinError, match="not REPOSITORY@sha256"):
        pin_files([str(action)], "qwenops/qwen-code:0.1.0", "qwenops/qwen-code")
    action.write_text(ACTION.replace("'qwenops/qwen-code:0.1.0-qwen0.99.0'", "''"))
    with pytest.raises(PinError, match=r"action\.yml: 0 lines"):
        pin_files([str(action)], ref, "qwenops/qwen-code")


def test_split_reference():
    expected = ("registry-1.docker.io", "qwenops/qwen-code", "0.1.0")
    assert split_reference("docker.io/qwenops/qwen-code:0.1.0") == expected
    assert split_reference("127.0.0.1:5000/a/b@" + DIGEST) == ("127.0.0.1:5000", "a/b", DIGEST)
    with pytest.raises(PinError):
        split_reference("qwenops/qwen-code:0.1.0")  # no registry: say which


class Registry(http.server.BaseHTTPRequestHandler):
    """A registry's manifest endpoint behind a Bearer challenge (as Docker Hub answers an anonymous pull)."""
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}).encode()
    header = None  # the Docker-Content-Digest sent (None: the right one)
    seen = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.seen.append((self.path, self.headers.get("Authorization"), self.headers.get("Accept")))
        if self.path.startswith("/token?"):
            body = json.dumps({"token": "t0ken"}).encode()
        elif self.headers.get("Authorization") != "Bearer t0ken":
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Bearer realm="http://%s:%d/token",service="reg",scope="repository:'
                             'a/b:pull"' % self.server.server_address)
            self.end_headers()
            return
        else:
            body = self.manifest
        self.send_response(200)
        if not self.path.startswith("/token?"):
            self.send_header("Docker-Content-Digest",
                             self.header or "sha256:" + hashlib.sha256(body).hexdigest())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def registry():
    server = http.server.HTTPServer(("127.0.0.1", 0), Registry)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Registry.seen, Registry.header = [], None
    yield "127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_manifest_digest_through_a_bearer_challenge(registry):
    assert manifest_digest(registry + "/a/b:1.0") == "sha256:" + hashlib.sha256(Registry.manifest).hexdigest()
    paths = [path for path, _auth, _accept in Registry.seen]
    assert paths == ["/v2/a/b/manifests/1.0", "/token?service=reg&scope=repository%3Aa%2Fb%3Apull",
                     "/v2/a/b/manifests/1.0"]
    assert "application/vnd.oci.image.index.v1+json" in Registry.seen[0][2]


def test_manifest_digest_refuses_a_registry_that_contradicts_itself(registry):
    Registry.header = "sha256:" + "0" * 64
    with pytest.raises(PinError, match="the registry says sha256:0000"):
        manifest_digest(registry + "/a/b:1.0")
