"""Upstream drift: what the newest @qwen-code/qwen-code needs and honours, read from its published tarball, against
what the collection's release table says (plugins/module_utils/_releases.py, explained in docs/RELEASES.md). Run it
as tests/tools/upstream-drift; docs/DRIFT.md says what each row means and how to act on it.

    tests/tools/upstream-drift [--registry URL] [--ca FILE] [--version latest|X.Y.Z] [--cache DIR | --no-cache]

It asks the registry for the package's document (dist-tags), downloads the tarball (verified against the registry's
sha512, and against _known_artifacts.py for a release the collection knows), and reads: settings `$version` (the
SETTINGS_VERSION constant of the settings loader), `engines.node`, the AuthType enum, the wireApi values an openai
entry takes, whether Qwen OAuth is refused, the system settings paths, and the settings keys the role writes for
folder trust, usage statistics, telemetry and self-update. The collection's side is read from its source files
without importing them (standard library only: this runs where the collection's Python dependencies are not
installed, such as the scheduled GitHub workflow).

Exit 0: nothing to do; 1: the table lacks or contradicts what the release says (the table names each finding); 2: the
check could not run (registry, integrity, a tarball that is not the CLI).

The registry is --registry, else npm's own setting npm_config_registry, else the public registry; --ca adds a CA
bundle to the system's roots (behind a TLS-intercepting proxy), else NODE_EXTRA_CA_CERTS when it is set, as npm and
Node take it. Tarballs are kept in --cache (default ~/.cache/qwenops/upstream-drift), named by their sha512 and
verified again on reuse.
"""
import argparse
import ast
import base64
import hashlib
import json
import os
import re
import shutil
import ssl
import sys
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request

PACKAGE = "@qwen-code/qwen-code"
PUBLIC_REGISTRY = "https://registry.npmjs.org"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_UTILS = os.path.join(REPO, "plugins", "module_utils")

# The settings keys the role writes into the system settings besides `$version` and the self-update key (the row's
# auto_update_key): plugin_utils/_decisions.role_policy (tests/unit/test_upstream_drift.py keeps the two in step).
ROLE_POLICY_KEYS = ("security.folderTrust.enabled", "privacy.usageStatisticsEnabled", "telemetry.enabled")
# The wireApi of an openai entry that has none (chat completions); _auth_types.py names the others (wire_api).
DEFAULT_WIRE_API = "chat-completions"
QWEN_OAUTH = "qwen-oauth"
QWEN_OAUTH_REFUSED = "Qwen OAuth free tier was discontinued"

OK, NOTE, GAP, CONTRADICTS, NOT_FOUND = "ok", "note", "GAP", "CONTRADICTS", "NOT FOUND"
FAILING = (GAP, CONTRADICTS, NOT_FOUND)


class DriftError(Exception):
    """The check could not run (exit 2)."""


# ---- the collection's side, read from its source ---------------------------------------------------------------

def _value(node):
    """A literal, also through dict(key=...) calls."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        return dict((kw.arg, _value(kw.value)) for kw in node.keywords)
    if isinstance(node, ast.Dict):
        return dict((_value(k), _value(v)) for k, v in zip(node.keys, node.values))
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_value(v) for v in node.elts]
    return ast.literal_eval(node)


def _tree(name):
    path = os.path.join(MODULE_UTILS, name)
    with open(path) as f:
        return ast.parse(f.read(), path)


def _assigned(tree, name):
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            return _value(node.value)
    raise DriftError("plugins/module_utils: no literal %s" % name)


def _option_default(tree, option):
    """The default of option=dict(..., default=...) anywhere in tree (an argument spec)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == option:
            return _value(node.value).get("default")
    raise DriftError("plugins/module_utils: no option %s" % option)


def collection_facts():
    releases = _tree("_releases.py")
    auth_types = _assigned(_tree("_auth_types.py"), "AUTH_TYPES")
    wire_apis = set([DEFAULT_WIRE_API]) | set(s["wire_api"] for s in auth_types.values() if s.get("wire_api"))
    inputs = _tree("_config_inputs.py")
    return {
        "default": _assigned(releases, "DEFAULT"),
        "series": _assigned(releases, "SERIES"),
        "known": _assigned(_tree("_known_artifacts.py"), "KNOWN_INTEGRITY").get(PACKAGE, {}),
        "auth_types": sorted(auth_types),
        "wire_apis": sorted(wire_apis),
        "system_settings_path": _option_default(inputs, "system_settings_path"),
        "system_defaults_path": _option_default(inputs, "system_defaults_path"),
    }


def series_key(series):
    return tuple(int(x) for x in series.split("."))


def series_of(version):
    return ".".join(version.split(".")[:2])


# ---- the registry ------------------------------------------------------------------------------------------------

def ssl_context(ca):
    context = ssl.create_default_context()
    if ca:
        context.load_verify_locations(cafile=ca)
    return context


def _get(url, context, accept="*/*"):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": accept}), context=context,
                                    timeout=120) as resp:
            return resp.read()
    except (urllib.error.URLError, OSError) as e:
        raise DriftError("cannot read %s: %s" % (url, getattr(e, "reason", e)))


def sri_sha512(integrity):
    if not str(integrity or "").startswith("sha512-"):
        raise DriftError("no sha512 integrity in the registry's document: %r" % (integrity,))
    return base64.b64decode(integrity[len("sha512-"):]).hex()


def _sha512(path):
    digest = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_release(registry, context, version, cache, known):
    """(version document, tarball path) of PACKAGE at version (a dist-tag or an exact version), verified."""
    if "@" in urllib.parse.urlsplit(registry).netloc:
        raise DriftError("--registry must not contain credentials (user:password@)")
    url = "%s/%s" % (registry.rstrip("/"), urllib.parse.quote(PACKAGE, safe="@"))
    try:
        packument = json.loads(_get(url, context, "application/vnd.npm.install-v1+json; q=1.0, application/json"))
        exact = packument.get("dist-tags", {}).get(version, version)
        doc = packument["versions"][exact]
    except (ValueError, KeyError, AttributeError, TypeError):
        raise DriftError("%s has no %s@%s" % (url, PACKAGE, version))
    expected = sri_sha512(doc.get("dist", {}).get("integrity"))
    if exact in known and sri_sha512(known[exact]) != expected:
        raise DriftError("%s@%s: the registry %s gives another integrity than _known_artifacts.py: refusing it"
                         % (PACKAGE, exact, registry))
    os.makedirs(cache, exist_ok=True)
    path = os.path.join(cache, expected + ".tgz")
    if os.path.isfile(path) and _sha512(path) == expected:
        return doc, path
    fd, partial = tempfile.mkstemp(dir=cache, suffix=".partial")
    with os.fdopen(fd, "wb") as out:
        out.write(_get(doc["dist"]["tarball"], context))
    if _sha512(partial) != expected:
        os.unlink(partial)
        raise DriftError("%s: the download does not have the registry's sha512" % doc["dist"]["tarball"])
    os.rename(partial, path)
    return doc, path


# ---- the release's side, read from its tarball ---------------------------------------------------------------------

# The CLI's own scripts: package/*.js and package/chunks/ (0.15 on), not the bundled skills, web shell or vendored
# tools.
_SCRIPT = re.compile(r"^package/(chunks/)?[^/]+\.js$")


def read_tarball(path):
    """{"package": package.json, "scripts": [(name, text)]} of an npm tarball of the CLI."""
    scripts, package = [], None
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                if member.name == "package/package.json":
                    package = json.load(tar.extractfile(member))
                elif _SCRIPT.match(member.name):
                    scripts.append((member.name, tar.extractfile(member).read().decode("utf-8", "replace")))
    except (tarfile.TarError, OSError, ValueError) as e:
        raise DriftError("%s: not a readable npm tarball: %s" % (path, e))
    if not isinstance(package, dict) or package.get("name") != PACKAGE or not scripts:
        raise DriftError("%s is not a tarball of %s" % (path, PACKAGE))
    return {"package": package, "scripts": scripts}


def _scan(scripts, needle, pattern, flags=0):
    """Every match of pattern in the scripts that contain needle."""
    regex = re.compile(pattern, flags)
    for _name, text in scripts:
        if needle in text:
            yield from regex.finditer(text)


def _auth_type_enum(scripts):
    """The members of the AuthType enum (utils/auth-type.ts): the run of NAME["KEY"] = "value" assignments that
    holds USE_OPENAI (the Google SDK has an AuthType enum of its own, without it)."""
    blocks, last = [], None
    for match in _scan(scripts, 'USE_OPENAI"]', r'(\w+)\["([A-Z][A-Z0-9_]*)"\] = "([^"]*)";'):
        current = (match.string, match.group(1))
        if last is None or last[0] != current or match.start() - last[1] > 200:
            blocks.append({})
        blocks[-1][match.group(2)] = match.group(3)
        last = (current, match.end())
    found = [b for b in blocks if "USE_OPENAI" in b]
    return sorted(set(v for b in found for v in b.values()))


def _function_body(scripts, name, size=1500):
    for match in _scan(scripts, "function %s(" % name, r"function %s\(\)\s*\{" % re.escape(name)):
        return match.string[match.end():match.end() + size].split("__name(%s" % name)[0]
    return None


def _key_read(scripts, dotted):
    """Whether the CLI reads a settings key: an access chain (.a?.b.c) or the dotted name as a string."""
    parts = dotted.split(".")
    chain = r"[.?]" + r"\??\.".join(re.escape(p) for p in parts) + r"(?![\w$])"
    literal = r"[\"'`]" + re.escape(dotted) + r"[\"'`]"
    return next(_scan(scripts, parts[-1], "%s|%s" % (chain, literal)), None) is not None


def _env_names(body):
    return [a or b for a, b in re.findall(r'process\d*\.env(?:\["(\w+)"\]|\.([A-Z_]+))', body)]


def upstream_facts(tarball):
    package, scripts = tarball["package"], tarball["scripts"]
    engines = str((package.get("engines") or {}).get("node", ""))
    majors = [int(m) for m in re.findall(r"(?:^|[\s|>=^~])(\d+)(?:\.\d+){0,2}", engines)]
    settings_path = defaults_path = None
    body = _function_body(scripts, "getSystemSettingsPath")
    if body:
        paths = re.findall(r'return "(/[^"]*)";', body)
        env = _env_names(body)
        if paths:
            settings_path = "%s (%s)" % (paths[-1], ", ".join(sorted(set(env))) or "no variable")
            body = _function_body(scripts, "getSystemDefaultsPath") or ""
            names = re.findall(r'"([\w.-]+\.json)"', body)
            env = _env_names(body)
            if names:
                defaults_path = "%s (%s)" % (os.path.join(os.path.dirname(paths[-1]), names[-1]),
                                             ", ".join(sorted(set(env))) or "no variable")
    auth_types = _auth_type_enum(scripts)
    return {
        "version": package.get("version"),
        "engines_node": engines,
        "node_major": min(majors) if majors else None,
        "settings_versions": sorted(set(int(m.group(1)) for m in _scan(
            scripts, "SETTINGS_VERSION", r"(?<![\w$])SETTINGS_VERSION\s*=\s*(\d+)\s*[;,]"))),
        "auth_types": auth_types,
        "qwen_oauth": (QWEN_OAUTH in auth_types
                       and next(_scan(scripts, QWEN_OAUTH_REFUSED, re.escape(QWEN_OAUTH_REFUSED)), None) is None),
        "wire_apis": sorted(set(m.group(1) for m in _scan(scripts, "wireApi", r'wireApi\s*!==\s*"([\w-]+)"'))),
        "system_settings_path": settings_path,
        "system_defaults_path": defaults_path,
        "auto_update_keys": sorted(set(m.group(1) for m in _scan(
            scripts, "utoUpdate", r"[.?]general\??\.(\w*[Aa]uto[Uu]pdate\w*)"))),
        "keys_read": dict((key, _key_read(scripts, key)) for key in ROLE_POLICY_KEYS),
    }


# ---- the comparison --------------------------------------------------------------------------------------------

def _names(values):
    return ", ".join(values) if values else "(none)"


def compare(up, col):
    """The table: (what, the release, the collection, status, what to do)."""
    rows = []
    series = series_of(up["version"])
    newest = max(col["series"], key=series_key)
    key = series if series in col["series"] else newest
    row = col["series"][key]
    label = "row %s" % key if key == series else "row %s (newest; %s has none)" % (key, series)
    if series not in col["series"]:
        rows.append(("release series", up["version"], "SERIES: %s" % ", ".join(sorted(col["series"], key=series_key)),
                     GAP if series_key(series) > series_key(newest) else NOTE,
                     "add a row %s to SERIES (docs/RELEASES.md: read every column from this tarball)" % series))
    elif up["version"] != col["default"]:
        known = "integrity known" if up["version"] in col["known"] else "integrity not in _known_artifacts.py"
        rows.append(("release", up["version"], "DEFAULT %s (%s)" % (col["default"], known), NOTE,
                     "not the default: test it before making it one (docs/RELEASES.md)"))
    else:
        rows.append(("release", up["version"], "DEFAULT %s" % col["default"], OK, ""))

    versions = up["settings_versions"]
    if len(versions) != 1:
        rows.append(("settings $version", _names([str(v) for v in versions]), "%s: %s" % (label, row["settings_version"]),
                     NOT_FOUND, "read SETTINGS_VERSION of the settings loader by hand"))
    else:
        rows.append(("settings $version", str(versions[0]), "%s: %s" % (label, row["settings_version"]),
                     OK if versions[0] == row["settings_version"] else CONTRADICTS,
                     "" if versions[0] == row["settings_version"] else "settings_version of the row"))

    if up["node_major"] is None:
        rows.append(("engines.node", up["engines_node"] or "(none)", "%s: node_major %s" % (label, row["node_major"]),
                     NOT_FOUND, "read engines.node by hand"))
    else:
        same = up["node_major"] == row["node_major"]
        rows.append(("engines.node", "%s (major %d)" % (up["engines_node"], up["node_major"]),
                     "%s: node_major %s" % (label, row["node_major"]), OK if same else CONTRADICTS,
                     "" if same else "node_major of the row (and the Node the role installs: qwen_code_node_version)"))

    known_types = set(col["auth_types"]) | set([QWEN_OAUTH])
    api_key_types = [t for t in up["auth_types"] if t != QWEN_OAUTH]
    unknown = [t for t in api_key_types if t not in known_types]
    missing = [t for t in row["auth_types"] if t not in up["auth_types"]]
    left_out = [t for t in api_key_types if t in known_types and t not in row["auth_types"]]
    if not up["auth_types"]:
        status, todo = NOT_FOUND, "read the AuthType enum (utils/auth-type.ts) by hand"
    elif unknown:
        status, todo = GAP, "unknown to _auth_types.py: %s (its variables, group, URL and key header)" % _names(unknown)
    elif missing:
        status, todo = CONTRADICTS, "the row lists %s, which the release lacks" % _names(missing)
    elif left_out:
        status, todo = NOTE, "not in the row: %s (on purpose? docs/RELEASES.md)" % _names(left_out)
    else:
        status, todo = OK, ""
    rows.append(("auth types (API key)", _names(api_key_types), "%s: %s" % (label, _names(row["auth_types"])),
                 status, todo))

    oauth_up = "accepted" if up["qwen_oauth"] else ("refused" if QWEN_OAUTH in up["auth_types"] else "no such type")
    oauth_row = "accepted" if row["qwen_oauth"] else "refused"
    rows.append(("qwen-oauth", oauth_up, "%s: %s" % (label, oauth_row),
                 OK if (oauth_up == "accepted") == row["qwen_oauth"] else CONTRADICTS,
                 "" if (oauth_up == "accepted") == row["qwen_oauth"] else "qwen_oauth of the row"))

    wire = up["wire_apis"]
    new_wire = [w for w in wire if w not in col["wire_apis"]]
    if wire and not row["wire_api"]:
        status, todo = CONTRADICTS, "wire_api of the row (openai entries take wireApi)"
    elif new_wire:
        status, todo = GAP, "wireApi values unknown to _auth_types.py: %s" % _names(new_wire)
    elif row["wire_api"] and not wire:
        status, todo = NOT_FOUND, "read resolveModelProtocol's wireApi values by hand"
    else:
        status, todo = OK, ""
    rows.append(("wireApi values", _names(wire), "%s: wire_api %s; known: %s" % (
        label, "yes" if row["wire_api"] else "no", _names(col["wire_apis"])), status, todo))

    for what, up_key, col_key in (("system settings", "system_settings_path", "system_settings_path"),
                                  ("system defaults", "system_defaults_path", "system_defaults_path")):
        found = up[up_key]
        if not found:
            rows.append((what, "(not found)", col[col_key], NOT_FOUND, "read getSystemSettingsPath by hand"))
        else:
            same = found.split(" (")[0] == col[col_key]
            rows.append((what, found, col[col_key], OK if same else CONTRADICTS,
                         "" if same else "the role's paths (_config_inputs.py) and every doc naming them"))

    auto = ["general.%s" % k for k in up["auto_update_keys"]]
    want = "general.%s" % row["auto_update_key"]
    if not auto:
        status, todo = NOT_FOUND, "find the self-update setting by hand"
    elif want not in auto:
        status, todo = CONTRADICTS, "auto_update_key of the row"
    elif len(auto) > 1:
        status, todo = GAP, "the release reads more than one self-update key"
    else:
        status, todo = OK, ""
    rows.append(("self-update key", _names(auto), "%s: %s" % (label, want), status, todo))

    for key in ROLE_POLICY_KEYS:
        found = up["keys_read"][key]
        rows.append(("key %s" % key, "read" if found else "(not found)", "written by the role", OK if found else NOT_FOUND,
                     "" if found else "find what replaced it; the role's policy (_decisions.role_policy)"))
    return rows


def render(rows):
    head = ("what", "upstream release", "collection", "status", "to do")
    widths = [max(len(str(r[i])) for r in list(rows) + [head]) for i in range(4)]
    lines = []
    for r in [head] + [tuple("-" * w for w in widths) + ("-----",)] + list(rows):
        lines.append(" | ".join(str(c).ljust(widths[i]) if i < 4 else str(c) for i, c in enumerate(r)).rstrip())
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="upstream-drift", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--registry", default=os.environ.get("npm_config_registry")
                        or os.environ.get("NPM_CONFIG_REGISTRY") or PUBLIC_REGISTRY)
    parser.add_argument("--ca", default=os.environ.get("NODE_EXTRA_CA_CERTS") or None,
                        help="a CA bundle added to the system's roots")
    parser.add_argument("--version", default="latest", help="a dist-tag or an exact version (default: latest)")
    parser.add_argument("--cache", default=os.path.join(os.environ.get("XDG_CACHE_HOME")
                                                        or os.path.expanduser("~/.cache"), "qwenops", "upstream-drift"))
    parser.add_argument("--no-cache", action="store_true", help="download into a temporary directory")
    args = parser.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="upstream-drift-") if args.no_cache else None
    try:
        col = collection_facts()
        doc, path = fetch_release(args.registry, ssl_context(args.ca), args.version, tmp or args.cache, col["known"])
        up = upstream_facts(read_tarball(path))
    except DriftError as e:
        print("upstream-drift: %s" % e, file=sys.stderr)
        return 2
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    rows = compare(up, col)
    print("upstream-drift: %s@%s (%s) from %s against plugins/module_utils/_releases.py\n"
          % (PACKAGE, doc.get("version"), args.version, args.registry))
    print(render(rows))
    findings = [r for r in rows if r[3] in FAILING]
    print("\nupstream-drift: %s" % ("%d finding(s): the release table lacks or contradicts the release "
                                    "(docs/DRIFT.md)" % len(findings) if findings else "the release table is current"))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
