"""The execution environment (ee/execution-environment.yml), tested the way AWX and Ansible Automation Platform use
one, with the pinned tools of .venv/ee (tests/requirements-ee.txt):

1. `ansible-builder create` makes a valid build context from the shipped definition and this checkout's collection
   tarball, and ansible-builder's own introspection reads the collection's needs through its
   meta/execution-environment.yml (a requirement added to the file it names shows up, attributed to the collection).
2. ansible-runner runs the provision playbook from a private data directory (project/, inventory/, env/extravars
   with the key, env/ssh_key: AWX's layout) on this machine, over SSH as `deploy` with sudo, against a throwaway
   Debian 12 container; qwen answers there through the stub provider on the container's loopback; a second run
   changes nothing; neither the job events nor the output hold the key.
3. `ansible-builder build` makes the image on a Debian 12 base (debian:bookworm, debootstrapped when no registry
   answers, plus this machine's CA bundle: tests/images/Dockerfile.ee-base), and ansible-runner runs the same
   project inside it (`--process-isolation` with docker, as AWX runs a job in its execution environment) against a
   fresh container, with the collection the image holds: qwen answers, and a second run changes nothing.

Images are cached by the content of their inputs (qwen-ee-base:<hash>, qwen-ee-test:<hash>); containers are
removed. The runs' output goes to tests/output/logs/ee; the private data directories (which hold the key) stay in a
temporary directory that is removed.
"""
import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import uuid

import pytest
import yaml

from harness import HOST_CA, REPO, Container, docker, ensure_base_image, write_vars
from molecule_verify import as_user
from stub_harness import REPLY, requests_in, start_in_container

CANARY = os.environ["QWEN_TEST_CANARY_KEY"]
EE_BIN = os.path.join(REPO, ".venv", "ee", "bin")
LOGS = os.path.join(REPO, "tests", "output", "logs", "ee")
SSH_IMAGE = "qwenops-test/debian-ssh:bookworm"
STUB_PORT = 18095
# The host's sshd, on this machine's loopback (the host shares its network, as in molecule/ssh): the jobs reach it
# at 127.0.0.1, from this machine and from the execution environment's container (also on the host's network).
SSH_PORT = 22295
MODEL = "qwenops/stub-coder"
# QWEN_TEST_EE_REBUILD=1: build the image from scratch (no image or layer cache), to measure a cold build.
REBUILD = os.environ.get("QWEN_TEST_EE_REBUILD") == "1"
VARS = {
    "qwen_code_users": ["alice"],
    "qwen_code_provider": "custom",
    "qwen_code_base_url": "http://127.0.0.1:%d/v1" % STUB_PORT,
    "qwen_code_api_key": CANARY,
    "qwen_code_model": MODEL,
    # The controller's CA bundle (this workplace intercepts TLS): on this machine its own, inside the execution
    # environment the image's (its base trusts the same roots).
    "qwen_code_ca_bundle": HOST_CA,
    "qwen_code_verify_probe": "chat",
    "qwen_code_smoke_test": True,
}
# AWX's project: a playbook of the project's own that runs the collection's, by name.
SITE = [{"name": "Provision the qwen CLI", "ansible.builtin.import_playbook": "qwenops.qwen_code.provision"}]


def ee_tool(*args, **kw):
    return subprocess.run([os.path.join(EE_BIN, args[0])] + list(args[1:]), capture_output=True, text=True,
                          check=False, **kw)


def galaxy_version():
    with open(os.path.join(REPO, "galaxy.yml")) as f:
        return yaml.safe_load(f)["version"]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """The module's temporary directory, removed at the end (pytest would keep it): the private data directories
    hold the key (env/extravars) and the throwaway SSH key."""
    os.makedirs(LOGS, exist_ok=True)
    path = tmp_path_factory.mktemp("ee")
    yield path
    shutil.rmtree(str(path))


@pytest.fixture(scope="module")
def definition(work):
    """A copy of ee/ with this checkout's collection tarball beside the definition, as the README says to build."""
    built = work / "built"
    run = subprocess.run([os.path.join(REPO, "tests", "tools", "build-collection"), "--force", "--output-path",
                          str(built)], capture_output=True, text=True, check=False,
                         env=dict(os.environ, PATH=EE_BIN + os.pathsep + os.environ.get("PATH", "")))
    assert run.returncode == 0, run.stdout + run.stderr
    ee = work / "ee"
    shutil.copytree(os.path.join(REPO, "ee"), str(ee), ignore=shutil.ignore_patterns("*.tar.gz", "context"))
    (tarball,) = glob.glob(str(built / "qwenops-qwen_code-*.tar.gz"))
    shutil.copy(tarball, str(ee / "qwenops-qwen_code.tar.gz"))
    return ee / "execution-environment.yml"


@pytest.fixture(scope="module")
def context(work, definition):
    ctx = work / "context"
    run = ee_tool("ansible-builder", "create", "-f", str(definition), "-c", str(ctx), "--output-filename",
                  "Containerfile")
    assert run.returncode == 0, run.stdout + run.stderr
    return ctx


def test_build_context_is_valid(context):
    containerfile = (context / "Containerfile").read_text()
    # Debian 12 with apt-get in place of dnf, the pinned controller, and the stages that install the collection
    # and what its metadata asks for.
    for line in ('ARG EE_BASE_IMAGE="docker.io/library/debian:bookworm"', 'ARG PKGMGR="/usr/bin/apt-get"',
                 'ARG PYPKG="python3 python3-pip python3-venv"',
                 'ARG ANSIBLE_INSTALL_REFS="ansible-core==2.19.14 ansible-runner==2.4.3"',
                 "FROM $EE_BASE_IMAGE AS base", "RUN apt-get update", "FROM base AS galaxy",
                 "ENV PIP_CONSTRAINT=/etc/qwenops-ee/constraints.txt",
                 "FROM base AS builder", "FROM base AS final", "COPY _build/bindep.txt bindep.txt",
                 "RUN /output/scripts/assemble", "RUN /output/scripts/install-from-bindep && rm -rf /output/wheels",
                 "RUN /output/scripts/check_ansible $PYCMD", "LABEL ansible-execution-environment=true"):
        assert line in containerfile.splitlines(), line
    assert ("ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml "
            '--collections-path "/usr/share/ansible/collections"') in containerfile
    assert "/output/scripts/introspect.py introspect --user-bindep=bindep.txt" in containerfile
    for script in ("assemble", "install-from-bindep", "introspect.py", "check_ansible", "entrypoint"):
        assert (context / "_build" / "scripts" / script).is_file(), script
    # The collection is in the context, as the tarball the galaxy stage installs: this checkout's, with its EE
    # metadata inside.
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert requirements == {"collections": [{"name": "collections/qwenops-qwen_code.tar.gz", "type": "file"}]}
    with tarfile.open(str(context / "_build" / "collections" / "qwenops-qwen_code.tar.gz")) as tar:
        manifest = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
        names = tar.getnames()
        meta = yaml.safe_load(tar.extractfile("meta/execution-environment.yml"))
    assert (manifest["namespace"], manifest["name"], manifest["version"]) == ("qwenops", "qwen_code",
                                                                              galaxy_version())
    assert meta == {"version": 1, "dependencies": {"python": "meta/ee-requirements.txt",
                                                   "system": "meta/ee-bindep.txt"}}
    assert {"meta/ee-requirements.txt", "meta/ee-bindep.txt", "playbooks/provision.yml"} <= set(names)
    with open(os.path.join(REPO, "ee", "constraints.txt")) as f:
        assert (context / "_build" / "constraints" / "constraints.txt").read_text() == f.read()
    # The execution environment's own system needs: an SSH client.
    assert "openssh-client [platform:dpkg]" in (context / "_build" / "bindep.txt").read_text().splitlines()


def introspect(collections):
    run = ee_tool("ansible-builder", "introspect", "--sanitize", str(collections))
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_introspection_reads_the_collection_metadata(work, context):
    """What the builder stage's introspection (the same code, `ansible-builder introspect`) takes from the
    collection as installed from the context's tarball: nothing, since it needs nothing beyond ansible-core; and a
    requirement added to the files meta/execution-environment.yml names does reach the image's requirements,
    attributed to the collection (so the metadata is what ansible-builder reads)."""
    collections = work / "introspect"
    run = ee_tool("ansible-galaxy", "collection", "install", "-p", str(collections),
                  str(context / "_build" / "collections" / "qwenops-qwen_code.tar.gz"),
                  env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections)))  # not this checkout's
    assert run.returncode == 0, run.stdout + run.stderr
    installed = collections / "ansible_collections" / "qwenops" / "qwen_code"
    assert (installed / "MANIFEST.json").is_file()
    assert "qwenops.qwen_code" not in introspect(collections)
    with open(str(installed / "meta" / "ee-requirements.txt"), "a") as f:
        f.write("jmespath==1.0.1\n")
    with open(str(installed / "meta" / "ee-bindep.txt"), "a") as f:
        f.write("libqwenops-probe [platform:dpkg]\n")
    out = introspect(collections)
    assert "jmespath==1.0.1  # from collection qwenops.qwen_code" in out, out
    assert "libqwenops-probe [platform:dpkg]  # from collection qwenops.qwen_code" in out, out
    # Without the metadata file, ansible-builder falls back to a requirements.txt at the collection's root: the
    # lines above must have come through meta/execution-environment.yml.
    os.remove(str(installed / "meta" / "execution-environment.yml"))
    assert "qwenops.qwen_code" not in introspect(collections)


class Host(Container):
    """A Debian 12 container with sshd on 127.0.0.1:SSH_PORT of this machine's network, reached as `deploy` (sudo to
    root), alice to configure, the stub provider on the same loopback."""

    def __init__(self, tag, public_key):
        # sudo resolves the host's name (this machine's, on its network), which the container's /etc/hosts lacks.
        super().__init__(SSH_IMAGE, tag, "--network", "host", "--add-host", "%s:127.0.0.1" % socket.gethostname(),
                         prefix="qwen-ee", command=("/usr/sbin/sshd", "-D", "-e", "-p", str(SSH_PORT),
                                                    "-o", "ListenAddress=127.0.0.1"))
        self.sh("useradd -m -s /bin/bash alice && useradd -m -s /bin/bash deploy && "
                "install -d -o deploy -g deploy -m 0700 /home/deploy/.ssh && "
                "echo 'deploy ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/deploy && chmod 0440 /etc/sudoers.d/deploy")
        self.write_secret("/home/deploy/.ssh/authorized_keys", public_key)
        self.sh("chown deploy:deploy /home/deploy/.ssh/authorized_keys")
        start_in_container(self, CANARY, MODEL, port=STUB_PORT)

    def answer(self):
        return self.sh(as_user("alice", 'cd /var/tmp && echo test | qwen -p "summarize"'), check=False)


@pytest.fixture(scope="module")
def ssh_key(work):
    key = work / "deploy_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "qwen-ee-test", "-f", str(key)], check=True)
    return key


@pytest.fixture
def host(ssh_key):
    subprocess.run([os.path.join(REPO, "tests", "tools", "ensure-ssh-image"), "bookworm"], check=True)
    h = Host("host", (ssh_key.parent / (ssh_key.name + ".pub")).read_text())
    yield h
    h.remove()


def private_data_dir(path, host, ssh_key):
    """AWX's layout: project/ with the playbook, inventory/, env/extravars (the key: 0600, never a command line),
    env/envvars, env/ssh_key (the machine credential)."""
    for sub in ("project", "inventory", "env"):
        (path / sub).mkdir(parents=True)
    (path / "project" / "site.yml").write_text(yaml.safe_dump(SITE, sort_keys=False))
    write_vars(str(path / "inventory" / "hosts.yml"), {"all": {"hosts": {"ee-host": {
        "ansible_host": "127.0.0.1", "ansible_port": SSH_PORT, "ansible_user": "deploy",
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"}}}})
    write_vars(str(path / "env" / "extravars"), VARS)
    write_vars(str(path / "env" / "envvars"), {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0"})
    shutil.copy(str(ssh_key), str(path / "env" / "ssh_key"))
    return path


def runner(pdd, name, *options):
    """ansible-runner run, its artifacts in pdd/artifacts/<ident> (ident: qwen-ee-<name>-<random>; a job in the image
    runs in the container ansible_runner_<ident>, removed even if the run is interrupted); its output logged as
    tests/output/logs/ee/<name>.log. Returns (rc, output, the play's recap from the job events, the artifacts)."""
    ident = "qwen-ee-%s-%s" % (name, uuid.uuid4().hex[:8])
    # Not the canary's variable: ansible-runner records its whole environment in artifacts/<ident>/command (the
    # first version of this test found the key there). The key reaches the job through env/extravars alone.
    env = {k: v for k, v in os.environ.items() if CANARY not in v}
    env["PATH"] = EE_BIN + os.pathsep + os.environ["PATH"]
    try:
        run = ee_tool("ansible-runner", "run", str(pdd), "-p", "site.yml", "--ident", ident, *options, env=env)
    finally:
        docker("rm", "-f", "ansible_runner_" + ident, check=False)
    artifacts = pdd / "artifacts" / ident
    stdout = (artifacts / "stdout").read_text() if (artifacts / "stdout").exists() else ""
    with open(os.path.join(LOGS, "%s.log" % name), "w") as f:
        f.write((stdout or run.stdout) + run.stderr)  # (ansible-runner prints the job's stdout as it goes)
    events = [json.loads(p.read_text()) for p in (artifacts / "job_events").glob("*.json")]
    stats = [e["event_data"] for e in events if e.get("event") == "playbook_on_stats"]
    return run.returncode, stdout + run.stderr, (stats[0] if stats else {}), artifacts


def assert_no_key_but_the_input(pdd):
    """The key is in env/extravars, the input, and nowhere else in the private data directory: not in the output,
    the job events (no_log holds), the command runner recorded, or the environment it gave the container."""
    found = []
    for root, _dirs, files in os.walk(str(pdd)):
        for name in files:
            path = os.path.join(root, name)
            if path == str(pdd / "env" / "extravars") or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                if CANARY.encode() in f.read():
                    found.append(os.path.relpath(path, str(pdd)))
    assert not found, "the key is in %s" % found
    assert (pdd / "artifacts").is_dir()


def assert_provisioned_twice(pdd, host, first, second):
    rc, out, stats = first[:3]
    assert rc == 0, out[-3000:]
    assert stats["changed"].get("ee-host", 0) > 0 and not stats["failures"] and not stats["dark"], stats
    answer = host.answer()
    assert answer.returncode == 0 and REPLY in answer.stdout, answer.stdout + answer.stderr
    asked = len(requests_in(host))
    assert asked > 0 and all(r.get("auth_ok") for r in requests_in(host))
    rc, out, stats = second[:3]
    assert rc == 0, out[-3000:]
    assert stats["changed"].get("ee-host", 0) == 0 and stats["ok"]["ee-host"] > 0 and not stats["failures"], stats
    assert len(requests_in(host)) == asked, "a run with nothing to change asked the provider"
    assert_no_key_but_the_input(pdd)


def test_ansible_runner_provisions_a_host(work, ssh_key, host):
    """ansible-runner on this machine (ansible-core 2.19.14 of .venv/ee; the collection from this checkout)."""
    pdd = private_data_dir(work / "runner", host, ssh_key)
    first = runner(pdd, "runner-first")
    second = runner(pdd, "runner-second")
    assert_provisioned_twice(pdd, host, first, second)


# ---- the image ----

def digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def context_digest(ctx):
    """The build context's content: every file's path and bytes, the collection tarball by its members' content
    (ansible-galaxy stamps the build time into it)."""
    parts = []
    for path in sorted(p for p in ctx.rglob("*") if p.is_file()):
        parts.append(str(path.relative_to(ctx)).encode())
        if path.name.endswith(".tar.gz"):
            with tarfile.open(str(path)) as tar:
                for member in sorted(tar.getmembers(), key=lambda m: m.name):
                    parts.append(member.name.encode())
                    if member.isfile():
                        parts.append(tar.extractfile(member).read())
        else:
            parts.append(path.read_bytes())
    return digest(*parts)


def image_exists(tag):
    return docker("image", "inspect", tag, check=False).returncode == 0


def drop_other_tags(repository, keep):
    for tag in docker("images", repository, "--format", "{{.Repository}}:{{.Tag}}").stdout.split():
        if tag != keep:
            docker("rmi", tag, check=False)


def ensure_ee_base():
    """debian:bookworm plus this machine's CA bundle (tests/images/Dockerfile.ee-base), tagged by its inputs."""
    ensure_base_image("bookworm", "debian:bookworm")
    dockerfile = os.path.join(REPO, "tests", "images", "Dockerfile.ee-base")
    with open(dockerfile, "rb") as f, open(HOST_CA, "rb") as ca:
        tag = "qwen-ee-base:" + digest(f.read(), ca.read(),
                                       docker("image", "inspect", "-f", "{{.Id}}", "debian:bookworm").stdout.encode())
    if not image_exists(tag):
        ctx = tempfile.mkdtemp(prefix="qwen-ee-base.")
        try:
            shutil.copy(HOST_CA, os.path.join(ctx, "host-ca.pem"))
            docker("build", "-q", "-f", dockerfile, "-t", tag, ctx)
        finally:
            shutil.rmtree(ctx)
        drop_other_tags("qwen-ee-base", tag)
    return tag


@pytest.fixture(scope="module")
def ee_image(definition, context):
    """`ansible-builder build` of the shipped definition on the CA-trusting Debian base, cached by the build
    context's content; its log is tests/output/logs/ee/build.log."""
    base = ensure_ee_base()
    tag = "qwen-ee-test:" + digest(context_digest(context).encode(), base.encode())
    if image_exists(tag) and not REBUILD:
        with open(os.path.join(LOGS, "build.log"), "w") as f:
            f.write("ee image %s present (same build context and base): not rebuilt\n" % tag)
        return tag
    args = ["ansible-builder", "build", "-f", str(definition), "-c", str(context), "-t", tag, "--container-runtime",
            "docker", "--build-arg", "EE_BASE_IMAGE=" + base, "-v", "3"] + (["--no-cache"] if REBUILD else [])
    run = ee_tool(*args)
    if run.returncode != 0:  # a cached `apt-get update` layer may name packages the mirror no longer has
        run = ee_tool(*args + ["--no-cache"])
    with open(os.path.join(LOGS, "build.log"), "w") as f:
        f.write(run.stdout + run.stderr)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    drop_other_tags("qwen-ee-test", tag)
    return tag


def test_image_holds_the_collection_and_the_controller(ee_image):
    out = docker("run", "--rm", ee_image, "sh", "-c",
                 "ansible --version; ansible-runner --version; ansible-galaxy collection list qwenops.qwen_code; "
                 "command -v ssh; command -v ssh-agent; id -u; cat /etc/os-release").stdout
    assert "ansible [core 2.19.14]" in out and "2.4.3" in out
    assert "/usr/share/ansible/collections/ansible_collections" in out and "qwenops.qwen_code" in out
    assert "/usr/bin/ssh\n/usr/bin/ssh-agent\n1000\n" in out
    assert 'VERSION_CODENAME=bookworm' in out
    # Every Python package pip installed has the version ee/constraints.txt pins.
    with open(os.path.join(REPO, "ee", "constraints.txt")) as f:
        pinned = dict(line.strip().lower().split("==") for line in f if "==" in line and not line.startswith("#"))
    freeze = docker("run", "--rm", ee_image, "pip", "list", "--format=freeze").stdout
    frozen = dict(line.lower().split("==") for line in freeze.split())
    for name, version in frozen.items():
        assert name in ("pip", "setuptools", "wheel") or pinned.get(name) == version, (name, version)
    assert pinned["ansible-core"] == frozen["ansible-core"] and pinned["dumb-init"] == frozen["dumb-init"]
    assert docker("image", "inspect", "-f", "{{index .Config.Labels \"ansible-execution-environment\"}}",
                  ee_image).stdout.strip() == "true"


def test_ansible_runner_provisions_a_host_inside_the_image(work, ssh_key, host, ee_image):
    """The job runs in the image (ansible-runner's process isolation with docker, as AWX runs it), with the
    image's collection: nothing of this checkout is mounted, only the private data directory."""
    pdd = private_data_dir(work / "image", host, ssh_key)
    isolation = ["--process-isolation", "--process-isolation-executable", "docker", "--container-image", ee_image,
                 "--container-option=--network=host"]
    first = runner(pdd, "image-first", *isolation)
    second = runner(pdd, "image-second", *isolation)
    assert_provisioned_twice(pdd, host, first, second)
    command = json.loads((first[3] / "command").read_text())["command"]
    assert command[:2] == ["docker", "run"] and ee_image in command and "ansible-playbook" in command[-1], command
    assert not any(REPO in arg for arg in command), command
    env_list = (first[3] / "env.list").read_text()
    assert "ANSIBLE_COLLECTIONS_PATH" not in env_list and REPO not in env_list, env_list
