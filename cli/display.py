"""How runs look in the terminal: a line or three per step, a summary, diffs in colour."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

STATUS_STYLE = {"submitted": "bold green", "interrupted": "yellow"}


def short(text: str, lines: int = 3, width: int = 160) -> str:
    kept = [line[:width] for line in text.strip().splitlines()[:lines]]
    more = len(text.strip().splitlines()) - len(kept)
    return "\n".join(kept) + (f"\n… ({more} more lines)" if more > 0 else "")


def arguments_text(arguments: dict[str, Any], width: int = 200) -> str:
    if set(arguments) == {"command"}:
        return str(arguments["command"])[:width]
    if set(arguments) == {"code"}:
        return str(arguments["code"])[:width]
    return json.dumps(arguments, ensure_ascii=False)[:width]


def print_step(console: Console, step: Any, observation_lines: int = 3) -> None:
    """One step: the model's thought, each action, and the start of what it produced."""
    thought = (step.response.get("text") or "").strip()
    console.print(f"[bold cyan]step {step.index}[/] [dim]${step.response.get('cost', 0):.4f}[/]")
    if thought:
        console.print(short(thought, 4), style="italic", markup=False, highlight=False)
    for action in step.actions:
        console.print(
            f"  → {action.tool} {arguments_text(action.arguments)}",
            style="bold",
            markup=False,
            highlight=False,
        )
        observation = short(action.observation, observation_lines).replace("\n", "\n    ")
        style = "red" if action.is_error else "dim"
        console.print("    " + observation, style=style, markup=False, highlight=False)
    for note in (step.format_error, step.warning):
        if note:
            console.print(f"  ! {short(note, 2)}", style="yellow", markup=False, highlight=False)


class StepPrinter:
    """The live view of `agent solve`: called by the loop after every step."""

    def __init__(self, console: Console, quiet: bool = False):
        self.console, self.quiet = console, quiet

    def __call__(self, step: Any) -> None:
        if not self.quiet:
            print_step(self.console, step)

    def progress(self, line: str) -> None:
        if not self.quiet:
            self.console.print(line, style="dim", markup=False, highlight=False)


def diffstat(diff: str) -> str:
    files: dict[str, list[int]] = {}
    current = None
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            current = line.split(" b/", 1)[-1]
            files[current] = [0, 0]
        elif current and line.startswith("+") and not line.startswith("+++"):
            files[current][0] += 1
        elif current and line.startswith("-") and not line.startswith("---"):
            files[current][1] += 1
    return "\n".join(f" {name} | +{a} -{d}" for name, (a, d) in files.items())


def print_diff(console: Console, diff: str) -> None:
    if diff.strip():
        console.print(Syntax(diff, "diff", theme="ansi_dark", background_color="default"))


def print_summary(console: Console, trajectory: Any, directory: Path | None = None) -> None:
    t = trajectory
    table = Table(show_header=False, box=None, padding=(0, 2))
    style = STATUS_STYLE.get(t.status, "bold red")
    table.add_row("status", f"[{style}]{t.status}[/]" + (f" ({t.message})" if t.message else ""))
    if getattr(t, "verdict", None):
        shown = (
            "validated by tests"
            if t.verdict == "valid"
            else f"[yellow]{t.verdict}[/] (no test could check it)"
        )
        table.add_row("patch", shown)
    table.add_row("steps", str(len(t.steps)))
    table.add_row("tokens", f"{t.prompt_tokens:,} in, {t.completion_tokens:,} out")
    cost = f"${t.cost:.4f}" + ("" if t.cost_known else " (no price known for this model)")
    table.add_row("cost", cost)
    table.add_row("time", f"{t.seconds:.1f}s")
    if t.diff.strip():
        table.add_row("changes", diffstat(t.diff))
    if directory is not None:
        table.add_row("files", f"{directory}/trajectory.json, patch.diff")
    console.print(table)
    print_diff(console, t.diff)
