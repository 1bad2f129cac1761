"""releases_to_prune: the active release always stays; then the most recently active; runtimes go only when no
kept release uses them, and never when a kept release's runtimes are unknown."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.qwenops.qwen_code.plugins.filter.releases_to_prune import releases_to_prune
from ansible_collections.qwenops.qwen_code.plugins.module_utils._releases import DEFAULT

A = {"cli": DEFAULT, "node": "22.23.3", "npm": "10.9.9"}
B = {"cli": "0.23.4", "node": "22.23.3", "npm": "10.9.9"}
C = {"cli": "0.7.1", "node": "20.19.5", "npm": "10.8.0"}
INSTALLED = {"cli": ["0.7.1", "0.23.4", DEFAULT], "node": ["20.19.5", "22.23.3"], "npm": ["10.8.0", "10.9.9"]}


def test_keeps_the_active_and_the_one_active_before_it():
    r = releases_to_prune(INSTALLED, A, [C, B, A], 2)
    assert r == {"cli": ["0.7.1"], "kept": [DEFAULT, "0.23.4"], "node": ["20.19.5"], "npm": ["10.8.0"]}


def test_a_rollback_keeps_the_release_rolled_back_from():
    r = releases_to_prune(INSTALLED, B, [C, A, B], 2)
    assert r["kept"] == ["0.23.4", DEFAULT] and r["cli"] == ["0.7.1"]


def test_keep_one_leaves_only_the_active_release_and_its_runtimes():
    r = releases_to_prune(INSTALLED, C, [A, C], 1)
    assert r == {"cli": ["0.23.4", DEFAULT], "kept": ["0.7.1"], "node": ["22.23.3"], "npm": ["10.9.9"]}


def test_version_order_not_string_order_without_history():
    r = releases_to_prune(INSTALLED, A, [], 2)
    assert r["kept"] == [DEFAULT, "0.23.4"] and r["cli"] == ["0.7.1"]
    assert r["node"] == [] and r["npm"] == []  # 0.23.4's runtimes are not recorded: nothing guessed


def test_the_active_release_is_kept_even_when_not_listed_as_installed():
    r = releases_to_prune({"cli": ["0.23.4"]}, A, [B], 1)
    assert r["kept"] == [DEFAULT] and r["cli"] == ["0.23.4"]


@pytest.mark.parametrize("keep", [0, -1, "x"])
def test_keep_must_be_a_positive_integer(keep):
    with pytest.raises(AnsibleFilterError):
        releases_to_prune(INSTALLED, A, [], keep)
