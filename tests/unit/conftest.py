"""Makes `ansible_collections.qwenops.qwen_code` importable from this checkout, and provides a local CA."""
import datetime
import ipaddress
import os
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_root = tempfile.mkdtemp(prefix="qwen-unit-collections-")
os.makedirs(os.path.join(_root, "ansible_collections", "qwenops"))
os.symlink(REPO, os.path.join(_root, "ansible_collections", "qwenops", "qwen_code"))
sys.path.insert(0, _root)
import ansible_collections  # noqa: E402  (a namespace package: extend it with this checkout)

ansible_collections.__path__.append(os.path.join(_root, "ansible_collections"))


@pytest.fixture(scope="session")
def tls_pair(tmp_path_factory):
    """A private CA and a server certificate for 127.0.0.1 / localhost signed by it (PEM file paths)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("qwenops test CA")).issuer_name(name("qwenops test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False),
                         critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return {k: str(v) for k, v in paths.items()}


def run_module(name, args, tmp_path, check=False, diff=False):
    """Runs a module of this collection the way Ansible does (a JSON args file); returns its JSON result."""
    import json
    import subprocess

    path = tmp_path / ("%s-args.json" % name)
    module_args = dict(args)
    module_args["_ansible_check_mode"] = check
    module_args["_ansible_diff"] = diff
    path.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    module = os.path.join(REPO, "plugins", "modules", name + ".py")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, module, str(path)], capture_output=True, text=True, env=env, check=False)
    try:
        result = json.loads(out.stdout)
    except ValueError:
        raise AssertionError("module %s printed no JSON: %s %s" % (name, out.stdout, out.stderr))
    result["_raw"] = out.stdout + out.stderr
    return result
