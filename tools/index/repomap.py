"""The repository map: the definitions the rest of the code relies on most, in a token budget.

Files are nodes of a graph with an edge from each file to every file defining a name it
uses, weighted by how often it uses it (square-rooted, so one chatty file cannot dominate)
and by how telling the name is (private, dunder and very short names count less; a name
defined in many files spreads its weight thin). A personalized PageRank over that graph
says which files matter; each file's rank then flows along its edges to the definitions it
uses. Focus files and names get more of the restart mass, so the map leans toward them.

`repo_map` renders the top definitions as "path:" followed by "line | signature" rows,
each with its enclosing class for context, and finds by binary search the largest number
of definitions whose rendering fits the token budget as counted by `tools.tokens`.
"""

from __future__ import annotations

import builtins
import heapq
import math
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..tokens import count_tokens
from .index import CodeIndex, Definition, one_line, outside_functions, workspace_path

DAMPING = 0.85
MAX_ITERATIONS = 30
TOLERANCE = 1e-5
MAX_DEFINERS = 30  # names defined in more files than this say nothing about who uses whom
FOCUS_NAME_BOOST = 10.0
# A focus file passes this much of its rank to its own definitions; other files a trace,
# which only orders definitions nobody uses.
FOCUS_SHARE = 1.0
OWN_SHARE = 0.001
# Every file keeps this much out-weight that leads nowhere, so a file whose only uses are
# weak (a plain word, a builtin's name) passes on little rank instead of all of it.
BASELINE_WEIGHT = 1.0
BUILTIN_NAMES = frozenset(dir(builtins))
# Names only connect files of one family: a JavaScript "e" says nothing about Python's "e".
FAMILIES = {"typescript": "javascript", "tsx": "javascript"}
MAX_SIGNATURE_CHARS = 120


@dataclass
class _Graph:
    paths: list[str]
    edges: list[list[tuple[int, float]]]  # per source file: (defining file, share of rank)
    out_weight: list[float]  # per source file: its summed edge weights plus the baseline
    # (defining file, name) -> [(using file, weight)]
    uses: dict[tuple[int, str], list[tuple[int, float]]]
    # per file: the definitions a map may show (not impl blocks, not inside functions)
    shown: list[list[Definition]]


_graphs: weakref.WeakKeyDictionary[CodeIndex, tuple[int, _Graph]] = weakref.WeakKeyDictionary()
_graphs_lock = threading.Lock()


def rank_definitions(
    index: CodeIndex,
    focus_files: Iterable[str] = (),
    focus_names: Iterable[str] = (),
    limit: int | None = None,
) -> list[tuple[Definition, float]]:
    """The definitions a map may show (all, or the best `limit`), most important first,
    with their scores."""
    graph = _graph(index)
    focus_names = {name.rsplit(".", 1)[-1] for name in focus_names}
    ids = {path: i for i, path in enumerate(graph.paths)}
    wanted = {workspace_path(path) for path in focus_files}
    focus = {ids[path] for path in wanted if path in ids}
    for i, definitions in enumerate(graph.shown):
        if any(d.name in focus_names for d in definitions):
            focus.add(i)
    rank = _pagerank(graph, focus)

    scores: dict[Definition, float] = {}
    by_file_name: dict[tuple[int, str], list[Definition]] = {}
    for i, definitions in enumerate(graph.shown):
        share = (FOCUS_SHARE if i in focus else OWN_SHARE) * rank[i] / max(len(definitions), 1)
        for d in definitions:
            scores[d] = share
            by_file_name.setdefault((i, d.name), []).append(d)
    for key, users in graph.uses.items():
        targets = by_file_name.get(key)
        if not targets:
            continue
        flow = sum(rank[src] * weight / graph.out_weight[src] for src, weight in users)
        for d in targets:
            scores[d] += flow / len(targets)
    for d in scores:
        if d.name in focus_names:
            scores[d] *= FOCUS_NAME_BOOST

    def order(item: tuple[Definition, float]) -> tuple[float, str, int]:
        return (-item[1], item[0].path, item[0].line)

    if limit is not None:
        return heapq.nsmallest(limit, scores.items(), key=order)
    return sorted(scores.items(), key=order)


def repo_map(
    index: CodeIndex,
    budget: int = 1024,
    focus_files: Iterable[str] = (),
    focus_names: Iterable[str] = (),
    count: Callable[[str], int] = count_tokens,
) -> str:
    """An overview of the most important definitions that costs at most `budget` tokens
    ("" when not even the heading fits)."""
    # Each row costs several tokens, so more than budget/4 rows can never fit.
    most = budget // 4 + 1
    ranked = [d for d, _ in rank_definitions(index, focus_files, focus_names, limit=most)]
    total = index.definition_count()
    parents: dict[Definition, Definition | None] = {}

    def parent(d: Definition) -> Definition | None:
        if d not in parents:
            outer = d.qualname.rpartition(".")[0]
            parents[d] = next(
                (
                    p
                    for p in (index.definitions(outer) if outer else ())
                    if p.path == d.path and p.start_line <= d.start_line <= p.end_line
                ),
                None,
            )
        return parents[d]

    def render(k: int) -> str:
        return _render(ranked, k, total, parent)

    best = render(0)
    if count(best) > budget:
        return ""
    low, high = 0, len(ranked)
    while low < high:
        middle = (low + high + 1) // 2
        text = render(middle)
        if count(text) <= budget:
            low, best = middle, text
        else:
            high = middle - 1
    return best


def _render(
    ranked: list[Definition],
    k: int,
    total: int,
    parent: Callable[[Definition], Definition | None],
) -> str:
    if not ranked:
        return "Repository map: no definitions found."
    chosen: dict[str, dict[Definition, None]] = {}  # file -> definitions, in rank order
    for d in ranked[:k]:
        rows = chosen.setdefault(d.path, {})
        rows[d] = None
        # The enclosing class gives a method its context, at the cost of one row.
        outer = parent(d)
        while outer is not None:
            rows[outer] = None
            outer = parent(outer)
    lines = [f"Repository map ({k} of {total} definitions, most used first):"]
    for path, rows in chosen.items():
        ordered = sorted(rows, key=lambda d: d.line)
        width = len(str(ordered[-1].line))
        lines.append(f"{path}:")
        for d in ordered:
            lines.append(f"  {d.line:>{width}} | {'    ' * d.depth}{_one_line(d.signature)}")
    return "\n".join(lines)


def _one_line(signature: str) -> str:
    text = one_line(signature)
    return text if len(text) <= MAX_SIGNATURE_CHARS else text[: MAX_SIGNATURE_CHARS - 3] + "..."


def _name_weight(name: str) -> float:
    """How much a use of `name` says: distinctive identifiers a lot, plain words little."""
    if name.startswith("__") and name.endswith("__"):
        return 0.1
    if name in BUILTIN_NAMES:
        return 0.05  # "super", "type", "format": mostly the builtin, whoever shadows it
    weight = 0.3 if name.startswith("_") else 1.0
    core = name.strip("_")
    if len(core) <= 2:
        return weight * 0.2
    if core.islower() and "_" not in core:
        return weight * 0.3  # "value", "name", "join": mostly uses of something else
    if len(core) >= 6 and ("_" in core or any(c.isupper() for c in core[1:])):
        return weight * 2.0  # "get_queryset", "QuerySet"
    return weight


def _graph(index: CodeIndex) -> _Graph:
    with _graphs_lock:
        cached = _graphs.get(index)
        if cached is not None and cached[0] == index.generation:
            return cached[1]
    generation = index.generation
    graph = _build_graph(index)
    with _graphs_lock:
        _graphs[index] = (generation, graph)
    return graph


def _build_graph(index: CodeIndex) -> _Graph:
    entries = index.entries()
    paths = sorted(entries)
    families = [FAMILIES.get(entries[path].language, entries[path].language) for path in paths]
    shown: list[list[Definition]] = []
    definers: dict[tuple[str, str], set[int]] = {}
    for i, path in enumerate(paths):
        visible = [d for d in outside_functions(entries[path].definitions) if d.kind != "impl"]
        shown.append(visible)
        for d in visible:
            definers.setdefault((families[i], d.name), set()).add(i)

    weights: list[dict[int, float]] = [{} for _ in paths]
    uses: dict[tuple[int, str], list[tuple[int, float]]] = {}
    for src, path in enumerate(paths):
        out = weights[src]
        family = families[src]
        for name, lines in entries[path].references.items():
            targets = definers.get((family, name))
            if not targets:
                continue
            others = len(targets) - (src in targets)
            if others == 0 or others > MAX_DEFINERS:
                continue
            weight = _name_weight(name) * math.sqrt(len(lines)) / others
            for dst in targets:
                if dst != src:  # using your own definitions says nothing about importance
                    out[dst] = out.get(dst, 0.0) + weight
                    uses.setdefault((dst, name), []).append((src, weight))
    out_weight = [sum(out.values()) + BASELINE_WEIGHT for out in weights]
    edges = [
        [(dst, weight / out_weight[src]) for dst, weight in out.items()]
        for src, out in enumerate(weights)
    ]
    return _Graph(paths, edges, out_weight, uses, shown)


def _pagerank(graph: _Graph, focus: set[int]) -> list[float]:
    n = len(graph.paths)
    if n == 0:
        return []
    # Focus files share half of the restart mass; the rest is spread evenly.
    restart = [1.0] * n
    for i in focus:
        restart[i] += n / len(focus)
    total = sum(restart)
    restart = [value / total for value in restart]
    rank = restart[:]
    for _ in range(MAX_ITERATIONS):
        new = [0.0] * n
        for src, targets in enumerate(graph.edges):
            flow = DAMPING * rank[src]
            for dst, share in targets:
                new[dst] += flow * share
        # What did not flow along an edge (baseline, files using nothing) restarts.
        lost = 1.0 - sum(new)
        new = [value + lost * r for value, r in zip(new, restart, strict=True)]
        change = sum(abs(a - b) for a, b in zip(new, rank, strict=True))
        rank = new
        if change < TOLERANCE:
            break
    return rank
