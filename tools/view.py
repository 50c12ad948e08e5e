"""The `view` tool: a file (or a line range of it) with line numbers, or a directory as a tree."""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

from .base import Observation, Tool, ToolError
from .context import ToolContext
from .render import numbered, split_lines
from .workspace import Location, readable_size

MAX_FILE_BYTES = 20_000_000
DIR_ENTRIES = 60  # entries shown per directory
TREE_LINES = 400
CODE_SUFFIXES = (".py", ".js", ".ts", ".tsx", ".jsx", ".go", ".rs", ".java")


class ViewTool(Tool):
    name = "view"
    description = """
Show a file with line numbers, or a part of it with `start`/`end` (1-based, inclusive;
end=-1 means the end of the file). Long files are shown in pages: without a range you get
the first lines and a note saying how many there are. For a directory, show a tree (files
with sizes, `depth` levels deep; ignored files are left out). Binary files are not shown.
The "12 | " prefixes are not part of the file: leave them out when you copy text into
an edit.

Examples:
  {"path": "src/app.py"}
  {"path": "src/app.py", "start": 120, "end": 180}
  {"path": "src", "depth": 3}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "file or directory, relative to the root"},
            "start": {"type": "integer", "description": "first line to show", "minimum": 1},
            "end": {"type": "integer", "description": "last line to show; -1 for the end"},
            "depth": {
                "type": "integer",
                "description": "levels of a directory tree to show",
                "minimum": 1,
                "default": 2,
            },
        },
        "required": ["path"],
    }

    def run(
        self,
        ctx: ToolContext,
        path: str,
        start: int | None = None,
        end: int | None = None,
        depth: int = 2,
    ) -> Observation:
        where = ctx.locate(path)
        if where.kind == "dir":
            return _tree(ctx, where, depth)
        where = ctx.existing_file(path)
        if (where.size or 0) > MAX_FILE_BYTES:
            raise ToolError(
                f"{where.shown} is {readable_size(where.size)}, too big to view; look at parts "
                "of it with bash (head, sed -n '100,200p', grep -n)"
            )
        _, text_file = ctx.read_text(where)
        return _file(ctx, where, split_lines(text_file.text), start, end)


def _file(
    ctx: ToolContext, where: Location, lines: list[str], start: int | None, end: int | None
) -> Observation:
    total = len(lines)
    data: dict[str, Any] = {"path": where.shown, "total_lines": total}
    if total == 0:
        return Observation(f"{where.shown} is empty.", {**data, "start": 0, "end": 0})
    ranged = start is not None or end is not None
    first = start or 1
    if first > total:
        raise ToolError(f"{where.shown} has only {total} lines; start={first} is past the end")
    if end is None or end == -1:
        last = total if ranged else min(total, ctx.config.view_lines)
    elif end < first:
        raise ToolError(f"end={end} is before start={first}")
    else:
        last = min(end, total)
    wanted = last
    shown = numbered(lines[first - 1 : last], first)
    # A page of very long lines could still flood the context: cut by characters too.
    budget, used, kept = ctx.config.output_chars, 0, 0
    for line in shown:
        used += len(line) + 1
        if used > budget and kept:
            break
        kept += 1
    last = first + kept - 1
    body = "\n".join(shown[:kept])
    data.update(start=first, end=last, text="\n".join(lines[first - 1 : last]))
    header = f"{where.shown} (lines {first}-{last} of {total})"
    if where.path != where.shown:
        header += f" [symlink to {where.path}]"
    notes = []
    if last < wanted or (not ranged and last < total):
        notes.append(
            f"[{where.shown} has {total} lines; showing {first}-{last}. "
            f"View more with start={last + 1} (and end=...).]"
        )
        if first == 1 and where.shown.endswith(CODE_SUFFIXES):
            notes.append("[`symbols` gives an outline of the file to pick a range from.]")
    return Observation("\n".join([header, body, *notes]), data)


def _tree(ctx: ToolContext, where: Location, depth: int) -> Observation:
    base = "" if where.path == "." else where.path.rstrip("/") + "/"
    files = [p[len(base) :] for p in ctx.sandbox.list_files() if p.startswith(base)]
    listed_by_git = bool(files)
    if not files:  # an ignored or untracked-only directory: list it plainly
        found = ctx.sandbox.run(
            f"find {shlex.quote(where.path)} -mindepth 1 -maxdepth {depth} -type f "
            "-not -path '*/.git/*' | head -n 5000",
            cwd=ctx.sandbox.root,
            timeout=60,
        )
        files = [p[len(base) :] for p in found.output.splitlines() if p.startswith(base)]
    tree: dict[str, Any] = {}
    for rel in files:
        node = tree
        parts = rel.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part + "/", {})
        node[parts[-1]] = None

    rows: list[tuple[str, str | None, int]] = []  # (indent + name, path to stat, file count)

    def walk(node: dict[str, Any], prefix: str, level: int, indent: str) -> None:
        names = sorted(node, key=lambda n: (not n.endswith("/"), n))
        for index, name in enumerate(names):
            if index == DIR_ENTRIES:
                rows.append((f"{indent}... {len(names) - DIR_ENTRIES} more entries", None, -1))
                break
            child = node[name]
            if child is None:
                rows.append((indent + name, prefix + name, -1))
            else:
                rows.append((indent + name, None, _count_files(child)))
                if level < depth:
                    walk(child, prefix + name, level + 1, indent + "  ")

    walk(tree, base, 1, "")
    if len(rows) > TREE_LINES:
        rows = rows[:TREE_LINES] + [(f"... {len(rows) - TREE_LINES} more lines", None, -1)]
    sizes = _sizes(ctx, [p for _, p, _ in rows if p])
    lines = []
    for label, stat_path, count in rows:
        if stat_path:
            lines.append(f"{label}  ({readable_size(sizes.get(stat_path))})")
        elif count >= 0:
            lines.append(f"{label}  ({count} file{'s' if count != 1 else ''})")
        else:
            lines.append(label)
    title = where.shown if where.shown == "." else where.shown.rstrip("/") + "/"
    note = " (ignored files not shown)" if listed_by_git else ""
    header = f"{title}: {len(files)} files{note}, {depth} level{'s' if depth != 1 else ''} shown"
    data = {"path": where.shown, "files": len(files), "tree": lines}
    return Observation("\n".join([header, *lines]) if lines else f"{title} is empty.", data)


def _count_files(node: dict[str, Any]) -> int:
    return sum(1 if child is None else _count_files(child) for child in node.values())


def _sizes(ctx: ToolContext, paths: list[str]) -> dict[str, int]:
    if not paths:
        return {}
    quoted = " ".join(shlex.quote(p) for p in paths)
    result = ctx.sandbox.run(
        f"stat -c '%s %n' -- {quoted} 2>/dev/null", cwd=ctx.sandbox.root, timeout=60
    )
    sizes = {}
    for line in result.output.splitlines():
        size, _, name = line.partition(" ")
        if size.isdigit():
            sizes[name] = int(size)
    return sizes
