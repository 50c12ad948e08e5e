"""`agent precommit`: the pre-commit hook, by hand or from pre-commit / git's own hook."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from .config_cmd import settings_or_exit
from .console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, console, err_console, fail
from .display import StepPrinter, diffstat, print_diff

if TYPE_CHECKING:
    from patchsmith.agent.config import Settings
    from patchsmith.agent.precommit import CheckRun, FixOutcome, PrecommitConfig, Report, Review

MARK = {True: "[green]✓[/]", False: "[bold red]✗[/]"}
SHOWN_FAILURES = 10  # per check


def precommit(
    files: list[str] = typer.Argument(
        None, help="Files to check, as pre-commit passes them (default: everything staged)."
    ),
    fix: bool = typer.Option(
        False, "--fix", help="When a check fails, let the agent repair the staged content."
    ),
    review: bool = typer.Option(False, "--review", help="Have the model review the staged diff."),
    severity: str = typer.Option(
        None,
        "--severity",
        help="With --review: fail on findings this severe or worse "
        "(info, low, medium, high, critical; default high).",
    ),
    model: str = typer.Option(None, "--model", "-m", help="litellm model name, or scripted:FILE."),
    api_base: str = typer.Option(None, "--api-base", help="Endpoint, e.g. a local server."),
    sandbox: str = typer.Option(None, "--sandbox", help="docker (default) or local."),
    image: str = typer.Option(None, "--image", help="Sandbox image."),
    step_limit: int = typer.Option(None, "--step-limit", help="Most model calls of a fix."),
    cost_limit: float = typer.Option(None, "--cost-limit", help="Most USD a fix may spend."),
    allow_other_files: bool = typer.Option(
        False, "--allow-other-files", help="With --fix: accept edits to files that are not staged."
    ),
    repo: Path = typer.Option(Path("."), "--repo", help="The git repository (default: here)."),
) -> None:
    """Check what is staged: syntax of the staged files, the configured lint command, and
    the tests related to them. With --fix, a failure is handed to the agent, which repairs
    the staged content in a sandbox; its fix is written to the working tree (merged with
    your unstaged edits, never staged) for you to review, stage and commit.

    Settings: \\[tool.patchsmith.precommit] in pyproject.toml, or .patchsmith.toml.

    Exit codes: 0 the checks pass; 1 a check failed, or a fix was written; 2 bad input.

    Examples:\n
      agent precommit\n
      agent precommit --fix --model anthropic/claude-sonnet-4-5\n
      agent precommit --review --severity medium -m openai/gpt-4o
    """
    from patchsmith.agent.config import ConfigError
    from patchsmith.agent.precommit import (
        SEVERITIES,
        PrecommitError,
        load_precommit_config,
        repo_top,
        run_checks,
    )
    from patchsmith.agent.precommit.staged import relative_to_top

    if severity is not None and severity not in SEVERITIES:
        fail(f"--severity must be one of {', '.join(SEVERITIES)}", EXIT_USAGE)
    try:
        top = repo_top(repo)
        config = load_precommit_config(top)
        given = relative_to_top(top, files) if files else None
        report = run_checks(top, config, given)
    except (PrecommitError, ConfigError) as exc:
        fail(escape(str(exc)), EXIT_USAGE)
    print_report(report)
    flags = {"model": model, "api_base": api_base, "sandbox": sandbox, "image": image}
    if review and report.files:
        if report.passed:
            run_review(top, flags, severity or config.review_severity, given, report)
        else:
            say("[dim]review skipped: the checks above fail[/]")
    if report.passed:
        raise typer.Exit(EXIT_OK)
    if not fix:
        say(
            "Fix the staged files, or run [bold]agent precommit --fix --model MODEL[/] to let "
            "the agent repair them."
        )
        raise typer.Exit(EXIT_FAILED)
    budget = {"fix_step_limit": step_limit, "fix_cost_limit": cost_limit}
    config = dataclasses.replace(config, **{k: v for k, v in budget.items() if v is not None})
    run_fix(
        top, report, config, flags, only_staged=config.fix_only_staged and not allow_other_files
    )
    raise typer.Exit(EXIT_FAILED)


def say(text: str, **options: Any) -> None:
    # Never wrapped: pre-commit and git hooks have no terminal, and logs must stay readable.
    console.print(text, soft_wrap=True, **options)


def print_report(report: Report) -> None:
    if not report.files and not report.deleted:
        say("patchsmith: nothing staged to check")
        return
    count = len(report.files)
    head = f"patchsmith: {count} staged file{'' if count == 1 else 's'}"
    if report.deleted:
        head += f", {len(report.deleted)} deleted"
    if report.passed:
        done = (
            ", ".join(f"{run.name} ok ({run.summary})" for run in report.runs) or "nothing to run"
        )
        say(f"{head}: {escape(done)} [dim]{report.seconds:.1f}s[/]")
        for run in report.runs:
            print_already_failing(run)
        return
    failed = [run for run in report.runs if not run.passed]
    say(f"{head}: [bold red]{len(failed)} check{'' if len(failed) == 1 else 's'} failed[/]")
    for run in report.runs:
        say(f"{MARK[run.passed]} [bold]{run.name}[/]: {escape(run.summary)}")
        if run.passed:
            continue
        for failure in run.failures[:SHOWN_FAILURES]:
            say(f"    {escape(failure.where)}  {escape(failure.message)}")
        if len(run.failures) > SHOWN_FAILURES:
            say(f"    … and {len(run.failures) - SHOWN_FAILURES} more")
        print_already_failing(run)
        if run.name == "tests":
            for test, because in report.related.items():
                say(f"    [dim]related: {escape(test)} ({escape(', '.join(because))})[/]")
        if run.command:
            say(f"    [dim]command: {escape(run.command)}[/]")
        if run.log:
            say("    " + run.log.replace("\n", "\n    "), markup=False, highlight=False)
    for note in report.notes:
        say(f"[dim]{escape(note)}[/]")


def print_already_failing(run: CheckRun) -> None:
    """The related tests that fail at HEAD too: not the staged change's doing."""
    if not run.already_failing:
        return
    if any(failure in run.failures for failure in run.already_failing):
        say("    [yellow]failing at HEAD too[/], and blocking (strict = true)")
    else:
        say("    [yellow]already failing at HEAD[/], not caused by the staged change: not blocking")
    for failure in run.already_failing[:SHOWN_FAILURES]:
        say(f"    {escape(failure.where)}  {escape(failure.message)}")
    if len(run.already_failing) > SHOWN_FAILURES:
        say(f"    … and {len(run.already_failing) - SHOWN_FAILURES} more")


def model_settings(top: Path, flags: dict[str, Any], why: str) -> Settings:
    settings = settings_or_exit(top, flags)
    if not settings.model:
        fail(
            f"{why} needs a model: pass --model (a litellm name, or scripted:FILE) or set "
            "PATCHSMITH_MODEL",
            EXIT_USAGE,
        )
    return settings


def run_review(
    top: Path, flags: dict[str, Any], threshold: str, files: list[str] | None, report: Report
) -> None:
    from patchsmith.agent.models import ModelError, make_model
    from patchsmith.agent.precommit import CheckRun, ReviewError, review_staged

    settings = model_settings(top, flags, "--review")
    try:
        model = make_model(
            settings.model, api_base=settings.api_base, temperature=settings.temperature
        )
        result = review_staged(top, model, threshold, files)
    except (ModelError, ReviewError) as exc:
        report.runs.append(CheckRun("review", False, f"the review failed: {exc}"))
        say(f"{MARK[False]} [bold]review[/]: {escape(str(exc))}")
        return
    print_review(result)
    blocking = result.failures()
    summary = f"{len(result.findings)} finding(s), {len(blocking)} at {threshold} or worse"
    report.runs.append(CheckRun("review", not blocking, summary, blocking))


def print_review(result: Review) -> None:
    blocking = result.blocking
    passed = not blocking
    say(
        f"{MARK[passed]} [bold]review[/]: {len(result.findings)} finding(s), {len(blocking)} at "
        f"{result.threshold} or worse [dim]{cost_text(result.cost, result.cost_known)}[/]"
    )
    for finding in result.findings:
        style = "bold red" if finding in blocking else "dim"
        say(
            f"    [{style}]{finding.severity}[/] {escape(finding.where)}  {escape(finding.message)}"
        )


def run_fix(
    top: Path, report: Report, config: PrecommitConfig, flags: dict[str, Any], only_staged: bool
) -> None:
    from patchsmith.agent.precommit import fix_settings, fix_staged

    settings = fix_settings(model_settings(top, flags, "--fix"), config, top)
    if settings.sandbox == "local":
        err_console.print("[yellow]note:[/] the local sandbox does not isolate commands.")
    say(
        f"[bold]patchsmith --fix[/]: the agent repairs the staged content "
        f"[dim](at most {settings.step_limit} step{'' if settings.step_limit == 1 else 's'}, "
        f"${settings.cost_limit:.2f})[/]"
    )
    printer = StepPrinter(console)
    outcome = fix_staged(
        top, report, settings, only_staged=only_staged, on_step=printer, progress=printer.progress
    )
    print_fix(outcome)


def print_fix(outcome: FixOutcome) -> None:
    cost = cost_text(outcome.cost, outcome.cost_known)
    say(
        f"fix: {escape(outcome.status)} in {outcome.steps} step(s), {cost}"
        + (f" [dim]({escape(outcome.message)})[/]" if outcome.message else "")
    )
    if outcome.diff.strip():
        say(escape(diffstat(outcome.diff)))
        if console.is_terminal:
            print_diff(console, outcome.diff)
        else:  # a hook's captured output: whole lines, no colour codes
            say(outcome.diff.rstrip("\n"), markup=False, highlight=False)
    patch = escape(str(outcome.patch_path))
    if outcome.applied:
        files = ", ".join(outcome.written)
        say(
            f"[green]The fix is in your working tree[/] ({escape(files)}), not staged: review "
            f"it (git diff), stage it and commit again. [dim](Its patch is also in {patch}.)[/]"
        )
    elif not outcome.diff.strip():
        say("[yellow]The agent made no change.[/] Nothing was written.")
    elif outcome.outside:
        say(
            f"[yellow]The fix edits files that are not staged[/] "
            f"({escape(', '.join(outcome.outside))}), so it was not applied. Its patch is in "
            f"{patch}; pass --allow-other-files to accept such fixes."
        )
    elif outcome.conflicts:
        say(
            "[yellow]The fix could not be merged with your unstaged changes[/]; the working "
            f"tree is untouched. Its patch is in {patch}."
        )
        for conflict in outcome.conflicts:
            say(f"    {escape(conflict)}")
    else:
        say(
            f"[yellow]The agent did not finish[/] ({escape(outcome.status)}), so its changes "
            f"were not applied. Its partial patch is in {patch}."
        )


def cost_text(cost: float, known: bool) -> str:
    return f"${cost:.4f}" + ("" if known else " (no price known for this model)")
