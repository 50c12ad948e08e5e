"""Keeping secrets out of what patchsmith writes: values that look like keys are masked."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

MASK = "[REDACTED]"
# Shapes of credentials that providers hand out; matched anywhere in text.
_TOKEN_SHAPES = [
    r"sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}",  # OpenAI, Anthropic
    r"AKIA[0-9A-Z]{16}",  # AWS access key id
    r"gh[pousr]_[A-Za-z0-9]{30,}",  # GitHub
    r"github_pat_[A-Za-z0-9_]{30,}",
    r"xox[abprs]-[A-Za-z0-9\-]{10,}",  # Slack
    r"AIza[0-9A-Za-z_\-]{35}",  # Google
    r"hf_[A-Za-z0-9]{30,}",  # Hugging Face
    r"glpat-[A-Za-z0-9_\-]{20,}",  # GitLab
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
]
_TOKENS = re.compile("|".join(f"(?:{shape})" for shape in _TOKEN_SHAPES))
# `api_key = "..."`, `"token": "..."`, `PASSWORD=...`: the value goes, the name stays. Only
# values shaped like generated secrets (16+ characters, letters and digits, no code syntax),
# so that code such as `token = tokens[i]` is left alone: diffs must stay exact.
_ASSIGNED = re.compile(
    r"""(?ix)
    ((?:api[_-]?key|access[_-]?key|secret(?:[_-]?key)?|token|password|passwd)["']?\s*[:=]\s*["']?)
    ((?=[a-z0-9_\-+/=]*[0-9])(?=[a-z0-9_\-+/=]*[a-z])[a-z0-9_\-+/=]{16,})(?![\w(\[.])
    """
)
_SENSITIVE_NAME = re.compile(r"(?i)(key|token|secret|password|passwd|credential)")


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names say they are secrets (long enough to be
    unlikely to occur by chance), longest first."""
    env = os.environ if env is None else env
    values = {v for k, v in env.items() if _SENSITIVE_NAME.search(k) and len(v) >= 8}
    return sorted(values, key=len, reverse=True)


def redact(text: str, known: list[str] | None = None) -> str:
    """`text` with credentials masked: the values of secret environment variables (`known`,
    by default from this process's environment), token shapes, and assigned secrets."""
    for value in secret_values() if known is None else known:
        text = text.replace(value, MASK)
    text = _TOKENS.sub(MASK, text)
    return _ASSIGNED.sub(lambda m: m.group(1) + MASK, text)
