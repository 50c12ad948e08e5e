"""The retrieval ranking that starts localization, from the model-free localizer
(tools/localize) run over the sandbox's workspace, in the plain form the artifact keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from patchsmith.tools.localize import file_kind, load_corpus
from patchsmith.tools.localize import rank as localizer_rank


@dataclass
class Ranking:
    files: list[tuple[str, float]] = field(default_factory=list)
    # path, name qualified within its file ("Outer.method"), line, score
    symbols: list[tuple[str, str, int, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [list(item) for item in self.files],
            "symbols": [list(item) for item in self.symbols],
        }


def rank(toolset: Any, issue: str, limit: int = 50) -> Ranking:
    """The files and definitions of the workspace most likely involved in `issue`, best
    first (the localizer's retrieval index is cached on disk by content)."""
    corpus = load_corpus(toolset.sandbox, toolset.config.index_cache_dir)
    found = localizer_rank(corpus, issue, top=limit)
    return Ranking(
        [(f.path, f.score) for f in found.files],
        [(s.path, s.name, s.line, s.score) for s in found.symbols],
    )


def is_test(path: str) -> bool:
    """A test file, by its path (tests/..., test_*.py, *_test.go, conftest.py, ...)."""
    return file_kind(path) == "test"
