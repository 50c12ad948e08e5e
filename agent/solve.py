"""One issue, end to end: sandbox, tools, model and loop; the trajectory and patch written out."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .budget import Budget
from .config import Settings
from .instructions import instructions_for
from .loop import Agent, Confirm, Limits
from .models import Model, make_model
from .policy import Policy
from .trajectory import Step, Trajectory

if TYPE_CHECKING:
    from patchsmith.tools.registry import Toolset

NO_LIMIT = float("inf")


@dataclass
class RunOutput:
    trajectory: Trajectory
    directory: Path
    trajectory_path: Path
    patch_path: Path


def run_directory(output_dir: str | Path, issue: str) -> Path:
    """A fresh, readable directory name for one run: time stamp and a slug of the issue."""
    first_line = next((line for line in issue.splitlines() if line.strip()), "issue")
    slug = re.sub(r"[^a-z0-9]+", "-", first_line.lower()).strip("-")[:40] or "issue"
    base = Path(output_dir) / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def limits_from(settings: Settings) -> Limits:
    # 0 means "no limit" in the configuration.
    return Limits(
        steps=settings.step_limit or 1 << 30,
        cost=settings.cost_limit or NO_LIMIT,
        seconds=settings.time_limit or NO_LIMIT,
        format_errors=settings.format_error_limit,
    )


def context_budget(settings: Settings, model: Model) -> int | None:
    """Tokens the conversation may take: the setting, else the model's known window, with
    room left for the reply."""
    window = settings.max_context_tokens or getattr(model, "context_window", lambda: None)()
    return int(window * 0.9) if window else None


def agent_for(
    settings: Settings,
    model: Model,
    toolset: Toolset,
    trajectory_path: Path,
    on_step: Callable[[Step], None] | None = None,
    confirm: Confirm | None = None,
    budget: Budget | None = None,
    instructions: str = "",
) -> Agent:
    """The loop as the settings configure it, saving its trajectory at `trajectory_path`
    after every step; `budget` is shared with concurrent runs (a benchmark's total cap)."""
    return Agent(
        model,
        toolset,
        limits=limits_from(settings),
        keep_observations=settings.keep_observations,
        context_tokens=context_budget(settings, model),
        on_step=on_step,
        confirm=confirm,
        save=lambda t: t.save(trajectory_path),
        budget=budget,
        policy=Policy(settings.allow, settings.deny, settings.ask, settings.network),
        instructions=instructions,
    )


def head_commit(repo: Path, commit: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", f"{commit}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() if done.returncode == 0 else commit


def solve(
    issue: str,
    repo: Path,
    settings: Settings,
    commit: str = "HEAD",
    model: Model | None = None,
    on_step: Callable[[Step], None] | None = None,
    confirm: Confirm | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunOutput:
    """Run the agent on `issue` in a sandbox of `repo` at `commit`. The trajectory is saved
    after every step, so an interrupted or crashed run still leaves its record."""
    from patchsmith.sandbox import SandboxError, open_sandbox
    from patchsmith.tools.registry import Toolset

    model = model or make_model(
        settings.model, api_base=settings.api_base, temperature=settings.temperature
    )
    directory = run_directory(settings.output_dir, issue)
    if settings.mode == "pipeline":
        from .pipeline import run_pipeline

        trajectory = run_pipeline(
            issue, repo, settings, model, directory, commit=commit,
            on_step=on_step, progress=progress,
        )  # fmt: skip
        return RunOutput(
            trajectory, directory, directory / "trajectory.json", directory / "patch.diff"
        )
    trajectory_path, patch_path = directory / "trajectory.json", directory / "patch.diff"
    trajectory = Trajectory(
        issue=issue,
        config={**settings.to_dict(), "model": getattr(model, "name", settings.model)},
        repo=str(repo.resolve()),
        commit=head_commit(repo, commit),
    )
    instructions = instructions_for(settings, repo, trajectory.commit)
    trajectory.config["project_instructions"] = instructions.sources
    trajectory.save(trajectory_path)

    def finish(status: str, message: str) -> None:
        # Failures outside the loop (opening the sandbox, Ctrl-C while it closes).
        if trajectory.status is None:
            trajectory.status, trajectory.message = status, message
        trajectory.ended = trajectory.ended or time.time()
        trajectory.save(trajectory_path)

    try:
        with (
            open_sandbox(
                repo, trajectory.commit, settings.sandbox_config(), progress=progress
            ) as sandbox,
            Toolset(sandbox, settings.toolset_config()) as toolset,
        ):
            agent = agent_for(
                settings, model, toolset, trajectory_path, on_step, confirm=confirm,
                instructions=instructions.text,
            )  # fmt: skip
            agent.run(issue, trajectory)
    except SandboxError as exc:
        finish("sandbox_error", str(exc))
        raise
    except KeyboardInterrupt:
        finish("interrupted", "interrupted by the user")
        raise
    finally:
        patch_path.write_text(trajectory.diff)
    return RunOutput(trajectory, directory, trajectory_path, patch_path)
