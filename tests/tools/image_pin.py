"""The image a release pins, by digest (tests/tools/release --push): the manifest digest a registry serves for a
pushed tag, and the rewrite of the image reference in the CI entry points (action.yml's `image` input default, the
GitLab templates' lines whose whole value is the image) to REGISTRY/REPO@sha256:<digest>.

  image_pin.py digest REGISTRY/REPO:TAG                      prints the digest the registry serves for that tag
  image_pin.py pin --repo REPO REF FILE...                   rewrites each FILE in place (action.yml: exactly one
                                                            line; others: every line naming the image)
  image_pin.py check --repo REPO FILE...                     only says whether they can be (before a release)

Standard library and PyYAML only (the release virtualenv's)."""
import argparse
import hashlib
import ipaddress
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

import yaml

DEFAULT_REPO = "qwenops/qwen-code"
# What a registry may answer for a tag: a multi-platform index or one image's manifest, OCI's or Docker's.
MANIFEST_TYPES = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json"])
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# A registry host in front of a repository: a dotted name, localhost, or anything with a port.
REGISTRY = r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]+)?|localhost(?::[0-9]+)?|[A-Za-z0-9.-]+:[0-9]+)"


class PinError(Exception):
    """A file the pin cannot rewrite as it must, or a registry that does not answer as it must."""


def split_reference(ref):
    """REGISTRY/REPO:TAG (or @DIGEST) -> (registry, repo, tag or digest); Docker Hub's API host for docker.io."""
    match = re.match(r"^(%s)/([a-z0-9._/-]+)(?::([A-Za-z0-9_.-]+)|@(sha256:[0-9a-f]{64}))$" % REGISTRY, ref)
    if not match:
        raise PinError("%r is not REGISTRY/REPOSITORY:TAG (e.g. docker.io/qwenops/qwen-code:<version>-qwen<qwen "
                       "version>)" % ref)
    registry, repo, tag, digest = match.groups()
    return ("registry-1.docker.io" if registry == "docker.io" else registry), repo, tag or digest


def is_loopback(registry):
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer_token(challenge, timeout):
    """An anonymous pull token for a `Bearer realm=...,service=...,scope=...` challenge (Docker Hub, GHCR, Quay)."""
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    if not challenge.lower().startswith("bearer ") or "realm" not in params:
        raise PinError("the registry asks for %r, which this tool cannot answer" % challenge)
    query = urllib.parse.urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
    with urllib.request.urlopen(params["realm"] + ("?" + query if query else ""), timeout=timeout) as resp:
        answer = json.load(resp)
    return answer.get("token") or answer.get("access_token")


def manifest_digest(ref, timeout=30):
    """The digest of the manifest the registry serves for ref's tag: the SHA-256 of its bytes, which must equal the
    registry's Docker-Content-Digest header when it sends one. Plain HTTP for a loopback registry only."""
    registry, repo, tag = split_reference(ref)
    scheme = "http" if is_loopback(registry) else "https"
    url = "%s://%s/v2/%s/manifests/%s" % (scheme, registry, repo, tag)
    headers = {"Accept": MANIFEST_TYPES}
    try:
        try:
            resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
        except urllib.error.HTTPError as e:
            if e.code != 401:
                raise
            headers["Authorization"] = "Bearer " + _bearer_token(e.headers.get("WWW-Authenticate", ""), timeout)
            resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
        with resp:
            body, said = resp.read(), resp.headers.get("Docker-Content-Digest")
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise PinError("cannot read the manifest of %s from %s: %s" % (ref, url, e)) from e
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    if said and said != digest:
        raise PinError("%s: the registry says %s, its manifest's bytes hash to %s" % (ref, said, digest))
    return digest


def _image_value(repos):
    """A YAML scalar that is the image and nothing else: REPO with an optional registry, then :TAG or @DIGEST."""
    names = "|".join(re.escape(r) for r in repos)
    return r"(?:%s/)?(?:%s)[:@][^\s'\"#]+" % (REGISTRY, names)


def _mentions(line, repos):
    return re.search(r"(?<![\w/.-])(?:%s/)?(?:%s)[:@]" % (REGISTRY, "|".join(re.escape(r) for r in repos)), line)


def pin_action(text, ref, repos):
    """action.yml: the one `    default:` line of the `image` input (under top-level `inputs:`) becomes ref, its
    quotes and comment kept. Refused: no such line, or another line that names the image with a tag or digest (it
    would stay unpinned)."""
    lines = text.splitlines(keepends=True)
    section, field, found = None, None, []
    line_re = re.compile(r"^(    default: )(['\"]?)(%s)\2(\s*(?:#.*)?)$" % _image_value(repos))
    for number, line in enumerate(lines):
        body = line.rstrip("\r\n")
        if re.match(r"^\S", body):
            section, field = body.split(":", 1)[0], None
        elif section == "inputs" and re.match(r"^  \S", body):
            field = body.strip().split(":", 1)[0].strip("'\"")
        match = line_re.match(body)
        if section == "inputs" and field == "image" and match:
            found.append(number)
            lines[number] = match.group(1) + match.group(2) + ref + match.group(2) + match.group(4) + \
                line[len(body):]
        elif _mentions(body, repos) and not body.lstrip().startswith("#"):
            raise PinError("line %d names the image outside the image input's default: %s" % (number + 1, body))
    if len(found) != 1:
        raise PinError("%d lines `    default: %s:...` under inputs: image: (exactly one expected)"
                       % (len(found), repos[0]))
    new = "".join(lines)
    value = (yaml.safe_load(new) or {}).get("inputs", {}).get("image", {}).get("default")
    if value != ref:
        raise PinError("after the rewrite, inputs.image.default is %r, not %r" % (value, ref))
    return new


def pin_template(text, ref, repos):
    """A GitLab template: every line whose whole YAML value is the image (`image: ...`, `default: ...`,
    `QWEN_IMAGE: ...`, `- name: ...`) becomes ref; returns the text and how many lines changed. Refused: a line that
    names the image inside a longer value (a script line: use a variable)."""
    lines = text.splitlines(keepends=True)
    count = 0
    line_re = re.compile(r"^(\s*(?:- )?[\w.-]+: )(['\"]?)(%s)\2(\s*(?:#.*)?)$" % _image_value(repos))
    for number, line in enumerate(lines):
        body = line.rstrip("\r\n")
        match = line_re.match(body)
        if match:
            lines[number] = match.group(1) + match.group(2) + ref + match.group(2) + match.group(4) + \
                line[len(body):]
            count += 1
        elif _mentions(body, repos) and not body.lstrip().startswith("#"):
            raise PinError("line %d names the image inside a longer value: %s" % (number + 1, body))
    new = "".join(lines)
    list(yaml.safe_load_all(new))  # still YAML (a GitLab template with spec: has two documents)
    return new, count


def pin_files(paths, ref, repo, write=True):
    """Rewrites each file in place (action.yml by pin_action, others by pin_template); returns the paths changed (or,
    with write=False, that would change)."""
    if "@" not in ref or not DIGEST.match(ref.split("@", 1)[1]):
        raise PinError("%r is not REPOSITORY@sha256:<64 hex digits>" % ref)
    repos = [DEFAULT_REPO] + ([repo] if repo != DEFAULT_REPO else [])
    changed = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            if os.path.basename(path) in ("action.yml", "action.yaml"):
                new = pin_action(text, ref, repos)
            else:
                new = pin_template(text, ref, repos)[0]
        except (PinError, yaml.YAMLError) as e:
            raise PinError("%s: %s" % (path, e)) from e
        if new != text:
            if write:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(new)
            changed.append(path)
    return changed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    digest = sub.add_parser("digest", help="the manifest digest a registry serves for REGISTRY/REPO:TAG")
    digest.add_argument("ref")
    pin = sub.add_parser("pin", help="rewrite the image reference in FILEs to REF (REPO@sha256:...)")
    pin.add_argument("--repo", default=DEFAULT_REPO, help="the image's repository (besides %s)" % DEFAULT_REPO)
    pin.add_argument("ref")
    pin.add_argument("files", nargs="+")
    check = sub.add_parser("check", help="change nothing: only check that FILEs can be pinned")
    check.add_argument("--repo", default=DEFAULT_REPO, help="the image's repository (besides %s)" % DEFAULT_REPO)
    check.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.command == "digest":
            print(manifest_digest(args.ref))
        elif args.command == "check":
            pin_files(args.files, "%s@sha256:%s" % (args.repo, "0" * 64), args.repo, write=False)
        else:
            for path in pin_files(args.files, args.ref, args.repo):
                print(path)
    except PinError as e:
        print("image_pin: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
