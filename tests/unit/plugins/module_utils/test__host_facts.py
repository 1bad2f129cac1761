"""_host_facts: the OS family, the C library, the package manager and sudo's secure_path, read from a fake root;
platform_problems refuses musl, old glibc, other architectures and the distro method without apt."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.qwenops.qwen_code.plugins.module_utils._host_facts import (
    host_os, libc, package_manager, platform_problems, sudo_secure_path)

ROCKY = 'NAME="Rocky Linux"\nVERSION_ID="9.4"\nID="rocky"\nID_LIKE="rhel centos fedora"\n'
UBUNTU = 'NAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n'
ALPINE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\n'
AMAZON2 = 'NAME="Amazon Linux"\nVERSION="2"\nID="amzn"\nID_LIKE="centos rhel fedora"\nVERSION_ID="2"\n'
SLES = 'NAME="SLES"\nVERSION_ID="15.6"\nID="sles"\nID_LIKE="suse"\n'


def tree(tmp_path, files):
    for path, text in files.items():
        full = tmp_path / path.lstrip("/")
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)
    return str(tmp_path)


@pytest.mark.parametrize("release, family, distribution", [
    (ROCKY, "rhel", "Rocky"), (UBUNTU, "debian", "Ubuntu"), (ALPINE, "alpine", "Alpine"),
    (AMAZON2, "amazon", "Amazon"), (SLES, "suse", "SLES"),
    ('ID=debian\nVERSION_ID="12"\n', "debian", "Debian"), ('ID=plan9\n', "other", "unknown")])
def test_family_from_id_and_id_like(tmp_path, release, family, distribution):
    facts = host_os(tree(tmp_path, {"/etc/os-release": release}), confstr="glibc 2.36")
    assert (facts["family"], facts["distribution"]) == (family, distribution)


def test_glibc_from_confstr_and_musl_from_its_loader(tmp_path):
    assert libc(str(tmp_path), confstr="glibc 2.36") == {"name": "glibc", "version": "2.36"}
    root = tree(tmp_path, {"/lib/ld-musl-x86_64.so.1": ""})
    assert libc(root, confstr="") == {"name": "musl", "version": ""}
    assert libc(str(tmp_path / "nothing"), confstr="") == {"name": "unknown", "version": ""}
    # glibc wins over a musl loader installed beside it (Debian's musl package ships one)
    assert libc(root, confstr="glibc 2.41")["name"] == "glibc"


def test_this_machine_reads_as_glibc():
    assert libc()["name"] == "glibc"  # the test machines are Debian


def test_package_manager(tmp_path):
    assert package_manager(tree(tmp_path, {"/usr/bin/dnf": ""})) == "dnf"
    assert package_manager(str(tmp_path / "none")) == "none"
    assert package_manager(tree(tmp_path / "d", {"/usr/bin/apt-get": ""})) == "apt"


def test_secure_path_last_one_wins_and_dotted_sudoers_d_files_are_skipped(tmp_path):
    root = tree(tmp_path, {
        "/etc/sudoers": 'Defaults env_reset\nDefaults    secure_path = /sbin:/bin:/usr/sbin:/usr/bin\n',
        "/etc/sudoers.d/10-path": 'Defaults secure_path="/usr/local/bin:/usr/bin:/bin"\n',
        "/etc/sudoers.d/README.txt": 'Defaults secure_path="/ignored"\n'})
    assert sudo_secure_path(root) == ["/usr/local/bin", "/usr/bin", "/bin"]
    os.unlink(os.path.join(root, "etc/sudoers.d/10-path"))
    assert sudo_secure_path(root) == ["/sbin", "/bin", "/usr/sbin", "/usr/bin"]
    assert sudo_secure_path(str(tmp_path / "nosudo")) is None


HOST = {"distribution": "Rocky", "version": "9.4", "architecture": "x86_64",
        "libc": {"name": "glibc", "version": "2.34"}, "package_manager": "dnf"}


def test_glibc_2_28_or_later_on_x86_64_or_aarch64_runs_the_private_node():
    assert platform_problems(HOST, "private") == []
    assert platform_problems(dict(HOST, architecture="aarch64"), "private") == []


@pytest.mark.parametrize("change, method, expected", [
    ({"libc": {"name": "musl", "version": ""}}, "private", "uses musl, not glibc"),
    ({"libc": {"name": "glibc", "version": "2.26"}}, "private", "glibc 2.26, and the official Node binaries need glibc 2.28"),
    ({"libc": {"name": "unknown", "version": ""}}, "private", "no C library the collection recognises"),
    ({"architecture": "ppc64le"}, "private", "the official Node binaries exist for x86_64 and aarch64 only"),
    ({}, "distro", "installs the nodejs package with apt, which this host (Rocky 9.4, package manager: dnf)"),
])
def test_refusals_say_why_and_what_to_use_instead(change, method, expected):
    problems = platform_problems(dict(HOST, **change), method)
    assert len(problems) == 1 and expected in problems[0], problems
    assert "qwen_code_node_method" in problems[0]


def test_the_system_method_takes_any_libc():
    assert platform_problems(dict(HOST, libc={"name": "musl", "version": ""}), "system") == []
