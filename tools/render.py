"""Rendering for observations: numbered lines, diff-style change snippets, honest truncation."""

from __future__ import annotations

import difflib

LINE_CHARS = 400  # longer lines (minified code, data) are clipped when shown


def clip_line(line: str, limit: int = LINE_CHARS) -> str:
    if len(line) <= limit:
        return line
    return f"{line[:limit]}... [{len(line) - limit:,} more characters on this line]"


def numbered(lines: list[str], first: int, width: int = 0, marker: str = "") -> list[str]:
    """`lines` numbered from `first` as "12 | code" (the format of every tool's output)."""
    width = width or len(str(first + len(lines) - 1))
    return [
        f"{marker}{n:>{width}} | {clip_line(line)}" if line else f"{marker}{n:>{width}} |"
        for n, line in enumerate(lines, first)
    ]


def clip_text(text: str, limit: int, hint: str) -> str:
    """`text` within `limit` characters, keeping head and tail, saying what was left out."""
    if len(text) <= limit:
        return text
    head = text[: limit // 2]
    tail = text[-(limit - len(head)) :]
    left_out = text[len(head) : len(text) - len(tail)]
    return (
        f"{head}\n[... {len(left_out):,} characters ({left_out.count(chr(10)):,} lines) "
        f"left out here; {hint} ...]\n{tail}"
    )


def change_snippet(old: str, new: str, context: int = 3, max_lines: int = 60) -> str:
    """The change from `old` to `new` as numbered diff lines: ' ' context, '-' removed
    (old line numbers), '+' added (new line numbers)."""
    a, b = split_lines(old), split_lines(new)
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a, end_b = end_a - 1, end_b - 1
    if start == end_a == end_b:
        return "(only the newline at the end of the file changed)" if old != new else "(no change)"
    width = len(str(max(len(a), len(b))))
    out = numbered(a[max(0, start - context) : start], max(0, start - context) + 1, width, " ")
    matcher = difflib.SequenceMatcher(None, a[start:end_a], b[start:end_b], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            same = a[start + i1 : start + i2]
            if len(same) > 2 * context + 1:
                out += numbered(same[:context], start + i1 + 1, width, " ")
                out.append(f" {'...':>{width}}")
                tail_first = start + i2 - context
                out += numbered(same[-context:], tail_first + 1, width, " ")
            else:
                out += numbered(same, start + i1 + 1, width, " ")
            continue
        out += numbered(a[start + i1 : start + i2], start + i1 + 1, width, "-")
        out += numbered(b[start + j1 : start + j2], start + j1 + 1, width, "+")
    out += numbered(b[end_b : end_b + context], end_b + 1, width, " ")
    if len(out) > max_lines:
        left = len(out) - max_lines
        out = (
            out[: max_lines // 2]
            + [f"[... {left} diff lines left out ...]"]
            + out[-max_lines // 2 :]
        )
    return "\n".join(out)


def split_lines(text: str) -> list[str]:
    """The lines of `text`; a final newline ends the last line rather than starting one."""
    if not text:
        return []
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    return lines


def unified_diff(path: str, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{path}",
            f"b/{path}",
        )
    )


def excerpt(lines: list[str], first: int, last: int, context: int = 2) -> str:
    """Lines `first`..`last` (1-based, inclusive) with `context` lines around, numbered."""
    lo = max(1, first - context)
    hi = min(len(lines), last + context)
    return "\n".join(numbered(lines[lo - 1 : hi], lo))


def tail_lines(text: str, count: int) -> str:
    """The last `count` lines of `text`, saying how many came before."""
    lines = text.rstrip("\n").split("\n")
    shown = "\n".join(lines[-count:])
    return shown if len(lines) <= count else f"[... {len(lines) - count} lines above ...]\n{shown}"
