"""SEARCH/REPLACE edit blocks read from a model's reply, and fenced code blocks.

The format asked of the model:

    path/to/file.py
    <<<<<<< SEARCH
    the exact lines to replace
    =======
    the lines to put there
    >>>>>>> REPLACE

What models really write is read too: blocks inside ``` fences, the path on the fence line
or decorated (`### path`, `**path**`, `File: path:`), no path line when it repeats the
previous block's file, markers with a few more or fewer angle brackets, CRLF line endings,
and no newline after the last marker. An empty SEARCH creates a file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\b.*$", re.IGNORECASE)
DIVIDER = re.compile(r"^\s*={5,9}\s*$")
REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\b.*$", re.IGNORECASE)
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([^\s`]*)\s*(.*)$")
PATH_LIKE = re.compile(r"^[\w.\-/\\]+\.[\w]+$|^[\w.\-/\\]*/[\w.\-]+$")
PATH_PREFIX = re.compile(r"^(?:#+\s*|//\s*|--\s*)?(?:(?:file(?:name)?|path)\s*[:=]\s*)?", re.I)


@dataclass(frozen=True)
class Edit:
    """Replace `search` with `replace` in `path`; `search` empty means "create the file"."""

    path: str
    search: str
    replace: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "search": self.search, "replace": self.replace}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Edit:
        return cls(data["path"], data["search"], data["replace"])


@dataclass
class Parsed:
    edits: list[Edit]
    problems: list[str]  # what could not be read, for the record (and the candidate's fate)


def parse_edits(text: str, default_path: str | None = None) -> Parsed:
    """The edit blocks of a reply, in order. A block with no path line takes the previous
    block's path, else `default_path` (the one file that was shown, say)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    edits: list[Edit] = []
    problems: list[str] = []
    path = None
    i = 0
    while i < len(lines):
        if not SEARCH.match(lines[i]):
            i += 1
            continue
        number = len(edits) + len(problems) + 1
        named = _path_before(lines, i)
        path = named or path or default_path
        search, replace, i, problem = _read_block(lines, i + 1)
        if problem:
            problems.append(f"edit block {number}: {problem}")
            continue
        if path is None:
            problems.append(f"edit block {number}: no file path before <<<<<<< SEARCH")
            continue
        edits.append(Edit(path, search, replace))
    return Parsed(edits, problems)


def _read_block(lines: list[str], i: int) -> tuple[str, str, int, str | None]:
    """The SEARCH and REPLACE texts of a block whose first content line is `i`, the line
    after the block, and what is wrong with it, if anything."""
    search: list[str] = []
    while i < len(lines) and not DIVIDER.match(lines[i]):
        if SEARCH.match(lines[i]) or REPLACE.match(lines[i]):
            return "", "", i, "no ======= line between SEARCH and REPLACE"
        search.append(lines[i])
        i += 1
    if i >= len(lines):
        return "", "", i, "no ======= line (the reply ended inside the block)"
    replace: list[str] = []
    i += 1
    while i < len(lines) and not REPLACE.match(lines[i]):
        if SEARCH.match(lines[i]):
            return "", "", i, "no >>>>>>> REPLACE line before the next block"
        replace.append(lines[i])
        i += 1
    if i >= len(lines):
        return "", "", i, "no >>>>>>> REPLACE line (the reply ended inside the block)"
    return _text(search), _text(replace), i + 1, None


def _text(lines: list[str]) -> str:
    # A fence the model opened inside the block is not part of the code.
    if lines and _bare_fence(lines[0]):
        lines = lines[1:]
    if lines and _bare_fence(lines[-1]):
        lines = lines[:-1]
    return "".join(line + "\n" for line in lines)


def _bare_fence(line: str) -> bool:
    fence = FENCE.match(line)
    return bool(fence) and not fence.group(3)


def _path_before(lines: list[str], i: int) -> str | None:
    """The file path written just before the SEARCH marker at `i`: the nearest non-blank
    line above it (skipping a fence line, whose info string may itself be the path)."""
    j = i - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j >= 0:
        fence = FENCE.match(lines[j])
        if fence:
            for part in (fence.group(2), fence.group(3)):
                found = clean_path(part)
                if found:
                    return found
            j -= 1
            while j >= 0 and not lines[j].strip():
                j -= 1
    if j < 0 or REPLACE.match(lines[j]):
        return None
    return clean_path(lines[j])


def clean_path(line: str) -> str | None:
    """A file path out of a decorated line (`### a/b.py`, `**a/b.py**:`, `File: a/b.py`),
    or None when the line does not look like a path."""
    text = PATH_PREFIX.sub("", line.strip()).strip().strip("*`'\"").rstrip(":").strip("*`'\"")
    text = text.removeprefix("./").removeprefix("a/").strip()
    if not text or " " in text or not PATH_LIKE.match(text):
        return None
    return text.lstrip("/")


def code_block(text: str, languages: tuple[str, ...] = ("python", "py", "")) -> str | None:
    """The body of the first fenced block in one of `languages` ("" = no language given),
    or None when there is none. An unclosed fence runs to the end of the text."""
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        marker = fence.group(1)
        body = []
        i += 1
        while i < len(lines) and not _closes(lines[i], marker):
            body.append(lines[i])
            i += 1
        if i >= len(lines):  # unclosed: the text's own last newline is not a line
            while body and not body[-1].strip():
                body.pop()
        i += 1
        if fence.group(2).lower() in languages:
            return "".join(line + "\n" for line in body)
    return None


def _closes(line: str, marker: str) -> bool:
    closing = line.strip()
    return len(closing) >= len(marker) and closing == marker[0] * len(closing)
