"""Ranking a repository's files and definitions for an issue: the signals combined.

A file's score is the weighted sum of its signals (see signals.py): traceback frames, paths
and modules named by the issue, definitions of the names it mentions, lexical retrieval
(the file's best units, and the file as a whole, each normalised by the best file's), and a
share of the graph's flow from the best files; then weighed by what the file is, so tests,
documentation, examples and vendored code count for less. The weights were tuned modestly
on a development set of real issues (bench/localize_bench.py), by hand and in round
numbers, one signal at a time.

Definitions (symbols) are ranked by their own evidence (lexical score, named by the issue,
on a traceback), weighed by their file's kind, plus their file's standing.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from .clues import read_issue, without_environment_dumps
from .corpus import Corpus
from .signals import (
    bm25,
    file_kind,
    frame_scores,
    graph_scores,
    module_scores,
    name_scores,
    option_scores,
    path_scores,
    per_file,
    query_terms,
)


@dataclass
class Weights:
    """How much each signal counts (tuned modestly on a development set; see the bench)."""

    frames: float = 3.0
    innermost: float = 0.5  # extra for the innermost frame in the repository
    frame_decay: float = 0.5  # how fast frames further out from the innermost count less
    paths: float = 2.0
    modules: float = 1.5
    imported: float = 0.2  # a module in an import statement, relative to one named in prose
    names: float = 0.75
    options: float = 1.0
    lexical: float = 1.0  # the best units of a file
    second_unit: float = 0.3  # share of a file's second-best unit added to its best
    whole_file: float = 1.5  # the file as one document
    title: float = 2.0  # how much more the issue's first line counts for lexical retrieval
    graph: float = 0.3
    test_factor: float = 0.3  # tests, documentation, examples and vendored code count less
    doc_factor: float = 0.2
    example_factor: float = 0.3
    # Configuration, and source in another language than the repository's own (a C or
    # Cython file in a Python project), count less unless the issue names them.
    config_factor: float = 0.2
    foreign_factor: float = 0.3


@dataclass
class RankedFile:
    path: str
    score: float


@dataclass
class RankedSymbol:
    path: str
    name: str
    line: int
    score: float


@dataclass
class Ranking:
    files: list[RankedFile] = field(default_factory=list)
    symbols: list[RankedSymbol] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[dict]]:
        """The JSON shape of `agent localize --json`."""
        return {
            "files": [{"path": f.path, "score": round(f.score, 4)} for f in self.files],
            "symbols": [
                {"path": s.path, "name": s.name, "line": s.line, "score": round(s.score, 4)}
                for s in self.symbols
            ],
        }


def rank(corpus: Corpus, text: str, top: int = 20, weights: Weights | None = None) -> Ranking:
    """The `top` files and symbols of `corpus` most likely involved in the issue `text`."""
    w = weights or Weights()
    if not corpus.paths:
        return Ranking()
    text = without_environment_dumps(text)
    evidence = gather(corpus, text, w)
    factor = kind_weigher(corpus, text, evidence, w)
    final = combine(corpus, evidence, factor, w.graph)
    ranked_files = sorted(final.items(), key=lambda item: (-item[1], corpus.paths[item[0]]))
    symbols = _symbols(corpus, final, evidence, factor, top)
    return Ranking([RankedFile(corpus.paths[f], s) for f, s in ranked_files[:top]], symbols)


@dataclass
class Evidence:
    """Each signal's weighted score per file, and what was learnt about units."""

    signals: dict[str, dict[int, float]]
    unit_scores: dict[int, float]  # BM25 per unit
    unit_bonus: dict[int, float]  # per unit: named by the issue, or in a traceback


def gather(corpus: Corpus, text: str, w: Weights) -> Evidence:
    """Every signal's weighted contribution per file (before the graph and file kinds)."""
    clues = read_issue(text)
    unit_bonus: dict[int, float] = defaultdict(float)
    frames = frame_scores(corpus, clues, unit_bonus, w.frames, w.innermost, w.frame_decay)
    signals = {
        "frames": frames,
        "paths": _scaled(path_scores(corpus, clues), w.paths),
        "modules": _scaled(module_scores(corpus, clues, unit_bonus, w.imported), w.modules),
        "names": _scaled(name_scores(corpus, clues, unit_bonus), w.names),
        "options": _scaled(option_scores(corpus, clues), w.options),
    }
    unit_scores, whole = bm25(corpus, query_terms(text, w.title))
    lexical = per_file(corpus, unit_scores, w.second_unit)
    signals["lexical"] = _scaled(lexical, w.lexical / (max(lexical.values(), default=0.0) or 1.0))
    signals["whole"] = _scaled(whole, w.whole_file / (max(whole.values(), default=0.0) or 1.0))
    return Evidence(signals, unit_scores, unit_bonus)


def combine(
    corpus: Corpus, evidence: Evidence, factor: Callable[[int], float], graph_weight: float
) -> dict[int, float]:
    """File scores: the signals summed, the graph's share added (and recorded in
    `evidence`), then weighed by the file's kind."""
    files: dict[int, float] = defaultdict(float)
    for scores in evidence.signals.values():
        for file, score in scores.items():
            files[file] += score
    if graph_weight:
        graph = _scaled(graph_scores(corpus, files), graph_weight)
        evidence.signals["graph"] = graph
        for file, score in graph.items():
            files[file] += score
    return {f: s * factor(f) for f, s in files.items() if s > 0}


def kind_factors(text: str, w: Weights) -> dict[str, float]:
    """How much a file of each kind counts for this issue. An issue whose subject speaks of
    tests or docs may be about them, or only mention them ("pytest fails on ...", "wrong
    docstring"): such files are then demoted less, not promoted."""
    about_tests = _about(text, ("test", "tests", "testing", "pytest", "unittest", "fixture"))
    about_docs = _about(text, ("doc", "docs", "documentation", "readme", "typo"))
    return {
        "test": math.sqrt(w.test_factor) if about_tests else w.test_factor,
        "doc": math.sqrt(w.doc_factor) if about_docs else w.doc_factor,
        "example": w.example_factor,
        "vendored": w.example_factor,
        "config": w.config_factor,
        "foreign": w.foreign_factor,
        "code": 1.0,
    }


# Source files by language, and the words an issue uses when it is about that language.
_LANGUAGES = {
    ".py": (), ".pyi": (), ".pyx": ("cython",), ".pxd": ("cython",),
    ".c": ("c extension", "c code", "c api"), ".h": ("c extension", "header"),
    ".cc": ("c++",), ".cpp": ("c++",), ".hpp": ("c++",),
    ".js": ("javascript", "js"), ".jsx": ("javascript", "react"), ".mjs": ("javascript",),
    ".ts": ("typescript",), ".tsx": ("typescript", "react"), ".go": ("golang",),
    ".rs": ("rust",), ".java": ("java",), ".kt": ("kotlin",), ".rb": ("ruby",),
    ".php": ("php",), ".cs": ("c#",), ".swift": ("swift",), ".scala": ("scala",),
}  # fmt: skip


def kind_weigher(
    corpus: Corpus, text: str, evidence: Evidence, w: Weights
) -> Callable[[int], float]:
    """How much each file counts for this issue, by its kind (see `kind_factors`). Source in
    another language than most of the repository's is "foreign"; foreign and configuration
    files count fully when the issue names them, or (foreign) speaks of their language."""
    factors = kind_factors(text, w)
    suffixes = Counter(os.path.splitext(path)[1] for path in corpus.paths)
    main = max((s for s in suffixes if s in _LANGUAGES), key=suffixes.__getitem__, default="")
    named = evidence.signals["frames"].keys() | evidence.signals["paths"].keys()
    lowered = text.lower()
    cache: dict[int, float] = {}

    def spoken_of(suffix: str) -> bool:
        words = (suffix, *_LANGUAGES[suffix])
        return any(re.search(rf"(?<![\w#+]){re.escape(word)}(?![\w#+])", lowered) for word in words)

    def factor(file: int) -> float:
        if file not in cache:
            path = corpus.paths[file]
            kind = file_kind(path)
            suffix = os.path.splitext(path)[1]
            if kind == "code" and suffix in _LANGUAGES and suffix != main and main:
                kind = "code" if spoken_of(suffix) else "foreign"
            cache[file] = 1.0 if kind in ("config", "foreign") and file in named else factors[kind]
        return cache[file]

    return factor


def _scaled(scores: dict[int, float], factor: float) -> dict[int, float]:
    return {file: score * factor for file, score in scores.items()}


def _about(text: str, words: tuple[str, ...]) -> bool:
    """Whether the issue's first line (its subject) uses one of `words`."""
    title = text.strip().split("\n", 1)[0].lower()
    return any(re.search(rf"\b{word}\b", title) for word in words)


# -- definitions -----------------------------------------------------------------------------------
def _symbols(
    corpus: Corpus,
    files: dict[int, float],
    evidence: Evidence,
    factor: Callable[[int], float],
    top: int,
) -> list[RankedSymbol]:
    """Definitions by their own evidence (lexical, named, in a traceback), weighed by
    their file's kind, plus their file's standing."""
    unit_scores, unit_bonus = evidence.unit_scores, evidence.unit_bonus
    best_unit = max(unit_scores.values(), default=0.0) or 1.0
    best_file = max(files.values(), default=0.0) or 1.0
    candidates = set(unit_bonus) | {u for u, s in unit_scores.items() if s > 0.2 * best_unit}
    ranked = []
    for unit in candidates:
        name = corpus.unit_name[unit]
        file = corpus.unit_file[unit]
        if not name or file not in files:
            continue
        path = corpus.paths[file]
        own = unit_scores.get(unit, 0.0) / best_unit + unit_bonus.get(unit, 0.0)
        score = own * factor(file) + files[file] / best_file
        ranked.append(RankedSymbol(path, name, corpus.unit_line[unit], score))
    ranked.sort(key=lambda s: (-s.score, s.path, s.line))
    return ranked[:top]
