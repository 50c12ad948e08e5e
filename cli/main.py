"""The `agent` command: the typer app, its command groups and error handling."""

from __future__ import annotations

import sys

import typer

from . import (
    bench_cmd,
    config_cmd,
    evaluate_cmd,
    localize_cmd,
    precommit_cmd,
    sandbox_cmd,
    solve_cmd,
    tool_cmd,
    trajectory_cmd,
)
from .console import EXIT_INTERRUPTED, EXIT_USAGE, err_console, fail

app = typer.Typer(
    name="agent",
    help=(
        "patchsmith: a coding agent that fixes issues in real repositories, running every "
        "command in a disposable Docker sandbox.\n\n"
        "Exit codes: 0 success, 1 the job failed, 2 bad input, 130 interrupted."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox_cmd.app, name="sandbox")
app.add_typer(config_cmd.app, name="config")
app.command("solve")(solve_cmd.solve)
app.command("demo")(solve_cmd.demo)
app.command("tool")(tool_cmd.tool)
app.command("show")(trajectory_cmd.show)
app.command("replay")(trajectory_cmd.replay)
app.command("precommit")(precommit_cmd.precommit)
app.command("evaluate")(evaluate_cmd.evaluate)
app.command("run-bench")(bench_cmd.run_bench)
app.command("localize")(localize_cmd.localize)

_state = {"debug": False}


@app.callback()
def main(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors."),
) -> None:
    _state["debug"] = debug


@app.command()
def version() -> None:
    """Print the patchsmith version."""
    from patchsmith import __version__

    print(f"patchsmith {__version__} (python {sys.version.split()[0]})")


def run() -> None:
    """Console-script entry point: runs the app, turning user errors into messages."""
    from patchsmith.sandbox.base import SandboxError

    try:
        app()
    except SandboxError as exc:
        if _state["debug"]:
            raise
        fail(str(exc))
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(EXIT_INTERRUPTED)
    except (FileNotFoundError, PermissionError) as exc:
        if _state["debug"]:
            raise
        fail(str(exc), EXIT_USAGE)
