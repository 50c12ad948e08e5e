"""`agent show` and `agent replay`: read a trajectory, or run it again and compare."""

from __future__ import annotations

from pathlib import Path

import typer

from .console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, console, fail
from .display import print_step, print_summary


def load(path: Path):
    from patchsmith.agent.trajectory import Trajectory

    try:
        return Trajectory.load(path)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)


def show(
    trajectory: Path = typer.Argument(..., help="A trajectory.json (or the run's directory)."),
    full: bool = typer.Option(False, "--full", help="Whole observations, not their start."),
) -> None:
    """Render a trajectory: the issue, each step (thought, tool calls, observations), the
    final status, cost and the diff in colour."""
    path = trajectory / "trajectory.json" if trajectory.is_dir() else trajectory
    t = load(path)
    console.rule(f"[bold]{path}")
    console.print(t.issue.strip(), markup=False, highlight=False)
    for used in t.config.get("project_instructions") or []:
        cut = f", {used['cut_chars']} cut over the limit" if used.get("cut_chars") else ""
        line = f"project instructions: {used['source']} ({used['chars']} characters{cut})"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.rule()
    for step in t.steps:
        print_step(console, step, observation_lines=10_000 if full else 6)
    console.rule()
    print_summary(console, t)


def replay(
    trajectory: Path = typer.Argument(..., help="A trajectory.json (or the run's directory)."),
    sandbox: str = typer.Option(None, "--sandbox", help="Override the recorded sandbox."),
    output: str = typer.Option(None, "--output", "-o", help="Directory for the replay's files."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the verdict."),
) -> None:
    """Re-run a trajectory: its recorded model turns, played against a fresh sandbox of the
    same repository and commit. Exit 0 when the final diff is the same, 1 when it differs."""
    from patchsmith.agent.config import load_settings
    from patchsmith.agent.models import ModelResponse, ReplayModel
    from patchsmith.agent.solve import solve as run_solve

    from .display import StepPrinter

    path = trajectory / "trajectory.json" if trajectory.is_dir() else trajectory
    recorded = load(path)
    repo = Path(recorded.repo)
    if not repo.is_dir():
        fail(f"the recorded repository {repo} is not here any more", EXIT_USAGE)
    names = (
        "sandbox",
        "image",
        "network",
        "step_limit",
        "cost_limit",
        "time_limit",
        "format_error_limit",
        "keep_observations",
        "test_command",
        "setup",
        "mode",
        "pipeline_candidates",
        "pipeline_temperature",
    )
    flags = {name: recorded.config.get(name) for name in names}
    flags.update({k: v for k, v in {"sandbox": sandbox, "output_dir": output}.items() if v})
    settings = load_settings(None, {k: v for k, v in flags.items() if v is not None})
    # Steps without a response made no model call (e.g. a pipeline stage's result).
    turns = [ModelResponse.from_dict(step.response) for step in recorded.steps if step.response]
    model = ReplayModel(turns)
    result = run_solve(
        recorded.issue,
        repo,
        settings,
        commit=recorded.commit,
        model=model,
        on_step=StepPrinter(console, quiet=quiet),
    )
    same = result.trajectory.diff == recorded.diff
    status = result.trajectory.status
    console.print(
        f"replay ended [bold]{status}[/] (recorded: {recorded.status}); final diff "
        + ("[green]identical[/]" if same else "[red]differs[/]")
        + f"; files in {result.directory}"
    )
    raise typer.Exit(EXIT_OK if same and status == recorded.status else EXIT_FAILED)
