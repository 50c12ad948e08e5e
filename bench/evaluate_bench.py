"""The evaluator's cost: time per evaluation on the bundled mini benchmark's gold patches
(Docker sandbox, test run, grading), and the log parsers' speed on large logs.

Prints, for 1 and 2 workers, the wall time and the median time of one evaluation; then
the parsing speed of each log format in lines per second on a log of about 50,000 lines;
then the official evaluation's overhead (swebench's eval script in an instance image,
graded by swebench) over its test command alone, on a small stand-in instance image.

    python bench/evaluate_bench.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from patchsmith.agent.bench.dataset import load_dataset
from patchsmith.agent.bench.evaluate import evaluate_predictions
from patchsmith.agent.bench.logparse import parse_log

TESTS = Path(__file__).resolve().parent.parent / "tests"
LOGS = TESTS / "data" / "logs"
SAMPLES = {
    "pytest": "pytest-9-verbose-rA.log",
    "django": "django-3.2-basic-suite.log",
    "sympy": "sympy-1.12.log",
    "generic": "generic-make.log",
}


def evaluation_times(rounds: int) -> None:
    instances = load_dataset("mini")
    gold = {i.instance_id: i.patch for i in instances}
    for workers in (1, 2):
        walls, each = [], []
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as logs:
                started = time.monotonic()
                results = evaluate_predictions(gold, instances, workers=workers, log_dir=Path(logs))
                walls.append(time.monotonic() - started)
            bad = [r.instance_id for r in results.values() if r.status != "resolved"]
            if bad:
                raise SystemExit(f"gold patches not resolved: {bad}")
            each += [r.seconds for r in results.values()]
        print(
            f"mini gold, {len(gold)} instances, {workers} worker(s): "
            f"{statistics.median(walls):.1f}s wall, {statistics.median(each):.2f}s per evaluation"
        )


def parsing_speed() -> None:
    for log_format, name in SAMPLES.items():
        sample = (LOGS / name).read_text()
        copies = max(1, 50_000 // sample.count("\n"))
        log = sample * copies
        started = time.perf_counter()
        parse_log(log, log_format)
        seconds = time.perf_counter() - started
        lines = log.count("\n")
        print(
            f"parse {log_format:8} {lines:>7,} lines in {seconds * 1000:6.1f} ms "
            f"({lines / seconds:,.0f} lines/s)"
        )


def official_overhead(rounds: int) -> None:
    """Median evaluation time, and the same test command run alone in the same image."""
    sys.path.insert(0, str(TESTS))
    from instance_image import GOLD, build_instance_image, remove_instance_image, stand_in_row

    from patchsmith.agent.bench.dataset import Instance
    from patchsmith.agent.bench.environment import open_instance_sandbox
    from patchsmith.agent.bench.evaluate import evaluate_prediction
    from patchsmith.agent.bench.official_eval import markers, official_spec

    base = os.environ.get("PATCHSMITH_IMAGE", "patchsmith-sandbox:latest")
    with tempfile.TemporaryDirectory() as work:
        image, head = build_instance_image(Path(work), base)
        try:
            instance = Instance.from_record(stand_in_row(image, head))
            lines = official_spec(instance).script.splitlines()  # (swebench imported here)
            test_command = lines[lines.index(f": '{markers()[0]}'") + 1]
            totals, scripts, alone = [], [], []
            for _ in range(rounds):
                result = evaluate_prediction(instance, GOLD)
                if result.status != "resolved":
                    raise SystemExit(f"the stand-in's gold patch: {result.status} {result.message}")
                totals.append(result.seconds)
                scripts.append(result.script_seconds)
                with open_instance_sandbox(instance) as sandbox:
                    started = time.monotonic()
                    sandbox.run(test_command, timeout=600)
                    alone.append(time.monotonic() - started)
        finally:
            remove_instance_image(image)
    total, script = statistics.median(totals), statistics.median(scripts)
    test = statistics.median(alone)
    print(
        f"official evaluation ({result.evaluator}), median of {rounds}: {total:.2f}s per "
        f"evaluation, its test command alone {test:.2f}s; overhead {total - test:.2f}s = "
        f"{script - test:.2f}s of the eval script's own steps (git, the repository's install "
        f"step) + {total - script:.2f}s of sandbox, patch and grading"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    parsing_speed()
    evaluation_times(args.rounds)
    official_overhead(max(args.rounds, 3))


if __name__ == "__main__":
    main()
