"""All tools by name, and the Toolset that binds them to one sandbox for one run."""

from __future__ import annotations

from typing import Any

from ..sandbox import Sandbox
from .base import Observation, Tool
from .context import ToolContext, ToolsetConfig


def _tool_classes() -> list[type[Tool]]:
    from .bash import BashTool
    from .edit import EditTool
    from .find_files import FindFilesTool
    from .python import PythonTool
    from .references import ReferencesTool
    from .repo_map import RepoMapTool
    from .run_tests import RunTestsTool
    from .search import SearchTool
    from .show import ShowTool
    from .submit import SubmitTool
    from .symbols import SymbolsTool
    from .view import ViewTool

    # The order is the order of the docs in a prompt: look around, read, change, check, finish.
    return [
        RepoMapTool,
        SearchTool,
        FindFilesTool,
        SymbolsTool,
        ShowTool,
        ReferencesTool,
        ViewTool,
        EditTool,
        BashTool,
        PythonTool,
        RunTestsTool,
        SubmitTool,
    ]


_TOOLS: dict[str, Tool] = {}


def all_tools() -> list[Tool]:
    """One instance of every tool, in prompt order."""
    if not _TOOLS:
        for cls in _tool_classes():
            _TOOLS[cls.name] = cls()
    return list(_TOOLS.values())


def get_tool(name: str) -> Tool:
    """The tool called `name`; KeyError (naming the tools there are) when there is none."""
    tools = {tool.name: tool for tool in all_tools()}
    if name not in tools:
        raise KeyError(f"no tool named {name!r}; the tools are: {', '.join(tools)}")
    return tools[name]


class Toolset:
    """The tools bound to one sandbox, with the state of one run (undo history, code index,
    Python interpreter). Use it as a context manager, or call close()."""

    def __init__(
        self,
        sandbox: Sandbox,
        config: ToolsetConfig | None = None,
        tools: list[str] | None = None,
    ):
        chosen = all_tools() if tools is None else [get_tool(name) for name in tools]
        self.tools: dict[str, Tool] = {tool.name: tool for tool in chosen}
        self.context = ToolContext(sandbox, config or ToolsetConfig())

    @property
    def sandbox(self) -> Sandbox:
        return self.context.sandbox

    @property
    def config(self) -> ToolsetConfig:
        return self.context.config

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> Observation:
        """Run tool `name`; an unknown tool or bad arguments give an error observation."""
        tool = self.tools.get(name)
        if tool is None:
            listed = ", ".join(self.tools)
            return Observation.error(f"there is no tool called {name!r}; the tools are: {listed}")
        return tool(self.context, arguments)

    def schemas(self) -> list[dict[str, Any]]:
        """The tools in the OpenAI function-calling format."""
        return [tool.schema() for tool in self.tools.values()]

    def docs(self) -> str:
        """The tools documented for a prompt (for models without function calling)."""
        return "\n\n".join(tool.doc() for tool in self.tools.values())

    def close(self) -> None:
        self.context.close()

    def __enter__(self) -> Toolset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
