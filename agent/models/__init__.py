"""The model layer: the Model contract, litellm, scripted and replay models, and `make_model`.

Importing this package does not import litellm; only constructing a `LiteLLMModel` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .base import (
    ContextWindowExceeded,
    Model,
    ModelError,
    ModelResponse,
    ToolCall,
    Usage,
    parse_arguments,
)
from .litellm_model import LiteLLMModel
from .scripted import ReplayModel, ScriptedModel

__all__ = [
    "ContextWindowExceeded",
    "LiteLLMModel",
    "Model",
    "ModelError",
    "ModelResponse",
    "ReplayModel",
    "ScriptedModel",
    "ToolCall",
    "Usage",
    "make_model",
    "parse_arguments",
    "trajectory_responses",
]

# Options that mean something to a playback model; the rest (api_base, temperature, ...) are
# ignored for them, so the CLI can hand the same options to every kind of model.
PLAYBACK_OPTIONS = {"native_tools"}


def make_model(spec: str, **options: Any) -> Model:
    """A model from its spec: `scripted:PATH`, `replay:TRAJECTORY.json`, or a litellm name."""
    spec = spec.strip()
    if not spec:
        raise ModelError("no model given: pass a litellm model name, scripted:FILE or replay:FILE")
    kind, _, rest = spec.partition(":")
    if kind in ("scripted", "replay"):
        if not rest:
            raise ModelError(f"{kind}: needs a file path, e.g. {kind}:path/to/file")
        playback = {k: v for k, v in options.items() if k in PLAYBACK_OPTIONS}
        if kind == "scripted":
            return ScriptedModel(rest, **playback)
        return ReplayModel(trajectory_responses(Path(rest)), **playback)
    return LiteLLMModel(spec, **options)


def trajectory_responses(path: Path) -> list[ModelResponse]:
    """The recorded model turns (`steps[i]["response"]`) of a trajectory file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ModelError(f"cannot read the trajectory {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ModelError(f"the trajectory {path} is not valid JSON: {exc}") from exc
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        raise ModelError(f"the trajectory {path} has no list of steps to replay")
    responses = []
    for number, step in enumerate(steps, 1):
        recorded = step.get("response") if isinstance(step, dict) else None
        if not recorded:
            continue  # a step without a model call (interrupted, or a pipeline stage's result)
        try:
            responses.append(ModelResponse.from_dict(recorded))
        except (TypeError, ValueError, AttributeError) as exc:
            raise ModelError(f"the trajectory {path}, step {number}: bad response: {exc}") from exc
    return responses
