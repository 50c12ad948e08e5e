"""The trajectory of a run: a JSON document that `agent show` renders and `agent replay` re-runs."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .redact import redact

FORMAT_VERSION = 1

# How a run ended. Each has its own meaning for scripts reading the trajectory.
STATUSES = (
    "submitted",
    "step_limit",
    "cost_limit",
    "time_limit",
    "format_errors",
    "stuck",
    "model_error",
    "sandbox_error",
    "interrupted",
    "no_valid_candidate",  # pipeline mode: every candidate failed validation
    "error",  # an internal error of patchsmith itself
)


@dataclass
class Action:
    """One action of a step and what it produced."""

    tool: str
    arguments: dict[str, Any]
    observation: str
    is_error: bool = False
    seconds: float = 0.0
    policy: str | None = None  # set when the command policy stopped the action: why


@dataclass
class Step:
    index: int
    response: dict[str, Any]  # ModelResponse.to_dict(): text, tool calls, usage, cost
    actions: list[Action] = field(default_factory=list)
    format_error: str | None = None  # what the model was told when its reply had no action
    warning: str | None = None  # e.g. the stuck-detector's warning shown to the model
    model_seconds: float = 0.0
    seconds: float = 0.0  # the whole step, model call included


@dataclass
class Trajectory:
    issue: str
    config: dict[str, Any]
    repo: str = ""
    commit: str = ""
    steps: list[Step] = field(default_factory=list)
    status: str | None = None
    message: str = ""
    diff: str = ""
    verdict: str | None = None  # pipeline mode: "valid" or "unverified" (no test could run)
    cost: float = 0.0
    cost_known: bool = True
    prompt_tokens: int = 0
    completion_tokens: int = 0
    started: float = field(default_factory=time.time)
    ended: float | None = None
    version: int = FORMAT_VERSION

    def count_call(self, cost: float, cost_known: bool, prompt: int, completion: int) -> None:
        """Add one billed model call to the run's totals."""
        self.cost += cost
        self.cost_known = self.cost_known and cost_known
        self.prompt_tokens += prompt
        self.completion_tokens += completion

    @property
    def seconds(self) -> float:
        return (self.ended or time.time()) - self.started

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trajectory:
        steps = [
            Step(**{**s, "actions": [Action(**a) for a in s.get("actions", [])]})
            for s in data.get("steps", [])
        ]
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "steps": steps})

    def save(self, path: Path) -> None:
        """Write atomically, so a run killed mid-write still leaves the previous version."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        # Keys the model saw or printed (an .env file it read, say) never reach the disk.
        tmp.write_text(redact(json.dumps(self.to_dict(), indent=1, ensure_ascii=False)))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Trajectory:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read the trajectory {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not a trajectory (invalid JSON: {exc})") from None
        if not isinstance(data, dict) or "steps" not in data:
            raise ValueError(f"{path} is not a patchsmith trajectory (no steps)")
        return cls.from_dict(data)
