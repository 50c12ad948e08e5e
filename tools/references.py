"""The `references` tool: where a name is used, grouped by file, from the code index."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Observation, Tool, ToolError
from .context import ToolContext


class ReferencesTool(Tool):
    name = "references"
    description = """
List where a name (function, class, method, attribute) is used in the workspace's source
files, grouped by file with each line's number and text, after the places that define it.
Matching is by identifier (for "Parser.parse" the uses of "parse"), so uses of unrelated
things with the same name are included. Use it to find the callers of what you change.

Examples:
  {"symbol": "parse_header"}
  {"symbol": "Parser.parse"}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "symbol": {"type": "string", "description": "a name, bare or qualified"},
        },
        "required": ["symbol"],
    }

    def run(self, ctx: ToolContext, symbol: str) -> Observation:
        from .index import references_text

        name = symbol.strip().replace("::", ".").replace("#", ".")
        if not name:
            raise ToolError("the symbol is empty")
        index = ctx.index()
        uses = index.references(name)
        definitions = index.definitions(name)
        parts = []
        if definitions:
            parts.append("Defined at:")
            parts += [f"  {d.path}:{d.line}  {d.qualname} ({d.kind})" for d in definitions[:20]]
            if len(definitions) > 20:
                parts.append(f"  ... and {len(definitions) - 20} more")
        parts.append(references_text(index, name))
        data = {
            "symbol": name,
            "definitions": [
                {"qualname": d.qualname, "path": d.path, "line": d.line} for d in definitions
            ],
            "references": {path: list(lines) for path, lines in uses.items()},
            "total": sum(len(lines) for lines in uses.values()),
        }
        return Observation("\n".join(parts), data)
