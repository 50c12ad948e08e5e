"""The `python` tool: code run in a persistent Python interpreter in the sandbox."""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Observation, Tool, ToolError
from .context import ToolContext
from .render import clip_text


class PythonTool(Tool):
    name = "python"
    description = """
Run Python code in a persistent interpreter in the sandbox (started in the workspace root,
which is on sys.path). Variables, imports and functions survive between calls, like cells
of a notebook; the value of a final expression is printed. Output of print, of tracebacks
and of subprocesses is captured and cut in the middle when long. A snippet that runs longer
than `timeout` seconds is interrupted (KeyboardInterrupt) and the interpreter keeps its
state; only when that fails is it restarted. Modules you change on disk need
`importlib.reload(module)` to be seen again. Set reset=true for a fresh interpreter.

Examples:
  {"code": "import calc\\ncalc.add(2, 3)"}
  {"code": "data = [x * x for x in range(10)]\\nsum(data)"}
  {"code": "import importlib, calc\\nimportlib.reload(calc)\\ncalc.add(2, 3)"}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "Python statements to run"},
            "timeout": {
                "type": "number",
                "description": "seconds before the code is interrupted (default 120)",
                "minimum": 1,
            },
            "reset": {
                "type": "boolean",
                "description": "start a fresh interpreter first (all variables are dropped)",
                "default": False,
            },
        },
        "required": ["code"],
    }

    def run(
        self, ctx: ToolContext, code: str, timeout: float | None = None, reset: bool = False
    ) -> Observation:
        if not code.strip() and not reset:
            raise ToolError("the code is empty")
        session = ctx.python()
        notes = []
        if reset:
            session.start()
            notes.append("[a fresh interpreter was started]")
            if not code.strip():
                return Observation(notes[0], {"status": "ok", "reset": True})
        limit = min(timeout or ctx.config.command_timeout, ctx.config.max_command_timeout)
        result = session.execute(code, limit, ctx.config.output_chars)
        ctx.workspace_changed()
        output = clip_text(
            result.output.rstrip("\n"),
            ctx.config.output_chars,
            "print less, or write the output to a file and look at parts of it",
        )
        parts = [output if output.strip() else "(no output)"]
        if result.timed_out and result.status == "interrupted":
            parts.append(
                f"[timed out after {limit:g} s: the code was interrupted; the interpreter and "
                "the variables defined so far are kept]"
            )
        if result.note:
            # Said first: a NameError below makes sense only knowing the state was lost.
            notes.append(result.note)
        data = {
            "status": result.status,
            "output": result.output,
            "timed_out": result.timed_out,
            "omitted_bytes": result.omitted,
            "note": result.note,
        }
        return Observation("\n".join([*notes, *parts]), data, is_error=result.status == "lost")
