"""`agent tool`: run one agent tool against a sandbox and print what the model would see."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import typer

from .console import EXIT_FAILED, EXIT_USAGE, err_console, fail


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """`key=value` words into arguments; a value that reads as JSON (numbers, true, lists)
    is taken as JSON, anything else as a plain string."""
    arguments: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"expected key=value, got {pair!r} (e.g. pattern='def main')", EXIT_USAGE)
        try:
            arguments[key] = json.loads(value)
        except json.JSONDecodeError:
            arguments[key] = value
    return arguments


def tool(
    name: str = typer.Argument(None, help="The tool to run (see --list)."),
    assignments: list[str] = typer.Argument(None, help="Arguments as key=value."),
    repo: Path = typer.Option(Path("."), "--repo", help="The git repository (default: here)."),
    commit: str = typer.Option("HEAD", "--commit", help="The commit the sandbox starts at."),
    sandbox: str = typer.Option(
        "docker", "--sandbox", help="docker (isolated) or local (no isolation)."
    ),
    image: str = typer.Option("patchsmith-sandbox:latest", "--image", help="Sandbox image."),
    json_output: bool = typer.Option(False, "--json", help="Print the structured result."),
    write_back: bool = typer.Option(
        False, "--write-back", help="Apply the workspace's changes to the repository."
    ),
    list_tools: bool = typer.Option(False, "--list", help="List every tool with its docs."),
) -> None:
    """Run one tool against a sandbox of a repository and print its observation exactly as
    the model would see it. The repository is only read, unless --write-back is given.

    Examples:\n
      agent tool --list\n
      agent tool search pattern="def main" glob="*.py"\n
      agent tool show symbol=Sandbox.diff --repo ~/src/project\n
      agent tool edit command=str_replace path=a.py old_str="x = 1" new_str="x = 2" --write-back
    """
    from patchsmith.tools.registry import all_tools, get_tool

    if list_tools:
        print("\n\n".join(each.doc() for each in all_tools()))
        return
    if not name:
        fail("name a tool (see `agent tool --list`)", EXIT_USAGE)
    try:
        get_tool(name)
    except KeyError as exc:
        fail(str(exc.args[0]), EXIT_USAGE)
    arguments = parse_assignments(assignments or [])

    from patchsmith.sandbox import SandboxConfig, open_sandbox
    from patchsmith.tools.registry import Toolset

    if sandbox == "local":
        err_console.print("[yellow]note:[/] the local sandbox does not isolate commands.")
    config = SandboxConfig(backend=sandbox, image=image)
    with open_sandbox(repo, commit, config) as sb, Toolset(sb) as toolset:
        observation = toolset.call(name, arguments)
        diff = sb.diff() if write_back else ""
    if json_output:
        print(json.dumps(observation.to_dict(), indent=2))
    else:
        print(observation.text)
    if write_back and diff:
        apply_to_repository(repo, diff)
    if observation.is_error:
        raise typer.Exit(EXIT_FAILED)


def apply_to_repository(repo: Path, diff: str) -> None:
    """Apply the sandbox's diff to the working tree; refuses (changing nothing) when it does
    not apply cleanly, e.g. over uncommitted changes to the same lines."""
    top = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--show-toplevel"], capture_output=True, text=True
    ).stdout.strip()
    done = subprocess.run(
        ["git", "-C", top, "apply", "--whitespace=nowarn", "-"],
        input=diff,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        fail(f"the change does not apply to {top}; nothing was written:\n{done.stderr.strip()}")
    err_console.print(f"[green]wrote the change back to {top}[/]")
