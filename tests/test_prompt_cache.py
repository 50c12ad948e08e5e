"""Prompt caching: Anthropic's models get cache breakpoints on the system prompt and the
conversation's last message; others are sent the messages unchanged."""

from __future__ import annotations

from patchsmith.agent.models.litellm_model import LiteLLMModel

MESSAGES = [
    {"role": "system", "content": "You are patchsmith."},
    {"role": "user", "content": "Fix add."},
    {"role": "assistant", "content": "Looking."},
    {"role": "user", "content": "calc.py: return a - b"},
]


def sent_messages(name: str) -> list[dict]:
    sent: list[dict] = []

    def completion(**params):  # litellm's own mock makes the response
        sent.extend(params["messages"])
        import litellm

        return litellm.completion(**params, mock_response="ok")

    LiteLLMModel(name, completion=completion, native_tools=False).query(MESSAGES)
    return sent


def test_claude_gets_breakpoints_on_the_system_prompt_and_the_last_message():
    sent = sent_messages("anthropic/claude-3-5-sonnet-20240620")
    marks = [
        isinstance(m["content"], list) and m["content"][-1].get("cache_control") for m in sent
    ]
    assert marks == [{"type": "ephemeral"}, False, False, {"type": "ephemeral"}]
    assert sent[0]["content"][0]["text"] == "You are patchsmith."
    assert MESSAGES[0]["content"] == "You are patchsmith."  # the caller's list is untouched


def test_other_models_are_sent_plain_messages():
    assert sent_messages("gpt-4o-mini") == MESSAGES
