"""`agent localize`: rank a repository's files and definitions for an issue, without a model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from .console import EXIT_USAGE, console, err_console, fail
from .solve_cmd import read_issue

if TYPE_CHECKING:
    from patchsmith.tools.localize import Ranking


def localize(
    repo: Path = typer.Option(Path("."), "--repo", help="The git repository (default: here)."),
    issue: str = typer.Option(None, "--issue", help="The issue: a file, or - for stdin."),
    text: str = typer.Option(None, "--text", help="The issue as inline text."),
    commit: str = typer.Option("HEAD", "--commit", help="Rank the files of this commit."),
    top: int = typer.Option(10, "--top", "-k", min=1, help="How many files and symbols."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object only."),
    model: str = typer.Option(
        None, "--model", "-m", help="Let this model reorder the best files (litellm name)."
    ),
    api_base: str = typer.Option(None, "--api-base", help="Endpoint for --model."),
) -> None:
    """Find the files and functions an issue is about: tracebacks, paths and names in the
    issue matched against the code, lexical search over functions and classes, and the
    reference graph. No model is called unless --model is given. Reads the commit from git
    (uncommitted changes are ignored; the working tree is not touched) and keeps an index
    on disk, so a second run on the same commit is fast.

    Exit codes: 0 ranked; 1 the model failed; 2 bad input.

    Examples:\n
      agent localize --issue issue.md --repo ~/src/project\n
      agent localize --text "TypeError in parse_header with bytes" --top 5 --json\n
      agent localize --issue issue.md -m openai/gpt-4o
    """
    from patchsmith.tools.localize import GitSourceError, localize_repo

    if issue is not None and text is not None:
        fail("give the issue either with --issue or with --text, not both", EXIT_USAGE)
    if issue is None and text is None:
        fail("give the issue: --issue FILE (or - for stdin), or --text '...'", EXIT_USAGE)
    issue_text = read_issue(issue, text)
    if not issue_text.strip():
        fail("the issue is empty", EXIT_USAGE)
    try:
        ranking = localize_repo(repo, issue_text, commit=commit, top=top)
    except GitSourceError as exc:
        fail(str(exc), EXIT_USAGE)
    if model:
        ranking = _rerank(ranking, issue_text, model, api_base, top)
    if json_output:
        sys.stdout.write(json.dumps(ranking.to_dict()) + "\n")
        return
    _print(ranking)


def _rerank(
    ranking: Ranking, issue_text: str, model_name: str, api_base: str | None, top: int
) -> Ranking:
    from patchsmith.agent.models import ModelError, make_model
    from patchsmith.tools.localize.rerank import rerank_with_model

    try:
        model = make_model(model_name, **({"api_base": api_base} if api_base else {}))
        return rerank_with_model(ranking, issue_text, model, candidates=max(top, 10))
    except ModelError as exc:
        fail(f"the model could not rerank the files: {exc}")
        raise  # fail() exits; this keeps type checkers content


def _print(ranking: Ranking) -> None:
    if not ranking.files:
        err_console.print("[yellow]nothing matched[/]: the commit has no files the ranker reads")
        return
    console.print("[bold]files[/]")
    for number, item in enumerate(ranking.files, 1):
        console.print(f"{number:>3}. {escape(item.path)}  [dim]{item.score:.2f}[/]")
    if ranking.symbols:
        console.print("\n[bold]symbols[/]")
        for number, symbol in enumerate(ranking.symbols, 1):
            console.print(
                f"{number:>3}. {escape(symbol.path)}:{symbol.line}  {escape(symbol.name)}"
                f"  [dim]{symbol.score:.2f}[/]"
            )
