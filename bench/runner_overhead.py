"""The benchmark runner's overhead per instance on the mini set, through Docker sandboxes.

Runs `agent run-bench mini` (in-process, the scripted gold trajectories as the model) with
--workers 1 and --workers 2, several times each, and prints per instance: the time outside
the model call (everything the runner, the sandbox, the tools and the loop spend), how that
splits into opening and closing the sandbox, the tools' actions and the rest (trajectory and result
files, loop), and the wall-clock time per instance of the whole set (which parallel workers
bring down). With --evaluate, the evaluation of each prediction is included and shown.

    python bench/runner_overhead.py [--runs 3] [--evaluate]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from patchsmith.agent.bench.dataset import MINI_SCRIPTS, load_dataset
from patchsmith.agent.bench.runner import BenchOptions, BenchRun
from patchsmith.agent.config import load_settings


def one_run(workers: int, evaluate: bool, tmp: Path, n: int) -> tuple[float, list[dict]]:
    instances = load_dataset("mini")
    settings = load_settings(None, {"model": f"scripted:{MINI_SCRIPTS}"})
    output = tmp / f"w{workers}-{n}"
    options = BenchOptions(output_dir=output, dataset="mini", workers=workers, evaluate=evaluate)
    started = time.perf_counter()
    progress = BenchRun(instances, settings, options).run()
    wall = time.perf_counter() - started
    assert progress.failed == 0, "an instance failed: see the run's logs"
    records = list(json.loads((output / "results.json").read_text())["instances"].values())
    for record in records:
        trajectory = json.loads((output / record["trajectory"]).read_text())
        record["actions"] = sum(a["seconds"] for s in trajectory["steps"] for a in s["actions"])
    return wall, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--evaluate", action="store_true")
    args = parser.parse_args()
    ms = lambda values: statistics.median(values) * 1000  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("PATCHSMITH_CACHE_DIR", str(Path(tmp) / "cache"))
        one_run(1, False, Path(tmp), -1)  # warm-up: repositories made, images in the page cache
        for workers in (1, 2):
            walls, records = [], []
            for n in range(args.runs):
                wall, done = one_run(workers, args.evaluate, Path(tmp), n)
                walls.append(wall / len(done))
                records += done
            timing = [r["timing"] for r in records]
            outside = [t["total"] - t.get("model", 0.0) for t in timing]
            opening = [t["sandbox_open"] for t in timing]
            closing = [t["sandbox_close"] for t in timing]
            actions = [r["actions"] for r in records]
            rest = [
                o - s - c - a for o, s, c, a in zip(outside, opening, closing, actions, strict=True)
            ]
            runs = f"{len(records)} instances, {args.runs} runs of the mini set"
            print(f"--workers {workers}: {runs}")
            print(f"  wall clock per instance (set / instances):  {ms(walls):8.1f} ms")
            print(f"  per instance, all but the model (median):   {ms(outside):8.1f} ms")
            print(f"    opening the sandbox                        {ms(opening):8.1f} ms")
            print(f"    closing it (removing the container)        {ms(closing):8.1f} ms")
            print(f"    the tools' actions                         {ms(actions):8.1f} ms")
            print(f"    the rest (loop, trajectory, result files)  {ms(rest):8.1f} ms")
            if args.evaluate:
                evaluation = [t.get("evaluation", 0.0) for t in timing]
                print(f"  evaluation per instance (median):           {ms(evaluation):8.1f} ms")


if __name__ == "__main__":
    main()
