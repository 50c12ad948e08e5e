"""How long the pre-commit hook takes on a commit that passes, in a repository of a few hundred
files: by hand (`agent precommit`), through `pre-commit run`, and in process.

Scenarios: a staged change that no test relates to (the target: well under 2 s, with no
model call), the same with unstaged edits in the working tree (the checks then run on an
export of the index), and a staged module that one test file imports (pytest runs).

    python bench/precommit_bench.py [--runs 5] [--files 300]
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from patchsmith.agent.precommit import load_precommit_config, run_checks

AGENT = [sys.executable, "-m", "patchsmith.cli", "precommit"]


def make_repository(root: Path, files: int) -> None:
    """A package of modules, tests that each import a few of them, and some other files."""
    modules = int(files * 0.7)
    tests = int(files * 0.2)
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "docs").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    for i in range(modules):
        body = "".join(
            f"\n\ndef f{i}_{j}(x):\n    '''Step {j}.'''\n    return x + {j}\n" for j in range(12)
        )
        (root / "pkg" / f"mod{i}.py").write_text(f'"""Module {i}."""\n\nimport os\n{body}')
    for i in range(tests):
        imported = [(i * 3 + k) % (modules // 2) for k in range(3)]  # only the first half
        lines = [f"from pkg import mod{m}" for m in imported]
        lines += [f"\n\ndef test_{m}():\n    assert mod{m}.f{m}_1(1) == 2" for m in imported]
        (root / "tests" / f"test_part{i}.py").write_text("\n".join(lines) + "\n")
    for i in range(files - modules - tests - 2):
        (root / "docs" / f"page{i}.md").write_text(f"# Page {i}\n\nText.\n")
    (root / ".pre-commit-config.yaml").write_text(
        "repos:\n- repo: local\n  hooks:\n  - id: patchsmith\n    name: patchsmith\n"
        f"    entry: {shlex.join(AGENT)}\n    language: system\n    require_serial: true\n"
    )
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")


def git(root: Path, *args: str) -> None:
    ident = ["-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run(["git", "-C", str(root), *ident, *args], check=True, capture_output=True)


def timed(
    command: list[str], cwd: Path, runs: int, env: dict[str, str]
) -> tuple[list[float], list[float]]:
    """Wall-clock seconds of each run, and CPU seconds (user + system, children included),
    which a busy machine inflates less."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"{shlex.join(command)} failed:\n{done.stdout}{done.stderr}")
    return walls, cpus


def show(label: str, times: tuple[list[float], list[float]] | list[float]) -> None:
    walls, cpus = times if isinstance(times, tuple) else (times, None)
    line = (
        f"  {label:<30} wall median {statistics.median(walls) * 1000:6.0f} ms, "
        f"min {min(walls) * 1000:6.0f} ms"
    )
    if cpus is not None:
        line += f";  cpu median {statistics.median(cpus) * 1000:6.0f} ms"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=300)
    args = parser.parse_args()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        make_repository(root, args.files)
        env["PRE_COMMIT_HOME"] = str(Path(tmp) / "pre-commit-home")
        count = len(
            subprocess.run(
                ["git", "-C", str(root), "ls-files"], capture_output=True, text=True
            ).stdout.split()
        )
        load = os.getloadavg()[0]
        print(f"repository: {count} files; {args.runs} runs each; load average {load:.1f}\n")

        # The last module: no test imports it or is named after it.
        lone = root / "pkg" / f"mod{int(args.files * 0.7) - 1}.py"
        lone.write_text(lone.read_text() + "\nEXTRA = 1\n")
        git(root, "add", str(lone))
        print("a staged module no test relates to (syntax check only):")
        show("agent precommit", timed(AGENT, root, args.runs, env))
        pre_commit = [sys.executable, "-m", "pre_commit", "run"]
        try:
            import pre_commit as _  # noqa: F401

            show("pre-commit run (local hook)", timed(pre_commit, root, args.runs, env))
        except ImportError:
            print("  pre-commit run: not installed here")
        config = load_precommit_config(root)
        show("run_checks() in process", [_in_process(root, config) for _ in range(args.runs)])

        (root / "docs" / "page0.md").write_text("# Changed, not staged\n")
        print("\nthe same, with an unstaged edit (checks run on an export of the index):")
        show("agent precommit", timed(AGENT, root, args.runs, env))
        git(root, "checkout", "--", "docs/page0.md")

        git(root, "reset", "-q")
        related = root / "pkg" / "mod1.py"
        related.write_text(related.read_text() + "\nEXTRA = 1\n")
        git(root, "add", str(related))
        report = run_checks(root, config)
        print(f"\na staged module that {len(report.related)} test file(s) import (pytest runs):")
        show("agent precommit", timed(AGENT, root, args.runs, env))


def _in_process(root: Path, config) -> float:
    started = time.perf_counter()
    report = run_checks(root, config)
    assert report.passed, report.failures
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
