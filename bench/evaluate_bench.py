"""The evaluator's cost: time per evaluation on the bundled mini benchmark's gold patches
(Docker sandbox, test run, grading), and the log parsers' speed on large logs.

Prints, for 1 and 2 workers, the wall time and the median time of one evaluation; then
the parsing speed of each log format in lines per second on a log of about 50,000 lines.

    python bench/evaluate_bench.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from patchsmith.agent.bench.dataset import load_dataset
from patchsmith.agent.bench.evaluate import evaluate_predictions
from patchsmith.agent.bench.logparse import parse_log

LOGS = Path(__file__).resolve().parent.parent / "tests" / "data" / "logs"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    parsing_speed()
    evaluation_times(args.rounds)


if __name__ == "__main__":
    main()
