"""Which tests relate to which staged files: by import, by name, by conftest, by config.

A test file (`test_*.py` or `*_test.py`) relates to a staged Python module when it imports
it (or a submodule of a staged package, whose `__init__` then runs), when it is named after
it (`test_<name>.py`, `<name>_test.py`), when it is itself staged, or when a staged
`conftest.py` sits above it. The configured `related_tests` globs add to this. Only direct
imports count: following every module's imports would select most of a suite for a change
to a common helper, which is no longer a quick pre-commit check.
"""

from __future__ import annotations

import ast
import fnmatch
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

_IMPORT_LINE = re.compile(
    r"^\s*(?:from\s+(\.*[\w.]*)\s+import\s+\(?([\w\s,.*]+)|import\s+([\w\s,.]+))", re.M
)


def is_test_file(path: str) -> bool:
    name = posixpath.basename(path)
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def module_names(path: str, packages: set[str]) -> set[str]:
    """The dotted names `path` may be imported as: one per directory above it that is not a
    package (a possible entry of sys.path: the top, `src/`, a tests directory...)."""
    parts = path[: -len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    names = set()
    for start in range(len(parts)):
        if "/".join(parts[:start]) not in packages:
            names.add(".".join(parts[start:]))
    return {name for name in names if name}


def related_tests(
    root: Path,
    all_files: Sequence[str],
    changed: Iterable[str],
    configured: Mapping[str, Sequence[str]] | None = None,
    discover: bool = True,
) -> dict[str, list[str]]:
    """Test path -> the staged files it relates to, for the staged files `changed` in a
    checkout at `root` whose files are `all_files`."""
    changed = list(changed)
    found: dict[str, list[str]] = {}

    def add(test: str, because: str) -> None:
        reasons = found.setdefault(test, [])
        if because not in reasons:
            reasons.append(because)

    for pattern, tests in (configured or {}).items():
        for path in changed:
            if fnmatch.fnmatch(path, pattern):
                for test in tests:
                    add(test, path)
    if not discover:
        return found

    present = set(all_files)
    tests = [p for p in all_files if is_test_file(p)]
    packages = {posixpath.dirname(p) for p in all_files if posixpath.basename(p) == "__init__.py"}
    modules: dict[str, str] = {}  # dotted name -> staged file
    stems: dict[str, str] = {}  # bare name a test may be named after -> staged file
    for path in changed:
        if is_test_file(path) and path in present:
            add(path, path)
        if posixpath.basename(path) == "conftest.py":
            below = posixpath.dirname(path)
            for test in tests:
                if not below or test.startswith(below + "/"):
                    add(test, path)
        if path.endswith(".py") and not is_test_file(path):
            for name in module_names(path, packages):
                modules[name] = path
            stem = name_of(path)
            if stem:
                stems[stem] = path
    if not modules:
        return found

    heads = {name.split(".")[0] for name in modules}
    for test in tests:
        base = posixpath.basename(test)[: -len(".py")]
        named = base[len("test_") :] if base.startswith("test_") else base[: -len("_test")]
        if named in stems:
            add(test, stems[named])
        try:
            text = (root / test).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "from ." not in text and not any(head in text for head in heads):
            continue  # cannot import any staged module: skip the parse
        for imported in imported_names(test, text):
            for name, path in modules.items():
                # Importing a.b.c runs a/__init__, a/b/__init__ and a/b/c.
                if imported == name or imported.startswith(name + "."):
                    add(test, path)
    return found


def name_of(path: str) -> str:
    """The bare name of a module file (its package's for `__init__.py`)."""
    stem = posixpath.basename(path)[: -len(".py")]
    return posixpath.basename(posixpath.dirname(path)) if stem == "__init__" else stem


def imported_names(path: str, text: str) -> set[str]:
    """Dotted names the file imports; `from a import b` gives `a` and `a.b` (b may be a
    module). Relative imports are resolved from the file's directory, as dotted paths from
    the top. A file that does not parse is read line by line instead."""
    here = posixpath.dirname(path).split("/") if posixpath.dirname(path) else []
    names: set[str] = set()

    def from_import(module: str, level: int, members: Iterable[str]) -> None:
        if level:
            base = here[: len(here) - (level - 1)] if level - 1 <= len(here) else []
            module = ".".join([*base, *([module] if module else [])])
        if module:
            names.add(module)
        for member in members:
            if member != "*":
                names.add(f"{module}.{member}" if module else member)

    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        for match in _IMPORT_LINE.finditer(text):
            source, members, plain = match.groups()
            if plain is not None:
                names.update(n.split()[0] for n in plain.split(",") if n.strip())
            else:
                level = len(source) - len(source.lstrip("."))
                listed = [m.split()[0] for m in members.replace("\n", " ").split(",") if m.strip()]
                from_import(source.lstrip("."), level, listed)
        return names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            from_import(node.module or "", node.level, (alias.name for alias in node.names))
    return names
