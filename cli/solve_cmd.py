"""`agent solve` and `agent demo`: run the agent on an issue, with a live view of each step."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

import typer

from .config_cmd import settings_or_exit
from .console import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, console, err_console, fail
from .display import StepPrinter, print_summary


def read_issue(issue: str | None, text: str | None) -> str:
    if text:
        return text
    if issue is None:
        fail("give the issue as a file, `-` for stdin, or --text '...'", EXIT_USAGE)
    if issue == "-":
        return sys.stdin.read()
    path = Path(issue)
    if not path.is_file():
        fail(f"issue file not found: {issue} (use --text for an inline issue)", EXIT_USAGE)
    return path.read_text(encoding="utf-8", errors="replace")


def solve(
    issue: str = typer.Argument(None, help="The issue: a file, or - for stdin."),
    text: str = typer.Option(None, "--text", help="The issue as inline text."),
    repo: Path = typer.Option(Path("."), "--repo", help="The git repository (default: here)."),
    commit: str = typer.Option("HEAD", "--commit", help="Start from this commit."),
    model: str = typer.Option(None, "--model", "-m", help="litellm model name, or scripted:FILE."),
    api_base: str = typer.Option(None, "--api-base", help="Endpoint, e.g. a local server."),
    sandbox: str = typer.Option(None, "--sandbox", help="docker (default) or local."),
    image: str = typer.Option(None, "--image", help="Sandbox image (e.g. your CI image)."),
    network: bool = typer.Option(None, "--network/--no-network", help="Network in the sandbox."),
    setup: list[str] = typer.Option(None, "--setup", help="Setup command (repeatable)."),
    step_limit: int = typer.Option(None, "--step-limit", help="Most model calls (0: none)."),
    cost_limit: float = typer.Option(None, "--cost-limit", help="Most USD to spend (0: none)."),
    time_limit: float = typer.Option(None, "--time-limit", help="Most seconds (0: none)."),
    output: str = typer.Option(None, "--output", "-o", help="Directory for the run's files."),
    apply: bool = typer.Option(False, "--apply", help="Put the patch on a new branch."),
    allow_dirty: bool = typer.Option(
        False, "--allow-dirty", help="With --apply: make the branch even over uncommitted work."
    ),
    mode: str = typer.Option(
        None,
        "--mode",
        help="agent (the CodeAct loop, default) or pipeline (localize, repair, validate, select).",
    ),
    candidates: int = typer.Option(
        None, "--candidates", help="Pipeline mode: candidate patches (the first greedy)."
    ),
    confirm: bool = typer.Option(False, "--confirm", help="Ask before each action."),
    project_instructions: bool = typer.Option(
        None,
        "--project-instructions/--no-project-instructions",
        help="Add the repository's AGENTS.md (else CLAUDE.md) and yours to the prompt.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the summary and the patch."),
) -> None:
    """Solve an issue: the agent works in a sandbox on a copy of the repository and hands
    back a patch. Your repository is not touched unless you pass --apply.

    Exit codes: 0 a patch was submitted; 1 the run ended otherwise (limits, errors);
    2 bad input; 130 interrupted.

    Examples:\n
      agent solve issue.md --model anthropic/claude-sonnet-4-5\n
      agent solve --text "test_parse fails on empty input" --repo ~/src/proj -m openai/gpt-4o\n
      agent solve issue.md -m ollama/qwen2.5-coder:14b --api-base http://localhost:11434
    """
    issue_text = read_issue(issue, text)
    flags = {
        "model": model,
        "api_base": api_base,
        "sandbox": sandbox,
        "image": image,
        "network": network,
        "setup": setup or None,
        "step_limit": step_limit,
        "cost_limit": cost_limit,
        "time_limit": time_limit,
        "output_dir": output,
        "mode": mode,
        "pipeline_candidates": candidates,
        "project_instructions": project_instructions,
    }
    settings = settings_or_exit(repo, flags)
    if confirm and settings.mode == "pipeline":
        fail(
            "--confirm applies to agent mode; the pipeline takes no actions to confirm", EXIT_USAGE
        )
    if not settings.model:
        fail(
            "no model given: pass --model (e.g. openai/gpt-4o, ollama/qwen2.5-coder) or set "
            "PATCHSMITH_MODEL. `agent demo` runs a scripted model with no key.",
            EXIT_USAGE,
        )
    raise typer.Exit(
        run_and_report(issue_text, repo, commit, settings, apply, allow_dirty, confirm, quiet)
    )


def run_and_report(
    issue: str,
    repo: Path,
    commit: str,
    settings: Any,
    apply: bool = False,
    allow_dirty: bool = False,
    confirm: bool = False,
    quiet: bool = False,
) -> int:
    from patchsmith.agent.apply import ApplyError, apply_on_branch, check_clean
    from patchsmith.agent.pipeline import StaleArtifact
    from patchsmith.agent.solve import solve as run_solve

    if apply and not allow_dirty:
        try:
            check_clean(repo)
        except ApplyError as exc:
            fail(str(exc), EXIT_USAGE)
    if settings.sandbox == "local":
        err_console.print("[yellow]note:[/] the local sandbox does not isolate commands.")
    printer = StepPrinter(console, quiet=quiet)
    try:
        result = run_solve(
            issue,
            repo,
            settings,
            commit=commit,
            on_step=printer,
            confirm=ask_before_action if confirm else None,
            progress=printer.progress,
        )
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]: the sandbox was removed; see the trajectory")
        return EXIT_INTERRUPTED
    except StaleArtifact as exc:  # a pipeline directory holding another issue's artifacts
        fail(str(exc), EXIT_USAGE)
    trajectory = result.trajectory
    print_summary(console, trajectory, result.directory)
    if trajectory.status != "submitted":
        return EXIT_INTERRUPTED if trajectory.status == "interrupted" else EXIT_FAILED
    if apply and trajectory.diff.strip():
        try:
            branch = apply_on_branch(repo, trajectory.commit, trajectory.diff, result.directory)
        except ApplyError as exc:
            fail(str(exc))
        console.print(f"[green]applied[/] on branch [bold]{branch}[/]")
    return EXIT_OK


def ask_before_action(tool: str, arguments: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """--confirm: run, edit the arguments, skip, or quit."""
    console.print(f"[bold]{tool}[/] {json.dumps(arguments)[:500]}", markup=True)
    while True:
        choice = typer.prompt("[r]un / [e]dit / [s]kip / [q]uit", default="r").strip().lower()
        if choice in ("r", "run"):
            return "run", arguments
        if choice in ("s", "skip"):
            return "skip", arguments
        if choice in ("q", "quit"):
            return "quit", arguments
        if choice in ("e", "edit"):
            edited = typer.prompt("arguments (JSON)", default=json.dumps(arguments))
            try:
                return "run", json.loads(edited)
            except json.JSONDecodeError as exc:
                err_console.print(f"[red]not JSON:[/] {exc}")


def demo(
    sandbox: str = typer.Option("docker", "--sandbox", help="docker (default) or local."),
    output: str = typer.Option(None, "--output", "-o", help="Directory for the run's files."),
) -> None:
    """Run the whole job offline, with no API key: a scripted model fixes a real bug in a
    small example repository, through the real loop, tools and sandbox, and prints the patch."""
    demo_dir = resources.files("patchsmith.agent") / "demo"
    workdir = Path(tempfile.mkdtemp(prefix="patchsmith-demo-"))
    try:
        repo = workdir / "textkit"
        with resources.as_file(demo_dir / "repo") as source:
            shutil.copytree(source, repo)
        git = ["git", "-C", str(repo), "-c", "user.name=demo", "-c", "user.email=demo@localhost"]
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "textkit"], check=True)
        with resources.as_file(demo_dir / "script.yaml") as script:
            flags = {
                "model": f"scripted:{script}",
                "sandbox": sandbox,
                "output_dir": output,
                "setup": [],
            }
            settings = settings_or_exit(None, flags)
            issue = (demo_dir / "issue.md").read_text()
            console.print(f"[dim]demo repository: {repo} (a fresh copy of textkit)[/]")
            code = run_and_report(issue, repo, "HEAD", settings)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    raise typer.Exit(code)
