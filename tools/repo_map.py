"""The `repo_map` tool: the most used definitions of the repository within a token budget."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Observation, Tool, ToolError
from .context import ToolContext


class RepoMapTool(Tool):
    name = "repo_map"
    description = """
An overview of the repository: the classes, functions and methods the rest of the code
relies on most (ranked by how they are used), as "path:" followed by "line | signature"
rows, fitted to a token budget. Lean it toward what you are working on with `focus_files`
and `focus_names` (e.g. the files and names an issue mentions). A good first step in an
unfamiliar repository.

Examples:
  {}
  {"focus_files": ["src/http/client.py"], "focus_names": ["Session.request"], "budget": 1500}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "budget": {
                "type": "integer",
                "description": "tokens the map may take (default 2048)",
                "minimum": 64,
            },
            "focus_files": {
                "type": "array",
                "items": {"type": "string"},
                "description": "files to lean the map toward",
            },
            "focus_names": {
                "type": "array",
                "items": {"type": "string"},
                "description": "names to lean the map toward",
            },
        },
    }

    def run(
        self,
        ctx: ToolContext,
        budget: int | None = None,
        focus_files: list[str] | None = None,
        focus_names: list[str] | None = None,
    ) -> Observation:
        from .index import repo_map

        budget = budget or ctx.config.repo_map_tokens
        files = [ctx.locate(path).path for path in focus_files or []]
        index = ctx.index()
        text = repo_map(index, budget, files, focus_names or [])
        if not text:
            raise ToolError(f"a budget of {budget} tokens is too small for a map; give more")
        data = {"budget": budget, "focus_files": files, "focus_names": focus_names or []}
        return Observation(text, data)
