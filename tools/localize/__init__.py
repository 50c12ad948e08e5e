"""Localization without a model: which files and definitions of a repository an issue is about.

- `localize_repo(repo, text, commit="HEAD", top=20)`: rank a git repository's files and
  definitions at a commit, reading git's objects only (the working tree is not touched);
  the retrieval index is cached on disk by content, so a second run is fast.
- `load_corpus(source)` and `rank(corpus, text)`: the same in two steps, for any object
  offering `file_hashes()` and `read_files(paths)` (a sandbox, a `GitTreeSource`).
- `rerank.rerank_with_model(ranking, text, model)`: let a model reorder the best files.

Modules: terms.py (words), units.py (splitting files into units), corpus.py (the index and
its cache), clues.py (reading the issue), signals.py (each kind of evidence), rank.py
(combining them), rerank.py (the optional model step).
"""

from __future__ import annotations

from pathlib import Path

from ..index.git_source import GitSourceError, GitTreeSource
from .corpus import Corpus, load_corpus
from .rank import RankedFile, RankedSymbol, Ranking, Weights, file_kind, rank

__all__ = [
    "Corpus",
    "GitSourceError",
    "RankedFile",
    "RankedSymbol",
    "Ranking",
    "Weights",
    "file_kind",
    "load_corpus",
    "localize_repo",
    "rank",
]


def localize_repo(
    repo: str | Path,
    text: str,
    commit: str = "HEAD",
    top: int = 20,
    cache_dir: str | Path | None = None,
    weights: Weights | None = None,
) -> Ranking:
    """The files and definitions of `repo` at `commit` most likely involved in the issue
    `text`, best first. Raises GitSourceError when `repo` is not a git repository or has
    no such commit."""
    with GitTreeSource(repo, commit) as source:
        corpus = load_corpus(source, cache_dir)
    return rank(corpus, text, top=top, weights=weights)
