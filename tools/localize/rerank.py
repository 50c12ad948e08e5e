"""Letting a model reorder the best files of a model-free ranking (`agent localize --model`).

The model sees the issue and the top candidate files (with the definitions that matched in
each) and answers with the ones that must change, by number or path, best first. Those move
to the top in the model's order; the rest keep their order below them. Anything else in the
reply is ignored, so a rambling or empty answer leaves the ranking as it was. The model is
any object with `query(messages) -> response` whose response has `.text` (patchsmith's
Model protocol), so tests drive it with a scripted model.
"""

from __future__ import annotations

import re
from importlib import resources
from string import Template
from typing import Any

from .rank import RankedFile, RankedSymbol, Ranking

MAX_ISSUE_CHARS = 12_000


def rerank_with_model(
    ranking: Ranking, issue: str, model: Any, candidates: int = 10, most: int = 5
) -> Ranking:
    """`ranking` with the files the model picks among its first `candidates` moved to the
    top (at most `most` of them). Raises what the model raises (e.g. ModelError)."""
    shown = ranking.files[:candidates]
    if len(shown) < 2:
        return ranking
    prompt = _prompt(ranking, shown, issue, most)
    response = model.query([{"role": "user", "content": prompt}])
    picks = parse_picks(response.text or "", [f.path for f in shown])[:most]
    if not picks:
        return ranking
    return reorder(ranking, picks)


def parse_picks(reply: str, paths: list[str]) -> list[str]:
    """The candidate paths a reply names, in its order: by number ("2", "2.", "#2"), by
    exact path, or by a path ending the line; unknown lines are skipped."""
    picked: list[str] = []
    for line in reply.splitlines():
        text = line.strip().strip("`*-• ").strip()
        if not text:
            continue
        found = None
        number = re.match(r"#?(\d+)[.):]?(?:\s|$)", text)
        if number and 1 <= int(number.group(1)) <= len(paths):
            found = paths[int(number.group(1)) - 1]
        else:
            for path in paths:
                if path in text:
                    found = path
                    break
        if found and found not in picked:
            picked.append(found)
    return picked


def reorder(ranking: Ranking, picks: list[str]) -> Ranking:
    """Files in `picks` first, in that order and scored above every other file, then the
    rest as they were; the symbols of picked files are lifted the same way."""
    top = ranking.files[0].score if ranking.files else 0.0
    position = {path: i for i, path in enumerate(picks)}
    files = [RankedFile(path, top + len(picks) - i) for i, path in enumerate(picks)]
    files += [f for f in ranking.files if f.path not in position]
    # Each picked file's symbols go up by a step larger than any symbol's score, so they
    # sort in the picked order and keep their own order within a file.
    step = max((s.score for s in ranking.symbols), default=0.0) + 1.0
    symbols = [
        RankedSymbol(s.path, s.name, s.line, s.score + step * (len(picks) - position[s.path]))
        if s.path in position
        else s
        for s in ranking.symbols
    ]
    symbols.sort(key=lambda s: -s.score)
    return Ranking(files, symbols)


def _prompt(ranking: Ranking, shown: list[RankedFile], issue: str, most: int) -> str:
    names: dict[str, list[str]] = {}
    for symbol in ranking.symbols:
        names.setdefault(symbol.path, []).append(symbol.name)
    lines = []
    for number, item in enumerate(shown, 1):
        matched = ", ".join(names.get(item.path, [])[:4])
        lines.append(f"{number}. {item.path}" + (f"  ({matched})" if matched else ""))
    template = resources.files(__package__).joinpath("rerank.md").read_text(encoding="utf-8")
    if len(issue) > MAX_ISSUE_CHARS:
        issue = issue[:MAX_ISSUE_CHARS] + "\n[... the rest of the issue is left out ...]"
    return Template(template).substitute(issue=issue.strip(), files="\n".join(lines), most=most)
