"""The `bash` tool: a command in the sandbox's persistent shell, with timeout and output cap."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Observation, Tool, ToolError
from .context import ToolContext
from .render import clip_text


class BashTool(Tool):
    name = "bash"
    description = """
Run a bash command in the sandbox, in the workspace. The shell persists between calls:
`cd`, `export`, shell variables and functions carry over. stdin is closed (interactive
programs get end-of-file), so use non-interactive flags (`git --no-pager`, `pip -q`,
`apt-get -y`). Output (stdout and stderr together) is cut in the middle when long; send
long output to a file and look at parts of it. A command that runs longer than `timeout`
seconds is stopped (the shell survives); start servers and other long-running programs in
the background with `cmd > log 2>&1 &`.

Examples:
  {"command": "git status --short"}
  {"command": "python reproduce.py", "timeout": 60}
  {"command": "pip install -q -e . > /tmp/pip.log 2>&1; tail -5 /tmp/pip.log", "timeout": 600}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "the bash command(s) to run"},
            "timeout": {
                "type": "number",
                "description": "seconds before the command is stopped (default 120)",
                "minimum": 1,
            },
        },
        "required": ["command"],
    }

    def run(self, ctx: ToolContext, command: str, timeout: float | None = None) -> Observation:
        if not command.strip():
            raise ToolError("the command is empty")
        limit = min(timeout or ctx.config.command_timeout, ctx.config.max_command_timeout)
        result = ctx.sandbox.run(command, timeout=limit, output_limit=ctx.config.output_chars)
        ctx.workspace_changed()
        output = clip_text(
            result.output.rstrip("\n"),
            ctx.config.output_chars,
            "redirect the output to a file and look at parts of it (head, tail, grep)",
        )
        parts = [output if output.strip() else "(no output)"]
        if result.timed_out:
            parts.append(
                f"[timed out after {limit:g} s: the command was stopped. The shell is still "
                "there (working directory and variables kept). Give a larger timeout, or run "
                "it in the background: cmd > /tmp/log 2>&1 &]"
            )
        elif result.interrupted:
            parts.append("[interrupted: the command was stopped]")
        elif result.exit_code not in (0, None):
            parts.append(f"[exit code {result.exit_code}]")
        if result.note:
            parts.append(result.note)
        data = {
            "command": command,
            "output": result.output,
            "exit_code": result.exit_code,
            "timed_out": result.timed_out,
            "omitted_bytes": result.omitted_bytes,
            "duration": round(result.duration, 3),
            "note": result.note,
        }
        return Observation("\n".join(parts), data, is_error=result.timed_out)
