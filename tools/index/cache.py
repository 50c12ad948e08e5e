"""The on-disk cache of per-file extraction results and file contents, keyed by git blob id.

One SQLite file per extractor version and Python version (marshal's format may change
between Pythons) holds one row per distinct file content, so any process indexing any
checkout of a repository reuses what an earlier one parsed. Contents are kept (compressed)
so showing a symbol's source needs no round trip to the sandbox. SQLite gives safe concurrent
access when several agents share the cache. The cache is an optimisation only: when it
cannot be opened, read or written, indexing carries on without it. Nor does it grow without
end: past its limit ($PATCHSMITH_CACHE_MAX_MB, default 1024) it starts over, which costs one
cold index and keeps the rules simple (no bookkeeping of use on every read).
"""

from __future__ import annotations

import logging
import marshal
import os
import sqlite3
import sys
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .extract import EXTRACTOR_VERSION, Extracted, LocalDefinition

log = logging.getLogger(__name__)

_CHUNK = 500  # keys per SELECT, well under SQLite's limit on bound parameters


def default_cache_dir() -> Path:
    """The index part of patchsmith's cache: ($PATCHSMITH_CACHE_DIR or ~/.cache/patchsmith)
    /index, beside what the benchmarks keep."""
    configured = os.environ.get("PATCHSMITH_CACHE_DIR")
    base = Path(configured) if configured else Path.home() / ".cache" / "patchsmith"
    return base / "index"


def size_limit() -> int:
    """Bytes of rows the cache may hold: $PATCHSMITH_CACHE_MAX_MB, default 1024 MB."""
    configured = os.environ.get("PATCHSMITH_CACHE_MAX_MB", "").strip()
    try:
        return int(float(configured) * 2**20) if configured else 2**30
    except ValueError:
        log.warning("PATCHSMITH_CACHE_MAX_MB=%r is not a number; using 1024", configured)
        return 2**30


def cache_key(language: str, blob: str) -> str:
    return f"{language}:{blob}"


class DiskCache:
    """Extraction results by `cache_key`, and file contents by blob id, in `directory`."""

    def __init__(self, directory: str | Path | None = None):
        directory = Path(directory) if directory is not None else default_cache_dir()
        major, minor = sys.version_info[:2]
        self.path = directory / f"index-v{EXTRACTOR_VERSION}-py{major}{minor}.sqlite"
        self.enabled = True

    def get_many(self, keys: Iterable[str]) -> dict[str, Extracted]:
        found = {}
        for key, data in self._select("records", keys).items():
            try:
                found[key] = _decode(data)
            except (ValueError, EOFError, TypeError):
                pass  # a damaged row: the file is parsed again and the row replaced
        return found

    def get_sources(self, blobs: Iterable[str]) -> dict[str, bytes]:
        found = {}
        for blob, data in self._select("sources", blobs).items():
            try:
                found[blob] = zlib.decompress(data)
            except zlib.error:
                pass
        return found

    def put_many(self, records: dict[str, Extracted], sources: dict[str, bytes]) -> None:
        """Stores extraction results by cache key and file contents by blob id."""
        if not (records or sources) or not self.enabled:
            return
        rows = [(key, _encode(record)) for key, record in records.items()]
        # Level 1: source text still shrinks about fourfold, at little cost to a cold build.
        blobs = [(blob, zlib.compress(data, 1)) for blob, data in sources.items()]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                if _bytes_used(db) > size_limit():
                    # Emptied pages are reused by what comes next: the file stops growing.
                    log.info("code index cache %s reached its size limit; starting over", self.path)
                    db.execute("DELETE FROM records")
                    db.execute("DELETE FROM sources")
                db.executemany("INSERT OR REPLACE INTO records (key, data) VALUES (?, ?)", rows)
                db.executemany("INSERT OR REPLACE INTO sources (key, data) VALUES (?, ?)", blobs)
        except (sqlite3.Error, OSError) as exc:
            self._give_up("write", exc)

    def _select(self, table: str, keys: Iterable[str]) -> dict[str, bytes]:
        keys = list(keys)
        if not keys or not self.enabled or not self.path.exists():
            return {}
        found: dict[str, bytes] = {}
        try:
            with self._connect() as db:
                for i in range(0, len(keys), _CHUNK):
                    chunk = keys[i : i + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    query = f"SELECT key, data FROM {table} WHERE key IN ({marks})"
                    found.update(db.execute(query, chunk))
        except (sqlite3.Error, OSError) as exc:
            self._give_up("read", exc)
            return {}
        return found

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: cheap, and safe whichever thread the index runs on.
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            for table in ("records", "sources"):
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, data BLOB NOT NULL)"
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


def _bytes_used(db: sqlite3.Connection) -> int:
    """The size of the pages in use: the file itself never shrinks."""
    (pages,) = db.execute("PRAGMA page_count").fetchone()
    (free,) = db.execute("PRAGMA freelist_count").fetchone()
    (page_size,) = db.execute("PRAGMA page_size").fetchone()
    return (pages - free) * page_size


def _encode(record: Extracted) -> bytes:
    definitions = [tuple(item) for item in record.definitions]
    return marshal.dumps((record.language, record.error, definitions, record.references))


def _decode(data: bytes) -> Extracted:
    language, error, definitions, references = marshal.loads(data)
    return Extracted(language, error, list(map(LocalDefinition._make, definitions)), references)
