"""What setup a repository needs, and what names the environment it makes.

Manifests hashed into the key: the files in MANIFESTS at the top of the tree; every
requirements*/constraints* .txt/.in at the top and every .txt/.in in requirements/; and any
file of the tree that a setup command names (`pip install -r ci/deps.txt` keys ci/deps.txt).

The default setup, for Python only (the image has no other toolchain): `pip install -r` each
top-level requirements*.txt and requirements/*.txt (docs requirements skipped),
then `pip install -e .` when there is a pyproject.toml or setup.py, with the extras named
test/tests/testing when the project declares them. Anything else needs explicit setup.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shlex
from collections.abc import Iterable, Mapping

KEY_VERSION = 1  # bump when the meaning of a key changes, so old images are not reused

MANIFESTS = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "Pipfile.lock",
    "poetry.lock",
    "pdm.lock",
    "uv.lock",
    "environment.yml",
    "package.json",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "Gemfile",
    "Gemfile.lock",
    "go.mod",
    "go.sum",
    "Cargo.toml",
    "Cargo.lock",
)
_TOP_REQUIREMENTS = re.compile(r"(requirements|constraints)[^/]*\.(txt|in)")
_TEST_EXTRAS = ("test", "tests", "testing")
_DOCS = re.compile(r"(^|[^a-z])docs?([^a-z]|$)")  # requirements-docs.txt, requirements/doc.txt


def default_setup(repo_files: Iterable[str], texts: Mapping[str, str] | None = None) -> list[str]:
    """The setup commands a repository with these files needs when none are configured.

    `texts` holds the contents of pyproject.toml / setup.py / setup.cfg when known; they are
    read only to find test extras.
    """
    files = set(repo_files)
    commands = [
        f"python3 -m pip install -r {shlex.quote(path)}"
        for path in sorted(files)
        if _is_requirements(path, installable=True) and not _DOCS.search(path.lower())
    ]
    if "pyproject.toml" in files or "setup.py" in files:
        extras = _test_extras(texts or {})
        target = f".[{','.join(extras)}]" if extras else "."
        commands.append(f"python3 -m pip install -e {shlex.quote(target)}")
    return commands


def manifest_paths(repo_files: Iterable[str], commands: Iterable[str] = ()) -> list[str]:
    """The files of the tree whose contents decide what setup produces."""
    files = set(repo_files)
    chosen = {p for p in files if p in MANIFESTS or _is_requirements(p, installable=False)}
    for command in commands:
        for word in _words(command):
            for candidate in (word, word.partition("=")[2], word[2:] if word[:2] == "-r" else ""):
                path = posixpath.normpath(candidate) if candidate else ""
                if path in files:
                    chosen.add(path)
    return sorted(chosen)


def environment_key(
    base_image_id: str, commands: Iterable[str], manifests: Mapping[str, bytes]
) -> str:
    """A hex digest naming the environment made by `commands` on that image for these files."""
    identity = {
        "version": KEY_VERSION,
        "base": base_image_id,
        "setup": list(commands),
        "manifests": {p: hashlib.sha256(data).hexdigest() for p, data in manifests.items()},
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _is_requirements(path: str, installable: bool) -> bool:
    """A requirements file: any kind when keying, only the ones `pip install -r` takes when not."""
    folder, name = posixpath.split(path)
    if installable:
        return name.endswith(".txt") and (
            folder == "requirements" or (folder == "" and name.startswith("requirements"))
        )
    if folder == "":
        return bool(_TOP_REQUIREMENTS.fullmatch(name))
    return folder == "requirements" and name.endswith((".txt", ".in"))


def _test_extras(texts: Mapping[str, str]) -> list[str]:
    found = set()
    sections = [
        (texts.get("pyproject.toml", ""), "project.optional-dependencies"),
        (texts.get("setup.cfg", ""), "options.extras_require"),
    ]
    for text, section in sections:
        body = re.search(rf"^\[{re.escape(section)}\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        if body:
            found |= set(re.findall(r'^\s*"?(tests?|testing)"?\s*=', body.group(1), re.M))
    setup_py = texts.get("setup.py", "")
    if "extras_require" in setup_py:
        found |= set(re.findall(r"""["'](tests?|testing)["']\s*:""", setup_py))
    return [name for name in _TEST_EXTRAS if name in found]


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:  # unbalanced quotes: the shell will say so; the key need not
        return command.split()
