"""The role's README and the collection README's variables table, generated from the role's argument spec.

roles/qwen_code/meta/argument_specs.yml is the single source of the role's variables. This renders from it:

- roles/qwen_code/README.md, the role's own page (Galaxy shows it, and refuses a role without one): each entry
  point's description and every variable with its type, default, choices and description;
- the variables table of the collection's README.md, the region between the lines `<!-- BEGIN variables -->` and
  `<!-- END variables -->`: a row per variable, with its default and the first paragraph of its description, which
  is therefore a summary of one or two lines (at most SUMMARY_MAX characters; the paragraphs after it hold the
  details). The main entry point's own variables come first, then those it shares with `install`, then the rest.

The argument spec is the only place a variable is described: defaults/main.yml has one short comment per default,
and nothing else holds a second "meaning" (tests/unit/test_role_readme.py checks both).

tests/unit/test_role_readme.py fails when a committed file differs from what this renders.

Usage (from anywhere):
  python tests/tools/role_readme.py                  write roles/qwen_code/README.md
  python tests/tools/role_readme.py --check          exit 1 if roles/qwen_code/README.md is not the generated one
  python tests/tools/role_readme.py --readme-table   print the collection README's variables table
  python tests/tools/role_readme.py --write-readme   replace the table between the markers in README.md
"""
import argparse
import json
import os
import re
import sys

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = "qwen_code"
ROLE_DIR = os.path.join(REPO, "roles", ROLE)
SPEC = os.path.join(ROLE_DIR, "meta", "argument_specs.yml")
ROLE_README = os.path.join(ROLE_DIR, "README.md")
README = os.path.join(REPO, "README.md")
BEGIN, END = "<!-- BEGIN variables -->", "<!-- END variables -->"
# The entry point most users call: documented first and in full; the others refer to it for what they share.
FIRST_ENTRY_POINT = "main"
# The entry point whose variables the first one shares (listed after the first one's own in README.md's table).
SHARED_ENTRY_POINT = "install"
# The longest first paragraph of a description, which README.md's table shows as the variable's meaning.
SUMMARY_MAX = 240


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


# --- Ansible markup to Markdown ------------------------------------------------------------------------------

# C(), B(), I(), M(), U() end at the first ")"; O(), V(), E(), RV(), P() take backslash escapes (ansible-doc's rules).
_MARKUP = re.compile(r"\b(?:(?P<plain>[CBIMU])\((?P<plain_arg>[^)]*)\)|"
                     r"(?P<esc>O|V|E|RV|P)\((?P<esc_arg>(?:[^\\)]|\\.)*)\)|"
                     r"L\((?P<link_text>[^,)]*),(?P<link_url>[^)]*)\))")


def _text(value):
    """Plain text, escaped so that Markdown shows it as written (also inside a table cell)."""
    value = value.replace("\\", "\\\\")
    for char in "*_[]`|":
        value = value.replace(char, "\\" + char)
    return value.replace("<", "&lt;").replace(">", "&gt;")


def _code(value):
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return fence + pad + value.replace("|", "\\|") + pad + fence


def markdown(text):
    """One paragraph of Ansible markup (C(), O(), B(), ...) as Markdown."""
    out, pos = [], 0
    for match in _MARKUP.finditer(text):
        out.append(_text(text[pos:match.start()]))
        pos = match.end()
        if match.group("plain"):
            kind, arg = match.group("plain"), match.group("plain_arg")
            if kind == "B":
                out.append("**%s**" % _text(arg))
            elif kind == "I":
                out.append("*%s*" % _text(arg))
            elif kind == "U":
                out.append("<%s>" % arg)
            else:
                out.append(_code(arg))
        elif match.group("esc"):
            out.append(_code(re.sub(r"\\(.)", r"\1", match.group("esc_arg"))))
        else:
            out.append("[%s](%s)" % (_text(match.group("link_text").strip()), match.group("link_url").strip()))
    out.append(_text(text[pos:]))
    return "".join(out)


def paragraphs(description):
    if description is None:
        return []
    if isinstance(description, str):
        description = [description]
    return [markdown(" ".join(p.split())) for p in description]


# --- values --------------------------------------------------------------------------------------------------

def shown(value):
    """A default as a user would write it in YAML: strings bare (the empty one as ""), the rest as JSON."""
    if value == "":
        return '""'
    return value if isinstance(value, str) else json.dumps(value)


def default_cell(option):
    if option.get("required"):
        return "(required)"
    return _code(shown(option.get("default")))


def type_cell(option):
    kind = option.get("type", "str")
    if option.get("elements"):
        kind = "%s of %s" % (kind, option["elements"])
    return kind


# --- the role's README -------------------------------------------------------------------------------------

def _option_rows(name, option):
    cells = paragraphs(option.get("description"))
    if option.get("choices"):
        cells.append("Choices: %s." % ", ".join(_code(shown(c)) for c in option["choices"]))
    if option.get("no_log"):
        cells.append("Never logged (`no_log`).")
    yield "| %s | %s | %s | %s |" % (_code(name), type_cell(option), default_cell(option), "<br>".join(cells))
    for sub_name, sub_option in (option.get("options") or {}).items():
        # A list's items are dicts with these keys.
        prefix = name + "[]" if option.get("type") == "list" else name
        yield from _option_rows("%s.%s" % (prefix, sub_name), sub_option)


def _entry_points(specs):
    names = sorted(specs, key=lambda n: (n != FIRST_ENTRY_POINT, n))
    return [(name, specs[name]) for name in names]


def role_readme(spec=None, meta=None):
    spec = spec if spec is not None else load_yaml(SPEC)
    meta = meta if meta is not None else load_yaml(os.path.join(ROLE_DIR, "meta", "main.yml"))
    info = meta["galaxy_info"]
    platforms = "; ".join("%s %s" % (p["name"], ", ".join(str(v) for v in p["versions"])) for p in info["platforms"])
    fqcn = "qwenops.qwen_code.%s" % ROLE
    lines = [
        "# %s" % fqcn,
        "",
        "<!-- Generated by tests/tools/role_readme.py from meta/argument_specs.yml: edit those, then run it. -->",
        "",
        _text(" ".join(info["description"].split())) + ".",
        "",
        "The collection's README (usage, security) and its `docs/` (providers, fleets, the report) are the guide; "
        "this page lists the role's entry points and variables, as `ansible-doc -t role %s` shows them." % fqcn,
        "",
        "Requirements: ansible-core %s or later on the controller; targets: %s (x86_64 or aarch64), as root "
        "(`become: true`)." % (info["min_ansible_version"], platforms),
        "",
        "```yaml",
        "- name: Install the qwen CLI for alice and bob",
        "  hosts: all",
        "  become: true",
        "  roles:",
        "    - role: %s" % fqcn,
        "      vars:",
        "        qwen_code_users: [alice, bob]",
        "        qwen_code_provider: openrouter",
        "        qwen_code_api_key: \"{{ vault_openrouter_key }}\"",
        "        qwen_code_model: qwen/qwen3-coder",
        "```",
        "",
        "The playbook `qwenops.qwen_code.provision` runs this role on every host of `qwen_code_hosts` (default: "
        "`all`).",
        "",
        "## Entry points",
    ]
    documented = {}
    for entry, entry_spec in _entry_points(spec["argument_specs"]):
        lines += ["", "### `%s`" % entry, ""]
        lines += ["**%s.**" % _text(entry_spec["short_description"].rstrip(".")), ""]
        for paragraph in paragraphs(entry_spec.get("description")):
            lines += [paragraph, ""]
        options = entry_spec.get("options") or {}
        shared = [n for n, o in options.items() if documented.get(n, (None, None))[1] == o]
        own = [n for n in options if n not in shared]
        if shared:
            first = documented[shared[0]][0]
            lines += ["Variables shared with `%s`, as described there: %s." % (
                first, ", ".join(_code(n) for n in shared))]
            if own:
                lines.append("")
        if own:
            lines += ["| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
            for name in own:
                lines += list(_option_rows(name, options[name]))
                documented[name] = (entry, options[name])
    return "\n".join(lines).rstrip("\n") + "\n"


# --- the collection README's variables table ------------------------------------------------------------------

def spec_options(spec=None):
    """Every option of every entry point, by name (the first entry point's wins where they share one)."""
    spec = spec if spec is not None else load_yaml(SPEC)
    found = {}
    for _entry, entry_spec in _entry_points(spec["argument_specs"]):
        for name, option in (entry_spec.get("options") or {}).items():
            found.setdefault(name, option)
    return found


def _first_paragraph(option):
    description = option.get("description")
    if isinstance(description, list):
        description = description[0] if description else None
    return " ".join(description.split()) if description else ""


def readme_rows(spec=None):
    """(name, option, entry point or None) in README.md's order: the first entry point's own variables, then those it
    shares with SHARED_ENTRY_POINT, then the other entry points' (named, as they apply to that entry point only)."""
    spec = spec if spec is not None else load_yaml(SPEC)
    entries = spec["argument_specs"]
    first = entries[FIRST_ENTRY_POINT].get("options") or {}
    shared = (entries.get(SHARED_ENTRY_POINT) or {}).get("options") or {}
    rows = [(n, first[n], None) for n in first if n not in shared]
    rows += [(n, first[n], None) for n in first if n in shared]
    for entry, entry_spec in _entry_points(entries):
        for name, option in (entry_spec.get("options") or {}).items():
            if name not in first and name not in [r[0] for r in rows]:
                rows.append((name, option, entry))
    return rows


def readme_table(spec=None):
    """The variables table of README.md (without the markers): a row per variable, the first paragraph of its
    description as its meaning."""
    problems = []
    lines = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for name, option, entry in readme_rows(spec):
        summary = _first_paragraph(option)
        if not summary:
            problems.append("%s: no description" % name)
        elif len(summary) > SUMMARY_MAX:
            problems.append("%s: the first paragraph of its description is %d characters, more than %d: begin the "
                            "description with a summary" % (name, len(summary), SUMMARY_MAX))
        meaning = markdown(summary)
        if entry is not None:
            meaning = "Entry point `%s` only. %s" % (entry, meaning)
        lines.append("| %s | %s | %s |" % (_code(name), default_cell(option), meaning))
    if problems:
        raise ValueError("; ".join(problems))
    return "\n".join(lines) + "\n"


def readme_region(text):
    """The table between the markers of README.md's text, or None when it has no markers."""
    if BEGIN not in text:
        return None
    return text.split(BEGIN + "\n", 1)[1].split(END, 1)[0]


def replace_readme_region(text, table):
    if BEGIN not in text or END not in text:
        raise ValueError("README.md has no %s ... %s region: put the markers around the variables table" % (BEGIN, END))
    head, rest = text.split(BEGIN, 1)
    return head + BEGIN + "\n" + table + END + rest.split(END, 1)[1]


# --- command line ------------------------------------------------------------------------------------------

def _write(path, text):
    with open(path, "w") as f:
        f.write(text)
    print("wrote %s" % os.path.relpath(path, REPO))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="fail if roles/%s/README.md is stale" % ROLE)
    group.add_argument("--readme-table", action="store_true", help="print README.md's variables table")
    group.add_argument("--write-readme", action="store_true", help="regenerate README.md's variables table")
    args = parser.parse_args(argv)
    if args.readme_table:
        sys.stdout.write(readme_table())
    elif args.write_readme:
        with open(README) as f:
            text = f.read()
        _write(README, replace_readme_region(text, readme_table()))
    elif args.check:
        with open(ROLE_README) as f:
            if f.read() != role_readme():
                print("roles/%s/README.md is stale: run python tests/tools/role_readme.py" % ROLE, file=sys.stderr)
                return 1
        print("roles/%s/README.md is up to date" % ROLE)
    else:
        _write(ROLE_README, role_readme())
    return 0


if __name__ == "__main__":
    sys.exit(main())
