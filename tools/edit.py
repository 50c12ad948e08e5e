"""The `edit` tool: str_replace, insert, create, replace_symbol and undo, each guarded so that
a failed or syntax-breaking edit leaves the file exactly as it was."""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

from ..sandbox import SandboxError
from .base import Observation, Tool, ToolError
from .context import EditRecord, ToolContext
from .edit_match import MAX_CANDIDATES, Span, closest, exact, line_of, tolerant
from .edit_symbol import replace_symbol
from .indexing import syntax_errors
from .render import change_snippet, clip_text, excerpt, split_lines, unified_diff
from .workspace import Location, TextFile, decode

COMMANDS = ("str_replace", "insert", "create", "replace_symbol", "undo")
NEEDS = {
    "str_replace": ("old_str", "new_str"),
    "insert": ("insert_line", "new_str"),
    "create": ("file_text",),
    "replace_symbol": ("symbol", "new_str"),
    "undo": (),
}


class EditTool(Tool):
    name = "edit"
    description = """
Change a file. Every command answers with the changed lines (numbered, '-' old, '+' new).
An edit that would add a syntax error to a file that had none (Python, JavaScript,
TypeScript, Go, Rust, Java) is refused and the file is left untouched.

Commands:
- str_replace: replace `old_str` with `new_str`. `old_str` must match exactly one place;
  copy it from `view` output without the line numbers, with a few lines of context if the
  text is not unique. If no exact match exists but one place matches when whitespace and
  indentation are ignored, that place is edited (and `new_str` re-indented to fit); the
  answer says so. Several matches: the candidates are listed, nothing is changed (or set
  replace_all=true to change them all). No match: the closest regions are shown.
- insert: insert `new_str` after line `insert_line` (0 = at the top of the file).
- create: write a new file with `file_text` (refused if it exists, unless overwrite=true).
- replace_symbol: replace a whole function, class or method, named by `symbol` as in the
  file ("Outer.Inner.method") or with its module ("pkg.mod.Outer.method"), with `new_str`,
  written at any indentation (it is re-indented to the original). When `new_str` starts
  with decorators, they replace the old ones; otherwise the old decorators are kept.
- undo: restore the file as it was before the last edit made with this tool (repeat to go
  further back).

Examples:
  {"command": "str_replace", "path": "calc.py", "old_str": "a - b", "new_str": "a + b"}
  {"command": "insert", "path": "calc.py", "insert_line": 0, "new_str": "import math\\n"}
  {"command": "create", "path": "tests/test_x.py", "file_text": "def test_x():\\n    pass\\n"}
  {"command": "replace_symbol", "path": "calc.py", "symbol": "Calc.add",
   "new_str": "def add(self, a, b):\\n    return a + b\\n"}
  {"command": "undo", "path": "calc.py"}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "enum": list(COMMANDS)},
            "path": {"type": "string", "description": "file, relative to the workspace root"},
            "old_str": {"type": "string", "description": "str_replace: the text to replace"},
            "new_str": {
                "type": "string",
                "description": "str_replace, insert, replace_symbol: the new text",
            },
            "insert_line": {
                "type": "integer",
                "description": "insert: the line to insert after (0 = top of the file)",
                "minimum": 0,
            },
            "file_text": {"type": "string", "description": "create: the whole file"},
            "symbol": {"type": "string", "description": "replace_symbol: the qualified name"},
            "overwrite": {
                "type": "boolean",
                "description": "create: replace the file if it exists",
                "default": False,
            },
            "replace_all": {
                "type": "boolean",
                "description": "str_replace: replace every occurrence",
                "default": False,
            },
        },
        "required": ["command", "path"],
    }

    def run(self, ctx: ToolContext, command: str, path: str, **arguments: Any) -> Observation:
        missing = [name for name in NEEDS[command] if name not in arguments]
        if missing:
            raise ToolError(
                f"{command} needs {', '.join(missing)}; e.g. "
                + {
                    "str_replace": '{"command": "str_replace", "path": "a.py", '
                    '"old_str": "x = 1", "new_str": "x = 2"}',
                    "insert": '{"command": "insert", "path": "a.py", "insert_line": 10, '
                    '"new_str": "y = 2\\n"}',
                    "create": '{"command": "create", "path": "a.py", "file_text": "x = 1\\n"}',
                    "replace_symbol": '{"command": "replace_symbol", "path": "a.py", '
                    '"symbol": "Cls.method", "new_str": "def method(self): ..."}',
                    "undo": "",
                }[command]
            )
        for name in ("old_str", "new_str", "file_text"):
            if name in arguments:
                arguments[name] = arguments[name].replace("\r\n", "\n")
        if command == "create":
            return _create(ctx, path, arguments["file_text"], arguments["overwrite"])
        if command == "undo":
            return _undo(ctx, path)
        where = ctx.existing_file(path, write=True)
        before, file = ctx.read_text(where)
        if command == "str_replace":
            new_text, summary = _str_replace(
                file.text, arguments["old_str"], arguments["new_str"], arguments["replace_all"]
            )
        elif command == "insert":
            new_text, summary = _insert(file.text, arguments["insert_line"], arguments["new_str"])
        else:
            new_text, summary = replace_symbol(
                where.path, file, before, arguments["symbol"], arguments["new_str"]
            )
        attempted = arguments["new_str"]
        return apply_edit(ctx, where, before, file, new_text, command, summary, attempted)


def apply_edit(
    ctx: ToolContext,
    where: Location,
    before: bytes | None,
    file: TextFile,
    new_text: str,
    command: str,
    summary: str,
    attempted: str = "",
) -> Observation:
    """Check the new text, write it, remember how to undo it, and show what changed."""
    old_text = file.text if before is not None else ""
    if before is not None and new_text == old_text:
        raise ToolError(f"{summary}, but that leaves {where.shown} unchanged; nothing was done")
    after = file.to_bytes(new_text)
    notes = []
    if ctx.config.syntax_guard:
        errors_after = syntax_errors(where.path, after)
        errors_before = syntax_errors(where.path, before) if before is not None else []
        if errors_after and errors_before == []:
            return _rejected(where, command, new_text, errors_after, attempted)
        if errors_after:
            first = errors_after[0]
            notes.append(
                f"[note: {where.shown} already had syntax errors before this edit; it still "
                f"has {len(errors_after)}, the first at {first}]"
            )
    try:
        ctx.sandbox.write_file(where.path, after)
    except (SandboxError, OSError) as exc:
        raise ToolError(f"could not write {where.shown}: {exc}") from None
    ctx.record_edit(where.path, EditRecord(before, after, f"{command}: {summary}"))
    depth = len(ctx.history[where.path])
    text = f"{where.shown}: {summary}.\n" + "\n".join([*notes, change_snippet(old_text, new_text)])
    data = {
        "path": where.shown,
        "command": command,
        "summary": summary,
        "diff": unified_diff(where.shown, old_text, new_text),
        "undo_levels": depth,
    }
    return Observation(text, data)


def _rejected(
    where: Location, command: str, new_text: str, errors: list[Any], attempted: str
) -> Observation:
    first = errors[0]
    lines = split_lines(new_text)
    context = excerpt(lines, first.line, first.line, context=3)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    text = (
        f"{command} refused: the result would not parse: {first}{more}. {where.shown} was "
        f"left unchanged. The file would have read:\n{context}"
    )
    if attempted:
        given = clip_text(attempted.rstrip("\n"), 3000, "shortened here")
        text += f"\nThe new text you gave:\n{given}"
    text += "\nFix the edit (check indentation, brackets and quotes) and try again."
    if command == "create":
        text += " (If the file is meant not to parse, write it with bash.)"
    return Observation.error(
        text,
        path=where.shown,
        command=command,
        syntax_errors=[{"line": e.line, "column": e.column, "message": e.message} for e in errors],
    )


def _str_replace(text: str, old: str, new: str, replace_all: bool) -> tuple[str, str]:
    if not old:
        raise ToolError("old_str is empty; use insert to add text, or create for a new file")
    if old == new:
        raise ToolError("old_str and new_str are the same; nothing to do")
    spans = exact(text, old, new)
    how = ""
    if not spans:
        found = tolerant(text, old, new)
        spans = found.spans
        if not spans:
            raise ToolError(_no_match(text, old, new, found.uneven))
        how = spans[0].note
    if len(spans) > 1 and not replace_all:
        raise ToolError(_ambiguous(text, spans, bool(how)))
    for span in reversed(spans):
        text = text[: span.start] + span.replacement + text[span.end :]
    where = ", ".join(_lines(span) for span in spans[:MAX_CANDIDATES])
    if len(spans) > MAX_CANDIDATES:
        where += f" and {len(spans) - MAX_CANDIDATES} more"
    summary = (
        f"replaced {len(spans)} occurrences ({where})"
        if len(spans) > 1
        else (f"replaced {_lines(spans[0])}")
    )
    return text, summary + (f" ({how})" if how else "")


def _lines(span: Span) -> str:
    if span.first_line == span.last_line:
        return f"line {span.first_line}"
    return f"lines {span.first_line}-{span.last_line}"


def _ambiguous(text: str, spans: list[Span], tolerant_match: bool) -> str:
    lines = split_lines(text)
    kind = "places when whitespace is ignored" if tolerant_match else "places"
    parts = [
        (
            f"old_str matches {len(spans)} {kind}, so nothing was changed. Add surrounding "
            "lines to old_str to make it unique (or set replace_all=true to change all of "
            "them). The matches:"
        )
    ]
    for span in spans[:MAX_CANDIDATES]:
        parts.append(f"-- {_lines(span)}:")
        parts.append(excerpt(lines, span.first_line, span.last_line, context=1))
    if len(spans) > MAX_CANDIDATES:
        parts.append(f"-- and {len(spans) - MAX_CANDIDATES} more")
    return "\n".join(parts)


def _no_match(text: str, old: str, new: str, uneven: list[tuple[int, int]]) -> str:
    lines = split_lines(text)
    if uneven:
        first, last = uneven[0]
        return (
            f"old_str matches lines {first}-{last} only if indentation is ignored, and the "
            "indentation differs unevenly between lines, so it was not applied. Copy the "
            "exact text from these lines:\n" + excerpt(lines, first, last, context=0)
        )
    parts = ["old_str was not found in the file (not even ignoring whitespace); nothing changed."]
    if new.strip() and new in text:
        at = line_of(text, text.find(new))
        parts.append(
            f"new_str is already in the file at line {at}: the edit may have been made already."
        )
    candidates = [c for c in closest(text, old) if c[2] >= 0.3]
    if candidates:
        parts.append("The most similar regions:")
        for first, last, ratio in candidates:
            lines_label = f"line {first}" if first == last else f"lines {first}-{last}"
            parts.append(f"-- {lines_label} ({ratio:.0%} similar):")
            shown_last = min(last, first + 14)
            parts.append(excerpt(lines, first, shown_last, context=0))
            if shown_last < last:
                parts.append(f"   ... ({last - shown_last} more lines)")
    parts.append("View the file to copy the exact text.")
    return "\n".join(parts)


def _insert(text: str, after: int, new: str) -> tuple[str, str]:
    if not new:
        raise ToolError("new_str is empty; nothing to insert")
    lines = split_lines(text)
    if after > len(lines):
        raise ToolError(
            f"insert_line={after} is past the end: the file has {len(lines)} lines "
            f"(use {len(lines)} to append)"
        )
    added = split_lines(new) or [""]
    ends_with_newline = text.endswith("\n") or not text
    result = "\n".join(lines[:after] + added + lines[after:])
    if ends_with_newline:
        result += "\n"
    where = "at the top" if after == 0 else f"after line {after}"
    count = len(added)
    return result, f"inserted {count} line{'s' if count != 1 else ''} {where}"


def _create(ctx: ToolContext, path: str, text: str, overwrite: bool) -> Observation:
    where = ctx.locate(path, write=True)
    if where.kind == "dir":
        raise ToolError(f"{where.shown} is a directory")
    if where.kind not in ("missing", "file"):
        raise ToolError(f"{where.shown} exists and is not a regular file")
    if text and not text.endswith("\n"):
        text += "\n"  # a file without a final newline makes patches noisy
    if where.kind == "file":
        if not overwrite:
            raise ToolError(
                f"{where.shown} already exists; edit it with str_replace, or pass "
                "overwrite=true to replace all of it"
            )
        before, file = ctx.read_text(where)
        count = len(split_lines(text))
        return apply_edit(
            ctx, where, before, file, text, "create", f"overwrote the file ({count} lines)"
        )
    file = TextFile("", crlf=False)
    count = len(split_lines(text))
    return apply_edit(
        ctx,
        where,
        None,
        file,
        text,
        "create",
        f"created the file ({count} line{'s' if count != 1 else ''})",
    )


def _undo(ctx: ToolContext, path: str) -> Observation:
    where = ctx.locate(path, write=True)
    stack = ctx.history.get(where.path)
    if not stack:
        edited = ", ".join(sorted(p for p, s in ctx.history.items() if s)) or "none"
        raise ToolError(
            f"there is no edit of {where.shown} to undo (files with edits to undo: {edited})"
        )
    record = stack[-1]
    current = ctx.sandbox.read_file(where.path) if where.kind == "file" else None
    notes = []
    if current != record.after:
        notes.append(
            "[note: the file had changed since that edit (by a command?); those later "
            "changes are undone too]"
        )
    if record.before is None:
        result = ctx.sandbox.run(f"rm -f -- {shlex.quote(where.path)}", cwd=ctx.sandbox.root)
        if result.exit_code != 0:
            raise ToolError(f"could not remove {where.shown}: {result.output.strip()}")
        shown = f"removed {where.shown}, which that edit had created"
    else:
        ctx.sandbox.write_file(where.path, record.before)
        old = TextFile.from_bytes(current) if current is not None else TextFile("", False)
        restored = TextFile.from_bytes(record.before)
        shown = change_snippet(old.text, restored.text)
    stack.pop()
    ctx.file_changed(where.path)
    left = len(stack)
    text = (
        f"Undid the last edit of {where.shown} ({record.summary}); it is back to the exact "
        f"bytes it had before. {left} earlier edit{'s' if left != 1 else ''} of it can still "
        "be undone.\n" + "\n".join([*notes, shown])
    )
    data = {
        "path": where.shown,
        "command": "undo",
        "undone": record.summary,
        "undo_levels": left,
        "diff": unified_diff(
            where.shown,
            decode(current or b""),
            decode(record.before or b""),
        ),
    }
    return Observation(text, data)
