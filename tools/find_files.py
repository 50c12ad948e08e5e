"""The `find_files` tool: workspace files (and directories) by glob or by a piece of the name."""

from __future__ import annotations

import posixpath
import re
from typing import Any, ClassVar

from .base import Observation, Tool, ToolError
from .context import ToolContext

GLOB_CHARS = set("*?[")


class FindFilesTool(Tool):
    name = "find_files"
    description = """
Find files in the workspace by name. `pattern` is either a glob (`*.py`, `test_*.py`,
`src/**/models.py`) or a plain piece of a name (`views`, matched case-insensitively against
file and directory names). A glob without '/' is matched against the file name only; with
'/' against the whole path from the root (`**` spans directories). Ignored files
(.gitignore) are not listed. Results are sorted, exact name matches first, and capped with a
count of what was left out.

Examples:
  {"pattern": "conftest.py"}
  {"pattern": "*.toml"}
  {"pattern": "serializ", "path": "src"}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "glob, or a piece of the name"},
            "path": {
                "type": "string",
                "description": "directory to look in, relative to the workspace root",
                "default": ".",
            },
            "max_results": {"type": "integer", "minimum": 1, "default": 100},
        },
        "required": ["pattern"],
    }

    def run(
        self, ctx: ToolContext, pattern: str, path: str = ".", max_results: int = 100
    ) -> Observation:
        pattern = pattern.strip()
        if not pattern:
            raise ToolError("the pattern is empty")
        where = ctx.locate(path)
        if where.kind != "dir":
            raise ToolError(f"{where.shown} is not a directory")
        base = "" if where.path == "." else where.path.rstrip("/") + "/"
        files = [p for p in ctx.sandbox.list_files() if p.startswith(base)]
        parents = {posixpath.dirname(p) for p in files} - {""}
        directories = sorted({a for d in parents for a in _ancestors(d) if a.startswith(base)})
        matches = _match(pattern, files, directories, base)
        shown = matches[:max_results]
        data = {"pattern": pattern, "total": len(matches), "paths": shown}
        scope = f" under {where.shown}" if where.shown != "." else ""
        if not matches:
            hint = "" if set(pattern) & GLOB_CHARS else " (a plain pattern matches names)"
            return Observation(f"No files match {pattern!r}{scope}{hint}.", data)
        header = f"{len(matches)} match{'es' if len(matches) != 1 else ''} for {pattern!r}{scope}"
        if len(matches) > len(shown):
            header += f"; showing the first {len(shown)} ({len(matches) - len(shown)} left out)"
        return Observation(header + ":\n" + "\n".join(shown), data)


def _ancestors(directory: str) -> list[str]:
    parts = directory.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _match(pattern: str, files: list[str], directories: list[str], base: str) -> list[str]:
    entries = [(f, f) for f in files] + [(d, d + "/") for d in directories]
    if set(pattern) & GLOB_CHARS:
        regex = glob_regex(pattern)
        whole_path = "/" in pattern.rstrip("/")
        if not whole_path:
            return sorted(s for p, s in entries if regex.fullmatch(posixpath.basename(p)))
        # A path glob may be written from the root or from the directory searched.
        return sorted(
            s for p, s in entries if regex.fullmatch(p) or regex.fullmatch(p[len(base) :])
        )
    needle = pattern.lower().rstrip("/")
    exact, partial = [], []
    for path, shown in entries:
        name = posixpath.basename(path).lower()
        if name == needle or path.lower() == needle:
            exact.append(shown)
        elif needle in name or ("/" in needle and needle in path.lower()):
            partial.append(shown)
    return sorted(exact) + sorted(partial)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex for a path glob: `*` and `?` stay within a directory, `**/` spans any number."""
    out, i = [], 0
    pattern = pattern.rstrip("/")
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                out.append("[^" + body[1:] + "]" if body.startswith("!") else "[" + body + "]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))
