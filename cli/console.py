"""The terminal the CLI writes to, and how it reports errors a user can act on."""

from __future__ import annotations

import sys

from rich.console import Console

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

# Exit codes scripts can rely on.
EXIT_OK = 0
EXIT_FAILED = 1  # the job ran and did not succeed
EXIT_USAGE = 2  # bad input: flags, files, repositories
EXIT_NOT_BUILT = 3  # the command exists but is not built yet
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_FAILED) -> None:
    """Print an error a user can act on and exit, without a traceback."""
    err_console.print(f"[bold red]error:[/] {message}")
    sys.exit(code)


def not_built(command: str, issue: str) -> None:
    err_console.print(
        f"[yellow]`agent {command}` is not built yet[/] (it arrives with the {issue} work). "
        "See `agent --help` for what works today."
    )
    sys.exit(EXIT_NOT_BUILT)
