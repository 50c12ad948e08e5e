"""`agent config`: show the effective settings, where each came from, and the files consulted."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from .console import EXIT_USAGE, console, fail

if TYPE_CHECKING:
    from patchsmith.agent.config import Settings

app = typer.Typer(
    help=(
        "Show the effective configuration and where each value came from.\n\n"
        "Precedence: flags > PATCHSMITH_<SETTING> environment variables > \\[tool.patchsmith] "
        "in the repository's pyproject.toml > the user config file (top-level keys; "
        "$PATCHSMITH_CONFIG or ~/.config/patchsmith/config.toml) > defaults."
    ),
    no_args_is_help=True,
)

REPO_OPTION = typer.Option(
    Path("."),
    "--repo",
    help="Repository whose pyproject.toml \\[tool.patchsmith] counts (default: here).",
    file_okay=False,
)


@app.command()
def show(
    repo: Path = REPO_OPTION,
    json_output: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Print every setting with its value and its source.

    Examples:\n
      agent config show\n
      PATCHSMITH_STEP_LIMIT=20 agent config show --repo ../project --json
    """
    from patchsmith.agent.config import setting_help

    _check_repo(repo)
    settings = settings_or_exit(repo, {})
    if json_output:
        print(json.dumps({"settings": settings.to_dict(), "sources": settings.sources}, indent=2))
        return

    from rich.table import Table

    table = Table(show_edge=False, pad_edge=False, show_lines=False)
    table.add_column("setting", max_width=42)
    table.add_column("value", overflow="fold")
    table.add_column("source", overflow="fold")
    for name, meaning in setting_help().items():
        source = settings.sources[name]
        style = "dim" if source == "default" else "green"
        table.add_row(
            f"[bold]{name}[/]\n[dim]{_escape(meaning)}[/]",
            _shown(getattr(settings, name)),
            f"[{style}]{_escape(source)}[/]",
        )
    console.print(table)


@app.command("path")
def path_command(repo: Path = REPO_OPTION) -> None:
    """List the config files consulted, lowest precedence first, and whether each exists."""
    from patchsmith.agent.config import ENV_PREFIX, config_files, setting_names

    _check_repo(repo)
    for config_file in config_files(repo):
        state = "[green]found[/]" if config_file.path.is_file() else "[dim]not there[/]"
        if config_file.required and not config_file.path.is_file():
            state = "[red]missing[/] (named by $PATCHSMITH_CONFIG)"
        console.print(f"{_escape(config_file.label)}  {state}", soft_wrap=True)
    settings_vars = [ENV_PREFIX + name.upper() for name in setting_names()]
    named = [var for var in settings_vars if var in os.environ]
    if named:
        console.print("set in the environment: " + ", ".join(named), soft_wrap=True)


def settings_or_exit(repo: Path | None, flags: Mapping[str, Any]) -> Settings:
    """The settings for a command, or a clear message and exit code 2 when they are invalid.

    `flags` maps setting names to the flag values the user gave (None = not given)."""
    from patchsmith.agent.config import ConfigError, load_settings

    try:
        return load_settings(repo, flags)
    except ConfigError as exc:
        fail(_escape(str(exc)), EXIT_USAGE)
        raise  # not reached: fail() exits


def _check_repo(repo: Path) -> None:
    if not repo.is_dir():
        fail(f"no such directory: {_escape(str(repo))}", EXIT_USAGE)


def _escape(text: str) -> str:
    # Labels like "[tool.patchsmith]" would otherwise be taken for rich markup and vanish.
    from rich.markup import escape

    return escape(text)


def _shown(value: Any) -> str:
    if value is None:
        return "[dim]none[/]"
    if value == "":
        return '[dim]""[/]'
    if isinstance(value, tuple):
        return _escape(json.dumps(list(value)))
    return _escape(str(value).lower() if isinstance(value, bool) else str(value))
