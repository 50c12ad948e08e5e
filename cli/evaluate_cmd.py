"""`agent evaluate`: run a dataset's tests on predictions and say which are resolved."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import typer

from .config_cmd import settings_or_exit
from .console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, console, err_console, fail

EVALUATORS = ("patchsmith", "swebench")
RESULTS_FILE = "evaluation.json"
OUTCOME_STYLE = {"resolved": "green", "unresolved": "red", "error": "yellow", "empty_patch": "dim"}


def evaluate(
    predictions: Path = typer.Argument(
        None, help="Predictions: preds.json (keyed by instance_id), a JSON list or JSONL."
    ),
    dataset: str = typer.Option(
        ..., "--dataset", "-d", help="swe-lite, swe-verified, swe-full, mini, a hub id or a file."
    ),
    split: str = typer.Option("test", "--split", help="The dataset split."),
    instances: list[str] = typer.Option(
        None, "--instances", "-i", help="Only these instance ids (repeatable or comma-separated)."
    ),
    workers: int = typer.Option(1, "--workers", "-w", help="Evaluations at a time."),
    output: Path = typer.Option(
        None,
        "--output",
        "-o",
        help="Directory for logs and reports (default: patchsmith-eval/TIME).",
    ),
    gold: bool = typer.Option(
        False, "--gold", help="Evaluate the dataset's own patches: a check of the environments."
    ),
    evaluator: str = typer.Option(
        "patchsmith",
        "--evaluator",
        help="patchsmith (swebench's official script where it applies, else built in) or "
        "swebench (hand over to the official harness).",
    ),
    timeout: float = typer.Option(1800.0, "--timeout", help="Seconds for each test run."),
    sandbox: str = typer.Option(None, "--sandbox", help="docker (default) or local."),
    image: str = typer.Option(None, "--image", help="Image for instances that name none."),
) -> None:
    """Evaluate predictions: each patch is applied in a fresh sandbox of its instance, the
    instance's tests run, and the result is resolved, unresolved, error (the evaluation
    itself failed: run it again) or empty_patch. Writes evaluation.json, report.json,
    report.html and one log per instance in the output directory.

    Exit codes: 0 every prediction was evaluated (and, with --gold, every gold patch
    resolves); 1 otherwise; 2 bad input.

    Examples:\n
      agent evaluate runs/preds.json --dataset swe-lite --workers 4\n
      agent evaluate --gold --dataset mini\n
      agent evaluate preds.jsonl -d swe-lite -i django__django-15202 --evaluator swebench
    """
    from patchsmith.agent.bench.dataset import DatasetError, load_dataset, select
    from patchsmith.agent.bench.evaluate import PredictionsError, load_predictions

    if evaluator not in EVALUATORS:
        fail(f"--evaluator {evaluator!r}: use {' or '.join(EVALUATORS)}", EXIT_USAGE)
    if (predictions is None) == (not gold):
        fail("give a predictions file, or --gold (not both)", EXIT_USAGE)
    ids = [part.strip() for item in instances or [] for part in item.split(",") if part.strip()]
    try:
        chosen = select(load_dataset(dataset, split), ids or None)
    except DatasetError as exc:
        fail(str(exc), EXIT_USAGE)
    if gold:
        patches = {i.instance_id: i.patch for i in chosen}
    else:
        try:
            patches = load_predictions(predictions)
        except PredictionsError as exc:
            fail(str(exc), EXIT_USAGE)
        if ids:
            patches = {iid: patch for iid, patch in patches.items() if iid in set(ids)}
    if not patches:
        fail("no predictions to evaluate for the instances chosen", EXIT_USAGE)
    output = output or Path("patchsmith-eval") / time.strftime("%Y%m%d-%H%M%S")
    output.mkdir(parents=True, exist_ok=True)
    console.print(
        f"evaluating [bold]{len(patches)}[/] predictions on {dataset} with {evaluator}, "
        f"{workers} at a time; files in {output}",
        soft_wrap=True,
    )

    if evaluator == "swebench":
        results = _official(dataset, split, predictions, gold, ids, workers, timeout, output)
    else:
        from patchsmith.agent.bench.environment import open_instance_sandbox
        from patchsmith.agent.bench.evaluate import evaluate_predictions

        settings = settings_or_exit(None, {"sandbox": sandbox, "image": image})
        results = {
            iid: result.to_dict()
            for iid, result in evaluate_predictions(
                patches,
                chosen,
                workers=workers,
                open_sandbox_for=lambda instance: open_instance_sandbox(instance, settings),
                timeout=timeout,
                log_dir=output / "logs",
                on_result=_print_result,
            ).items()
        }
    repos = {i.instance_id: i.repo for i in chosen}
    _write_results(output, dataset, evaluator, results, patches, repos)
    _report(output, dataset)
    errors = sum(r["status"] == "error" for r in results.values())
    unresolved_gold = gold and any(r["status"] != "resolved" for r in results.values())
    if errors:
        err_console.print(f"[yellow]{errors} evaluations failed[/]: see the logs in {output}/logs")
        iid, first = next((i, r) for i, r in results.items() if r["status"] == "error")
        err_console.print(
            _escape(f"first evaluation error: {iid}: {first.get('message') or '?'}"),
            soft_wrap=True,
            highlight=False,
        )
    if unresolved_gold:
        err_console.print("[red]some gold patches do not resolve their instance[/]")
    raise typer.Exit(EXIT_FAILED if errors or unresolved_gold else EXIT_OK)


def _print_result(result: Any) -> None:
    style = OUTCOME_STYLE.get(result.status, "")
    note = f" [dim]{_escape(result.message[:160])}[/]" if result.message else ""
    console.print(
        f"{result.instance_id}: [{style}]{result.status}[/] ({result.seconds:.0f}s){note}",
        soft_wrap=True,
    )


def _official(
    dataset: str,
    split: str,
    predictions: Path | None,
    gold: bool,
    ids: list[str],
    workers: int,
    timeout: float,
    output: Path,
) -> dict[str, dict[str, Any]]:
    from patchsmith.agent.bench.official import HarnessMissing, harness_command, run_harness

    run_id = f"patchsmith-{time.strftime('%Y%m%d-%H%M%S')}"
    source = "gold" if gold else str(Path(predictions).resolve())
    command = harness_command(dataset, source, workers, run_id, ids or None, timeout, split)
    try:
        statuses = run_harness(command, output)
    except HarnessMissing as exc:
        fail(str(exc), EXIT_USAGE)
    except RuntimeError as exc:
        fail(str(exc))
    return {
        iid: {"instance_id": iid, "status": status, "message": "from the official harness"}
        for iid, status in statuses.items()
    }


def _write_results(
    output: Path,
    dataset: str,
    evaluator: str,
    results: dict[str, dict[str, Any]],
    patches: dict[str, str],
    repos: dict[str, str],
) -> None:
    """evaluation.json, in the shape the report reads (records keyed by instance_id)."""
    records = {
        iid: {
            "instance_id": iid,
            "repo": repos.get(iid, ""),
            "eval_status": result["status"],
            "evaluation": result,
            "patch_empty": not (patches.get(iid) or "").strip(),
            "seconds": result.get("seconds", 0.0),
            "log": _relative(result.get("log_path"), output),
        }
        for iid, result in results.items()
    }
    data = {"dataset": dataset, "evaluator": evaluator, "instances": records}
    (output / RESULTS_FILE).write_text(json.dumps(data, indent=1, ensure_ascii=False))


def _relative(path: str | None, base: Path) -> str | None:
    if not path:
        return None
    try:
        return str(Path(path).resolve().relative_to(base.resolve()))
    except ValueError:
        return path


def _report(output: Path, dataset: str) -> None:
    from patchsmith.agent.bench.report import REPORT_JSON, summary_tables, write_report

    page = write_report(output, dataset, RESULTS_FILE)
    report = json.loads((output / REPORT_JSON).read_text(encoding="utf-8"))
    console.print(summary_tables(report)[0])  # outcomes only: an evaluation has no cost
    console.print(f"report: {page}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
