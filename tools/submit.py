"""The `submit` tool: ends the run and hands over the workspace diff."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from .base import Observation, Tool
from .context import ToolContext
from .indexing import syntax_errors


class SubmitTool(Tool):
    name = "submit"
    description = """
Finish: hand over the changes made in the workspace (as a diff against the starting commit)
and end the run. Call it once the fix is done and checked. If nothing has changed yet, the
first submit is refused with a warning; submitting again ends the run anyway (for when no
change is the right answer). Files you created for experiments (reproduction scripts) are
part of the diff unless you delete them first.

Example:
  {"summary": "Fix off-by-one in Parser.read_header; add a regression test"}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "description": "one or two lines on what was changed"},
        },
    }

    def run(self, ctx: ToolContext, summary: str = "") -> Observation:
        diff = ctx.sandbox.diff()
        files = diffstat(diff)
        data: dict[str, Any] = {"diff": diff, "files": files, "summary": summary}
        if not diff.strip():
            if not ctx.submit_warned:
                ctx.submit_warned = True
                return Observation(
                    "Nothing has changed in the workspace, so there is nothing to submit. Make "
                    "the fix first; if no change is really the answer, call submit again.",
                    {**data, "refused": True},
                )
            return Observation("Submitted with no changes.", data, finished=True)
        lines = [f"Submitted {len(files)} changed file{'s' if len(files) != 1 else ''}:"]
        width = max(len(f["path"]) for f in files)
        for entry in files:
            lines.append(f"  {entry['path']:<{width}}  +{entry['added']} -{entry['removed']}")
        broken = _broken_files(ctx, [f["path"] for f in files if not f["deleted"]])
        if broken:
            lines.append("Note: these files do not parse: " + ", ".join(broken))
            data["syntax_errors"] = broken
        return Observation("\n".join(lines), data, finished=True)


def diffstat(diff: str) -> list[dict[str, Any]]:
    """Per file of a unified git diff: path, lines added and removed, whether deleted."""
    files: list[dict[str, Any]] = []
    in_hunk = False
    for line in diff.splitlines():
        header = re.match(r"^diff --git a/(.*) b/(.*)$", line)
        if header:
            files.append({"path": header.group(2), "added": 0, "removed": 0, "deleted": False})
            in_hunk = False
        elif not files:
            continue
        elif line.startswith("@@"):
            in_hunk = True
        elif not in_hunk:
            files[-1]["deleted"] |= line.startswith("deleted file mode")
        elif line.startswith("+"):
            files[-1]["added"] += 1
        elif line.startswith("-"):
            files[-1]["removed"] += 1
    return files


def _broken_files(ctx: ToolContext, paths: list[str]) -> list[str]:
    broken = []
    for path, data in ctx.sandbox.read_files(paths).items():
        errors = syntax_errors(path, data)
        if errors:
            broken.append(f"{path} (line {errors[0].line})")
    return broken
