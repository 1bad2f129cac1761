"""_transport: the shared network options (argument spec and doc fragment in step), the extra CA bundle on every
ansible-core, proxies from options, and URLs without credentials."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import ssl

import pytest
import yaml

from ansible_collections.qwenops.qwen_code.plugins.doc_fragments.transport import ModuleDocFragment
from ansible_collections.qwenops.qwen_code.plugins.module_utils import _transport
from ansible_collections.qwenops.qwen_code.plugins.module_utils._transport import (
    apply_proxy_options, make_request, proxy_environment, proxy_for, redact_url, transport_argument_spec)


def documented(*variants):
    options = {}
    for variant in variants:
        options.update(yaml.safe_load(getattr(ModuleDocFragment, variant))["options"])
    return options


@pytest.mark.parametrize("timeout, variants", [(None, ("DOCUMENTATION", "NPM")),
                                               (10, ("DOCUMENTATION", "REQUESTS")),
                                               (60, ("DOCUMENTATION", "REQUESTS"))])
def test_the_argument_spec_is_what_the_doc_fragment_documents(timeout, variants):
    spec, docs = transport_argument_spec(timeout), documented(*variants)
    assert sorted(spec) == sorted(docs)
    for name, option in spec.items():
        assert option["type"] == docs[name]["type"], name
        if name != "timeout":  # each module states its own default
            assert option.get("default") == docs[name].get("default"), name
    if timeout is not None:
        assert spec["timeout"]["default"] == timeout


def test_proxy_credentials_are_no_log():
    spec = transport_argument_spec(10)
    assert [name for name, option in sorted(spec.items()) if option.get("no_log")] == ["http_proxy", "https_proxy"]


def test_proxy_environment_sets_both_spellings_of_what_is_set():
    env = proxy_environment({"https_proxy": "http://u:p@proxy:3128", "http_proxy": "", "no_proxy": None})
    assert env == {"https_proxy": "http://u:p@proxy:3128", "HTTPS_PROXY": "http://u:p@proxy:3128"}


def test_apply_proxy_options_leaves_the_environment_alone_for_unset_options(monkeypatch):
    monkeypatch.setenv("http_proxy", "http://from-the-environment:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    apply_proxy_options({"http_proxy": None, "no_proxy": "localhost"})
    assert os.environ["http_proxy"] == "http://from-the-environment:3128"
    assert os.environ["no_proxy"] == os.environ["NO_PROXY"] == "localhost"


@pytest.mark.parametrize("url, shown", [
    ("https://user:pw@proxy.example:3128/x", "https://proxy.example:3128/x"),
    ("https://token@proxy.example/", "https://proxy.example/"),
    ("https://proxy.example/v1", "https://proxy.example/v1"),
    ("http://[::1/v1", "<invalid URL>"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_proxy_for_hides_credentials_and_honours_no_proxy(monkeypatch, no_proxy_env):
    monkeypatch.setenv("https_proxy", "http://user:pw@proxy.example:3128")
    monkeypatch.setenv("no_proxy", "internal.example")
    assert proxy_for("https://provider.example/v1") == "http://proxy.example:3128"
    assert proxy_for("https://internal.example/v1") is None
    assert proxy_for("http://provider.example/v1") is None


def test_make_request_never_reads_netrc():
    assert make_request(validate_certs=False).use_netrc is False


def test_an_unusable_ca_path_raises(tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("not a certificate\n")
    with pytest.raises(ssl.SSLError):
        make_request(ca_path=str(bundle))
    with pytest.raises((IOError, OSError)):
        make_request(ca_path=str(tmp_path / "missing.pem"))


def test_on_ansible_core_2_16_a_combined_bundle_of_the_system_store_and_ca_path_is_used(tls_pair, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", tls_pair["other_ca"])  # the "system store"
    real, seen = _transport.Request, []

    def request_without_context(**kwargs):
        if "context" in kwargs:
            raise TypeError("__init__() got an unexpected keyword argument 'context'")
        seen.append(kwargs["ca_path"])
        return real(**kwargs)
    monkeypatch.setattr(_transport, "Request", request_without_context)
    make_request(ca_path=tls_pair["ca"])
    with open(seen[0]) as combined, open(tls_pair["other_ca"]) as system, open(tls_pair["ca"]) as extra:
        assert combined.read() == system.read() + "\n" + extra.read()
    _transport._remove_quietly(seen[0])  # what atexit does
    assert not os.path.exists(seen[0])
