"""Reading an issue for what points at code: traceback frames, paths, dotted names, identifiers.

`read_issue(text)` returns `Clues`: the frames of any tracebacks (file, line, function; the
innermost last, as Python prints them), other file paths mentioned, dotted names
("django.db.models.query.QuerySet.filter", "np.linalg.norm"), and the identifiers that look
like code (in code blocks, backticks, doctest lines and tracebacks, or shaped like code in
prose: snake_case, CamelCase, called with parentheses), each with how often it appears.
Plain English words are left to lexical retrieval.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

_SOURCE_EXTENSIONS = (
    r"py|pyi|pyx|js|jsx|mjs|cjs|ts|tsx|go|rs|java|kt|scala|cs|swift|rb|php|c|h|cc|cpp|cxx|hpp"
    r"|md|rst|txt|cfg|toml|ini|yaml|yml|json|sh"
)
# Python's "File "x.py", line 3, in f", pytest's "x.py:3: in f", JavaScript's "at f (x.js:3:7)",
# Go's and Rust's "x.go:3", with a path of one or more components.
_PY_FRAME = re.compile(r'File "([^"\n]+)", line (\d+)(?:, in ([\w<>.]+))?')
_LINE_REF = re.compile(
    r"((?:[A-Za-z]:)?[\w.~@+-]*(?:[/\\][\w.@+-]+)*\.(?:" + _SOURCE_EXTENSIONS + r"))"
    r"[:(](\d+)(?::\d+)?\)?(?::? in (\w+))?"
)
_PATH = re.compile(
    r"(?<![\w/.-])((?:[A-Za-z]:)?[\w.~@+-]*(?:[/\\][\w.@+-]+)*\.(?:" + _SOURCE_EXTENSIONS + r"))"
    r"(?![\w/-])"
)
_DOTTED = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_CALLED = re.compile(r"([A-Za-z_]\w*)\s*\(")
_OPTION = re.compile(r"(?<![\w-])(--[A-Za-z][\w-]+)")
_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.M | re.S)
_INLINE_CODE = re.compile(r"`+([^`\n]+)`+")
_CODE_LINE = re.compile(r"^(?:    |\t|>>> |\.\.\. |\$ |In \[\d+\]: ).*$", re.M)
_CODE_SHAPED = re.compile(r"[A-Za-z0-9]_+[A-Za-z0-9]|[a-z][A-Z]|[A-Z]{2,}[a-z]|^[A-Z][a-z]+[A-Z]")
# Names the issue's own code defines (its models, helpers, variables): not the repository's.
# Classes and functions anywhere (a snippet pasted without formatting), variables in code.
_DEFINED_HERE = re.compile(
    r"^[ \t]*(?:>>> |\.\.\. )?(?:async[ \t]+)?(?:class|def)[ \t]+(\w+)[ \t]*[(:]", re.M
)
_ASSIGNED_HERE = re.compile(r"^[ \t]*(?:>>> )?(\w+)[ \t]*(?::[^=\n]*)?=(?!=)", re.M)
_IMPORT = re.compile(
    r"^[ \t]*(?:>>> )?(?:from[ \t]+([\w.]+)[ \t]+import|import[ \t]+([\w.]+))", re.M
)
# Names every snippet uses; they say nothing about where a bug is.
_COMMON_TEXT = """self cls args kwargs print import from return def class None True False len str
int float list dict set tuple range type object super isinstance assert np pd plt os sys re
__init__ __name__ __main__ main test foo bar baz Traceback"""
_COMMON = frozenset(_COMMON_TEXT.split())


# Environment reports pasted into issues ("pip list", "pip freeze", "conda list"): lines
# naming a package and its version. Dozens of package names would read as modules and words
# of the issue while saying nothing about where the bug is.
_PACKAGE_LINE = re.compile(
    r"^[ \t]*[A-Za-z0-9][\w.\-\[\],]*"  # the name, with extras
    r"(?:[ \t]*[=@]=?[ \t]*|[ \t]+)v?\d[\w.+!\-]*"  # the version
    r"(?:[ \t]+\S+){0,2}[ \t]*$"  # a location, or a build and a channel
)
_TABLE_RULE = re.compile(r"^[ \t]*-{3,}[ \t-]*$|^[ \t]*(?:Package|Name)[ \t]+Version\b.*$", re.I)
_MIN_PACKAGE_LINES = 3


def without_environment_dumps(text: str) -> str:
    """`text` less its runs of package-and-version lines (three or more in a row, with their
    header and rule): what `pip list` and friends print."""
    lines = text.replace("\r\n", "\n").split("\n")
    keep = [True] * len(lines)
    start = None
    for i, line in enumerate([*lines, ""]):
        listed = bool(_PACKAGE_LINE.match(line) or _TABLE_RULE.match(line))
        if listed and start is None:
            start = i
        elif not listed and start is not None:
            if i - start >= _MIN_PACKAGE_LINES:
                keep[start:i] = [False] * (i - start)
            start = None
    return "\n".join(line for line, kept in zip(lines, keep, strict=True) if kept)


@dataclass(frozen=True)
class Frame:
    path: str  # as written in the issue, possibly absolute or from another machine
    line: int | None
    function: str | None


@dataclass
class Clues:
    frames: list[Frame] = field(default_factory=list)  # innermost last
    paths: Counter[str] = field(default_factory=Counter)  # mentioned without a line
    dotted: Counter[str] = field(default_factory=Counter)  # outside import statements
    imported: Counter[str] = field(default_factory=Counter)  # modules in import statements
    defined: set[str] = field(default_factory=set)  # names the issue's code defines itself
    identifiers: Counter[str] = field(default_factory=Counter)  # code-like names
    title_identifiers: set[str] = field(default_factory=set)
    options: Counter[str] = field(default_factory=Counter)  # long command-line options


def read_issue(text: str) -> Clues:
    """Everything in `text` that names code."""
    text = text.replace("\r\n", "\n")
    clues = Clues()
    for match in _PY_FRAME.finditer(text):
        clues.frames.append(Frame(_normal(match.group(1)), int(match.group(2)), match.group(3)))
    framed = {frame.path for frame in clues.frames}
    for match in _LINE_REF.finditer(text):
        path = _normal(match.group(1))
        if path not in framed and ("/" in path or "\\" in match.group(1)):
            clues.frames.append(Frame(path, int(match.group(2)), match.group(3)))
    framed = {frame.path for frame in clues.frames}
    for match in _PATH.finditer(text):
        path = _normal(match.group(1))
        if path not in framed:
            clues.paths[path] += 1

    code = _code_text(text)
    for match in _IMPORT.finditer(code + "\n" + text):
        clues.imported[match.group(1) or match.group(2)] += 1
    for match in _DOTTED.finditer(_IMPORT.sub("", code + "\n" + text)):
        name = match.group(1)
        if not _PATH.fullmatch(name):
            clues.dotted[name] += 1
    clues.defined.update(_DEFINED_HERE.findall(text))
    clues.defined.update(_ASSIGNED_HERE.findall(code))
    for name in _IDENTIFIER.findall(code):
        if name not in _COMMON and len(name) > 1:
            clues.identifiers[name] += 1
    prose = _FENCE.sub("", text)
    for name in _IDENTIFIER.findall(prose):
        if name not in _COMMON and len(name) > 2 and _CODE_SHAPED.search(name):
            clues.identifiers[name] += 1
    for name in _CALLED.findall(prose):
        if name not in _COMMON:
            clues.identifiers[name] += 1
    clues.options.update(_OPTION.findall(text))
    title = text.strip().split("\n", 1)[0]
    clues.title_identifiers = {
        name for name in _IDENTIFIER.findall(title) if name in clues.identifiers
    } | {name for name in _IDENTIFIER.findall(title) if _CODE_SHAPED.search(name)}
    for name in clues.title_identifiers:
        clues.identifiers.setdefault(name, 1)
    return clues


def _code_text(text: str) -> str:
    """The parts of `text` that are code: fenced blocks, inline code, indented and doctest
    lines, and tracebacks."""
    parts = [match.group(2) for match in _FENCE.finditer(text)]
    prose = _FENCE.sub("", text)
    parts.extend(_INLINE_CODE.findall(prose))
    parts.extend(_CODE_LINE.findall(prose))
    return "\n".join(parts)


def _normal(path: str) -> str:
    return path.replace("\\", "/").strip()
