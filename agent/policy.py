"""The command policy: rules that allow, refuse or ask about an action before it runs.

Rules are regular expressions over an action's text (a bash command, Python code, or an
edit's path), checked in order: the user's `allow`, `deny` and `ask` rules, then the built-in
ones below; the first match decides. Nothing matching means the action runs. A refused
action never runs: the model gets an observation saying why, and the trajectory records it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    verdict: str  # "allow", "deny" or "ask"
    pattern: str
    reason: str = ""

    def matches(self, text: str) -> bool:
        return re.search(self.pattern, text) is not None


BUILT_IN = (
    # `git push`, also with options before the verb (`git -C dir push`, `git -c k=v push`).
    Rule(
        "deny",
        r"\bgit(\s+(-[Cc]\s+\S+|--?[\w-]+(=\S+)?))*\s+push\b",
        "publishing commits is the user's decision",
    ),
    Rule(
        "deny",
        r"\b(curl|wget)\b[^\n|;]*\|\s*(sudo\s+)?(ba|da|z)?sh\b",
        "piping a download into a shell runs code nobody has read",
    ),
    Rule(
        "deny",
        r"\brm\s+(--?[\w-]+\s+)*(/|~|\$HOME|\$\{HOME\})/?\*?(\s|;|&|$)",
        "deleting the root or home directory",
    ),
    Rule(
        "deny",
        r"(>>?|\btee\s+(-a\s+)?)\s*/(etc|usr|bin|sbin|lib|lib64|boot|root|home|var|opt)/",
        "writing to system directories, outside the workspace",
    ),
    Rule(
        "deny",
        r"\.git/(hooks|config)\b",
        "git hooks and config would act on the user's machine once the patch is applied",
    ),
    Rule("deny", r"/var/run/docker\.sock|\bdocker\s+(run|exec)\b", "reaching for a Docker engine"),
)
# Only when the run was given the network: its use is worth a human's look.
NETWORK = (
    Rule(
        "ask",
        r"\b(pip3?|python3?\s+-m\s+pip)\s+install\b|\b(curl|wget|npm\s+install|git\s+clone"
        r"|apt(-get)?\s+install)\b",
        "this reaches the network",
    ),
)


def action_text(tool: str, arguments: dict[str, Any]) -> str:
    """What the rules read of an action."""
    if tool == "bash":
        return str(arguments.get("command", ""))
    if tool == "python":
        return str(arguments.get("code", ""))
    if tool == "edit":
        return str(arguments.get("path", ""))
    return ""


class Policy:
    def __init__(
        self,
        allow: Iterable[str] = (),
        deny: Iterable[str] = (),
        ask: Iterable[str] = (),
        network: bool = False,
    ):
        self.rules = [
            *(Rule("allow", p, "allowed by your configuration") for p in allow),
            *(Rule("deny", p, "refused by your configuration") for p in deny),
            *(Rule("ask", p, "your configuration asks for confirmation") for p in ask),
            *BUILT_IN,
            *(NETWORK if network else ()),
        ]

    def check(self, tool: str, arguments: dict[str, Any]) -> Rule | None:
        """The rule that decides this action, or None when no rule speaks to it."""
        text = action_text(tool, arguments)
        if not text:
            return None
        return next((rule for rule in self.rules if rule.matches(text)), None)


def refusal(rule: Rule, unconfirmed: bool = False) -> str:
    """The observation the model gets for an action the policy stopped."""
    why = rule.reason
    if unconfirmed:
        why += "; it needs a person's confirmation and this run has nobody to ask"
    return (
        f"Not run: patchsmith's command policy stopped this action ({why}; rule "
        f"`{rule.pattern}`). Reach the goal another way, within the workspace."
    )
