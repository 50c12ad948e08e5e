"""`agent run-bench`: the agent over a SWE-bench-format dataset, with live progress."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .config_cmd import settings_or_exit
from .console import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, console, err_console, fail

STATUS_STYLE = {"submitted": "green", "gold": "green", "interrupted": "yellow"}


def run_bench(
    dataset: str = typer.Argument(
        ..., help="swe-lite, swe-verified, swe-full, mini, a hub id, or a .json/.jsonl/.parquet."
    ),
    split: str = typer.Option("test", "--split", help="Dataset split (hub datasets)."),
    instances: str = typer.Option(None, "--instances", help="Only these ids (comma-separated)."),
    filter_regex: str = typer.Option(None, "--filter", help="Only ids matching this regex."),
    slice_spec: str = typer.Option(None, "--slice", help="START:END of the selection."),
    shuffle: bool = typer.Option(False, "--shuffle", help="Shuffle before slicing."),
    seed: int = typer.Option(0, "--seed", help="Seed of --shuffle."),
    mode: str = typer.Option(None, "--mode", help="agent (default) or pipeline."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Instances run at once."),
    model: str = typer.Option(None, "--model", "-m", help="litellm model name, or scripted:DIR."),
    api_base: str = typer.Option(None, "--api-base", help="Endpoint, e.g. a local server."),
    output: Path = typer.Option(
        None, "--output", "-o", help="Output directory (default: one per dataset and model)."
    ),
    redo: bool = typer.Option(False, "--redo", help="Run instances already done again."),
    evaluate: bool = typer.Option(False, "--evaluate", help="Evaluate each prediction."),
    gold: bool = typer.Option(False, "--gold", help="Predict the gold patches (no model)."),
    instance_cost_limit: float = typer.Option(
        None, "--instance-cost-limit", help="Most USD per instance (0: none)."
    ),
    total_cost_limit: float = typer.Option(
        0.0, "--total-cost-limit", min=0, help="Most USD over the set (0: none)."
    ),
    step_limit: int = typer.Option(None, "--step-limit", help="Most model calls per instance."),
    time_limit: float = typer.Option(None, "--time-limit", help="Most seconds per instance."),
    sandbox: str = typer.Option(None, "--sandbox", help="docker (default) or local."),
    image: str = typer.Option(None, "--image", help="Sandbox image of local-repo instances."),
) -> None:
    """Run the agent on every instance of a dataset, in parallel sandboxes. Writes
    preds.json (SWE-bench's format), trajs/<id>.traj.json, logs/ and results.json, each
    after every instance. Run it again to go on where it stopped: done instances are skipped
    (--redo runs them again). `mini` is a small bundled set that runs offline; with no
    --model it plays the bundled scripted fixes.

    Exit codes: 0 every instance is done (and, with --evaluate, evaluated); 1 some are not
    (errors, an evaluation that failed, the total cost limit, the Docker engine gone); 2 bad
    input; 130 interrupted (Ctrl-C stops cleanly; a second
    Ctrl-C stops at once).

    Examples:\n
      agent run-bench mini --evaluate\n
      agent run-bench swe-lite -m openai/gpt-4o --workers 4 --total-cost-limit 50\n
      agent run-bench swe-lite --gold --evaluate --instances django__django-15202\n
      agent run-bench tasks.jsonl -m ollama/qwen2.5-coder --filter 'requests' --slice 0:10
    """
    from patchsmith.agent.bench.dataset import MINI_SCRIPTS, DatasetError, load_dataset, select
    from patchsmith.agent.bench.runner import BenchError, BenchOptions, BenchRun
    from patchsmith.sandbox import SandboxError

    model_name = ""
    if dataset == "mini" and not model and not gold:
        model, model_name = f"scripted:{MINI_SCRIPTS}", "scripted:mini-gold"
        console.print("[dim]no --model: playing the bundled scripted fixes of the mini set[/]")
    flags = {
        "model": model,
        "api_base": api_base,
        "mode": mode,
        "sandbox": sandbox,
        "image": image,
        "step_limit": step_limit,
        "cost_limit": instance_cost_limit,
        "time_limit": time_limit,
    }
    settings = settings_or_exit(None, flags)
    if not gold and not settings.model:
        fail("no model given: pass --model (or --gold to predict the gold patches)", EXIT_USAGE)
    if model_name and settings.mode == "pipeline":
        fail("the bundled scripts play agent mode: give --model for pipeline mode", EXIT_USAGE)
    wanted = [i.strip() for i in instances.split(",") if i.strip()] if instances else None
    try:
        chosen = select(
            load_dataset(dataset, split),
            instance_ids=wanted,
            filter_regex=filter_regex,
            slice_spec=slice_spec,
            shuffle=shuffle,
            seed=seed,
        )
    except DatasetError as exc:
        fail(escape(str(exc)), EXIT_USAGE)
    if not chosen:
        fail("no instance selected (check --instances, --filter and --slice)", EXIT_USAGE)
    label = "gold" if gold else (model_name or settings.model)
    options = BenchOptions(
        output_dir=output or default_output(settings.output_dir, dataset, label),
        dataset=dataset,
        workers=workers,
        redo=redo,
        evaluate=evaluate,
        gold=gold,
        total_cost_limit=total_cost_limit,
        model_name=model_name,
    )
    view = BenchView()
    run = BenchRun(chosen, settings, options, on_event=view.event)
    view.run = run
    plural = lambda n, word: f"{n} {word}{'s' if n != 1 else ''}"  # noqa: E731
    console.print(
        f"[bold]run-bench[/] {dataset}: {plural(len(chosen), 'instance')}, "
        f"{plural(workers, 'worker')}, {label} → {options.output_dir}",
        soft_wrap=True,
    )
    try:
        with view.live():
            progress = run.run()
    except BenchError as exc:
        fail(escape(str(exc)), EXIT_USAGE)
    except SandboxError as exc:  # no engine: say so once, not once per instance
        fail(escape(str(exc)))
    print_summary(progress, options.output_dir, evaluated=evaluate)
    write_report(options.output_dir, dataset)
    if run.engine_lost:
        err_console.print(
            "[red]stopped[/]: lost the Docker engine mid-run. Once it is back, `agent sandbox "
            "prune` removes the containers this run could not, and the same command goes on "
            "where it stopped."
        )
        raise typer.Exit(EXIT_FAILED)
    if run.interrupted:
        err_console.print("[yellow]interrupted[/]: run the same command again to go on")
        raise typer.Exit(EXIT_INTERRUPTED)
    complete = progress.failed == 0 and not progress.not_started and not progress.eval_errors
    raise typer.Exit(EXIT_OK if complete else EXIT_FAILED)


def default_output(base: str, dataset: str, model: str) -> Path:
    """A stable directory per dataset and model, so running again resumes."""
    name = Path(dataset).stem if dataset.endswith((".json", ".jsonl", ".parquet")) else dataset
    slug = lambda text: re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")[:60]  # noqa: E731
    return Path(base) / f"bench-{slug(name)}-{slug(model.split('/')[-1])}"


class BenchView:
    """Lines for finished instances; in a terminal also a live panel of the running ones."""

    def __init__(self) -> None:
        self.run: Any = None  # the BenchRun shown

    def event(self, kind: str, instance_id: str, detail: Any) -> None:
        if kind == "finish":
            console.print(finished_line(instance_id, detail), highlight=False, soft_wrap=True)
        elif kind == "skip" and detail != "done in an earlier run":
            console.print(f"[dim]- {instance_id}: {detail}[/]", highlight=False)

    def live(self) -> Any:
        if not console.is_terminal:
            return contextlib.nullcontext()
        return Live(self, console=console, refresh_per_second=4, transient=True)

    def __rich__(self) -> Group:
        p = self.run.progress
        with p.lock:
            running = dict(p.running)
            done = p.already_done + p.finished
            line = (
                f"done {done}/{p.total}"
                + (f" ({p.already_done} before)" if p.already_done else "")
                + f" · running {len(running)} · failed {p.failed}"
                + (f" · resolved {p.resolved}/{p.evaluated}" if p.evaluated else "")
                + (f" · evaluation errors {p.eval_errors}" if p.eval_errors else "")
                + f" · ${self.run.budget.spent:.2f}"  # every call so far, not only ended runs
            )
            eta = p.eta()
        if eta is not None:
            line += f" · ETA {int(eta // 60)}:{int(eta % 60):02d}"
        table = Table.grid(padding=(0, 2))
        for instance_id, what in sorted(running.items()):
            table.add_row(Text(f"  {instance_id}", style="cyan"), Text(what, style="dim"))
        return Group(Text(line, style="bold"), table)


def finished_line(instance_id: str, record: dict[str, Any]) -> str:
    from patchsmith.agent.bench.runner import evaluation_error

    status = record.get("status") or "error"
    style = STATUS_STYLE.get(status, "red")
    eval_error = evaluation_error(record)
    mark = "✓" if record.get("done") and eval_error is None else "✗"
    mark_style = "red" if eval_error is not None else style
    parts = [f"[{mark_style}]{mark} {instance_id}[/]", f"[{style}]{status}[/]"]
    evaluation = record.get("evaluation")
    if eval_error is not None:
        parts.append("[red]evaluation error[/]")
    elif evaluation:
        outcome = evaluation.get("status", "?")
        parts.append(f"[{'green' if outcome == 'resolved' else 'red'}]{outcome}[/]")
    files = len(record.get("patch_files") or [])
    parts.append(f"{files} file{'s' if files != 1 else ''}")
    parts.append(f"${record.get('cost', 0.0):.4f}")
    parts.append(f"{record.get('timing', {}).get('total', 0.0):.1f}s")
    if not record.get("done") and record.get("message"):
        parts.append(f"[dim]{escape(record['message'][:160])}[/]")
    elif eval_error is not None:
        parts.append(f"[dim]{escape(eval_error[:160])}[/]")
    return "  ".join(parts)


def print_summary(progress: Any, output: Path, evaluated: bool) -> None:
    done = progress.already_done + progress.finished
    table = Table(show_header=False, box=None, padding=(0, 2))
    earlier = f" ({progress.already_done} in an earlier run)" if progress.already_done else ""
    table.add_row("instances", f"{done}/{progress.total} ran{earlier}")
    table.add_row("with a patch", str(progress.patched))
    table.add_row("failed", str(progress.failed))
    if progress.not_started:
        table.add_row("not started", str(progress.not_started))
    if evaluated:
        table.add_row("resolved", f"{progress.resolved}/{progress.evaluated}")
        table.add_row("evaluation errors", str(progress.eval_errors))
    table.add_row("cost", f"${progress.cost:.4f}")
    table.add_row("files", f"{output}/preds.json, results.json, trajs/, logs/")
    console.print(table)
    if evaluated and progress.eval_errors:
        # One line, unwrapped: the first reason is what a person needs to act on.
        first = f"first evaluation error: {progress.first_eval_error}"
        err_console.print(escape(first), style="red", soft_wrap=True, highlight=False)


def write_report(output: Path, dataset: str) -> None:
    from patchsmith.agent.bench.report import write_report as report

    try:
        console.print(f"report: {report(output, dataset)}")
    except ValueError as exc:
        err_console.print(f"[yellow]no report:[/] {escape(str(exc))}")
