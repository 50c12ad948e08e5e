"""`--fix`: the agent repairs the staged content in a sandbox; the fix goes to the working tree.

The sandbox opens on the tree of the index (`git write-tree`), so the agent sees exactly
what would be committed. Its diff is checked against the staged files (by default a fix may
edit only those), then merged into the working tree (worktree.py). Nothing is staged and
nothing is committed: the user reviews the fix, stages it and commits again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .checks import Report
from .config import PrecommitConfig
from .staged import git_dir, write_tree
from .worktree import apply_to_tree, changed_paths, merge_into_worktree

if TYPE_CHECKING:
    from patchsmith.agent.config import Settings
    from patchsmith.agent.models import Model

LOG_CHARS = 4000  # of each failing check's log, in the text the agent is given


@dataclass
class FixOutcome:
    status: str  # how the agent's run ended: "submitted", "step_limit", ...
    message: str
    diff: str = ""  # staged content -> fixed content
    changed: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # changed but not staged: refused
    written: list[str] = field(default_factory=list)  # now changed in the working tree
    conflicts: list[str] = field(default_factory=list)  # "path: why"; nothing was written
    patch_path: Path | None = None
    run_dir: Path | None = None
    cost: float = 0.0
    cost_known: bool = True
    steps: int = 0

    @property
    def applied(self) -> bool:
        return bool(self.written)


def fix_settings(settings: Settings, config: PrecommitConfig, top: Path) -> Settings:
    """The run's settings with the hook's small budget; runs are kept in the git directory
    (not as untracked files) unless an output directory was configured."""
    changes: dict[str, Any] = {
        "step_limit": config.fix_step_limit,
        "cost_limit": config.fix_cost_limit,
        "time_limit": config.fix_time_limit,
    }
    if settings.sources.get("output_dir", "default") == "default":
        changes["output_dir"] = str(git_dir(top) / "patchsmith" / "precommit-runs")
    return dataclasses.replace(settings, **changes)


def fix_issue(report: Report, only_staged: bool) -> str:
    """The issue text the agent is given: what failed, where, and what it may edit."""
    sections = []
    for run in report.runs:
        if run.passed:
            continue
        lines = [f"Check `{run.name}` failed: {run.summary}"]
        if run.command:
            lines.append(f"Command the hook ran: {run.command}")
        if run.name == "tests" and report.related:
            listed = ", ".join(f'"{test}"' for test in report.related)
            lines.append(f"In the workspace, run them with run_tests, tests: [{listed}]")
        lines += [f"- {f.where}: {f.message}" for f in run.failures[:20]]
        if run.already_failing:
            lines.append("Failing on HEAD too, before the staged change:")
            lines += [f"- {f.where}" for f in run.already_failing[:20]]
        if run.log:
            lines += ["Output:", "```", run.log[-LOG_CHARS:], "```"]
        sections.append("\n".join(lines))
    restriction = (
        "Edit only the staged files listed above; a fix that changes any other file is refused."
        if only_staged
        else "Prefer editing the staged files listed above."
    )
    from ..loop import prompt_template

    return prompt_template("precommit_fix").substitute(
        failures="\n\n".join(sections),
        files="\n".join(f"- {path}" for path in report.files),
        restriction=restriction,
    )


def fix_staged(
    top: Path,
    report: Report,
    settings: Settings,
    only_staged: bool = True,
    model: Model | None = None,
    on_step: Callable[[Any], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> FixOutcome:
    """Run the agent on the staged content of `top` against the failures in `report`, and
    write its fix into the working tree when it is allowed and merges cleanly."""
    from patchsmith.agent.solve import solve

    tree = write_tree(top)
    result = solve(
        fix_issue(report, only_staged),
        top,
        settings,
        commit=tree,
        model=model,
        on_step=on_step,
        progress=progress,
    )
    trajectory = result.trajectory
    outcome = FixOutcome(
        status=trajectory.status or "error",
        message=trajectory.message,
        diff=trajectory.diff,
        patch_path=result.patch_path,
        run_dir=result.directory,
        cost=trajectory.cost,
        cost_known=trajectory.cost_known,
        steps=len(trajectory.steps),
    )
    if not trajectory.diff.strip():
        return outcome
    fixed_tree = apply_to_tree(top, tree, trajectory.diff)
    outcome.changed = changed_paths(top, tree, fixed_tree)
    if only_staged:
        allowed = set(report.files)
        outcome.outside = [p for p in outcome.changed if p not in allowed]
    if trajectory.status != "submitted" or outcome.outside:
        return outcome
    merge = merge_into_worktree(top, tree, fixed_tree, outcome.changed)
    outcome.written, outcome.conflicts = merge.written, merge.conflicts
    return outcome
