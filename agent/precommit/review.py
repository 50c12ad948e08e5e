"""`--review`: a model reads the staged diff and reports findings, each with a severity.

One model call (a second one only when the first reply is not the JSON asked for); no
sandbox and no tools. Findings at or above the chosen severity fail the hook.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .checks import Failure
from .config import SEVERITIES
from .staged import git

if TYPE_CHECKING:
    from patchsmith.agent.models import Model

DIFF_CHARS = 60_000  # of the staged diff shown to the model; the rest is cut with a note
FORMAT_REMINDER = (
    "That reply was not a JSON array of findings. Reply with only the JSON array "
    '(`[]` when there is nothing to report), e.g. [{"severity": "high", "file": "a.py", '
    '"line": 3, "message": "..."}].'
)


class ReviewError(Exception):
    """The model's review could not be read."""


@dataclass
class Finding:
    severity: str
    file: str
    line: int | None
    message: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file or "(the change)"


@dataclass
class Review:
    findings: list[Finding] = field(default_factory=list)
    threshold: str = "high"
    cost: float = 0.0
    cost_known: bool = True

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if rank(f.severity) >= rank(self.threshold)]

    def failures(self) -> list[Failure]:
        return [Failure("review", f.where, f"[{f.severity}] {f.message}") for f in self.blocking]


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def staged_diff(top: Path, files: Sequence[str] | None = None) -> str:
    paths = ["--", *files] if files else []
    out = git(top, "diff", "--cached", "--no-color", "--no-ext-diff", "-U5", *paths).stdout
    text = out.decode("utf-8", "replace")
    if len(text) > DIFF_CHARS:
        cut = len(text) - DIFF_CHARS
        text = text[:DIFF_CHARS] + f"\n[... {cut} more characters of the diff not shown ...]\n"
    return text


def review_staged(
    top: Path, model: Model, threshold: str, files: Sequence[str] | None = None
) -> Review:
    """The model's findings on the staged diff (of `files` only, when given)."""
    from ..loop import prompt_template

    instructions = prompt_template("precommit_review").template
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": instructions},
        {"role": "user", "content": f"<diff>\n{staged_diff(top, files)}</diff>"},
    ]
    review = Review(threshold=threshold)
    for attempt in range(2):
        response = model.query(messages)
        review.cost += response.cost
        review.cost_known = review.cost_known and response.cost_known
        try:
            review.findings = parse_findings(response.text)
            return review
        except ReviewError:
            if attempt == 1:
                raise
            messages += [response.as_message(), {"role": "user", "content": FORMAT_REMINDER}]
    raise AssertionError("not reached")


def parse_findings(text: str) -> list[Finding]:
    """Findings from a reply holding a JSON array (fenced or bare); severities outside the
    scale count as "medium"."""
    fenced = re.search(r"```(?:json)?\s*\n(.*?)```", text, re.S)
    candidate = fenced.group(1) if fenced else text
    start, end = candidate.find("["), candidate.rfind("]")
    if start < 0 or end < start:
        raise ReviewError("the review has no JSON array of findings")
    try:
        items = json.loads(candidate[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ReviewError(f"the review's findings are not valid JSON: {exc}") from None
    findings = []
    for item in items:
        if not isinstance(item, dict) or not str(item.get("message", "")).strip():
            continue
        severity = str(item.get("severity", "")).strip().lower()
        line = item.get("line")
        findings.append(
            Finding(
                severity if severity in SEVERITIES else "medium",
                str(item.get("file") or ""),
                line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None,
                str(item["message"]).strip(),
            )
        )
    findings.sort(key=lambda f: -rank(f.severity))
    return findings
