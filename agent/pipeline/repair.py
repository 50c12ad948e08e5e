"""Repair: a reproduction test written from the issue, then N candidate patches as
SEARCH/REPLACE edits against the localized code (the first greedy, the rest sampled).

Each model call's outcome is kept as partial progress, so a run stopped half-way resumes
with the calls it had not made yet. Reaching a cost, time or step limit after at least one
candidate ends sampling early instead of the run: validation goes on with what there is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..loop import RunStopped
from .localize import render_context
from .search_replace import code_block, parse_edits

if TYPE_CHECKING:
    from .runner import PipelineRun

LIMITS = ("cost_limit", "time_limit", "step_limit")


def repair(run: PipelineRun, localized: dict[str, Any]) -> dict[str, Any]:
    options = run.options
    windows = localized.get("context", [])
    context = render_context(windows)
    paths = sorted({w["path"] for w in windows})
    default_path = paths[0] if len(paths) == 1 else None
    progress = run.artifacts.load_partial("repair") or {"reproduction": None, "candidates": []}

    if progress["reproduction"] is None:
        text, step = run.ask(run.prompt("reproduce", issue=run.issue, context=context))
        code = code_block(text)
        if code is None and "def test" in text:
            code = text  # a bare test file, without a fence
        progress["reproduction"] = {"code": code or "", "step": step.index}
        shown = f"a reproduction test of {len(code.splitlines())} lines" if code else "no test"
        run.record("repair", {"ask": "reproduction test"}, shown, is_error=not code, step=step)
        run.artifacts.save_partial("repair", progress)

    prompt = run.prompt("repair", issue=run.issue, context=context)
    stopped = ""
    while len(progress["candidates"]) < options.candidates:
        number = len(progress["candidates"])
        temperature = 0.0 if number == 0 else options.sample_temperature
        try:
            text, step = run.ask(prompt, temperature=temperature)
        except RunStopped as stop:
            if stop.status not in LIMITS or not progress["candidates"] or shared_budget(stop):
                raise
            stopped = f"sampling stopped after {number} candidates: {stop.message}"
            run.record("repair", {"stopped": stop.status}, stopped, is_error=True)
            break
        parsed = parse_edits(text, default_path)
        candidate = {
            "index": number,
            "temperature": temperature,
            "edits": [edit.to_dict() for edit in parsed.edits],
            "problems": parsed.problems,
            "step": step.index,
        }
        progress["candidates"].append(candidate)
        arguments = {"candidate": number, "temperature": temperature}
        run.record("repair", arguments, describe(candidate), bool(parsed.problems), step=step)
        run.artifacts.save_partial("repair", progress)
    return {**progress, "stopped": stopped}


def shared_budget(stop: RunStopped) -> bool:
    from .runner import BudgetRefused

    return isinstance(stop, BudgetRefused)


def describe(candidate: dict[str, Any]) -> str:
    edits = candidate["edits"]
    files = sorted({edit["path"] for edit in edits})
    text = f"candidate {candidate['index']}: {len(edits)} edit{'' if len(edits) == 1 else 's'}"
    if files:
        text += f" in {', '.join(files)}"
    if candidate["problems"]:
        text += "; unreadable: " + "; ".join(candidate["problems"])
    return text


def summarize(result: dict[str, Any]) -> str:
    candidates = result.get("candidates", [])
    usable = sum(1 for c in candidates if c["edits"] and not c["problems"])
    has_test = bool((result.get("reproduction") or {}).get("code"))
    text = (
        f"{len(candidates)} candidates ({usable} with readable edits); "
        f"reproduction test: {'written' if has_test else 'none'}"
    )
    return text + (f"; {result['stopped']}" if result.get("stopped") else "")
