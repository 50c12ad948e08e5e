"""Select: group the valid candidates by what their code means, not how it is written, and
take the largest group (majority vote); ties go to the smaller patch, then to the earlier
candidate (the greedy one first). When no candidate is valid because no test could check
any, the vote is among the unverified ones, and the chosen patch is said to be unverified.

Two candidates are the same when their edited files are equal after normalization: for
Python, the syntax tree without docstrings (so comments, blank lines, formatting and
docstrings do not count); for other files, the lines without surrounding whitespace,
blank lines and whole-line comments.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from typing import Any

from .verdict import INVALID, UNVERIFIED, VALID, verdict_of

LINE_COMMENT = re.compile(r"^(#|//|--|;)")


def normalize(path: str, text: str | None) -> str:
    """A form of the file that is equal for files differing only in layout and comments."""
    if text is None:
        return "(deleted)"
    if path.endswith((".py", ".pyi")):
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            pass
        else:
            _drop_docstrings(tree)
            return ast.dump(tree)
    kept = []
    for line in text.splitlines():
        words = " ".join(line.split())
        if words and not LINE_COMMENT.match(words):
            kept.append(words)
    return "\n".join(kept)


def _drop_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]


def fingerprint(after: dict[str, str | None]) -> str:
    """One key for a candidate's edited files, normalized."""
    normalized = {path: normalize(path, text) for path, text in sorted(after.items())}
    return hashlib.sha256(json.dumps(normalized, sort_keys=True).encode()).hexdigest()


def select(validated: dict[str, Any]) -> dict[str, Any]:
    checked = validated.get("candidates", [])
    verdict = VALID
    valid = [c for c in checked if verdict_of(c) == VALID]
    if not valid:
        verdict = UNVERIFIED
        valid = [c for c in checked if verdict_of(c) == UNVERIFIED]
    if not valid:
        if not checked:
            reason = "no candidate patch was made"
        else:
            failures = "; ".join(f"{c['index']}: {c['failed']}" for c in checked)
            reason = f"all {len(checked)} candidates failed validation ({failures})"
        return {"winner": None, "verdict": INVALID, "patch": "", "groups": [], "reason": reason}
    grouped: dict[str, list[dict[str, Any]]] = {}
    for candidate in valid:
        grouped.setdefault(fingerprint(candidate["after"]), []).append(candidate)

    def best_member(members: list[dict[str, Any]]) -> dict[str, Any]:
        return min(members, key=lambda c: (c["changed_lines"], c["index"]))

    def order(item: tuple[str, list[dict[str, Any]]]) -> tuple[int, int, int]:
        members = item[1]
        best = best_member(members)
        return (-len(members), best["changed_lines"], best["index"])

    ranked = sorted(grouped.items(), key=order)
    groups = [
        {
            "key": key[:16],
            "votes": len(members),
            "members": [c["index"] for c in members],
            "representative": best_member(members)["index"],
        }
        for key, members in ranked
    ]
    winner = best_member(ranked[0][1])
    votes = len(ranked[0][1])
    reason = (
        f"candidate {winner['index']} chosen: {votes} of {len(valid)} {verdict} candidates "
        f"({len(checked)} made) agree on its change; {winner['changed_lines']} changed lines"
    )
    if verdict == UNVERIFIED:
        reason = f"unverified, {reason}; {winner['reason']}"
    return {
        "winner": winner["index"],
        "verdict": verdict,
        "patch": winner["diff"],
        "groups": groups,
        "reason": reason,
    }


def summarize(result: dict[str, Any]) -> str:
    lines = [result.get("reason", "")]
    for group in result.get("groups", []):
        members = ", ".join(map(str, group["members"]))
        lines.append(f"group {group['key']}: {group['votes']} votes (candidates {members})")
    return "\n".join(lines)
