"""Replacing a whole definition (function, class, method) found by its qualified name."""

from __future__ import annotations

import textwrap
from typing import Any

from .base import ToolError
from .edit_match import indent_of, trim_blank_edges
from .render import split_lines
from .workspace import TextFile

# A first line starting like this means the new text brings its own decorators/attributes.
DECORATION_STARTS = ("@", "#[")


def replace_symbol(
    path: str, file: TextFile, source: bytes, symbol: str, new: str
) -> tuple[str, str]:
    """The file text with `symbol`'s definition replaced by `new`, and a summary."""
    try:
        from .index.extract import extract, find_definitions
        from .index.languages import language_for
    except ImportError:
        raise ToolError("replace_symbol is not available here; use str_replace") from None
    symbol = symbol.strip().replace("::", ".").replace("#", ".")
    if language_for(path) is None:
        raise ToolError(
            f"replace_symbol cannot read {path} (supported: Python, JavaScript, TypeScript, "
            "Go, Rust, Java); use str_replace"
        )
    spans = find_definitions(path, source, symbol)
    lines = split_lines(file.text)
    if not spans:
        raise ToolError(_not_found(path, source, symbol, extract))
    if len(spans) > 1:
        listed = "\n".join(
            f"  {s.qualname} ({s.kind}, lines {s.start_line}-{s.end_line})" for s in spans[:10]
        )
        raise ToolError(
            f"{symbol!r} names {len(spans)} definitions in {path}; nothing was changed. Give a "
            f"longer qualified name, or use str_replace for one of them:\n{listed}"
        )
    span = spans[0]
    body_line = span.line  # below the decorators
    replacement = trim_blank_edges(textwrap.dedent(new).split("\n"))
    if not replacement:
        raise ToolError("new_str is empty; to delete a definition use str_replace")
    brings_decorators = replacement[0].lstrip().startswith(DECORATION_STARTS)
    first = span.start_line if brings_decorators else body_line
    kept = body_line - span.start_line if not brings_decorators else 0
    indent = indent_of(lines[first - 1])
    new_lines = [indent + line if line.strip() else "" for line in replacement]
    result = lines[: first - 1] + new_lines + lines[span.end_line :]
    text = "\n".join(result) + ("\n" if file.text.endswith("\n") else "")
    summary = (
        f"replaced {span.kind} {span.qualname} (lines {first}-{span.end_line}, now "
        f"{first}-{first + len(new_lines) - 1})"
    )
    if kept:
        summary += (
            "; the decorator lines above it were kept"
            if kept > 1
            else ("; the decorator line above it was kept")
        )
    return text, summary


def _not_found(path: str, source: bytes, symbol: str, extract: Any) -> str:
    names = [d.local_name for d in extract(path, source).definitions]
    wanted = symbol.rsplit(".", 1)[-1]
    near = [n for n in names if n.rsplit(".", 1)[-1] == wanted]
    message = f"no definition named {symbol!r} in {path}; nothing was changed."
    if near:
        message += " Definitions with that name: " + ", ".join(near[:10])
    elif names:
        shown = ", ".join(names[:30]) + (
            f", ... ({len(names) - 30} more)" if len(names) > 30 else ""
        )
        message += f" The file defines: {shown}"
    else:
        message += " The file has no definitions the index can see."
    return message
