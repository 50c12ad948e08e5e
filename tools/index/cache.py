"""The on-disk cache of per-file extraction results, keyed by language and git blob id.

One SQLite file per extractor version and Python version (marshal's format may change
between Pythons) holds one row per distinct file content, so any process indexing any
checkout of a repository reuses what an earlier one parsed. SQLite gives safe concurrent
access when several agents share the cache. The cache is an optimisation only: when it
cannot be opened, read or written, indexing carries on without it.
"""

from __future__ import annotations

import logging
import marshal
import os
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .extract import EXTRACTOR_VERSION, Extracted, LocalDefinition

log = logging.getLogger(__name__)

_CHUNK = 500  # keys per SELECT, well under SQLite's limit on bound parameters


def default_cache_dir() -> Path:
    """$PATCHSMITH_CACHE_DIR if set, else ~/.cache/patchsmith/index."""
    configured = os.environ.get("PATCHSMITH_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "patchsmith" / "index"


def cache_key(language: str, blob: str) -> str:
    return f"{language}:{blob}"


class DiskCache:
    """Extraction results by `cache_key`, stored in `directory`."""

    def __init__(self, directory: str | Path | None = None):
        directory = Path(directory) if directory is not None else default_cache_dir()
        major, minor = sys.version_info[:2]
        self.path = directory / f"index-v{EXTRACTOR_VERSION}-py{major}{minor}.sqlite"
        self.enabled = True

    def get_many(self, keys: Iterable[str]) -> dict[str, Extracted]:
        keys = list(keys)
        if not keys or not self.enabled or not self.path.exists():
            return {}
        found: dict[str, Extracted] = {}
        try:
            with self._connect() as db:
                for i in range(0, len(keys), _CHUNK):
                    chunk = keys[i : i + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = db.execute(
                        f"SELECT key, data FROM records WHERE key IN ({marks})", chunk
                    )
                    for key, data in rows:
                        found[key] = _decode(data)
        except (sqlite3.Error, OSError, ValueError, EOFError, TypeError) as exc:
            self._give_up("read", exc)
            return {}
        return found

    def put_many(self, records: dict[str, Extracted]) -> None:
        if not records or not self.enabled:
            return
        rows = [(key, _encode(record)) for key, record in records.items()]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executemany("INSERT OR REPLACE INTO records (key, data) VALUES (?, ?)", rows)
        except (sqlite3.Error, OSError) as exc:
            self._give_up("write", exc)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: cheap, and safe whichever thread the index runs on.
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, data BLOB NOT NULL)"
                " WITHOUT ROWID"
            )
            with db:  # one transaction, committed on success
                yield db
        finally:
            db.close()

    def _give_up(self, action: str, exc: Exception) -> None:
        log.warning(
            "code index cache %s: could not %s (%s); continuing without it", self.path, action, exc
        )
        self.enabled = False


def _encode(record: Extracted) -> bytes:
    definitions = [tuple(item) for item in record.definitions]
    return marshal.dumps((record.language, record.error, definitions, record.references))


def _decode(data: bytes) -> Extracted:
    language, error, definitions, references = marshal.loads(data)
    return Extracted(language, error, list(map(LocalDefinition._make, definitions)), references)
