"""The model contract: the Model protocol, its response type, and the errors a model raises."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


class ModelError(Exception):
    """A model call failed; the message says what happened and what to do about it."""


class ContextWindowExceeded(ModelError):
    """The conversation no longer fits in the model's context window."""


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class ToolCall:
    """One native function call. Arguments that were not a JSON object leave `arguments`
    empty and set `parse_error` (for the model to read) and `raw_arguments` (verbatim)."""

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    parse_error: str | None = None
    raw_arguments: str | None = None

    @classmethod
    def from_raw(cls, id: str | None, name: str, raw: Any) -> ToolCall:
        """A call from what a provider sent: `raw` is a JSON string, a dict, or nothing."""
        arguments, error = parse_arguments(raw)
        verbatim = None
        if error is not None:
            verbatim = raw if isinstance(raw, str) else json.dumps(raw, default=str)
        # Some local servers send no id, but the tool result must point at one.
        call_id = id or f"call_{uuid.uuid4().hex[:12]}"
        return cls(call_id, name or "", arguments, error, verbatim)

    def to_openai(self) -> dict[str, Any]:
        """The call as it appears in an assistant message of the OpenAI chat format."""
        if self.raw_arguments is not None:
            arguments = self.raw_arguments
        else:
            arguments = json.dumps(self.arguments)
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": arguments},
        }


def parse_arguments(raw: Any) -> tuple[dict[str, Any], str | None]:
    """Tool-call arguments as a dict, or ({}, why-not) when they are not a JSON object."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None  # providers send "" for calls without arguments
    value = raw
    # Models sometimes encode the JSON object as a JSON string a second time.
    for _ in range(2):
        if not isinstance(value, str):
            break
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno} column {exc.colno}"
            return {}, f"the arguments are not valid JSON ({exc.msg} at {where})"
    if not isinstance(value, dict):
        return {}, f"the arguments must be a JSON object, not {type(value).__name__}"
    return value, None


@dataclass
class ModelResponse:
    """One model turn. `cost` is what this call cost in USD; it is 0 with `cost_known`
    False when the provider's price is unknown."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    cost_known: bool = True
    model: str = ""
    finish_reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable form for trajectories; `from_dict` reverses it exactly."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelResponse:
        # Missing keys take their defaults so older trajectories still load.
        return cls(
            text=data.get("text") or "",
            tool_calls=[ToolCall(**call) for call in data.get("tool_calls") or []],
            usage=Usage(**(data.get("usage") or {})),
            cost=float(data.get("cost", 0.0)),
            cost_known=bool(data.get("cost_known", True)),
            model=data.get("model") or "",
            finish_reason=data.get("finish_reason") or "",
        )

    def as_message(self) -> dict[str, Any]:
        """The assistant message to append to the conversation (OpenAI chat format)."""
        if not self.tool_calls:
            return {"role": "assistant", "content": self.text}
        # OpenAI's own form uses null content beside tool calls; some providers reject "".
        return {
            "role": "assistant",
            "content": self.text or None,
            "tool_calls": [call.to_openai() for call in self.tool_calls],
        }


@runtime_checkable
class Model(Protocol):
    """Anything that answers a conversation.

    `messages` use the OpenAI chat format; `tools` are OpenAI function schemas
    (`{"type": "function", "function": {"name", "description", "parameters"}}`). A model
    with `uses_native_tools` False ignores `tools`: the caller describes them in the prompt
    and reads actions from the text (see `patchsmith.agent.text_protocol`).
    """

    name: str
    uses_native_tools: bool

    def query(self, messages: list[dict], tools: list[dict] | None = None) -> ModelResponse: ...
