"""The `symbols` tool: an outline (skeleton) of a file or a directory from the code index."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Observation, Tool, ToolError
from .context import ToolContext


class SymbolsTool(Tool):
    name = "symbols"
    description = """
Outline the code of a file or a directory without the bodies. For a file: its skeleton
(classes, functions and methods with signatures, decorators, docstring first lines and
line numbers). For a directory: the classes, methods and functions of each file. Much
cheaper than viewing whole files: use it to find your way around, then `show` or `view`
what you need. Python, JavaScript, TypeScript, Go, Rust and Java are understood.

Examples:
  {"path": "src/parser.py"}
  {"path": "src/http"}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {
                "type": "string",
                "description": "file or directory, relative to the workspace root",
                "default": ".",
            },
        },
    }

    def run(self, ctx: ToolContext, path: str = ".") -> Observation:
        from .index import outline

        where = ctx.locate(path)
        if where.kind == "missing":
            raise ToolError(f"{where.shown} does not exist")
        index = ctx.index()
        target = "" if where.path == "." else where.path
        text = outline(index, target)
        if where.kind == "file" and index.entry(target) is None:
            raise ToolError(
                f"{where.shown} is not in a language the index reads (Python, JavaScript, "
                "TypeScript, Go, Rust, Java); use view"
            )
        definitions = (
            index.definitions_in(target)
            if where.kind == "file"
            else [d for f in index.files(target) for d in index.definitions_in(f)]
        )
        data = {
            "path": where.shown,
            "definitions": [
                {"qualname": d.qualname, "kind": d.kind, "path": d.path, "line": d.line}
                for d in definitions
            ],
        }
        return Observation(text, data)
