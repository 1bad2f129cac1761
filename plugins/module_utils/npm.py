# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""npm registry pieces shared by npm_unpack and cli_install: version documents, sha512 integrity, downloads, and
the artifact cache (tarballs named by their sha512, with an index by name@version so that a cached version needs
no registry request). Runs on the managed host or the controller: standard library and ansible.module_utils only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import json
import os
import re
import tempfile
import time

from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible_collections.qwenops.qwen_code.plugins.module_utils.files import atomic_write

CHUNK = 1024 * 1024
# What npm_unpack leaves in a directory it unpacked: the package's name, version and verified integrity.
MARKER = ".qwenops-npm-unpack.json"
_EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


class RegistryError(Exception):
    pass


def is_exact_version(version):
    """True for 1.2.3 (or 1.2.3-beta.1), False for a dist-tag such as latest."""
    return bool(_EXACT_VERSION.match(version or ""))


def sri_to_hex(integrity):
    """The hex sha512 of a Subresource Integrity string sha512-<base64>; RegistryError if it is not one."""
    if not isinstance(integrity, str) or not integrity.startswith("sha512-"):
        raise RegistryError("not a sha512 integrity string: %r" % (integrity,))
    try:
        raw = base64.b64decode(integrity[len("sha512-"):], validate=True)
    except (binascii.Error, ValueError):
        raise RegistryError("not a sha512 integrity string: %r" % (integrity,))
    if len(raw) != 64:
        raise RegistryError("not a sha512 integrity string: %r" % (integrity,))
    return binascii.hexlify(raw).decode("ascii")


def file_sha512(path):
    digest = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path, integrity):
    """RegistryError unless the file at path has the sha512 of integrity."""
    expected = sri_to_hex(integrity)
    actual = file_sha512(path)
    if actual != expected:
        raise RegistryError("integrity mismatch for %s: expected sha512 %s..., the file has %s..."
                            % (path, expected[:16], actual[:16]))


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


def download(request, url, target, expected_hex):
    """Streams url into target while hashing it; returns the size. RegistryError on failure or a wrong sha512."""
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


def read_marker(directory):
    """The npm_unpack marker of directory (name, version, integrity), or None."""
    try:
        with open(os.path.join(directory, MARKER)) as f:
            return json.load(f)
    except (IOError, OSError, ValueError):
        return None


def installed_version(prefix, package):
    """The version of package installed globally into the npm prefix, or None."""
    try:
        with open(os.path.join(prefix, "lib", "node_modules", package, "package.json")) as f:
            return json.load(f).get("version")
    except (IOError, OSError, ValueError, AttributeError):
        return None


def staging_dirs(directory):
    """The staging directories (.<name>.partial-*) of installs into directory, with their age: [(path, seconds)]."""
    found, now = [], time.time()
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return found
    for name in names:
        path = os.path.join(directory, name)
        if name.startswith(".") and ".partial-" in name and os.path.isdir(path):
            try:
                found.append((path, now - os.stat(path).st_mtime))
            except OSError:
                continue
    return found


class ArtifactCache(object):
    """A directory of verified tarballs: <sha512 hex>.tgz, plus index/<name>@<version>.json recording which
    tarball a version is, so that looking a version up again needs no registry. Safe for concurrent writers: every
    file appears by rename."""

    def __init__(self, path):
        self.path = path

    def tarball_path(self, integrity):
        return os.path.join(self.path, sri_to_hex(integrity) + ".tgz")

    def _index_path(self, name, version):
        return os.path.join(self.path, "index", "%s@%s.json" % (name.replace("/", "+"), version))

    def lookup(self, name, version):
        """The recorded entry (name, version, integrity, tarball) of an exact version whose tarball is present."""
        if not is_exact_version(version):
            return None
        try:
            with open(self._index_path(name, version)) as f:
                entry = json.load(f)
            if os.path.isfile(self.tarball_path(entry["integrity"])):
                return entry
        except (IOError, OSError, ValueError, KeyError, TypeError, RegistryError):
            pass
        return None

    def find(self, integrity):
        """The cached tarball with this integrity, or None."""
        path = self.tarball_path(integrity)
        return path if os.path.isfile(path) else None

    def workdir(self):
        """A temporary directory inside the cache: a download there moves into the cache without a copy."""
        if not os.path.isdir(os.path.join(self.path, "index")):
            os.makedirs(os.path.join(self.path, "index"), 0o755)
        return tempfile.mkdtemp(prefix=".download-", dir=self.path)

    def add(self, source, name, version, integrity, tarball_url=None):
        """Moves a verified tarball (in workdir()) into the cache and records it; returns its path in the cache."""
        kept = self.tarball_path(integrity)
        if not os.path.isfile(kept):
            os.chmod(source, 0o644)
            os.rename(source, kept)
        entry = dict(name=name, version=version, integrity=integrity, tarball=tarball_url)
        atomic_write(self._index_path(name, version), json.dumps(entry, sort_keys=True), mode=0o644)
        return kept
