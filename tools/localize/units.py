"""Splitting a source file into retrieval units: its classes, functions and module-level code.

A unit is what a person would point at when saying where a bug is: a function or method
with its docstring and body, the part of a class outside its methods (attributes, class
docstring), or the module-level code of a file (imports, constants, the module docstring).
Functions nested in functions stay in their parent's unit.

Speed matters more than precision here (a cold index of a large repository must take
seconds, which rules out a full parse of every file), so definitions are found by each
language's header pattern ("def name(", "class Name", "func (r *T) Name(", ...) and end
where the next line at the same or a lower indentation starts, which is exact for Python and
for conventionally formatted brace languages. Files in other languages, and documentation,
are one unit each.
"""

from __future__ import annotations

import bisect
import posixpath
import re
from typing import NamedTuple

MAX_FILE_BYTES = 1_000_000

_PY = re.compile(r"^([ \t]*)(?:async[ \t]+)?(def|class)[ \t]+([A-Za-z_]\w*)", re.M)
_JS = re.compile(
    r"^([ \t]*)(?:export[ \t]+)?(?:default[ \t]+)?(?:abstract[ \t]+)?(?:async[ \t]+)?"
    r"(function\*?|class|interface|enum)[ \t]+([A-Za-z_$][\w$]*)"
    r"|^([ \t]+)(?:(?:static|async|get|set|public|private|protected|readonly)[ \t]+)*"
    r"()(?!(?:if|for|while|switch|catch|return|function)\b)([A-Za-z_$][\w$]*)[ \t]*\([^)\n]*\)"
    r"(?:[ \t]*:[^{\n]*)?[ \t]*\{",
    re.M,
)
_GO = re.compile(
    r"^()(func)[ \t]+(?:\([^)]*?\*?([A-Za-z_]\w*)(?:\[[^\]]*\])?\)[ \t]*)?([A-Za-z_]\w*)"
    r"|^()type[ \t]+([A-Za-z_]\w*)[ \t]+(struct|interface)",
    re.M,
)
_RUST = re.compile(
    r"^([ \t]*)(?:pub(?:\([^)]*\))?[ \t]+)?(?:(?:async|unsafe|const|extern(?:[ \t]+\"\w+\")?)"
    r"[ \t]+)*(fn|struct|enum|trait|impl|mod)(?:<[^>\n]*>)?[ \t]+"
    r"(?:[\w:<>, ]{1,120}?[ \t]+for[ \t]+)?([A-Za-z_]\w*)",
    re.M,
)
_JAVA_LIKE = re.compile(
    r"^([ \t]*)(?:(?:public|private|protected|internal|static|final|abstract|sealed|open|"
    r"override|data|inline|suspend|partial|async|virtual)[ \t]+)*"
    r"(class|interface|enum|record|struct|object|fun|trait)[ \t]+([A-Za-z_]\w*)"
    r"|^([ \t]+)(?:(?:public|private|protected|internal|static|final|abstract|synchronized|"
    r"override|virtual|async)[ \t]+)+()[\w<>\[\], ?]{1,120}?[ \t]+([A-Za-z_]\w*)[ \t]*\(",
    re.M,
)
_RUBY = re.compile(r"^([ \t]*)(def|class|module)[ \t]+(?:self\.)?([A-Za-z_]\w*[?!]?)", re.M)
# Bounded repeats keep a pathological line from making the search slow.
_C_LIKE = re.compile(
    r"^()()[A-Za-z_][\w*& \t:<>,]{0,80}?\b([A-Za-z_]\w*)[ \t]*\([^;{)]{0,400}\)[ \t\w]{0,40}\n?\{",
    re.M,
)

HEADERS: dict[str, re.Pattern[str]] = {
    ".py": _PY,
    ".pyi": _PY,
    ".pyx": _PY,
    ".js": _JS,
    ".jsx": _JS,
    ".mjs": _JS,
    ".cjs": _JS,
    ".ts": _JS,
    ".tsx": _JS,
    ".mts": _JS,
    ".go": _GO,
    ".rs": _RUST,
    ".java": _JAVA_LIKE,
    ".kt": _JAVA_LIKE,
    ".scala": _JAVA_LIKE,
    ".cs": _JAVA_LIKE,
    ".swift": _JAVA_LIKE,
    ".rb": _RUBY,
    ".c": _C_LIKE,
    ".h": _C_LIKE,
    ".cc": _C_LIKE,
    ".cpp": _C_LIKE,
    ".cxx": _C_LIKE,
    ".hpp": _C_LIKE,
    ".php": _JS,
}
# Indexed whole, without definitions: documentation and configuration people cite in issues.
PLAIN_EXTENSIONS = frozenset(
    {".md", ".rst", ".txt", ".cfg", ".toml", ".ini", ".sh", ".bash", ".sql", ".lua", ".pl"}
)
CLASS_KINDS = frozenset({"class", "interface", "enum", "record", "struct", "object", "trait",
                         "impl", "mod", "module", "type"})  # fmt: skip
# A line ending a definition: at the definition's indentation or less, and starting with
# something other than a closing bracket, a string quote (a dedented docstring) or a comment.
_CLOSERS = ")]}'\"#/*"


class Unit(NamedTuple):
    name: str  # qualified within the file ("Outer.method"); "" for module-level code
    kind: str  # "module", "class", "function", "method", ...
    line: int  # 1-based line of the header (1 for module-level code)
    end_line: int
    text: str  # the unit's own text (a class's without its methods)


# Names a module assigns at its top level ("FILE_UPLOAD_PERMISSIONS = None",
# "export const DEFAULTS = {"), which issues name as often as functions.
_GLOBAL = re.compile(
    r"^(?:export[ \t]+)?(?:(?:const|let|var|static|pub)[ \t]+)*([A-Za-z_]\w{2,})[ \t]*"
    r"(?::[^=\n]{1,80})?=(?![=>])",
    re.M,
)


def module_globals(text: str) -> list[str]:
    """Names assigned at the top level of a module (at column 0)."""
    return sorted({name for name in _GLOBAL.findall(text) if not name.startswith("__")})


# Long command-line options a module declares: string literals in a call such as
# `parser.add_argument("-v", "--verbose"`, `group.addoption("--collect-only"`,
# `@click.option("--debug/--no-debug"`. An issue about an option is about the code declaring it.
_OPTION_CALL = re.compile(
    r"""(?:option|argument)\w*\(\s*((?:["'][^"'\n]*["']\s*,\s*)*["']--[A-Za-z][^"'\n]*["'])""",
    re.I,
)
_OPTION_LITERAL = re.compile(r"(--[A-Za-z][\w-]*)")


def declared_options(text: str) -> list[str]:
    """The long options `text` declares."""
    found = set()
    for literals in _OPTION_CALL.findall(text):
        found.update(_OPTION_LITERAL.findall(literals))
    return sorted(found)


def indexable(path: str) -> bool:
    """Whether `path` is a file the localizer reads (source code or documentation)."""
    extension = posixpath.splitext(path)[1].lower()
    return extension in HEADERS or extension in PLAIN_EXTENSIONS


def readable(data: bytes) -> str | None:
    """The text of a file worth indexing, or None (too large, binary or minified)."""
    if len(data) > MAX_FILE_BYTES or b"\0" in data[:8192]:
        return None
    if len(data) > 20_000 and data.count(b"\n") * 1000 < len(data):
        return None
    return data.decode("utf-8", "replace")


class _Header(NamedTuple):
    start: int  # offset of the line's start
    indent: int
    kind: str
    name: str
    head_end: int  # offset where the matched header text ends


def split_units(path: str, text: str) -> list[Unit]:
    """The units of one file: module-level code first, then definitions in source order."""
    pattern = HEADERS.get(posixpath.splitext(path)[1].lower())
    headers = _headers(pattern, text) if pattern is not None else []
    names: list[str] = [""]
    kinds: list[str] = ["module"]
    lines: list[int] = [1]
    ends: list[int] = [text.count("\n") + (0 if text.endswith("\n") else 1)]
    events: list[tuple[int, int, int]] = []  # (offset, 0 close / 1 open, unit)
    stack: list[tuple[int, int, str]] = []  # open definitions: (end offset, unit, kind)
    line, counted = 1, 0
    for header in headers:
        while stack and stack[-1][0] <= header.start:
            stack.pop()
        parent_kind = stack[-1][2] if stack else ""
        if parent_kind and parent_kind not in CLASS_KINDS:
            continue  # nested in a function: part of it
        kind = header.kind
        if kind == "function" and parent_kind in CLASS_KINDS:
            kind = "method"
        end = _end(text, header.head_end, header.indent)
        line += text.count("\n", counted, header.start)
        counted = header.start
        unit = len(names)
        names.append(f"{names[stack[-1][1]]}.{header.name}" if stack else header.name)
        kinds.append(kind)
        lines.append(line)
        ends.append(line + text.count("\n", header.start, end))
        events.append((header.start, 1, unit))
        events.append((end, 0, unit))
        stack.append((end, unit, kind))
    events.sort()
    pieces: list[list[str]] = [[] for _ in names]
    open_units = [0]
    position = 0
    for offset, is_open, unit in events:
        if offset > position:
            pieces[open_units[-1]].append(text[position:offset])
            position = offset
        if is_open:
            open_units.append(unit)
        elif unit in open_units:
            open_units.remove(unit)
    pieces[open_units[-1] if open_units else 0].append(text[position:])
    return [
        Unit(names[i], kinds[i], lines[i], ends[i], "\n".join(pieces[i])) for i in range(len(names))
    ]


_KINDS = {"def": "function", "func": "function", "fn": "function", "fun": "function",
          "function": "function", "function*": "function", "": "function"}  # fmt: skip


def _headers(pattern: re.Pattern[str], text: str) -> list[_Header]:
    found = []
    strings = _string_spans(text) if pattern is _PY else []
    string_starts = [start for start, _ in strings]
    for match in pattern.finditer(text):
        if strings:
            # Docstrings show example code ("class Parent(Model): ..."): not definitions.
            before = bisect.bisect_right(string_starts, match.start()) - 1
            if before >= 0 and match.start() < strings[before][1]:
                continue
        groups = list(match.groups())
        # Patterns with alternatives repeat (indent, keyword, name) triples: take the one
        # that matched (Go's receiver group makes its first triple a quadruple).
        indent, keyword, name = _triple(pattern, groups)
        if name is None:
            continue
        found.append(_Header(match.start(), len(indent), _KINDS.get(keyword, keyword), name,
                             match.end()))  # fmt: skip
    return found


_TRIPLE_QUOTE = re.compile(r"\"\"\"|'''")


def _string_spans(text: str) -> list[tuple[int, int]]:
    """Spans of Python's triple-quoted strings (approximately: quotes inside ordinary
    strings or comments can mislead it, which only costs a definition)."""
    spans = []
    opened = None
    for match in _TRIPLE_QUOTE.finditer(text):
        if opened is None:
            opened = match
        elif match.group() == opened.group():
            spans.append((opened.start(), match.end()))
            opened = None
    return spans


def _triple(pattern: re.Pattern[str], groups: list[str | None]) -> tuple[str, str, str | None]:
    if pattern is _GO:
        if groups[3] is not None:
            return "", "func", groups[3]
        return "", "struct" if groups[6] == "struct" else "interface", groups[5]
    for i in range(0, len(groups) - 2, 3):
        if groups[i + 2] is not None:
            return groups[i] or "", groups[i + 1] or "", groups[i + 2]
    return "", "", None


_end_patterns: dict[int, re.Pattern[str]] = {}


def _end(text: str, after: int, indent: int) -> int:
    """Where a definition whose header sits at `indent` and ends at `after` ends: the start
    of the next line at that indentation or less that opens something new."""
    pattern = _end_patterns.get(indent)
    if pattern is None:
        pattern = _end_patterns[indent] = re.compile(
            rf"\n(?=[ \t]{{0,{indent}}}[^\s{re.escape(_CLOSERS)}])"
        )
    match = pattern.search(text, after)
    end = len(text) if match is None else match.start() + 1
    while end > after and text[end - 1].isspace():  # trailing blank lines belong to no one
        end -= 1
    return end
