"""Finding the text an edit replaces: exact, then whitespace- and indentation-tolerant, and,
when nothing matches, the closest regions to show the model.

All positions are character offsets into the file text (newlines normalised to \\n) and
1-based line numbers.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from .render import split_lines

MAX_CANDIDATES = 10


@dataclass(frozen=True)
class Span:
    start: int  # offset of the first character replaced
    end: int  # offset after the last character replaced
    first_line: int
    last_line: int
    replacement: str
    note: str = ""  # how the match was found when it was not exact


@dataclass(frozen=True)
class Tolerant:
    """What the whitespace-tolerant pass found."""

    spans: list[Span]  # matches whose indentation differs uniformly (new text re-indented)
    uneven: list[tuple[int, int]]  # line ranges equal but for uneven indentation


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def exact(text: str, old: str, new: str) -> list[Span]:
    if not old:  # an empty string "matches" everywhere, forever
        return []
    spans, at = [], text.find(old)
    while at != -1:
        end = at + len(old)
        spans.append(Span(at, end, line_of(text, at), line_of(text, max(at, end - 1)), new))
        at = text.find(old, end)
    return spans


def tolerant(text: str, old: str, new: str) -> Tolerant:
    """Matches line by line with whitespace normalised, accepting a uniform indentation
    shift (and re-indenting `new` by it); or, for a single-line `old`, any whitespace."""
    old_lines = trim_blank_edges(old.split("\n"))
    if not old_lines:
        return Tolerant([], [])
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    wanted = [_squash(line) for line in old_lines]
    squashed = [_squash(line) for line in lines]
    new_lines = trim_blank_edges(new.split("\n"))
    spans, uneven = [], []
    for top in range(len(lines) - len(old_lines) + 1):
        if squashed[top : top + len(old_lines)] != wanted:
            continue
        window = lines[top : top + len(old_lines)]
        shift = _uniform_shift(window, old_lines)
        bottom = top + len(old_lines)
        if shift is None:
            uneven.append((top + 1, bottom))
            continue
        spans.append(
            Span(
                offsets[top],
                offsets[bottom] - 1,
                top + 1,
                bottom,
                "\n".join(_reindent(line, shift) for line in new_lines),
                _describe(shift),
            )
        )
    if not spans and not uneven and len(old_lines) == 1:
        spans = _inline(text, old_lines[0], new)
    return Tolerant(spans, uneven)


def closest(text: str, old: str, count: int = 3) -> list[tuple[int, int, float]]:
    """The regions most like `old` as (first line, last line, similarity 0..1), best first."""
    old_lines = trim_blank_edges(old.split("\n")) or [old]
    lines = split_lines(text)
    size = min(len(old_lines), len(lines))
    if not size:
        return []
    target = "\n".join(_squash(line) for line in old_lines)
    squashed = [_squash(line) for line in lines]
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(target)
    step = max(1, (len(lines) - size) // 20_000)  # keep huge files fast
    rough = []
    for top in range(0, len(lines) - size + 1, step):
        matcher.set_seq1("\n".join(squashed[top : top + size]))
        rough.append((matcher.quick_ratio(), top))
    rough.sort(reverse=True)
    scored = []
    for _, top in rough[:40]:
        matcher.set_seq1("\n".join(squashed[top : top + size]))
        scored.append((matcher.ratio(), top))
    scored.sort(key=lambda item: (-item[0], item[1]))
    chosen: list[tuple[int, int, float]] = []
    for ratio, top in scored:
        if any(abs(top + 1 - first) < size for first, _, _ in chosen):
            continue  # overlapping windows show the same place twice
        chosen.append((top + 1, top + size, ratio))
        if len(chosen) == count:
            break
    return chosen


def _inline(text: str, old: str, new: str) -> list[Span]:
    words = old.split()
    if not words:
        return []
    # Any run of whitespace in the old text matches any run (at least one character).
    pattern = r"[ \t]+".join(re.escape(word) for word in words)
    spans = []
    for found in re.finditer(pattern, text):
        start, end = found.span()
        note = "matched with different spacing"
        spans.append(Span(start, end, line_of(text, start), line_of(text, end), new.strip(), note))
    return spans


def _squash(line: str) -> str:
    return " ".join(line.split())


def trim_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _uniform_shift(window: list[str], old_lines: list[str]) -> tuple[str, str] | None:
    """("add", prefix) when the file is indented by `prefix` more than the old text,
    ("remove", prefix) when less, None when the difference is not the same on every line."""
    shift: tuple[str, str] | None = None
    for have, given in zip(window, old_lines, strict=True):
        if not have.strip():
            continue
        ours, theirs = indent_of(have), indent_of(given)
        if ours == theirs:
            this = ("add", "")
        elif ours.endswith(theirs):
            this = ("add", ours[: len(ours) - len(theirs)])
        elif theirs.endswith(ours):
            this = ("remove", theirs[: len(theirs) - len(ours)])
        else:
            return None
        if shift is None:
            shift = this
        elif shift != this:
            return None
    return shift or ("add", "")


def _reindent(line: str, shift: tuple[str, str]) -> str:
    kind, prefix = shift
    if not line.strip() or not prefix:
        return line
    if kind == "add":
        return prefix + line
    if line.startswith(prefix):
        return line[len(prefix) :]
    return line.lstrip()


def _describe(shift: tuple[str, str]) -> str:
    kind, prefix = shift
    if not prefix:
        return "matched ignoring differences in whitespace"
    amount = f"{len(prefix)} {'tab' if set(prefix) == {chr(9)} else 'space'}"
    amount += "s" if len(prefix) != 1 else ""
    if set(prefix) - {" ", "\t"} or len(set(prefix)) > 1:
        amount = repr(prefix)
    direction = "deeper" if kind == "add" else "shallower"
    return (
        f"matched with the indentation {amount} {direction} than given; the new text was "
        "re-indented the same way"
    )
