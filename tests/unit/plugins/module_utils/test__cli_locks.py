"""What a pinned tree means on a host: which of its packages npm installs there (by os, cpu, libc and the Node's
engines), and what an installed tree lacks or has besides the lock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._cli_locks import (
    expected_locations, host_platform, known_lock, packages_with_integrity, runs_on, tree_problems)
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

PACKAGE = "@qwen-code/qwen-code"
TOP = "node_modules/" + PACKAGE


def names(locations):
    return sorted(location.rsplit("node_modules/", 1)[1] for location in locations)


def host(cpu="x64", libc="glibc", node="22.23.3", os_name="linux"):
    return dict(os=os_name, cpu=cpu, libc=libc, node=node)


COMMON = ["@img/colour", "@lydell/node-pty", "@qwen-code/audio-capture", "@qwen-code/qwen-code",
          "@teddyzhu/clipboard", "detect-libc", "node-gyp-build", "semver", "sharp"]


@pytest.mark.parametrize("platform, native", [
    (host(), ["@img/sharp-libvips-linux-x64", "@img/sharp-linux-x64", "@lydell/node-pty-linux-x64",
              "@teddyzhu/clipboard-linux-x64-gnu"]),
    # (the lock has no arm64 build of the clipboard: npm resolved 0.0.5 without one, so arm64 hosts go without it)
    (host(cpu="arm64"), ["@img/sharp-libvips-linux-arm64", "@img/sharp-linux-arm64", "@lydell/node-pty-linux-arm64"]),
    (host(libc="musl"), ["@img/sharp-libvips-linuxmusl-x64", "@img/sharp-linuxmusl-x64",
                         "@lydell/node-pty-linux-x64"]),
])
def test_the_pinned_tree_of_the_default_release_on_each_platform(platform, native):
    lock = known_lock(PACKAGE, DEFAULT)
    assert names(expected_locations(lock, PACKAGE, platform)) == sorted(COMMON + native)


def test_an_optional_package_whose_engines_exclude_the_node_is_not_expected():
    lock = known_lock(PACKAGE, DEFAULT)
    expected = names(expected_locations(lock, PACKAGE, host(node="20.20.2")))
    # audio-capture wants Node >= 22, so npm leaves it out on 20, and node-gyp-build with it (only it needs that)
    assert "@qwen-code/audio-capture" not in expected and "node-gyp-build" not in expected
    assert "@teddyzhu/clipboard-linux-x64-gnu" in expected


@pytest.mark.parametrize("entry, platform, runs", [
    ({}, host(), True),
    ({"os": ["win32"]}, host(), True),  # not optional: always installed (npm would fail on it)
    ({"optional": True, "os": ["win32"]}, host(), False),
    ({"optional": True, "os": ["!win32"]}, host(), True),
    ({"optional": True, "os": ["!linux"]}, host(), False),
    ({"optional": True, "cpu": ["arm64"]}, host(), False),
    ({"optional": True, "libc": ["musl"]}, host(), False),
    ({"optional": True, "libc": ["glibc"], "os": ["linux"], "cpu": ["x64"]}, host(), True),
    ({"optional": True, "engines": {"node": ">=22"}}, host(node="v22.0.0"), True),
    ({"optional": True, "engines": {"node": ">=22.1.0"}}, host(node="22.0.9"), False),
    ({"optional": True, "engines": {"node": "^22 || ^24"}}, host(node="20.0.0"), True),  # unread: expected
    ({"optional": True, "engines": {"node": ">=22"}}, host(node=None), True),
])
def test_runs_on(entry, platform, runs):
    assert runs_on(entry, platform) is runs


def test_this_host_as_npm_sees_it():
    platform = host_platform("22.23.3")
    assert platform["os"] == "linux" and platform["libc"] in ("glibc", "musl") and platform["node"] == "22.23.3"
    assert platform["cpu"] in ("x64", "arm64", "arm", "ppc64", "s390x", "riscv64")


def write_package(lib, location, version):
    path = os.path.join(lib, location)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "package.json"), "w") as f:
        json.dump({"name": location.rsplit("node_modules/", 1)[1], "version": version}, f)


def test_tree_problems_name_what_is_missing_wrong_or_extra(tmp_path):
    lock = known_lock(PACKAGE, DEFAULT)
    lib = str(tmp_path)
    platform = host()
    for location in expected_locations(lock, PACKAGE, platform):
        write_package(lib, location, lock["packages"][location]["version"])
    # what npm installs besides (sharp-wasm32 and its dependencies are in the lock, though no platform needs them)
    write_package(lib, TOP + "/node_modules/@img/sharp-wasm32", "0.35.4")
    os.makedirs(os.path.join(lib, TOP, "node_modules", ".bin"))
    assert tree_problems(lock, PACKAGE, lib, platform) == []
    # npm dropped a package whose tarball failed its integrity; another is of another version; a third is foreign
    gone = os.path.join(lib, TOP, "node_modules", "@teddyzhu", "clipboard-linux-x64-gnu")
    for name in os.listdir(gone):
        os.remove(os.path.join(gone, name))
    os.rmdir(gone)
    write_package(lib, TOP + "/node_modules/left-pad", "1.3.0")
    with open(os.path.join(lib, TOP, "node_modules", "semver", "package.json"), "w") as f:
        json.dump({"version": "7.0.0"}, f)
    assert tree_problems(lock, PACKAGE, lib, platform) == [
        "@teddyzhu/clipboard-linux-x64-gnu 0.0.5 is missing", "semver is 7.0.0, not the pinned 7.8.6",
        "left-pad is not in the pinned tree"]


def test_packages_are_named_by_the_integrity_npm_quotes():
    lock = known_lock(PACKAGE, DEFAULT)
    integrity = lock["packages"][TOP + "/node_modules/tslib"]["integrity"]
    text = "npm error %s integrity checksum failed when using sha512: wanted %s but got sha512-x" % (
        integrity, integrity)
    assert packages_with_integrity(lock, text) == ["tslib@2.9.1"]
    assert packages_with_integrity(lock, "npm error code ECONNRESET") == []
