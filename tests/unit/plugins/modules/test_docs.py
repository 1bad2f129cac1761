"""`ansible-doc` renders the modules, examples included (what `ansible-test sanity` checks too)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys

import pytest

from ansible_collections.qwenops.qwen_code.tests.unit.helpers import REPO

ANSIBLE_DOC = os.path.join(os.path.dirname(sys.executable), "ansible-doc")


@pytest.fixture(scope="module")
def collections_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("collections")
    os.makedirs(str(root / "ansible_collections" / "qwenops"))
    os.symlink(REPO, str(root / "ansible_collections" / "qwenops" / "qwen_code"))
    return str(root)


@pytest.mark.skipif(not os.path.exists(ANSIBLE_DOC), reason="ansible-doc is not installed beside this Python")
@pytest.mark.parametrize("module, expected", [
    ("provider_check", ["reason", "fail_on_error", "in addition to", "qwenops.qwen_code.provider_check:"]),
    ("oauth_creds_info", ["refresh_token_sha256", "fail_on_invalid", "qwenops.qwen_code.oauth_creds_info:"]),
    ("install_info", ["missing_users", "probe_node", "manifest_path", "problems", "qwenops.qwen_code.install_info:"]),
    ("cli_install", ["offline", "stale_after", "qwenops.qwen_code.cli_install:"]),
    ("user_config", ["settings.json", "never logged", "qwenops.qwen_code.user_config:"]),
    ("npm_unpack", ["cache_path", "resolve_only", "qwenops.qwen_code.npm_unpack:"]),
])
def test_ansible_doc_renders_with_examples(collections_path, module, expected):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    out = subprocess.run([ANSIBLE_DOC, "qwenops.qwen_code." + module], capture_output=True, text=True, env=env,
                         check=False, timeout=120)
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
    assert "EXAMPLES:" in out.stdout and "RETURN VALUES:" in out.stdout
    for text in expected:
        assert text in out.stdout, text
