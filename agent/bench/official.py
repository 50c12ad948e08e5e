"""Evaluation by SWE-bench's official harness (`--evaluator swebench`): a thin subprocess call,
for those who have the `swebench` package and its Docker images.

The harness writes `<model>.<run_id>.json` in the directory it runs in, listing the ids it
found resolved, unresolved, in error and with empty patches; that is read back here."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

HARNESS = "swebench.harness.run_evaluation"
# The harness's report lists, and what each means here.
REPORT_LISTS = {
    "resolved_ids": "resolved",
    "unresolved_ids": "unresolved",
    "error_ids": "error",
    "empty_patch_ids": "empty_patch",
}


class HarnessMissing(Exception):
    """The official harness is not installed; the message says how to get it."""


def harness_installed() -> bool:
    return importlib.util.find_spec("swebench") is not None


def official_dataset_name(name: str) -> str:
    """The hub id for one of patchsmith's short names ("swe-lite"); other names as given."""
    from .dataset import HUB_DATASETS

    return HUB_DATASETS[name][0] if name in HUB_DATASETS else name


def harness_command(
    dataset_name: str,
    predictions_path: str | Path,
    workers: int,
    run_id: str,
    instance_ids: list[str] | None = None,
    timeout: float | None = None,
    split: str = "test",
    python: str = sys.executable,
) -> list[str]:
    """The command line that runs the harness. `predictions_path` may be "gold"."""
    command = [
        python,
        "-m",
        HARNESS,
        "--dataset_name",
        official_dataset_name(dataset_name),
        "--predictions_path",
        str(predictions_path),
        "--max_workers",
        str(max(1, workers)),
        "--run_id",
        run_id,
    ]
    if split != "test":
        command += ["--split", split]
    if instance_ids:
        command += ["--instance_ids", *instance_ids]
    if timeout is not None:
        command += ["--timeout", str(int(timeout))]
    return command


def run_harness(command: list[str], cwd: Path) -> dict[str, str]:
    """Run the harness in `cwd` (its output goes to the terminal); {instance_id: status}
    from the report it writes there. HarnessMissing when it is not installed."""
    if not harness_installed():
        raise HarnessMissing(
            "the official SWE-bench harness is not installed in this Python: install the "
            "`swebench` package (`pip install swebench`), which also needs Docker and the "
            "SWE-bench images; or use the built-in evaluator (--evaluator patchsmith)"
        )
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, cwd=cwd)
    run_id = command[command.index("--run_id") + 1]
    reports = sorted(cwd.glob(f"*.{run_id}.json"))
    if not reports:
        raise RuntimeError(
            f"the official harness exited with code {done.returncode} and wrote no report "
            f"(*.{run_id}.json) in {cwd}"
        )
    return read_harness_report(reports[-1])


def read_harness_report(path: Path) -> dict[str, str]:
    """{instance_id: status} from the harness's final report."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    statuses = {}
    for key, status in REPORT_LISTS.items():
        for iid in data.get(key) or []:
            statuses[str(iid)] = status
    return statuses
