"""Text views of the code index for tools: outlines, a symbol's source, and references.

Every view is compact and keeps line numbers, and every cut is announced with how much was
left out, so the model never mistakes a truncated answer for a complete one.
"""

from __future__ import annotations

from .index import CodeIndex, Definition, one_line, outside_functions, workspace_path

MAX_LINE_CHARS = 160


def outline(index: CodeIndex, path: str = "", max_lines: int = 400) -> str:
    """The skeleton of a file (signatures, docstring first lines, bodies elided) or, for a
    directory ("" for the whole workspace), the classes, methods and functions of each file."""
    path = workspace_path(path)
    entry = index.entry(path) if path else None
    if entry is not None:
        if entry.error:
            return f"{path}: no outline ({entry.error})."
        if not entry.definitions:
            return f"{path}: no classes or functions."
        hint = f"view {path} for the rest"
        return _cut(_file_skeleton(path, entry.definitions), max_lines, "lines", hint)
    files = index.files(path)
    if not files:
        return f"No file or directory {path!r} in the workspace."
    if files == [path]:
        return f"{path}: no outline (not a language the index reads)."
    lines: list[str] = []
    others = 0
    for file in files:
        definitions = index.definitions_in(file)
        if not definitions:
            others += 1
            continue
        lines.append(f"{file}:")
        lines.extend(_directory_lines(definitions))
    if others:
        lines.append(f"({others} other files without classes or functions)")
    return _cut(lines, max_lines, "lines", "outline a subdirectory or a file for more")


def show(index: CodeIndex, name: str, max_lines: int = 200, max_candidates: int = 30) -> str:
    """The source of the definition called `name`, with line numbers; when the name matches
    several definitions, the candidates with their qualified names and locations."""
    found = index.definitions(name)
    if not found:
        return _not_found(index, name)
    if len({d.qualname for d in found}) > 1:
        lines = [f"{name!r} matches {len(found)} definitions; ask again with a qualified name:"]
        lines.extend(
            f"  {d.qualname} ({d.kind}) {d.path}:{d.start_line}" for d in found[:max_candidates]
        )
        if len(found) > max_candidates:
            lines.append(f"  ... and {len(found) - max_candidates} more not shown")
        return "\n".join(lines)
    # One name, possibly defined more than once (a property's getter and setter): show all.
    sources = index.sources({d.path for d in found})
    return "\n\n".join(_source_of(d, sources.get(d.path), max_lines) for d in found)


def _source_of(d: Definition, source: bytes | None, max_lines: int) -> str:
    if source is None:
        return f"{d.qualname} was in {d.path}, which can no longer be read."
    text = source.decode("utf-8", "replace").splitlines()[d.start_line - 1 : d.end_line]
    width = len(str(d.end_line))
    body = [f"{d.start_line + i:>{width}} | {line}" for i, line in enumerate(text)]
    header = f"{d.qualname} ({d.kind}) {d.path}:{d.start_line}-{d.end_line}"
    hint = f"view {d.path} from line {d.start_line + max_lines} for the rest"
    return header + "\n" + _cut(body, max_lines, "lines", hint)


def references(index: CodeIndex, name: str, max_lines: int = 50, max_files: int = 20) -> str:
    """Where the identifier `name` is used, grouped by file, each line with its number and
    text. Matching is by name: same-named unrelated things are included."""
    found = index.references(name)
    bare = name.rsplit(".", 1)[-1]
    if not found:
        return f"No uses of {bare!r} found in the indexed source files."
    total = sum(len(lines) for lines in found.values())
    # Which lines fit: whole files first come first, the last one possibly cut short.
    picked: dict[str, tuple[int, ...]] = {}
    room = max_lines
    for path, numbers in found.items():
        if room <= 0 or len(picked) >= max_files:
            break
        picked[path] = numbers[:room]
        room -= len(picked[path])
    sources = index.sources(picked)
    lines = [f"{bare!r} is used on {total} lines in {len(found)} files (matched by name):"]
    for path, numbers in picked.items():
        text = sources.get(path, b"").decode("utf-8", "replace").splitlines()
        width = len(str(numbers[-1]))
        lines.append(path)
        for number in numbers:
            code = text[number - 1].strip() if number <= len(text) else ""
            lines.append(f"  {number:>{width}} | {_clip(code)}")
    shown = sum(len(numbers) for numbers in picked.values())
    files_shown = len(picked)
    if shown < total:
        unlisted = len(found) - files_shown
        where = f", {unlisted} of the {len(found)} files not listed" if unlisted else ""
        lines.append(f"... {total - shown} more lines not shown{where}")
    return "\n".join(lines)


def _file_skeleton(path: str, definitions: list[Definition]) -> list[str]:
    visible = outside_functions(definitions)
    width = len(str(max(d.end_line for d in visible)))
    blank = " " * width + " |"
    doc_style = '"""{}"""' if path.endswith((".py", ".pyi")) else "// {}"
    lines = [f"{path}:"]
    for i, d in enumerate(visible):
        indent = "    " * d.depth
        numbered = d.line - d.start_line == len(d.decorators)
        for k, decorator in enumerate(d.decorators):
            prefix = f"{d.start_line + k:>{width}} |" if numbered else blank
            lines.append(f"{prefix} {indent}{decorator}")
        for k, part in enumerate(d.signature.splitlines()):
            lines.append(f"{d.line + k:>{width}} | {indent}{part}")
        inner = indent + "    "
        if d.doc:
            lines.append(f"{blank} {inner}{doc_style.format(d.doc)}")
        has_members = i + 1 < len(visible) and visible[i + 1].depth > d.depth
        if not has_members:
            lines.append(f"{blank} {inner}...")
    return lines


def _directory_lines(definitions: list[Definition]) -> list[str]:
    visible = [d for d in outside_functions(definitions) if d.depth <= 1]
    width = len(str(max((d.line for d in visible), default=1)))
    return [f"  {d.line:>{width}} | {'    ' * d.depth}{_one_line(d.signature)}" for d in visible]


def _one_line(signature: str) -> str:
    return _clip(one_line(signature))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LINE_CHARS else text[: MAX_LINE_CHARS - 3] + "..."


def _cut(lines: list[str], limit: int, unit: str, hint: str = "") -> str:
    if len(lines) <= limit:
        return "\n".join(lines)
    note = f"... {len(lines) - limit} more {unit} not shown" + (f"; {hint}" if hint else "")
    return "\n".join([*lines[:limit], note])


def _not_found(index: CodeIndex, name: str) -> str:
    similar = index.similar_names(name)
    if similar:
        return f"No definition named {name!r}. Similar names: {', '.join(similar)}"
    return f"No definition named {name!r} in the indexed source files."
