"""Benchmark of the code index on a large real repository (Django by default).

Fetches the Django sdist with pip, unpacks it into a temporary git repository, opens a
sandbox on it and prints: files and definitions indexed, cold build time (empty cache),
warm build time (a second index on the same cache), incremental update time after touching
one file, and median look-up latencies of `search`, `show` and `references` over a sample
of names.
It prints figures only; nothing here asserts on timings.

    python bench/index_bench.py [--sandbox local|docker] [--repo DIR] [--samples N]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from patchsmith.sandbox import SandboxConfig, open_sandbox
from patchsmith.tools.index import CodeIndex, references_text, repo_map, show
from patchsmith.tools.registry import Toolset
from patchsmith.tools.tokens import tokenizer_name

TARGETS = {"cold": 10.0, "warm": 1.0, "incremental": 0.1, "lookup": 0.1}  # seconds


def fetch_django(spec: str, workdir: Path) -> Path:
    """A git repository holding the unpacked Django sdist matching `spec`."""
    downloads = workdir / "downloads"
    print(f"fetching django{spec} (sdist) with pip ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "--quiet", f"django{spec}", "-d", str(downloads)],
        check=True,
    )  # fmt: skip
    sdist = next(downloads.glob("[Dd]jango-*.tar.gz"))
    with tarfile.open(sdist) as archive:
        # The "data" filter also drops the archive's owners, which git would distrust.
        if hasattr(tarfile, "data_filter"):
            archive.extractall(workdir, filter="data")
        else:
            archive.extractall(workdir)
    repo = workdir / sdist.name.removesuffix(".tar.gz")
    git = ["git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "--no-verify", "-m", "django sdist"], check=True)
    return repo


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def median_latency(action, names: list[str]) -> tuple[float, float]:
    """Median and worst seconds of `action(name)` over `names`."""
    times = [timed(lambda name=name: action(name))[1] for name in names]
    return statistics.median(times), max(times)


def report(label: str, seconds: float, target: str | None = None) -> None:
    verdict = ""
    if target:
        verdict = "  (target < {:g} ms: {})".format(
            TARGETS[target] * 1000, "met" if seconds < TARGETS[target] else "MISSED"
        )
    print(f"  {label:<38} {seconds * 1000:>9.1f} ms{verdict}")


def pick_target(entries: dict) -> str:
    """The file an edit touches: Django's query.py, else the largest source file."""
    if "django/db/models/query.py" in entries:
        return "django/db/models/query.py"
    return max(entries, key=lambda path: entries[path].definitions[-1].end_line
               if entries[path].definitions else 0)  # fmt: skip


def run(repo: Path, workdir: Path, backend: str, samples: int) -> None:
    cache = workdir / "index-cache"
    shutil.rmtree(cache, ignore_errors=True)
    config = SandboxConfig(backend=backend)
    sandbox, opened = timed(lambda: open_sandbox(repo, config=config))
    with sandbox:
        print(f"\nrepository {repo.name}, {backend} sandbox (opened in {opened:.1f} s)")
        print(f"tokenizer: {tokenizer_name()}")
        cold, cold_s = timed(lambda: CodeIndex(sandbox, cache_dir=cache))
        entries = cold.entries()
        skipped = sum(1 for e in entries.values() if e.error)
        print(
            f"  files in workspace {len(cold.files())}, source files indexed {len(entries)}"
            f" ({skipped} skipped), definitions {cold.definition_count()}"
        )
        report("cold build (empty cache)", cold_s, "cold")
        warm, warm_s = timed(lambda: CodeIndex(sandbox, cache_dir=cache))
        report(f"warm build (cached, parsed {warm.stats.parsed})", warm_s, "warm")

        _, hashes_s = timed(sandbox.file_hashes)
        report("  of which sandbox.file_hashes()", hashes_s)
        target = pick_target(entries)
        original = sandbox.read_file(target)
        print(f"  touching {target} ({len(original.splitlines())} lines)")
        sandbox.write_file(target, original + b"\n\ndef bench_added():\n    return 1\n")
        stats, update_s = timed(warm.update)
        report(f"incremental update() (parsed {stats.parsed})", update_s, "incremental")
        sandbox.write_file(target, original + b"\n\ndef bench_again():\n    return 2\n")
        stats, paths_s = timed(lambda: warm.update([target]))
        report(f"incremental update([path]) (parsed {stats.parsed})", paths_s, "incremental")
        sandbox.write_file(target, original)
        warm.update([target])

        # Names worth asking about: defined somewhere and used somewhere.
        names = sorted(
            {d.name for e in entries.values() for d in e.definitions if warm.references(d.name)}
        )
        picked = random.Random(7).sample(names, min(samples, len(names)))
        median, worst = median_latency(lambda n: show(warm, n), picked)
        report(f"show, median of {len(picked)} names", median, "lookup")
        report("show, slowest", worst)
        fresh = CodeIndex(sandbox, cache_dir=cache)  # no file contents held in memory yet
        median, worst = median_latency(lambda n: references_text(fresh, n), picked)
        report(f"references, median of {len(picked)} names", median, "lookup")
        report("references, slowest", worst)
        with Toolset(sandbox) as toolset:
            searched = picked[:50]
            median, worst = median_latency(
                lambda n: toolset.call("search", {"pattern": rf"def {n}\b"}), searched
            )
            backend_used = toolset.context.search_backend()
            report(f"search ({backend_used}), median of {len(searched)}", median, "lookup")
            report("search, slowest", worst)
        _, map_s = timed(lambda: repo_map(warm, 2048))
        report("repo_map 2048 tokens (first, builds graph)", map_s)
        _, map_s = timed(lambda: repo_map(warm, 2048, focus_files=[target]))
        report("repo_map 2048 tokens, focused on a file", map_s)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", choices=["local", "docker"], default="local")
    parser.add_argument("--repo", type=Path, help="index this git repository instead of Django")
    parser.add_argument("--django", default="==4.2.*", help="version specifier for Django")
    parser.add_argument("--samples", type=int, default=200, help="names to look up")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="patchsmith-index-bench-"))
    try:
        repo = args.repo.resolve() if args.repo else fetch_django(args.django, workdir)
        run(repo, workdir, args.sandbox, args.samples)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
