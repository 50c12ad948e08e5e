"""The `search` tool: regex or literal search over the workspace, grouped by file, capped."""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

from .base import Observation, Tool, ToolError
from .context import ToolContext
from .render import clip_line

# Lines fetched at most: enough to fill any sensible cap, small enough to stay fast.
FETCH_LINES = 2000
COUNT_FILES = 5000


class SearchTool(Tool):
    name = "search"
    description = """
Search file contents in the workspace for a regular expression (or a literal string), like
ripgrep. Results are grouped by file with line numbers; at most `max_results` lines in all
and `per_file` lines per file are shown, with counts of what was left out. Ignored files
(.gitignore) and .git are not searched. Use it to find where a name is defined or used, an
error message comes from, or a config key is read. For definitions and uses of a code
symbol, `show` and `references` are more precise.

Examples:
  {"pattern": "def parse_header"}
  {"pattern": "TODO|FIXME", "path": "src", "glob": "*.py"}
  {"pattern": "foo(", "literal": true, "case_insensitive": true}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "pattern": {
                "type": "string",
                "description": "regular expression (ripgrep/PCRE-like syntax), or literal text "
                "with literal=true",
            },
            "path": {
                "type": "string",
                "description": "file or directory to search in, relative to the workspace root",
                "default": ".",
            },
            "glob": {
                "type": "string",
                "description": "only files whose name matches this glob, e.g. '*.py' or "
                "'tests/**/*.py'",
            },
            "literal": {
                "type": "boolean",
                "description": "treat the pattern as plain text",
                "default": False,
            },
            "case_insensitive": {"type": "boolean", "default": False},
            "max_results": {
                "type": "integer",
                "description": "most matching lines shown in all",
                "minimum": 1,
            },
            "per_file": {
                "type": "integer",
                "description": "most matching lines shown per file",
                "minimum": 1,
            },
        },
        "required": ["pattern"],
    }

    def run(
        self,
        ctx: ToolContext,
        pattern: str,
        path: str = ".",
        glob: str | None = None,
        literal: bool = False,
        case_insensitive: bool = False,
        max_results: int | None = None,
        per_file: int | None = None,
    ) -> Observation:
        if not pattern:
            raise ToolError("the pattern is empty")
        where = ctx.locate(path)
        if where.kind == "missing":
            raise ToolError(f"{where.shown} does not exist")
        max_results = max_results or ctx.config.search_results
        per_file = per_file or ctx.config.search_per_file
        backend = ctx.search_backend()
        query = _Query(pattern, where.path, glob, literal, case_insensitive)
        lines_run = ctx.sandbox.run(
            f"{query.command(backend, per_file + 1)} | head -n {FETCH_LINES}",
            cwd=ctx.sandbox.root,
            timeout=120,
            output_limit=4_000_000,
        )
        if lines_run.timed_out:
            raise ToolError("the search took longer than 120 s; narrow it with path or glob")
        hits, problem = _parse_lines(lines_run.output)
        if problem and not hits:
            raise ToolError(f"the search failed: {problem}")
        by_file: dict[str, list[tuple[int, str]]] = {}
        for file, number, text in hits:
            by_file.setdefault(file, []).append((number, text))

        counts = {file: len(found) for file, found in by_file.items()}
        total_lines, total_files = sum(counts.values()), len(counts)
        capped = any(n > per_file for n in counts.values()) or total_lines > max_results
        if capped or len(hits) >= FETCH_LINES:
            counts, total_lines, total_files = _count(ctx, query, backend, counts)

        shown_lines = 0
        blocks, matches = [], []
        for file, found in sorted(by_file.items()):
            if shown_lines >= max_results:
                break
            keep = found[: min(per_file, max_results - shown_lines)]
            shown_lines += len(keep)
            total_here = counts.get(file, len(found))
            more = total_here - len(keep)
            header = f"{file} ({total_here} match{'es' if total_here != 1 else ''})"
            body = [f"  {n}: {clip_line(text.rstrip(), 200)}" for n, text in keep]
            if more > 0:
                body.append(f"  ... {more} more in this file")
            blocks.append("\n".join([header, *body]))
            matches += [{"path": file, "line": n, "text": text} for n, text in keep]
        data: dict[str, Any] = {
            "pattern": pattern,
            "backend": backend,
            "total_lines": total_lines,
            "total_files": total_files,
            "shown_lines": shown_lines,
            "matches": matches,
        }
        scope = f" in {where.shown}" if where.shown != "." else ""
        scope += f" (files matching {glob})" if glob else ""
        if not hits:
            return Observation(f"No matches for {pattern!r}{scope}.", data)
        shown_files = len(blocks)
        summary = (
            f"{total_lines} matching line{'s' if total_lines != 1 else ''} in "
            f"{total_files} file{'s' if total_files != 1 else ''} for {pattern!r}{scope}"
        )
        if shown_lines < total_lines:
            summary += (
                f"; showing {shown_lines} of them, in {shown_files} of the files (narrow the "
                "search with path/glob or a more specific pattern, or raise max_results/per_file)"
            )
        return Observation(summary + ":\n" + "\n".join(blocks), data)


class _Query:
    def __init__(self, pattern: str, path: str, glob: str | None, literal: bool, fold: bool):
        self.pattern, self.path, self.glob = pattern, path, glob
        self.literal, self.fold = literal, fold

    def command(self, backend: str, per_file: int | None, count: bool = False) -> str:
        pattern = shlex.quote(self.pattern)
        target = [] if self.path == "." else [shlex.quote(self.path)]
        limit = [f"-m {per_file}"] if per_file else []
        if backend == "rg":
            # No --sort: it makes rg single-threaded; the results are sorted here instead.
            args = ["rg", "--no-config", "--hidden", "--color=never", "-g '!.git'"]
            args += ["-F"] if self.literal else []
            args += ["-i"] if self.fold else []
            args += [f"-g {shlex.quote(self.glob)}"] if self.glob else []
            if count:
                args += ["--count", "--with-filename"]
            else:
                args += ["--line-number", "--with-filename", "--no-heading", "--null"]
                args += ["--max-columns=1000", "--max-columns-preview", *limit]
            return " ".join([*args, "-e", pattern, "--", *target])
        if backend == "git":
            args = ["git", "--no-pager", "grep", "--untracked", "-I", "--no-color"]
            args += ["-F"] if self.literal else ["-E"]
            args += ["-i"] if self.fold else []
            # No per-file -m: older gits lack it; `head` caps the total instead.
            args += ["-c"] if count else ["-n", "-z"]
            paths = target or ["."]
            if self.glob:
                paths = [f"{shlex.quote(':(glob)' + _git_glob(self.path, self.glob))}"]
            # `2>&1`: a bad regex must reach the model, not vanish.
            return " ".join([*args, "-e", pattern, "--", *paths, "2>&1"])
        args = ["grep", "-r", "-I", "--exclude-dir=.git", "--color=never"]
        args += ["-F"] if self.literal else ["-E"]
        args += ["-i"] if self.fold else []
        args += [f"--include={shlex.quote(self.glob)}"] if self.glob else []
        args += ["-c", "-H"] if count else ["-n", "--null", "-H", *limit]
        return " ".join([*args, "-e", pattern, "--", *(target or ["."]), "2>&1"])


def _git_glob(path: str, glob: str) -> str:
    base = "" if path == "." else path.rstrip("/") + "/"
    if "/" not in glob:
        return f"{base}**/{glob}"
    return f"{base}{glob}"


def _parse_lines(output: str) -> tuple[list[tuple[str, int, str]], str | None]:
    """`path\\0line:text` (rg, grep) or `path\\0line\\0text` (git grep) lines."""
    hits, problems = [], []
    for raw in output.split("\n"):
        if "\0" not in raw:
            if raw.strip():
                problems.append(raw.strip())
            continue
        file, rest = raw.split("\0", 1)
        number, sep, text = rest.partition("\0")
        if not sep:
            number, sep, text = rest.partition(":")
        if not number.isdigit():
            problems.append(raw.strip())
            continue
        file = file.removeprefix("./")
        hits.append((file, int(number), text))
    return hits, "; ".join(problems[:3]) if problems else None


def _count(
    ctx: ToolContext, query: _Query, backend: str, fetched: dict[str, int]
) -> tuple[dict[str, int], int, int]:
    """Exact per-file counts and totals, when the fetched lines were capped."""
    awk = (
        "awk -F: '{c=$NF; if (c+0 > 0) {n++; s+=c; if (n <= LIMIT) print}} "
        'END {print "TOTAL:" n+0 ":" s+0}\''
    ).replace("LIMIT", str(COUNT_FILES))
    script = f"{query.command(backend, None, count=True)} | {awk}"
    result = ctx.sandbox.run(script, cwd=ctx.sandbox.root, timeout=120, output_limit=2_000_000)
    counts: dict[str, int] = {}
    total_files = total_lines = 0
    for line in result.output.splitlines():
        if line.startswith("TOTAL:"):
            _, files, lines = line.split(":")
            total_files, total_lines = int(files), int(lines)
            continue
        file, _, count = line.rpartition(":")
        if count.isdigit() and file:
            counts[file.removeprefix("./")] = int(count)
    if not total_lines:  # counting failed (timeout): fall back to what was fetched
        return fetched, sum(fetched.values()), len(fetched)
    return counts, total_lines, total_files
