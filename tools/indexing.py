"""The tools' door to the code index in tools/index: syntax checks, symbol spans, the index."""

from __future__ import annotations

from typing import Any

from ..sandbox import Sandbox


def syntax_errors(path: str, source: bytes) -> list[Any] | None:
    """Syntax problems of `source` read as the language of `path`: None when no grammar
    covers it (or none is installed), [] when it parses cleanly."""
    try:
        from .index.languages import syntax_errors as check
    except ImportError:
        return None
    try:
        return check(path, source)
    except (ImportError, OSError):  # a grammar package that is missing or broken
        return None


def build_index(sandbox: Sandbox, config: Any) -> Any:
    """A CodeIndex of the workspace (reading every source file not in the disk cache)."""
    from .index.index import CodeIndex

    return CodeIndex(sandbox, cache_dir=config.index_cache_dir, disk_cache=config.index_disk_cache)
