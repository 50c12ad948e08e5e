"""Benchmark of `agent localize` (no model): accuracy on real issues, and speed on SymPy.

Accuracy mode (the default) reads a JSONL of issues with `gold_files` (by default the
development set, shared/data/localization-dev.jsonl beside this repository), fetches with pip
the tree of each issue's project version (the sdist; scikit-learn's wheel, as its sdist cannot
be prepared), commits it into a git repository under the cache directory (kept, so re-runs
are fast), and ranks files for every issue with patchsmith's localizer and with a plain
baseline run in this same script: BM25 over whole Python files (plain lower-cased words, the
issue text as the query). It prints Acc@1/5/10 of both, overall and per project, and time
per issue. A file counts as found when it is the issue's gold file, mapped to the release's
layout (see `gold_paths`). The localizer's weights were tuned by hand on this set, modestly
(round numbers, one signal at a time); it is not the set the project is judged on.

With `--repo-mirrors DIR` it also measures a second, disjoint set (by default
shared/data/swe-lite-env-dev.jsonl: SWE-bench rows of projects the weights were not tuned
on), each issue against its real repository at the row's base commit, cloned from
DIR/<owner>/<name>; the gold file is what the row's `patch` changes.

Timing mode (`--timing`) fetches SymPy's sdist and times `agent localize --json` in a fresh
process each time (git tree listing, retrieval index, ranking): once on an empty cache, then
warm. Timings depend on what else the machine runs: the load average is printed alongside.

It prints figures only; nothing here asserts on them.

    python bench/localize_bench.py [--data FILE] [--held-out FILE --repo-mirrors DIR]
                                   [--cache DIR] [--limit N] [--show-misses] [--fresh-index]
    python bench/localize_bench.py --timing [--sympy-version 1.12]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from patchsmith.tools.index.git_source import GitTreeSource
from patchsmith.tools.localize import localize_repo

HERE = Path(__file__).resolve()
DEFAULT_DATA = HERE.parents[2] / "shared" / "data" / "localization-dev.jsonl"
DEFAULT_HELD_OUT = HERE.parents[2] / "shared" / "data" / "swe-lite-env-dev.jsonl"
DEFAULT_CACHE = Path.home() / ".cache" / "patchsmith" / "localize-bench"
# Projects whose sdist pip cannot prepare: the wheel carries the same package files.
WHEEL_ONLY = {"scikit-learn"}
# Oldest releases have wheels only for older Pythons: try these in turn.
WHEEL_PYTHONS = ("3.9", "3.7", "3.6")


def pip_download(spec: str, dest: Path, wheel: bool, python: str = "3.9") -> str | None:
    """Download `spec` into `dest`; None on success, else pip's complaint."""
    dest.mkdir(parents=True, exist_ok=True)
    name = re.split(r"[=<>!~]", spec, maxsplit=1)[0]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest)]
    if wheel:
        command += ["--only-binary", ":all:", "--python-version", python,
                    "--platform", "manylinux2014_x86_64"]  # fmt: skip
    else:
        # Only the project itself from source: its build requirements may come as wheels,
        # which keeps pip from compiling numpy just to read matplotlib's metadata.
        command += ["--no-binary", name]
    result = subprocess.run([*command, spec], capture_output=True, text=True)
    return None if result.returncode == 0 else result.stderr.strip()[-300:]


def unpack(archive: Path, into: Path) -> Path:
    """The directory holding the archive's files (an sdist's single top folder, or `into`)."""
    into.mkdir(parents=True, exist_ok=True)
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(into)
    else:
        with tarfile.open(archive) as tar:
            # The "data" filter also drops the archive's owners, which git would distrust.
            if hasattr(tarfile, "data_filter"):
                tar.extractall(into, filter="data")
            else:
                tar.extractall(into)
    entries = list(into.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into


def commit_tree(tree: Path, message: str) -> None:
    git = ["git", "-C", str(tree), "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    subprocess.run([*git, "add", "-A", "-f"], check=True)
    subprocess.run([*git, "commit", "-q", "--no-verify", "-m", message], check=True)


def prepared_repo(project: str, version: str, cache: Path) -> Path | None:
    """A git repository with the files of `project` at `version` (cached under `cache`)."""
    target = cache / "repos" / f"{project}-{version}"
    if (target / ".git").is_dir():
        return target
    shutil.rmtree(target, ignore_errors=True)
    spec = f"{project}=={version}.*"
    print(f"preparing {spec} ...", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="patchsmith-localize-bench-") as scratch:
        downloads = Path(scratch) / "downloads"
        wheel = project in WHEEL_ONLY
        pythons = WHEEL_PYTHONS if wheel else ("",)
        problems = [pip_download(spec, downloads, wheel, python) for python in pythons[:1]]
        for python in pythons[1:]:
            if problems[-1] is None:
                break
            problems.append(pip_download(spec, downloads, wheel, python))
        if problems[-1] is not None:
            print(f"  pip download {spec} failed: {problems[-1]}", file=sys.stderr)
            return None
        archive = next(downloads.iterdir())
        tree = unpack(archive, Path(scratch) / "tree")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(tree), str(target))
    commit_tree(target, f"{archive.name}")
    return target


def gold_paths(gold: str, files: set[str]) -> set[str]:
    """Where the repository file `gold` is in a tree from a release. A wheel drops the
    `lib/` (or `src/`) prefix of the repository layout. And a release may have moved the
    module since the issue was written: scikit-learn 0.22 moved `x.py` to `_x.py`, leaving
    a deprecation shim at `x.py`, so there the moved file counts as well."""
    found = gold
    if gold not in files:
        parts = gold.split("/")
        for cut in range(1, len(parts)):
            if "/".join(parts[cut:]) in files:
                found = "/".join(parts[cut:])
                break
    directory, _, name = found.rpartition("/")
    moved = f"{directory}/_{name}" if directory else f"_{name}"
    return {found, moved} if moved in files else {found}


_WORD = re.compile(r"[A-Za-z0-9_]+")


def baseline_tokens(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


class WholeFileBM25:
    """The baseline: BM25 (k1=1.2, b=0.75) over whole source files, plain word tokens."""

    def __init__(self, documents: dict[str, str], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.paths = list(documents)
        self.counts = [Counter(baseline_tokens(documents[path])) for path in self.paths]
        self.lengths = [sum(counts.values()) for counts in self.counts]
        self.average = sum(self.lengths) / max(len(self.lengths), 1)
        frequency: Counter[str] = Counter()
        for counts in self.counts:
            frequency.update(counts.keys())
        total = len(self.paths)
        self.idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in frequency.items()}
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, counts in enumerate(self.counts):
            for term in counts:
                self.postings[term].append(i)

    def rank(self, query: str) -> list[str]:
        scores: dict[int, float] = defaultdict(float)
        for term in set(baseline_tokens(query)):
            idf = self.idf.get(term)
            if idf is None:
                continue
            for i in self.postings[term]:
                tf = self.counts[i][term]
                norm = self.k1 * (1 - self.b + self.b * self.lengths[i] / self.average)
                scores[i] += idf * tf * (self.k1 + 1) / (tf + norm)
        order = sorted(scores, key=lambda i: -scores[i])
        return [self.paths[i] for i in order]


def baseline_for(repo: Path, commit: str = "HEAD") -> WholeFileBM25:
    with GitTreeSource(repo, commit) as source:
        paths = [path for path in source.file_hashes() if path.endswith(".py")]
        contents = source.read_files(paths)
    return WholeFileBM25({p: data.decode("utf-8", "replace") for p, data in contents.items()})


def hit_rank(ranked: list[str], gold: set[str]) -> int | None:
    for i, path in enumerate(ranked):
        if path in gold:
            return i + 1
    return None


def accuracy(ranks: list[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / max(len(ranks), 1)


@dataclass
class Case:
    """One issue to localize: where its tree is, and which files its real fix changed."""

    instance_id: str
    project: str
    text: str
    repo: Path
    commit: str
    gold: set[str]


def release_cases(rows: list[dict], cache: Path) -> list[Case]:
    """The development set: each issue against its project's release tree (see the top)."""
    by_tree: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        by_tree[(row["repo"].split("/")[1], row["version"])].append(row)
    cases = []
    for (project, version), issues in sorted(by_tree.items()):
        repo = prepared_repo(project, version, cache)
        if repo is None:
            print(f"skipping {len(issues)} issues of {project} {version}", file=sys.stderr)
            continue
        with GitTreeSource(repo) as source:
            files = set(source.file_hashes())
        for row in issues:
            gold = set().union(*(gold_paths(path, files) for path in row["gold_files"]))
            cases.append(
                Case(row["instance_id"], project, row["problem_statement"], repo, "HEAD", gold)
            )
    return cases


_DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/", re.M)


def mirror_cases(rows: list[dict], mirrors: Path, cache: Path) -> list[Case]:
    """A second, disjoint set: SWE-bench rows (with their gold `patch`) against the real
    repository at the row's base commit, cloned from `mirrors/<owner>/<name>`."""
    cases = []
    for row in rows:
        owner, name = row["repo"].split("/")
        source = mirrors / owner / name
        if not source.exists():
            print(f"skipping {row['instance_id']}: no mirror at {source}", file=sys.stderr)
            continue
        repo = cache / "repos" / f"{owner}+{name}"
        if not (repo / ".git").is_dir():
            # Objects shared with the mirror, nothing checked out: localize reads commits.
            subprocess.run(
                ["git", "clone", "-q", "--shared", "--no-checkout", str(source), str(repo)],
                check=True,
            )
        gold = set(_DIFF_HEADER.findall(row["patch"]))
        cases.append(
            Case(row["instance_id"], name, row["problem_statement"], repo, row["base_commit"], gold)
        )
    return cases


def score(cases: list[Case], index_cache: Path) -> dict[str, dict]:
    """Ranks of the gold file for each case, by patchsmith and by the baseline, and times."""
    results: dict[str, dict] = {}
    baselines: dict[tuple[Path, str], WholeFileBM25] = {}
    for case in cases:
        key = (case.repo, case.commit)
        if key not in baselines:
            baselines[key] = baseline_for(case.repo, case.commit)
            started = time.perf_counter()
            localize_repo(case.repo, "warm-up", case.commit, cache_dir=index_cache)
            print(f"  {case.project} {case.commit[:12]}: index ready in "
                  f"{time.perf_counter() - started:.2f} s", flush=True)  # fmt: skip
        started = time.perf_counter()
        ranking = localize_repo(case.repo, case.text, case.commit, top=50, cache_dir=index_cache)
        ours_seconds = time.perf_counter() - started
        ranked = [item.path for item in ranking.files]
        started = time.perf_counter()
        base_rank = hit_rank(baselines[key].rank(case.text), case.gold)
        results[case.instance_id] = {
            "project": case.project,
            "ours": hit_rank(ranked, case.gold),
            "base": base_rank,
            "ours_seconds": ours_seconds,
            "base_seconds": time.perf_counter() - started,
            "gold": sorted(case.gold),
            "top": ranked[:5],
        }
    return results


def report(title: str, results: dict[str, dict], show_misses: bool) -> None:
    print(f"\n{title}: {len(results)} issues; ms/issue: warm, index cached")
    print(f"{'':<22}{'Acc@1':>8}{'Acc@5':>8}{'Acc@10':>8}{'ms/issue':>10}")
    for label, key in (("BM25 whole files", "base"), ("patchsmith localize", "ours")):
        ranks = [r[key] for r in results.values()]
        times = [r[f"{key}_seconds"] for r in results.values()]
        print(
            f"{label:<22}{accuracy(ranks, 1):>8.3f}{accuracy(ranks, 5):>8.3f}"
            f"{accuracy(ranks, 10):>8.3f}{statistics.mean(times) * 1000 if times else 0:>10.1f}"
        )
    print("per project (ours | baseline), Acc@1 / Acc@5:")
    for project in sorted({r["project"] for r in results.values()}):
        mine = [r["ours"] for r in results.values() if r["project"] == project]
        theirs = [r["base"] for r in results.values() if r["project"] == project]
        print(
            f"  {project:<16} n={len(mine):<4} {accuracy(mine, 1):.3f} / {accuracy(mine, 5):.3f}"
            f"  |  {accuracy(theirs, 1):.3f} / {accuracy(theirs, 5):.3f}"
        )
    if show_misses:
        print("misses at rank 1:")
        for iid, r in results.items():
            if r["ours"] != 1:
                print(f"  {iid}: gold {r['gold']} rank {r['ours']}; top {r['top'][:3]}")


def read_rows(path: Path, limit: int) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def accuracy_mode(args: argparse.Namespace) -> None:
    if args.fresh_index:
        shutil.rmtree(args.cache / "index", ignore_errors=True)
    sets = []
    if args.data.is_file():
        sets.append((f"development set ({args.data.name})",
                     release_cases(read_rows(args.data, args.limit), args.cache)))  # fmt: skip
    if args.held_out.is_file() and args.repo_mirrors:
        rows = read_rows(args.held_out, args.limit)
        sets.append((f"held-out set ({args.held_out.name}, repositories not tuned on)",
                     mirror_cases(rows, args.repo_mirrors, args.cache)))  # fmt: skip
    elif args.held_out.is_file():
        print(f"(held-out set {args.held_out.name} skipped: pass --repo-mirrors DIR with "
              "DIR/<owner>/<name> git repositories)", file=sys.stderr)  # fmt: skip
    for title, cases in sets:
        report(title, score(cases, args.cache / "index"), args.show_misses)


# Until `agent localize` is registered in cli/main.py, the same command on a one-command app.
_STANDALONE = (
    "import typer; from patchsmith.cli.localize_cmd import localize; app = typer.Typer(); "
    "app.command('localize')(localize); app.command('x')(lambda: None); app()"
)


def localize_command() -> list[str]:
    """How to run `agent localize` in a fresh process."""
    from patchsmith.cli.main import app

    callbacks = [command.callback for command in app.registered_commands]
    if any(getattr(c, "__module__", "").endswith("localize_cmd") for c in callbacks):
        return [sys.executable, "-m", "patchsmith.cli", "localize"]
    print("(`agent localize` is not registered yet: timing the same command standalone)")
    return [sys.executable, "-c", _STANDALONE, "localize"]


def timing_mode(args: argparse.Namespace) -> None:
    repo = prepared_repo("sympy", args.sympy_version, args.cache)
    if repo is None:
        sys.exit("could not fetch SymPy")
    with GitTreeSource(repo) as source:
        hashes = source.file_hashes()
        size = sum(len(data) for data in source.read_files(list(hashes)).values())
    print(f"\nSymPy {args.sympy_version}: {len(hashes)} files, {size / 1e6:.1f} MB in the commit")
    print(f"cores {os.cpu_count()}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    text = (
        "simplify() returns a wrong result for Piecewise expressions with Min/Max:\n"
        "Traceback (most recent call last):\n"
        '  File "sympy/simplify/simplify.py", line 600, in simplify\n'
        "    expr = piecewise_fold(expr)\n"
        "TypeError: cannot determine truth value of Relational"
    )
    command = localize_command()
    with tempfile.TemporaryDirectory(prefix="patchsmith-localize-timing-") as scratch:
        # A cache of its own, empty at first: the first run builds the index.
        env = {**os.environ, "PATCHSMITH_CACHE_DIR": str(Path(scratch) / "cache")}
        for label in ("cold (empty cache, index included)", *["warm (index cached)"] * 3):
            started = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            # A fresh process each time, as a user runs it: nothing is kept in memory.
            result = subprocess.run(
                [*command, "--repo", str(repo), "--text", text, "--json"],
                capture_output=True, text=True, env=env,
            )  # fmt: skip
            elapsed = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            # CPU time of the command and its workers (and git): what the wall time would
            # be on an idle single core; the cold build spreads it over the cores.
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            if result.returncode != 0:
                print(result.stderr, file=sys.stderr)
                sys.exit(f"localize failed ({result.returncode})")
            top = json.loads(result.stdout)["files"][0]["path"]
            print(f"  {label:<38} {elapsed * 1000:>7.0f} ms wall {cpu * 1000:>7.0f} ms cpu"
                  f"   (top file {top})")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--held-out", type=Path, default=DEFAULT_HELD_OUT)
    parser.add_argument("--repo-mirrors", type=Path, help="DIR/<owner>/<name>: held-out repos")
    parser.add_argument("--limit", type=int, default=0, help="only the first N issues")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument(
        "--fresh-index", action="store_true", help="drop cached indexes first (cold builds)"
    )
    parser.add_argument("--timing", action="store_true", help="time cold/warm runs on SymPy")
    parser.add_argument("--sympy-version", default="1.12")
    args = parser.parse_args(argv)
    if args.timing:
        timing_mode(args)
    else:
        accuracy_mode(args)


if __name__ == "__main__":
    main()
