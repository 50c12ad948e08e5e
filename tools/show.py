"""The `show` tool: the source of a class, function or method found by name in the code index."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Observation, Tool, ToolError
from .context import ToolContext

SHOW_ALL_LINES = 150  # a few short same-named definitions are shown together, not listed


class ShowTool(Tool):
    name = "show"
    description = """
Show the source of a class, function or method by name, with line numbers, wherever it is
defined in the workspace. The name may be bare ("parse"), partly qualified
("Parser.parse") or fully qualified with its module ("pkg.parser.Parser.parse"). When it
names a few short definitions they are all shown; when it names many, they are listed with
their qualified names so you can ask again more precisely (or pass `path` to keep only the
definitions in a file or directory).

Examples:
  {"symbol": "Parser.parse"}
  {"symbol": "handle", "path": "src/server"}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "symbol": {"type": "string", "description": "bare or qualified name"},
            "path": {
                "type": "string",
                "description": "only definitions in this file or directory",
            },
        },
        "required": ["symbol"],
    }

    def run(self, ctx: ToolContext, symbol: str, path: str | None = None) -> Observation:
        from .index import show

        name = symbol.strip().replace("::", ".").replace("#", ".")
        if not name:
            raise ToolError("the symbol is empty")
        index = ctx.index()
        found = index.definitions(name)
        if path is not None:
            where = ctx.locate(path)
            prefix = "" if where.path == "." else where.path
            found = [d for d in found if _inside(d.path, prefix)]
            if not found:
                raise ToolError(f"no definition named {name!r} under {where.shown}")
        data: dict[str, Any] = {
            "symbol": name,
            "matches": [
                {
                    "qualname": d.qualname,
                    "kind": d.kind,
                    "path": d.path,
                    "start_line": d.start_line,
                    "end_line": d.end_line,
                }
                for d in found
            ],
        }
        if not found:
            return Observation.error(show(index, name), **data)
        total = sum(d.end_line - d.start_line + 1 for d in found)
        if len(found) == 1 or (len(found) <= 3 and total <= SHOW_ALL_LINES):
            # Each by its qualified name, so that the view shows exactly that one; a name
            # shared by several definitions (a property's getter and setter) shows them all.
            parts = [show(index, qualname) for qualname in dict.fromkeys(d.qualname for d in found)]
            if len(found) > 1:
                parts.insert(0, f"{name!r} is defined in {len(found)} places:")
            return Observation("\n\n".join(parts), data)
        if path is None:
            return Observation(show(index, name), data)
        listed = [f"  {d.qualname} ({d.kind}) {d.path}:{d.start_line}" for d in found[:30]]
        header = f"{name!r} matches {len(found)} definitions; ask again with a qualified name:"
        return Observation("\n".join([header, *listed]), data)


def _inside(path: str, directory: str) -> bool:
    return not directory or path == directory or path.startswith(directory + "/")
