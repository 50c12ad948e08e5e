"""The Tool contract: what a tool declares (name, docs, JSON schema) and what it returns."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .schema import check_arguments, usage

if TYPE_CHECKING:
    from .context import ToolContext


@dataclass
class Observation:
    """What a tool call produced.

    `text` is exactly what the model sees; `data` is the same result as structured data
    (for `--json`, trajectories and tests); `finished` is set only by `submit`.
    """

    text: str
    data: dict[str, Any] = field(default_factory=dict)
    is_error: bool = False
    finished: bool = False

    @classmethod
    def error(cls, text: str, **data: Any) -> Observation:
        return cls(text=text, data={"error": text, **data}, is_error=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "data": self.data,
            "is_error": self.is_error,
            "finished": self.finished,
        }


class ToolError(Exception):
    """A problem the model caused and can fix (bad path, no match, ...): shown as an error
    observation with this message, never as a traceback."""


class Tool:
    """One action the model can take.

    Subclasses set `name`, `description` (the prompt documentation: what, when, examples)
    and `parameters` (a JSON schema of an object), and implement `run`. Tools hold no
    state: everything that lives across calls is in the ToolContext.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    parameters: ClassVar[dict[str, Any]]

    def run(self, ctx: ToolContext, **arguments: Any) -> Observation:
        raise NotImplementedError

    def __call__(self, ctx: ToolContext, arguments: dict[str, Any] | None) -> Observation:
        """Check the arguments against the schema, then run; bad arguments and ToolErrors
        become error observations that repeat the expected usage."""
        checked, problems = check_arguments(self.parameters, arguments)
        if problems:
            return Observation.error(
                f"{self.name}: {'; '.join(problems)}.\nUsage: {self.usage()}",
                problems=problems,
            )
        try:
            return self.run(ctx, **checked)
        except ToolError as exc:
            return Observation.error(f"{self.name}: {exc}")

    def usage(self) -> str:
        return usage(self.name, self.parameters)

    def schema(self) -> dict[str, Any]:
        """This tool in the OpenAI function-calling format."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description.strip(),
                "parameters": self.parameters,
            },
        }

    def doc(self) -> str:
        """This tool documented for a text prompt (for models without function calling)."""
        lines = [f"### {self.name}", self.description.strip(), "", "Arguments:"]
        required = set(self.parameters.get("required", ()))
        for name, spec in self.parameters.get("properties", {}).items():
            kind = spec.get("type", "any")
            if kind == "array":
                kind = f"list of {spec.get('items', {}).get('type', 'any')}"
            flags = ["required" if name in required else "optional"]
            if "enum" in spec:
                flags.append("one of " + ", ".join(map(str, spec["enum"])))
            if "default" in spec:
                flags.append(f"default {json.dumps(spec['default'])}")
            text = spec.get("description", "")
            lines.append(f"- {name} ({kind}, {', '.join(flags)}): {text}".rstrip(": "))
        if not self.parameters.get("properties"):
            lines.append("- (none)")
        return "\n".join(lines)
