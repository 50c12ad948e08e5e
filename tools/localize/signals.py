"""The signals the ranker combines, each scoring files (and noting units) for an issue.

- `frame_scores`: files in the issue's tracebacks, matched by the longest path suffix (a
  path from someone's site-packages still finds the repository's file);
- `path_scores` and `module_scores`: files named by path, and modules by dotted name;
- `name_scores`: files defining the identifiers the issue mentions as code;
- `option_scores`: files declaring the command-line options the issue uses;
- `bm25` and `per_file`: lexical retrieval over units and whole files;
- `graph_scores`: evidence flowing from the best files to the files defining what they use.

Each also records in `unit_bonus` the definitions it points at (a traceback's function, a
named method), which the symbol ranking uses.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict

from .clues import Clues
from .corpus import Corpus
from .terms import text_terms

K1 = 1.2
B = 0.75
MAX_SHARE = 0.3  # terms found in more than this share of units are skipped
MAX_TERMS = 400  # query terms used, by weight times idf
_TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|test_utils)/|(^|/)(test_[^/]*|[^/]*_tests?\.\w+|conftest\.py)$"
)
_DOC_PATH = re.compile(r"(^|/)(docs?|documentation)/|\.(md|rst|txt)$")
_VENDORED_PATH = re.compile(
    r"(^|/)(vendor|vendored|_vendor|third_party|thirdparty|node_modules|externs?|externals)/"
    r"|^[^/]+/(.+/)?packages/|\.min\.js$"
)
_EXAMPLE_PATH = re.compile(
    r"(^|/)(examples?|samples?|demos?|tutorials?|benchmarks?|asv_bench|galleries)/"
)
# Packaging and tool configuration: they list every dependency and module, so they match
# many issues' words, yet a bug is rarely in them unless the issue names them.
_CONFIG_PATH = re.compile(
    r"(^|/)(setup\.py|Makefile|MANIFEST\.in|requirements[^/]*\.txt|\.[^/]+)$"
    r"|\.(cfg|ini|toml|ya?ml|json|lock|in)$"
)


def file_kind(path: str) -> str:
    """ "code", or "test", "doc", "example", "vendored" or "config" (which count for less)."""
    if _VENDORED_PATH.search(path):
        return "vendored"
    if _TEST_PATH.search(path):
        return "test"
    if _DOC_PATH.search(path):
        return "doc"
    if _EXAMPLE_PATH.search(path):
        return "example"
    if _CONFIG_PATH.search(path):
        return "config"
    return "code"


# -- where files are named ----------------------------------------------------------------
def suffix_matches(corpus: Corpus, mentioned: str) -> list[tuple[int, int]]:
    """Files whose path is a tail of `mentioned` or has `mentioned` as its tail, with how
    many path components agree (more is a surer match)."""
    parts = [p for p in mentioned.split("/") if p not in ("", ".")]
    if not parts:
        return []
    found = []
    for file in corpus.by_basename().get(parts[-1], ()):
        theirs = corpus.paths[file].split("/")
        agree = 0
        while agree < min(len(parts), len(theirs)) and parts[-1 - agree] == theirs[-1 - agree]:
            agree += 1
        found.append((file, agree))
    if not found:
        return []
    most = max(agree for _, agree in found)
    return [(file, agree) for file, agree in found if agree == most]


def _path_weight(corpus: Corpus, file: int, agree: int, candidates: int) -> float:
    """How sure a mention is of one file: a full or multi-component match is sure; a bare
    file name shared by several files is not."""
    whole = agree == len(corpus.paths[file].split("/"))
    sureness = 1.0 if whole or agree >= 2 else 0.5
    return sureness / candidates


def frame_scores(
    corpus: Corpus,
    clues: Clues,
    unit_bonus: dict[int, float],
    weight: float,
    innermost: float,
    decay: float,
) -> dict[int, float]:
    """Files in the issue's tracebacks: `weight` for the innermost frame in the repository,
    less for each frame further out (`decay`), `innermost` more for the innermost."""
    scores: dict[int, float] = defaultdict(float)
    in_repo = []
    for frame in clues.frames:
        matches = suffix_matches(corpus, frame.path)
        if matches:
            in_repo.append((frame, matches))
    for depth, (frame, matches) in enumerate(reversed(in_repo)):
        # The innermost frame is where it failed; callers further out are less likely.
        closeness = 1.0 / (1 + decay * depth)
        for file, agree in matches:
            sure = _path_weight(corpus, file, agree, len(matches))
            score = weight * closeness * sure + (innermost * sure if depth == 0 else 0)
            scores[file] = max(scores[file], score)
            unit = _unit_at(corpus, file, frame.line, frame.function)
            if unit is not None:
                unit_bonus[unit] += closeness * sure
    return scores


def _unit_at(corpus: Corpus, file: int, line: int | None, function: str | None) -> int | None:
    """The innermost unit of `file` holding `line` (or named `function`)."""
    best = None
    for unit in corpus.units_of(file):
        if not corpus.unit_name[unit]:
            continue
        if line is not None and corpus.unit_line[unit] <= line <= corpus.unit_end[unit]:
            best = unit  # later units are nested deeper or come after: keep the last
        elif line is None and function and corpus.unit_name[unit].rsplit(".", 1)[-1] == function:
            return unit
    return best


def path_scores(corpus: Corpus, clues: Clues) -> dict[int, float]:
    """Files the issue names by path, whole or in part ("forms/models.py")."""
    scores: dict[int, float] = defaultdict(float)
    for mentioned, times in clues.paths.items():
        matches = suffix_matches(corpus, mentioned)
        for file, agree in matches:
            weight = _path_weight(corpus, file, agree, len(matches))
            scores[file] = max(scores[file], weight * (1 + 0.2 * math.log(times)))
    return scores


def module_scores(
    corpus: Corpus, clues: Clues, unit_bonus: dict[int, float], imported: float
) -> dict[int, float]:
    """Files of modules the issue names by dotted path ("sklearn.utils.validation"), and the
    definitions named after the module part ("...validation.check_array"). A module only
    imported by the issue's code counts `imported` as much: snippets import the public API,
    which is rarely where the bug is."""
    modules = corpus.by_module()
    scores: dict[int, float] = defaultdict(float)
    mentions = [(dotted, times, 1.0) for dotted, times in clues.dotted.items()]
    mentions += [(module, times, imported) for module, times in clues.imported.items()]
    for dotted, times, strength in mentions:
        parts = dotted.split(".")
        for cut in range(len(parts), 1 if strength == 1.0 else 0, -1):
            files = modules.get(".".join(parts[:cut]))
            if not files:
                continue
            rest = parts[cut:]
            for file in files:
                weight = strength / len(files)
                if rest:
                    # "pkg.sub.Thing" is about Thing; a package's __init__ mostly re-exports.
                    package = corpus.paths[file].endswith("__init__.py")
                    weight *= 0.3 if package else 0.8
                scores[file] = max(scores[file], weight * (1 + 0.2 * math.log(times)))
                inside = ".".join(rest)
                for unit in corpus.units_of(file) if rest else ():
                    name = corpus.unit_name[unit]
                    if name and (inside == name or inside.endswith("." + name)):
                        unit_bonus[unit] += 1.0
            break
    return scores


# -- what the issue names -------------------------------------------------------------------
def name_scores(corpus: Corpus, clues: Clues, unit_bonus: dict[int, float]) -> dict[int, float]:
    """Files defining the code-like names of the issue. A name counts by how specific it is:
    idf over the files that use it, less for a name defined in several files (shared among
    them) and for short names."""
    definers = corpus.definers()
    mentioned_in = corpus.name_files
    count = len(corpus.paths)
    scores: dict[int, float] = defaultdict(float)
    names = Counter(clues.identifiers)
    for dotted in clues.dotted:
        for part in dotted.split(".")[1:]:  # a dotted name's parts are names too
            if part not in names:
                names[part] = 1
    for name, times in names.items():
        if name in clues.defined:
            continue
        units = definers.get(name)
        if not units:
            continue
        files = {corpus.unit_file[u] for u in units}
        code_files = {f for f in files if file_kind(corpus.paths[f]) == "code"} or files
        specific = math.log(1 + count / (mentioned_in.get(name, 0) + 1)) / math.log(1 + count)
        if len(name) <= 3:
            specific *= 0.5
        weight = specific * (1 + 0.5 * math.log(max(times, 1)))
        if name in clues.title_identifiers:
            weight *= 1.5
        share = weight / math.sqrt(len(code_files))
        for unit in units:
            file = corpus.unit_file[unit]
            kind = corpus.unit_kind[unit]
            strength = 1.0 if kind not in ("method",) else 0.7
            scores[file] += share * strength
            unit_bonus[unit] += weight * strength
    # Saturating: a file defining many of the names (a hub) gains less from each.
    return {file: math.log(1 + score) for file, score in scores.items()}


def option_scores(corpus: Corpus, clues: Clues) -> dict[int, float]:
    """Files declaring the command-line options the issue uses ("--collect-only"), shared
    among the files declaring each."""
    declaring: dict[str, list[int]] = defaultdict(list)
    for file, options in enumerate(corpus.file_options):
        for option in options:
            if option in clues.options:
                declaring[option].append(file)
    scores: dict[int, float] = defaultdict(float)
    for files in declaring.values():
        # Tests pass options around too; the code that declares an option is what counts.
        code_files = [f for f in files if file_kind(corpus.paths[f]) == "code"] or files
        for file in code_files:
            scores[file] += 1.0 / len(code_files)
    return {file: min(score, 1.0) for file, score in scores.items()}


# -- lexical retrieval ---------------------------------------------------------------------------
def query_terms(text: str, title_weight: float) -> dict[str, float]:
    """Query terms and their weights: log-scaled counts, the subject line's counting
    `title_weight` times more."""
    counts = text_terms(text)
    title = text_terms(text.strip().split("\n", 1)[0])
    return {
        term: (1 + math.log(n)) * (title_weight if term in title else 1.0)
        for term, n in counts.items()
    }


def bm25(corpus: Corpus, query: dict[str, float]) -> tuple[dict[int, float], dict[int, float]]:
    """BM25 scores of units, and of whole files (the sum of their units' counts)."""
    unit_file = corpus.unit_file
    norms = corpus.length_norms(K1, B)
    file_norms = corpus.file_length_norms(K1, B)
    total = len(unit_file)
    files_total = len(corpus.paths)
    weighted = []
    for term, weight in query.items():
        df = corpus.document_frequency(term)
        if df and df <= total * MAX_SHARE:  # a term in most units tells none apart
            idf = math.log(1 + (total - df + 0.5) / (df + 0.5)) * weight
            weighted.append((idf, term, weight))
    # Lists indexed by unit and file: the inner loop runs once per posting, so it is kept
    # to a few operations.
    scores = [0.0] * total
    file_scores: dict[int, float] = defaultdict(float)
    # A pasted log can bring thousands of terms: the most telling suffice, and stay fast.
    for idf, term, weight in heapq.nlargest(MAX_TERMS, weighted):
        per_file: dict[int, int] = defaultdict(int)
        boost = idf * (K1 + 1)
        for pairs, offset in corpus.postings_of(term):
            for unit, tf in zip(pairs[0::2], pairs[1::2], strict=True):
                unit += offset
                scores[unit] += boost * tf / (tf + norms[unit])
                per_file[unit_file[unit]] += tf
        fdf = len(per_file)
        file_boost = math.log(1 + (files_total - fdf + 0.5) / (fdf + 0.5)) * weight * (K1 + 1)
        for file, tf in per_file.items():
            file_scores[file] += file_boost * tf / (tf + file_norms[file])
    return {unit: score for unit, score in enumerate(scores) if score}, file_scores


def per_file(corpus: Corpus, unit_scores: dict[int, float], second: float) -> dict[int, float]:
    """A file's lexical score: its best unit, plus `second` of its second best."""
    firsts: dict[int, float] = {}
    seconds: dict[int, float] = {}
    for unit, score in unit_scores.items():
        file = corpus.unit_file[unit]
        best = firsts.get(file, 0.0)
        if score > best:
            seconds[file] = best
            firsts[file] = score
        elif score > seconds.get(file, 0.0):
            seconds[file] = score
    return {file: best + second * seconds.get(file, 0.0) for file, best in firsts.items()}


# -- the graph -----------------------------------------------------------------------------------
def graph_scores(corpus: Corpus, files: dict[int, float], sources: int = 5) -> dict[int, float]:
    """Evidence flowing from the best files to the files defining names they use."""
    if not files:
        return {}
    definers = corpus.definers()
    top = sorted(files.items(), key=lambda item: -item[1])[:sources]
    best = top[0][1] or 1.0
    flow: dict[int, float] = defaultdict(float)
    for file, score in top:
        targets: Counter[int] = Counter()
        for name in corpus.file_uses[file]:
            for unit in definers.get(name, ()):
                target = corpus.unit_file[unit]
                if target != file:
                    targets[target] += 1
        total = sum(targets.values())
        for target, n in targets.items():
            flow[target] += (score / best) * n / total
    return flow
