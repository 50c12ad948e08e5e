"""The conversation the model sees: old observations elided, and kept within the context window."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from patchsmith.tools.tokens import count_tokens

ELIDED = (
    "[observation of step {step} elided to save context ({lines} lines); "
    "repeat the action to see it again]"
)
# Per-message overhead of chat formats, on top of the content's own tokens.
MESSAGE_OVERHEAD = 4


@dataclass
class Conversation:
    """Messages in the OpenAI chat format. Observation messages remember their step, so the
    ones older than the last `keep` steps can be shown as a one-line note instead."""

    keep: int = 5
    messages: list[dict[str, Any]] = field(default_factory=list)
    _steps: list[int | None] = field(default_factory=list)

    def add(self, message: dict[str, Any], step: int | None = None) -> None:
        """Add a message; give `step` for observations, which may be elided later."""
        self.messages.append(message)
        self._steps.append(step)

    def render(self, current_step: int, keep: int | None = None) -> list[dict[str, Any]]:
        keep = self.keep if keep is None else keep
        rendered = []
        for message, step in zip(self.messages, self._steps, strict=True):
            if step is not None and step < current_step - keep and message.get("content"):
                lines = str(message["content"]).count("\n") + 1
                message = {**message, "content": ELIDED.format(step=step, lines=lines)}
            rendered.append(message)
        return rendered

    def fit(self, current_step: int, budget: int | None) -> list[dict[str, Any]]:
        """The messages to send: elide more old observations, then shorten the longest
        messages, until they fit `budget` tokens (None: no known limit)."""
        messages = self.render(current_step)
        if budget is None or tokens_of(messages) <= budget:
            return messages
        for keep in range(self.keep - 1, -1, -1):
            messages = self.render(current_step, keep)
            if tokens_of(messages) <= budget:
                return messages
        return shorten(messages, budget)


def tokens_of(messages: list[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        content = message.get("content") or ""
        total += count_tokens(content if isinstance(content, str) else json.dumps(content))
        if message.get("tool_calls"):
            total += count_tokens(json.dumps(message["tool_calls"]))
        total += MESSAGE_OVERHEAD
    return total


def shorten(messages: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """Halve the longest message (never the first two: the system prompt and the issue)
    until the conversation fits; returns it even if it cannot fit, for the model to refuse."""
    messages = [dict(m) for m in messages]
    for _ in range(64):
        if tokens_of(messages) <= budget:
            break
        candidates = [i for i in range(2, len(messages)) if messages[i].get("content")]
        if not candidates:
            break
        longest = max(candidates, key=lambda i: len(messages[i]["content"]))
        text = messages[longest]["content"]
        if len(text) < 200:
            break
        half = len(text) // 4
        messages[longest]["content"] = (
            f"{text[:half]}\n[... {len(text) - 2 * half} characters cut to fit the context "
            f"window ...]\n{text[-half:]}"
        )
    return messages
