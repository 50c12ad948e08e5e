"""The agent-computer interface: one module per tool, written against the Sandbox interface."""

from .base import Observation, Tool, ToolError
from .context import ToolsetConfig
from .registry import Toolset, all_tools, get_tool

__all__ = ["Observation", "Tool", "ToolError", "Toolset", "ToolsetConfig", "all_tools", "get_tool"]
