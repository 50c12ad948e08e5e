"""Models that play back fixed turns: ScriptedModel (from a file) and ReplayModel (a trajectory).

A script is a YAML or JSON list, played in order, one item per model turn. An item is
either a string (the reply text) or a mapping with any of `text`, `tool_calls` (a list of
`{name, arguments}`, optionally with `id`), `cost` (USD, default 0) and `usage`
(`{prompt_tokens, completion_tokens}`). `arguments` may also be a string, parsed like a
provider's JSON, so a script can exercise malformed calls:

    - "Let me look around.\\n```bash\\nls\\n```"
    - text: Reading the failing module.
      tool_calls:
        - name: view
          arguments: {path: calc.py}
      cost: 0.25
      usage: {prompt_tokens: 1200, completion_tokens: 80}
    - tool_calls:
        - {name: edit, arguments: '{"path": "calc.py", '}
    - tool_calls: [{name: submit, arguments: {}}]

When the turns run out, `query` raises `ModelError`. Unless told otherwise, a script with
any tool call is taken to use native tools and one without to use the text protocol.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from .base import ModelError, ModelResponse, ToolCall, Usage

SCRIPT_KEYS = {"text", "tool_calls", "cost", "usage"}


class _PlaybackModel:
    """Hands out prepared responses in order and keeps every conversation it was sent."""

    kind = "playback"

    def __init__(self, responses: list[ModelResponse], native_tools: bool | None, name: str):
        self.name = name
        self.responses = responses
        self.uses_native_tools = (
            any(r.tool_calls for r in responses) if native_tools is None else native_tools
        )
        self.received: list[list[dict]] = []  # tests assert on what the model was shown
        self._next = 0

    def query(self, messages: list[dict], tools: list[dict] | None = None) -> ModelResponse:
        self.received.append(copy.deepcopy(messages))
        if self._next >= len(self.responses):
            raise ModelError(f"{self.kind} model ran out of responses after {len(self.responses)}")
        response = self.responses[self._next]
        self._next += 1
        # A copy, so a caller editing the response cannot change a later replay.
        return ModelResponse.from_dict(response.to_dict())


class ScriptedModel(_PlaybackModel):
    """Responses from a YAML/JSON script file or an in-memory list (format: module docstring)."""

    kind = "scripted"

    def __init__(self, source: str | Path | Sequence[Any], native_tools: bool | None = None):
        if isinstance(source, (str, Path)):
            items, name = load_script(Path(source)), f"scripted:{source}"
        else:
            items, name = list(source), "scripted"
        responses = [scripted_response(item, i, name) for i, item in enumerate(items)]
        super().__init__(responses, native_tools, name)


class ReplayModel(_PlaybackModel):
    """The recorded model turns of a trajectory, played back in order.

    Recorded costs are replayed too, so a run that stopped on a cost limit stops there again.
    """

    kind = "replay"

    def __init__(
        self, responses: Sequence[ModelResponse | dict[str, Any]], native_tools: bool | None = None
    ):
        played = [
            r if isinstance(r, ModelResponse) else ModelResponse.from_dict(r) for r in responses
        ]
        super().__init__(played, native_tools, "replay")


def load_script(path: Path) -> list[Any]:
    """The items of a script file: JSON for `.json`, YAML for anything else."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except OSError as exc:
        raise ModelError(f"cannot read the model script {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ModelError(f"the model script {path} is not valid JSON/YAML: {exc}") from exc
    if not isinstance(data, list):
        raise ModelError(f"the model script {path} must be a list of responses")
    return data


def scripted_response(item: Any, index: int, source: str = "scripted") -> ModelResponse:
    """One script item as a response; a malformed item is a `ModelError` naming it."""

    def bad(why: str) -> ModelError:
        return ModelError(f"{source}: response {index + 1} {why}")

    if isinstance(item, str):
        return ModelResponse(text=item, model=source)
    if not isinstance(item, dict):
        raise bad("must be a string or a mapping")
    unknown = set(item) - SCRIPT_KEYS
    if unknown:
        raise bad(f"has unknown keys {sorted(unknown)}; allowed: {sorted(SCRIPT_KEYS)}")
    text = item.get("text") or ""
    if not isinstance(text, str):
        raise bad("has a `text` that is not a string")
    calls = []
    for j, call in enumerate(item.get("tool_calls") or []):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise bad("has a tool call without a `name`")
        arguments = call.get("arguments", {})
        if not isinstance(arguments, (dict, str)):
            arguments = json.dumps(arguments)  # reported to the model as a parse error
        call_id = str(call.get("id") or f"call_{index + 1}_{j + 1}")
        calls.append(ToolCall.from_raw(call_id, call["name"], arguments))
    usage = item.get("usage") or {}
    try:
        return ModelResponse(
            text=text,
            tool_calls=calls,
            usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
            cost=float(item.get("cost", 0.0)),
            model=source,
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise bad(f"has a bad `cost` or `usage`: {exc}") from exc
