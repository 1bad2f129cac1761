"""The collection's release knowledge for tests and tools that run without the collection on the Python path
(Molecule's verifiers, the integration, image and release harnesses, bench/): DEFAULT, the release the role installs
by default, and SERIES, the supported release series, read from their single source,
plugins/module_utils/_releases.py, without importing it.

    from releases import DEFAULT
    python3 tests/tools/releases.py        # prints DEFAULT (for shell scripts and docker build --build-arg)
"""
import ast
import os

SOURCE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "plugins", "module_utils", "_releases.py")


def _literals(path, names):
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and node.targets[0].id in names:
            found[node.targets[0].id] = ast.literal_eval(node.value)
    missing = set(names) - set(found)
    if missing:
        raise RuntimeError("%s assigns no literal %s" % (path, ", ".join(sorted(missing))))
    return found


_found = _literals(SOURCE, ("DEFAULT", "SERIES"))
DEFAULT = _found["DEFAULT"]
SERIES = _found["SERIES"]

if __name__ == "__main__":
    print(DEFAULT)
