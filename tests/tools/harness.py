"""Throwaway Debian containers and ansible-playbook runs against them, shared by the integration suite
(tests/integration), the image suite (tests/image) and the benchmarks (bench/).

tests/tools is on the import path of the project's virtualenv (tests/tools/env.sh writes a .pth file), so
`import harness` works from any of them.
"""
import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(REPO, "tests", "tools")
TEST_IMAGE = "qwenops-test/debian:bookworm"  # the Molecule platform image (tests/tools/ensure-test-image)
HOST_CA = "/etc/ssl/certs/ca-certificates.crt"  # the machine's roots, with any TLS-intercepting proxy's CA
# What a run may change on a host: the state compared before and after a failing run.
SNAPSHOT = ("find /opt /etc/qwen-code /usr/local/bin /home -xdev -printf '%p %m %u %g %s\\n' 2>/dev/null | sort; "
            "find /opt/qwen-code/cli /etc/qwen-code /usr/local/bin /home -xdev -type f -print0 2>/dev/null "
            "| sort -z | xargs -0 -r sha256sum")


def docker(*args, check=True, **kw):
    return subprocess.run(["docker"] + list(args), check=check, capture_output=True, text=True, **kw)


def ensure_test_image(*suites):
    """The platform images (qwenops-test/debian:<suite>), built locally when no registry answers."""
    subprocess.run([os.path.join(TOOLS, "ensure-test-image")] + list(suites), check=True)


def ensure_base_image(suite, tag):
    """debian:<suite> (or a variant such as debian:trixie-slim), built locally when no registry answers."""
    subprocess.run([os.path.join(TOOLS, "ensure-base-image"), suite, tag], check=True)


class Container:
    """A detached container (`docker run -d`), removed by remove(); command replaces the image's CMD."""

    def __init__(self, image, tag, *run_args, prefix="qwen-it", command=()):
        self.name = "%s-%s-%s" % (prefix, tag, uuid.uuid4().hex[:8])
        docker("run", "-d", "--name", self.name, *run_args, image, *command)

    def sh(self, cmd, check=True):
        return docker("exec", self.name, "sh", "-c", cmd, check=check)

    def write_secret(self, path, content):
        """A root-only file, its content through stdin: never on a command line that ps shows."""
        docker("exec", "-i", self.name, "sh", "-c", 'umask 077; cat > "$0"', path, input=content)

    def copy_in(self, src, dest):
        docker("cp", src, "%s:%s" % (self.name, dest))

    def snapshot(self):
        return self.sh(SNAPSHOT).stdout

    def remove(self):
        docker("rm", "-f", self.name, check=False)


class PsSampler(threading.Thread):
    """Samples every process's command line, in the container and on the controller, during a run."""

    def __init__(self, container):
        super().__init__(daemon=True)
        self.container, self.samples, self.stop = container, [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            here = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=False)
            self.samples.append(here.stdout)
            self.samples.append(self.container.sh("ps -eo args", check=False).stdout)
            time.sleep(0.2)


def write_inventory(path, containers):
    """An inventory of the containers, reached through community.docker.docker, with each container's host_vars
    (a dict attribute, when it has one)."""
    hosts = {c.name: dict(getattr(c, "host_vars", {}), ansible_connection="community.docker.docker")
             for c in containers}
    with open(path, "w") as f:
        json.dump({"all": {"hosts": hosts}}, f)  # JSON is YAML
    return path


def write_vars(path, variables):
    """A vars file for -e @path, 0600 from its creation: secrets go there, never on the command line."""
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump(variables, f)
    return path


def play(containers, variables, workdir, name=None, playbook="qwenops.qwen_code.provision", extra_args=(), env=None,
         wrap=(), sample_ps=False):
    """Runs a playbook against the containers with the variables in a 0600 vars file (both files in workdir, named
    after name, or random). wrap is a command prefix, such as ["unshare", "-n"] for a controller without any
    network. Returns the CompletedProcess with .output (stdout + stderr), .seconds (wall time of ansible-playbook)
    and, with sample_ps, .ps_samples (command lines seen on the controller and the first container meanwhile)."""
    name = name or uuid.uuid4().hex[:8]
    inventory = write_inventory(os.path.join(str(workdir), "%s-inventory.yml" % name), containers)
    varsfile = write_vars(os.path.join(str(workdir), "%s-vars.yml" % name), variables)
    cmd = list(wrap) + ["ansible-playbook", "-i", inventory, playbook, "-e", "@%s" % varsfile] + list(extra_args)
    sampler = PsSampler(containers[0]) if sample_ps else None
    if sampler:
        sampler.start()
    run_env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    run_env.update(env or {})
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False, env=run_env)
    proc.seconds = time.monotonic() - start
    if sampler:
        sampler.stop.set()
        sampler.join()
        proc.ps_samples = sampler.samples
    proc.output = proc.stdout + proc.stderr
    return proc


def fetch_tarball(name, version, cache_dir):
    """The verified registry tarball of name@version, fetched on the controller into cache_dir with the collection's
    own npm_unpack module; returns its path."""
    args = json.dumps({"name": name, "version": version, "cache_dir": str(cache_dir)})
    out = subprocess.run(["ansible", "localhost", "-m", "qwenops.qwen_code.npm_unpack", "-a", args, "-o"],
                         capture_output=True, text=True, check=True, env=dict(os.environ, ANSIBLE_NOCOLOR="1")).stdout
    return re.search(r'"cache_path": "([^"]+)"', out).group(1)


def image_context(dest):
    """A docker build context in dest: the checkout's files (tracked, and untracked but not ignored) and the
    machine's CA bundle as certs/host-ca.pem (this workplace intercepts TLS: the same need a corporate network
    has)."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if os.path.isfile(os.path.join(REPO, name)):
            os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
            shutil.copy2(os.path.join(REPO, name), os.path.join(dest, name))
    if os.path.exists(HOST_CA):
        shutil.copy(HOST_CA, os.path.join(dest, "certs", "host-ca.pem"))
    return str(dest)


# The image tests/image and tests/action build and share; QWEN_TEST_IMAGE_TAG: another tag, for runs beside another
# checkout's (the default is what tests/all builds).
IMAGE_TAG = os.environ.get("QWEN_TEST_IMAGE_TAG", "qwen-code-headless:test")


def build_image(workdir, log):
    """docker build of a clean copy of the checkout (image_context) as IMAGE_TAG, on the locally built base; writes
    the build's output to log and returns the tag (layers cached: a second build of the same tree takes seconds)."""
    from releases import DEFAULT  # pylint: disable=import-outside-toplevel  # tests/tools is on the path
    ensure_base_image("trixie", "debian:trixie-slim")
    ctx = image_context(workdir)
    start = time.time()
    build = subprocess.run(["docker", "build", "--build-arg", "QWEN_CODE_VERSION=" + DEFAULT, "-t", IMAGE_TAG, ctx],
                           capture_output=True, text=True, check=False)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "a") as f:
        f.write(build.stdout + build.stderr)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    print("image built in %.0f s" % (time.time() - start))
    return IMAGE_TAG
