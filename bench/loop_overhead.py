"""The CodeAct loop's overhead per step on the offline demo, through the Docker sandbox.

Runs the demo (a scripted model fixing a bug in a small repository) several times and prints,
per step: the time outside the model call (tools and loop together), the loop's own share
(history, prompt fitting, trajectory saving: everything but the model call and the action
itself), and each tool's median. Target for the loop's own overhead: under 50 ms per step.

    python bench/loop_overhead.py [--runs 5] [--sandbox docker|local]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from importlib import resources
from pathlib import Path

from patchsmith.agent.config import load_settings
from patchsmith.agent.solve import solve


def demo_repo(workdir: Path) -> Path:
    repo = workdir / "textkit"
    with resources.as_file(resources.files("patchsmith.agent") / "demo" / "repo") as source:
        shutil.copytree(source, repo)
    git = ["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "demo"], check=True)
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sandbox", default="docker")
    args = parser.parse_args()
    demo = resources.files("patchsmith.agent") / "demo"
    outside_model, loop_only, per_tool = [], [], defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp, resources.as_file(demo / "script.yaml") as script:
        repo = demo_repo(Path(tmp))
        flags = {
            "model": f"scripted:{script}",
            "sandbox": args.sandbox,
            "setup": [],
            "output_dir": str(Path(tmp) / "runs"),
        }
        settings = load_settings(None, flags)
        for _ in range(args.runs):
            # Timed from outside: the gap between two steps' callbacks is a whole step,
            # saving the trajectory and fitting the next prompt included.
            stamps = []
            result = solve(
                (demo / "issue.md").read_text(),
                repo,
                settings,
                on_step=lambda step, stamps=stamps: stamps.append(time.perf_counter()),
            )
            assert result.trajectory.status == "submitted", result.trajectory.message
            steps = result.trajectory.steps
            for before, after, step in zip(stamps, stamps[1:], steps[1:], strict=False):
                actions = sum(a.seconds for a in step.actions)
                outside_model.append(after - before - step.model_seconds)
                loop_only.append(after - before - step.model_seconds - actions)
            for step in steps:
                for action in step.actions:
                    per_tool[action.tool].append(action.seconds)

    ms = lambda values: statistics.median(values) * 1000  # noqa: E731
    print(f"steps measured:                           {len(loop_only)} ({args.runs} runs)")
    print(f"loop's own overhead per step (median):    {ms(loop_only):7.2f} ms (target < 50 ms)")
    print(f"loop's own overhead per step (max):       {max(loop_only) * 1000:7.2f} ms")
    print(f"everything but the model call (median):   {ms(outside_model):7.2f} ms")
    for tool, values in sorted(per_tool.items()):
        print(f"  {tool:<12} median                    {ms(values):7.2f} ms")


if __name__ == "__main__":
    main()
