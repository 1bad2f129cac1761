# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the qwenops.qwen_code collection: no compatibility promise outside it.

The npm registry, for npm_unpack, cli_install and install_info: the registry and auth_token options
(registry_argument_spec() and the doc fragment qwenops.qwen_code.npm_registry), version documents, sha512
integrity, downloads, the token (where it may be sent, npm's per-registry key for it), what an install left behind
(npm_unpack's marker, a prefix's installed version), and the artifact cache (tarballs named by their sha512, with
an index by name@version so that a cached version needs no registry request).

Runs on the managed host or the controller: standard library and ansible.module_utils only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import json
import os
import re
import stat
import tempfile
from urllib.parse import quote, urlsplit

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.qwenops.qwen_code.plugins.module_utils._atomic_write import atomic_write
from ansible_collections.qwenops.qwen_code.plugins.module_utils._staging import makedirs_mode

CHUNK = 1024 * 1024
DEFAULT_REGISTRY = "https://registry.npmjs.org"
# What npm_unpack leaves in a directory it unpacked: the package's name, version and verified integrity.
MARKER = ".qwenops-npm-unpack.json"
_EXACT_VERSION = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


class RegistryError(Exception):
    pass


def registry_argument_spec():
    """The argument spec of the options documented by the qwenops.qwen_code.npm_registry doc fragment."""
    return dict(
        registry=dict(type="str", default=DEFAULT_REGISTRY),
        auth_token=dict(type="str", no_log=True),
    )


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


def fetch_version_document(request, registry, name, version, headers=None):
    """The registry's version document of name@version. headers (e.g. Authorization) are never sent on to a
    redirect's target."""
    url = version_document_url(registry, name, version)
    try:
        resp = request.open("GET", url, headers=dict(headers or {}, Accept="application/json"),
                            unredirected_headers=list(headers or {}))
        doc = json.loads(resp.read())
    except Exception as e:  # urllib raises many types; the message is what matters to the operator
        raise RegistryError("cannot read %s@%s from %s: %s" % (name, version, url, to_native(e)))
    if not isinstance(doc, dict) or not isinstance(doc.get("dist"), dict) or "version" not in doc:
        raise RegistryError("%s does not look like an npm version document" % url)
    if not str(doc["dist"].get("integrity", "")).startswith("sha512-"):
        raise RegistryError("%s@%s has no sha512 integrity in the registry; refusing to install it unverified"
                            % (name, doc["version"]))
    return doc


def download(request, url, target, expected_hex, headers=None):
    """Streams url into target while hashing it; returns the size. RegistryError on failure or a wrong sha512.
    headers (e.g. Authorization) are never sent on to a redirect's target."""
    digest = hashlib.sha512()
    size = 0
    try:
        resp = request.open("GET", url, headers=dict(headers or {}), unredirected_headers=list(headers or {}))
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


def integrity_problem(name, version, source, found, known):
    """Why a tarball (or a version document) of name@version that source gives with integrity found is refused,
    when this collection knows that release as known (None when they agree, or the release is not known)."""
    if known and found != known:
        return ("%s@%s: the integrity check failed: %s gives it as %s, but this collection knows that release as %s. "
                "The registry or mirror serves another package than the one published; refusing it."
                % (name, version, source, found, known))
    return None


def fetch_verified(request, registry, token, name, version, target, known=None):
    """Downloads name@version's tarball from the registry into target, verified: against known (the integrity this
    collection knows for the release) before anything is downloaded, and against the registry's own integrity while
    it is. Returns the version document. RegistryError names what failed."""
    doc = fetch_version_document(request, registry, name, version,
                                 headers=auth_headers(registry, version_document_url(registry, name, version), token))
    problem = integrity_problem(name, doc["version"], "the registry %s" % registry, doc["dist"]["integrity"], known)
    if problem:
        raise RegistryError(problem)
    url = doc["dist"].get("tarball")
    if not url:
        raise RegistryError("%s@%s: the registry %s names no tarball" % (name, doc["version"], registry))
    download(request, url, target, sri_to_hex(doc["dist"]["integrity"]), headers=auth_headers(registry, url, token))
    return doc


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


def url_has_credentials(url):
    """True when url carries user[:password]@ in its authority."""
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False


def token_problem(token):
    """Why token cannot be sent as a header or written into an npmrc line (it could add settings there), or None."""
    if token and (token != token.strip() or any(ord(c) < 32 or ord(c) == 127 for c in token)):
        return "auth_token must be one line, without spaces around it or control characters"
    return None


def _origin(url):
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


def auth_headers(registry, url, token):
    """{"Authorization": "Bearer <token>"} for a request to url when url is on the registry's own scheme, host and
    port; {} for anything else (a tarball on a CDN, another mirror): the token only ever goes to the registry."""
    if not token:
        return {}
    try:
        if _origin(url) != _origin(registry):
            return {}
    except ValueError:
        return {}
    return {"Authorization": "Bearer %s" % token}


def registry_problem(registry, auth_token):
    """Why the registry URL and token options cannot be used, or None: credentials in the URL (they would show in
    logs and process lists), or a token that is not one clean line."""
    if url_has_credentials(registry):
        shown = urlsplit(registry)._replace(netloc=urlsplit(registry).netloc.rpartition("@")[2]).geturl()
        return ("registry %s must not contain credentials (user:password@): they would show in logs and process "
                "lists. Give the registry's token with auth_token instead." % shown)
    return token_problem(auth_token)


def nerf_dart(registry):
    """npm's key for per-registry settings in an npmrc: //host[:port]/path/ of the registry URL (the port only when
    it is not the scheme's default, as npm writes it)."""
    parts = urlsplit(registry)
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = "[%s]" % host
    if parts.port and parts.port != {"http": 80, "https": 443}.get((parts.scheme or "").lower()):
        host = "%s:%d" % (host, parts.port)
    path = parts.path or "/"
    if not path.endswith("/"):
        path += "/"
    dart = "//%s%s" % (host, path)
    if any(ord(c) <= 32 or ord(c) == 127 for c in dart):
        raise RegistryError("registry %r: not a URL npm can key a token to" % (registry,))
    return dart


def check_not_writable_by_others(path, what="artifact cache"):
    """RegistryError unless path is owned by the user running this (or root) and is not group- or world-writable:
    a tarball that anyone else could have written or swapped is never trusted."""
    st = os.stat(path)
    uid = os.geteuid()
    why = []
    if st.st_uid not in (uid, 0):
        why.append("it is owned by uid %d, neither the user running this (uid %d) nor root" % (st.st_uid, uid))
    if st.st_mode & 0o022:
        who = {0o020: "its group", 0o002: "all users", 0o022: "its group and all users"}[st.st_mode & 0o022]
        why.append("it is writable by %s (mode %04o)" % (who, stat.S_IMODE(st.st_mode)))
    if why:
        raise RegistryError(
            "refusing to use the %s: %s: %s. Whoever can write there can plant a tarball that is then installed "
            "as root. Make it owned by uid %d (or root) and writable only by its owner (chmod go-w), or point "
            "qwen_code_artifact_cache at another directory." % (what, path, " and ".join(why), uid))


class ArtifactCache(object):
    """A directory of verified tarballs: <sha512 hex>.tgz, plus index/<name>@<version>.json recording which
    tarball a version is, so that looking a version up again needs no registry. Safe for concurrent writers: every
    file appears by rename. The index is only a hint: the caller decides which integrity to trust (see
    npm_unpack). The directory, its index and the files read from it must not be writable by other users
    (check_not_writable_by_others)."""

    def __init__(self, path):
        self.path = path

    def check(self):
        """RegistryError when the cache directory or its index directory could have been written by other users."""
        for path, what in ((self.path, "artifact cache directory"),
                           (os.path.join(self.path, "index"), "artifact cache index directory")):
            if os.path.exists(path):
                check_not_writable_by_others(path, what)

    def tarball_path(self, integrity):
        return os.path.join(self.path, sri_to_hex(integrity) + ".tgz")

    def index_path(self, name, version):
        return os.path.join(self.path, "index", "%s@%s.json" % (name.replace("/", "+"), version))

    def lookup(self, name, version):
        """The recorded entry (name, version, integrity, tarball) of an exact version, or None. The entry is what
        the index says, not a verified fact: its tarball may be absent, or not the package at all."""
        if not is_exact_version(version):
            return None
        path = self.index_path(name, version)
        if not os.path.isfile(path):
            return None
        check_not_writable_by_others(path, "artifact cache index entry")
        try:
            with open(path) as f:
                entry = json.load(f)
            sri_to_hex(entry["integrity"])
            return entry
        except (IOError, OSError, ValueError, KeyError, TypeError, RegistryError):
            return None

    def find(self, integrity):
        """The cached tarball with this integrity (by its name: the caller verifies the content), or None."""
        path = self.tarball_path(integrity)
        if not os.path.isfile(path):
            return None
        check_not_writable_by_others(path, "cached tarball")
        return path

    def create(self):
        """Creates the cache and its index directory (0755, whatever the umask) when missing."""
        makedirs_mode(os.path.join(self.path, "index"), 0o755)
        self.check()

    def workdir(self):
        """A temporary directory inside the cache: a download there moves into the cache without a copy."""
        self.create()
        return tempfile.mkdtemp(prefix=".download-", dir=self.path)

    def add(self, source, name, version, integrity, tarball_url=None):
        """Moves a verified tarball (in workdir()) into the cache and records it; returns its path in the cache."""
        kept = self.tarball_path(integrity)
        os.chmod(source, 0o644)
        # Replaces whatever has that name: the download is verified, a file already there may not be.
        os.rename(source, kept)
        entry = dict(name=name, version=version, integrity=integrity, tarball=tarball_url)
        atomic_write(self.index_path(name, version), json.dumps(entry, sort_keys=True), mode=0o644)
        return kept
