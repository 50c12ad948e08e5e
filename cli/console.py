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
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_FAILED) -> None:
    """Print an error a user can act on and exit, without a traceback."""
    err_console.print(f"[bold red]error:[/] {message}")
    sys.exit(code)
