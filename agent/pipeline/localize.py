"""Localize: from the issue to the code to change, narrowing in three model calls over the
retrieval ranking: which files, which classes and functions (shown as skeletons), which
lines. The result carries the code around those lines, which repair shows the model.

Every answer is read leniently (any mention of a shown path or symbol counts), and an
answer that names nothing usable falls back on the ranking, so a weak model still gets a
reasonable context.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from patchsmith.tools.index import outline

from .ranking import is_test, rank
from .search_replace import clean_path

if TYPE_CHECKING:
    from .runner import PipelineRun

PATH = re.compile(r"[\w./-]+\.\w+")
LINES = re.compile(r"\blines?\s*[:=]?\s*(\d+)(?:\s*(?:-|–|to|\.\.)\s*(\d+))?", re.IGNORECASE)
PATH_LINE = re.compile(r"([\w./-]+\.\w+):(\d+)(?:-(\d+))?")
NAME = re.compile(r"[A-Za-z_][\w.]*")
CONTEXT_LINES = 5  # around an edit location, beyond its enclosing function
MAX_WINDOW = 150  # lines of one code window; a longer function is shown around the location
MAX_SOURCE_LINES = 200  # of one symbol, in the prompt asking for edit locations


def localize(run: PipelineRun) -> dict[str, Any]:
    options = run.options
    toolset = run.workspace()
    index = toolset.context.index()
    ranking = rank(toolset, run.issue)
    known = index.files()
    shown = [path for path, _ in ranking.files[: options.ranked_files]]
    if not shown:  # nothing in the issue matches: let the model pick from the source files
        shown = [path for path in index.entries() if not is_test(path)]
        shown = shown[: options.ranked_files]

    text, step = run.ask(run.prompt("files", issue=run.issue, files="\n".join(shown)))
    files = mentioned_files(text, known)[: options.max_files]
    note = ""
    if not files:
        files, note = shown[: options.max_files], " (the reply named no file: the ranking's best)"
    run.record("localize", {"ask": "files"}, f"files: {', '.join(files)}{note}", step=step)

    skeletons = "\n\n".join(outline(index, path, max_lines=300) for path in files)
    text, step = run.ask(run.prompt("symbols", issue=run.issue, skeletons=skeletons))
    definitions = {path: index.definitions_in(path) for path in files}
    symbols = mentioned_symbols(text, definitions)[: options.max_symbols]
    note = ""
    if not symbols:
        symbols = _ranked_symbols(ranking, definitions)[: options.max_symbols]
        note = " (the reply named none of them: the ranking's best)"
    names = ", ".join(d["qualname"] for d in symbols) or "none"
    run.record("localize", {"ask": "symbols"}, f"symbols: {names}{note}", step=step)

    sources = index.sources(files)
    code = _symbol_sources(symbols, sources) or _file_heads(files, sources)
    text, step = run.ask(run.prompt("locations", issue=run.issue, code=code))
    locations = mentioned_locations(text, files, symbols, definitions)
    note = ""
    if not locations:
        locations = [{"path": s["path"], "start": s["start"], "end": s["end"]} for s in symbols]
        locations = locations or [{"path": path, "start": 1, "end": 40} for path in files]
        note = " (the reply named no line: the chosen symbols)"
    listed = ", ".join(f"{loc['path']}:{loc['start']}-{loc['end']}" for loc in locations)
    run.record("localize", {"ask": "locations"}, f"edit locations: {listed}{note}", step=step)

    return {
        "ranking": ranking.to_dict(),
        "files": files,
        "symbols": symbols,
        "locations": locations,
        "context": code_windows(locations, definitions, sources),
    }


def summarize(result: dict[str, Any]) -> str:
    windows = result.get("context", [])
    shown = ", ".join(f"{w['path']}:{w['start']}-{w['end']}" for w in windows) or "none"
    ranked = len(result.get("ranking", {}).get("files", []))
    symbols = ", ".join(s["qualname"] for s in result.get("symbols", [])) or "none"
    return (
        f"chose {', '.join(result.get('files', [])) or 'no file'} (of {ranked} ranked); "
        f"symbols: {symbols}; code shown to repair: {shown}"
    )


def mentioned_files(text: str, known: list[str]) -> list[str]:
    """Workspace files the reply names, in the order it names them; a bare file name or a
    path's tail stands for the one file it can mean."""
    known_set = set(known)
    found: list[str] = []
    for token in PATH.findall(text):
        path = clean_path(token)
        if path is None:
            continue
        if path not in known_set:
            tails = [k for k in known if k.endswith("/" + path)]
            if len(tails) != 1:
                continue
            path = tails[0]
        if path not in found:
            found.append(path)
    return found


def mentioned_symbols(text: str, definitions: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Definitions of the chosen files that the reply names (`function: f`, `Cls.method`,
    `path.py: Cls`, or just the name), in the order it names them."""
    found: dict[tuple[str, str, int], dict[str, Any]] = {}
    current = None  # the file the reply is talking about, when it says
    for line in text.splitlines():
        for path in definitions:
            if path in line:
                current = path
        for token in NAME.findall(line):
            token = token.strip(".")
            if not token or token in definitions or token.lower() in KIND_WORDS:
                continue
            # A name the file under discussion defines means that file's definition.
            in_current = current is not None and _defined(token, definitions[current])
            for path, defs in definitions.items():
                if in_current and path != current:
                    continue
                for d in defs:
                    if d.qualname == token or d.qualname.endswith("." + token):
                        key = (d.path, d.qualname, d.start_line)
                        found.setdefault(key, _symbol(d))
    return list(found.values())


KIND_WORDS = {"function", "class", "method", "variable", "line", "lines", "file", "def"}


def _defined(token: str, defs: list[Any]) -> bool:
    return any(d.qualname == token or d.qualname.endswith("." + token) for d in defs)


def _symbol(d: Any) -> dict[str, Any]:
    return {"path": d.path, "qualname": d.qualname, "start": d.start_line, "end": d.end_line}


def _ranked_symbols(ranking: Any, definitions: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The ranking's symbols in the chosen files (its names are qualified within the file),
    else those files' top-level definitions in source order."""
    chosen: list[Any] = []
    for path, name, line, _ in ranking.symbols:
        matches = [
            d
            for d in definitions.get(path, [])
            if d.qualname == name or d.qualname.endswith("." + name)
        ]
        matches.sort(key=lambda d: abs(d.line - line))
        if matches and matches[0] not in chosen:
            chosen.append(matches[0])
    if not chosen:
        chosen = [d for defs in definitions.values() for d in defs if d.depth == 0]
    return [_symbol(d) for d in chosen]


def mentioned_locations(
    text: str,
    files: list[str],
    symbols: list[dict[str, Any]],
    definitions: dict[str, list[Any]],
) -> list[dict[str, Any]]:
    """Line ranges the reply points at: `path:12`, `line: 12`, `lines 10-14` (in the file
    named last, or the chosen symbol containing the line), or a symbol name (its lines)."""
    found: list[dict[str, Any]] = []
    current = files[0] if len(files) == 1 else None

    def add(path: str | None, start: int, end: int) -> None:
        if path is None:
            owner = [s for s in symbols if s["start"] <= start <= s["end"]]
            path = owner[0]["path"] if len(owner) == 1 else None
        if path is None or path not in files:
            return
        location = {"path": path, "start": min(start, end), "end": max(start, end)}
        if location not in found:
            found.append(location)

    for line in text.splitlines():
        named = [path for path in files if path in line]
        if named:
            current = named[-1]
        pairs = PATH_LINE.findall(line)
        for path, start, end in pairs:
            add(clean_path(path), int(start), int(end or start))
        if pairs:
            continue
        numbers = LINES.findall(line)
        for start, end in numbers:
            add(current, int(start), int(end or start))
        if numbers:
            continue
        if re.match(r"\s*(function|method|class|def)\b", line, re.IGNORECASE):
            for symbol in mentioned_symbols(line, {p: definitions[p] for p in files}):
                add(symbol["path"], symbol["start"], symbol["end"])
    return found


def code_windows(
    locations: list[dict[str, Any]],
    definitions: dict[str, list[Any]],
    sources: dict[str, bytes],
) -> list[dict[str, Any]]:
    """The code around each location, as whole lines: the innermost definition containing
    it (when not too long) plus a few lines each side; overlapping windows are merged."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for loc in locations:
        path = loc["path"]
        lines = _lines(sources.get(path, b""))
        if not lines:
            continue
        start, end = loc["start"], loc["end"]
        inner = [
            d for d in definitions.get(path, []) if d.start_line <= start and end <= d.end_line
        ]
        if inner:
            d = min(inner, key=lambda d: d.end_line - d.start_line)
            if d.end_line - d.start_line < MAX_WINDOW:
                start, end = min(start, d.start_line), max(end, d.end_line)
        start, end = max(1, start - CONTEXT_LINES), min(len(lines), end + CONTEXT_LINES)
        if end - start >= MAX_WINDOW:
            middle = (loc["start"] + loc["end"]) // 2
            start = max(1, middle - MAX_WINDOW // 2)
            end = min(len(lines), start + MAX_WINDOW - 1)
        spans.setdefault(path, []).append((start, end))
    windows = []
    for path, ranges in spans.items():
        lines = _lines(sources[path])
        merged: list[list[int]] = []
        for start, end in sorted(ranges):
            if merged and start <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        for start, end in merged:
            code = "".join(line + "\n" for line in lines[start - 1 : end])
            windows.append({"path": path, "start": start, "end": end, "code": code})
    return windows


def render_context(windows: list[dict[str, Any]]) -> str:
    """The code windows for a prompt, file by file, without line numbers (so that what the
    model copies into SEARCH is the file's own text)."""
    parts = []
    for w in windows:
        language = _LANGUAGES.get(w["path"].rsplit(".", 1)[-1], "")
        header = f"### {w['path']} (lines {w['start']}-{w['end']})"
        parts.append(f"{header}\n```{language}\n{w['code']}```")
    return "\n\n".join(parts) or "(no code was localized)"


_LANGUAGES = {"py": "python", "js": "javascript", "ts": "typescript", "go": "go", "rs": "rust"}


def _lines(source: bytes) -> list[str]:
    return source.decode("utf-8", "replace").splitlines()


def _symbol_sources(symbols: list[dict[str, Any]], sources: dict[str, bytes]) -> str:
    parts = []
    for s in symbols:
        lines = _lines(sources.get(s["path"], b""))[s["start"] - 1 : s["end"]]
        shown = lines[:MAX_SOURCE_LINES]
        body = "\n".join(f"{s['start'] + i:>5} | {text}" for i, text in enumerate(shown))
        more = f"\n  ... ({len(lines) - len(shown)} more lines)" if len(lines) > len(shown) else ""
        parts.append(f"### {s['path']}: {s['qualname']}\n{body}{more}")
    return "\n\n".join(parts)


def _file_heads(files: list[str], sources: dict[str, bytes]) -> str:
    parts = []
    for path in files:
        lines = _lines(sources.get(path, b""))[:MAX_SOURCE_LINES]
        body = "\n".join(f"{i + 1:>5} | {text}" for i, text in enumerate(lines))
        parts.append(f"### {path}\n{body}")
    return "\n\n".join(parts)
