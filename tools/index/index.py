"""CodeIndex: the symbols of a sandbox's workspace, built once, cached, updated incrementally.

The index learns which files exist and their git blob ids from `sandbox.file_hashes()`,
reads only files whose content it has not seen (cached in memory and on disk by blob id),
and answers look-ups from dictionaries: definitions by qualified or bare name, references
to a name grouped by file, and the definitions of a file or directory. One index serves one
workspace; call `update()` after actions that may have changed files.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .cache import DiskCache, cache_key
from .extract import Extracted, extract, module_name
from .languages import language_for
from .specs import FUNCTION_LIKE

if TYPE_CHECKING:
    from ...sandbox import Sandbox

_READ_BATCH = 400  # files per sandbox.read_files call: bounds memory on big repositories
_SOURCE_CACHE_BYTES = 32 << 20


class Definition(NamedTuple):
    """A class, function, method (or struct, trait, interface...) somewhere in the workspace."""

    qualname: str  # e.g. "django.db.models.query.QuerySet.filter"
    name: str
    kind: str
    path: str
    start_line: int  # 1-based, decorators included
    end_line: int
    line: int  # where the signature starts
    signature: str
    doc: str  # first line of the docstring, "" if none
    decorators: tuple[str, ...]
    depth: int  # nesting depth in its file


class FileEntry(NamedTuple):
    blob: str
    language: str
    error: str | None  # why the file has no symbols (binary, too large, unparsable)
    definitions: list[Definition]  # in source order
    references: dict[str, tuple[int, ...]]  # name -> lines


@dataclass
class IndexStats:
    """What an update did (or, for `CodeIndex.stats`, all updates so far)."""

    parsed: int = 0  # files parsed with tree-sitter
    from_disk: int = 0  # files whose symbols came from the on-disk cache
    unchanged: int = 0  # files kept from memory because their content did not change
    removed: int = 0
    read: int = 0  # files read from the sandbox
    seconds: float = 0.0

    def add(self, other: IndexStats) -> None:
        for field in fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def outside_functions(definitions: list[Definition]) -> list[Definition]:
    """`definitions` (of one file, in source order) without those nested in functions,
    which are implementation details for outlines and maps."""
    kept = []
    stack: list[Definition] = []  # the enclosing definitions: source order makes depth say
    for d in definitions:
        while stack and stack[-1].depth >= d.depth:
            stack.pop()
        if not any(outer.kind in FUNCTION_LIKE for outer in stack):
            kept.append(d)
        stack.append(d)
    return kept


def one_line(signature: str) -> str:
    """A multi-line signature on one line: "def f(\n    a,\n    b,\n):" -> "def f(a, b):"."""
    text = " ".join(part.strip() for part in signature.splitlines())
    return _CLOSING.sub(r"\1", _OPENING.sub(r"\1", text))


_OPENING = re.compile(r"([(\[{])\s+")
_CLOSING = re.compile(r",?\s+([)\]}])")


def workspace_path(path: str) -> str:
    """`path` as the index keys it: relative to the workspace root, "" for the root itself."""
    normal = posixpath.normpath(path.strip() or ".").lstrip("/")
    return "" if normal == "." else normal


def git_blob_id(data: bytes) -> str:
    """The id git gives a blob with this content (what `file_hashes()` reports)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class CodeIndex:
    """Symbols of one sandbox workspace. Building it reads and parses every source file not
    already in the on-disk cache (`cache_dir`, by default ~/.cache/patchsmith/index, see
    cache.py; `disk_cache=False` keeps nothing on disk)."""

    def __init__(
        self, sandbox: Sandbox, cache_dir: str | Path | None = None, disk_cache: bool = True
    ):
        self.sandbox = sandbox
        self.disk = DiskCache(cache_dir) if disk_cache else None
        self.stats = IndexStats()
        self.generation = 0  # bumped on every change, so derived data knows when to rebuild
        self._lock = threading.RLock()
        self._hashes: dict[str, str] = {}  # every workspace file -> blob id
        self._entries: dict[str, FileEntry] = {}  # files in a supported language
        self._by_name: dict[str, list[Definition]] = {}
        self._by_qualname: dict[str, list[Definition]] = {}
        self._references: dict[str, dict[str, tuple[int, ...]]] = {}
        self._sources: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._source_bytes = 0
        self.update()

    # -- building ------------------------------------------------------------------
    def update(
        self, paths: Iterable[str] | None = None, contents: dict[str, bytes] | None = None
    ) -> IndexStats:
        """Bring the index up to date with the workspace and say what that took.

        Without `paths`, asks the sandbox for every file's blob id. With `paths`, only those
        files are re-read (a missing one is dropped); use it when the caller knows what
        changed. `contents` may hand over the new bytes of some of them (an editor has them),
        saving a read from the sandbox. Either way only files with new content are parsed.
        """
        started = time.perf_counter()
        stats = IndexStats()
        with self._lock:
            if paths is None:
                known: dict[str, bytes] = {}
                hashes = self.sandbox.file_hashes()
                new_blobs = {p: b for p, b in hashes.items() if self._hashes.get(p) != b}
                removed = [path for path in self._hashes if path not in hashes]
            else:
                known, new_blobs, removed = self._read_paths(paths, contents or {}, stats)
            changed = [path for path in new_blobs if language_for(path)]
            stats.removed = sum(1 for path in removed if path in self._entries)
            for path in [*removed, *changed]:  # before: what is parsed now is kept
                self._forget_source(path)
            fresh = self._extract_changed(changed, new_blobs, known, stats)
            for path in removed:
                self._drop(path)
                self._hashes.pop(path, None)
            self._hashes.update(new_blobs)
            for path, entry in fresh.items():
                self._drop(path)
                self._add(path, entry)
            if fresh or removed:
                self.generation += 1
            stats.unchanged = len(self._entries) - len(fresh)
            stats.seconds = time.perf_counter() - started
            self.stats.add(stats)
        return stats

    def _read_paths(
        self, paths: Iterable[str], contents: dict[str, bytes], stats: IndexStats
    ) -> tuple[dict[str, bytes], dict[str, str], list[str]]:
        """Contents, changed blob ids and vanished paths among the source files in `paths`."""
        code_paths = [path for path in dict.fromkeys(paths) if language_for(path)]
        found = {path: contents[path] for path in code_paths if path in contents}
        unread = [path for path in code_paths if path not in found]
        if unread:
            found.update(self.sandbox.read_files(unread))
        stats.read += len(unread)
        new_blobs = {}
        for path, data in found.items():
            blob = git_blob_id(data)
            if self._hashes.get(path) != blob:
                new_blobs[path] = blob
        removed = [path for path in code_paths if path not in found and path in self._hashes]
        return found, new_blobs, removed

    def _extract_changed(
        self, changed: list[str], hashes: dict[str, str], known: dict[str, bytes], stats: IndexStats
    ) -> dict[str, FileEntry]:
        keys = {path: cache_key(language_for(path), hashes[path]) for path in changed}
        cached = self.disk.get_many(set(keys.values())) if self.disk else {}
        stats.from_disk = sum(1 for key in keys.values() if key in cached)
        missing = [path for path in changed if keys[path] not in cached]
        new_records: dict[str, Extracted] = {}
        new_sources: dict[str, bytes] = {}
        for sources in self._read_in_batches(missing, known, stats):
            for path, data in sources.items():
                record = extract(path, data)
                stats.parsed += 1
                cached[keys[path]] = new_records[keys[path]] = record
                if record.error is None:
                    new_sources[hashes[path]] = data
                self._remember_source(path, hashes[path], data)
        if self.disk:
            self.disk.put_many(new_records, new_sources)
        return {
            path: self._entry(path, hashes[path], cached[keys[path]])
            for path in changed
            if keys[path] in cached
        }

    def _read_in_batches(
        self, paths: list[str], known: dict[str, bytes], stats: IndexStats
    ) -> Iterator[dict[str, bytes]]:
        """Contents of `paths` batch by batch (vanished files left out). While one batch is
        parsed the next is read, so waiting on the sandbox overlaps with parsing."""
        batches = [paths[i : i + _READ_BATCH] for i in range(0, len(paths), _READ_BATCH)]

        def read(batch: list[str]) -> dict[str, bytes]:
            found = {path: known[path] for path in batch if path in known}
            unread = [path for path in batch if path not in found]
            if unread:
                found.update(self.sandbox.read_files(unread))
            stats.read += len(unread)
            return found

        if len(batches) < 2:
            yield from map(read, batches)
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="index-read") as reader:
            pending = reader.submit(read, batches[0])
            for following in [*batches[1:], None]:
                ready = pending.result()
                if following is not None:
                    pending = reader.submit(read, following)
                yield ready

    @staticmethod
    def _entry(path: str, blob: str, record: Extracted) -> FileEntry:
        module = module_name(path)
        prefix = module + "." if module else ""
        definitions = [
            Definition(prefix + d[1], d[0], d[2], path, d[3], d[4], d[5], d[6], d[7], d[8], d[9])
            for d in record.definitions
        ]
        return FileEntry(blob, record.language, record.error, definitions, record.references)

    def _add(self, path: str, entry: FileEntry) -> None:
        self._entries[path] = entry
        by_name, by_qualname = self._by_name, self._by_qualname
        for definition in entry.definitions:
            by_name.setdefault(definition.name, []).append(definition)
            by_qualname.setdefault(definition.qualname, []).append(definition)
        references = self._references
        for name, lines in entry.references.items():
            files = references.get(name)
            if files is None:
                references[name] = {path: lines}
            else:
                files[path] = lines

    def _drop(self, path: str) -> None:
        entry = self._entries.pop(path, None)
        if entry is None:
            return
        for definition in entry.definitions:
            for table, key in (
                (self._by_name, definition.name),
                (self._by_qualname, definition.qualname),
            ):
                kept = [d for d in table.get(key, ()) if d.path != path]
                if kept:
                    table[key] = kept
                else:
                    table.pop(key, None)
        for name in entry.references:
            files = self._references.get(name)
            if files is not None:
                files.pop(path, None)
                if not files:
                    del self._references[name]

    # -- look-ups --------------------------------------------------------------------
    def definitions(self, name: str) -> list[Definition]:
        """Definitions called `name`: a bare name gives every match; a dotted name matches
        qualified names exactly or by their tail ("QuerySet.filter"). Sorted by location."""
        with self._lock:
            if "." in name:
                found = self._by_qualname.get(name) or [
                    d
                    for d in self._by_name.get(name.rsplit(".", 1)[1], ())
                    if d.qualname.endswith("." + name)
                ]
            else:
                found = self._by_name.get(name, [])
            # Rust impl blocks share their type's name; prefer the type when both match.
            if len(found) > 1 and any(d.kind == "impl" for d in found):
                found = [d for d in found if d.kind != "impl"] or found
            return sorted(found, key=lambda d: (d.path, d.start_line))

    def references(self, name: str) -> dict[str, tuple[int, ...]]:
        """Lines using the identifier `name` (the last part of a dotted name), by file path.

        Matching is by name, so uses of unrelated things with the same name are included."""
        with self._lock:
            files = self._references.get(name.rsplit(".", 1)[-1], {})
            return {path: files[path] for path in sorted(files)}

    def similar_names(self, name: str, limit: int = 10) -> list[str]:
        """Defined names resembling `name` (same letters ignoring case, or containing it)."""
        wanted = name.rsplit(".", 1)[-1].lower()
        if not wanted:
            return []
        with self._lock:
            names = list(self._by_name)
        exact = [n for n in names if n.lower() == wanted]
        containing = [n for n in names if wanted in n.lower() and n.lower() != wanted]
        return (sorted(exact) + sorted(containing, key=lambda n: (len(n), n)))[:limit]

    def definitions_in(self, path: str) -> list[Definition]:
        """The definitions of one file in source order ([] for unknown or unsupported files)."""
        with self._lock:
            entry = self._entries.get(workspace_path(path))
            return list(entry.definitions) if entry else []

    def entry(self, path: str) -> FileEntry | None:
        with self._lock:
            return self._entries.get(workspace_path(path))

    def files(self, directory: str = "") -> list[str]:
        """Workspace files under `directory` ("" for all), sorted."""
        prefix = workspace_path(directory)
        with self._lock:
            if not prefix:
                return sorted(self._hashes)
            return sorted(p for p in self._hashes if p == prefix or p.startswith(prefix + "/"))

    def entries(self) -> dict[str, FileEntry]:
        """A snapshot of every indexed source file's symbols, by path."""
        with self._lock:
            return dict(self._entries)

    def definition_count(self) -> int:
        with self._lock:
            return sum(len(entry.definitions) for entry in self._entries.values())

    # -- sources -------------------------------------------------------------------
    def sources(self, paths: Iterable[str]) -> dict[str, bytes]:
        """Contents of `paths` as indexed (missing files left out): from memory or the disk
        cache by blob id, else read from the sandbox."""
        with self._lock:
            wanted = list(dict.fromkeys(paths))
            found = {}
            unread = []
            for path in wanted:
                held = self._sources.get(path)
                if held is not None and held[0] == self._hashes.get(path):
                    self._sources.move_to_end(path)
                    found[path] = held[1]
                else:
                    unread.append(path)
            blobs = {self._hashes[path]: path for path in unread if path in self._hashes}
            if blobs and self.disk:
                for blob, data in self.disk.get_sources(blobs).items():
                    found[blobs[blob]] = data
                    self._remember_source(blobs[blob], blob, data)
                unread = [path for path in unread if path not in found]
            if unread:
                for path, data in self.sandbox.read_files(unread).items():
                    found[path] = data
                    self._remember_source(path, self._hashes.get(path, ""), data)
            return {path: found[path] for path in wanted if path in found}

    def _remember_source(self, path: str, blob: str, data: bytes) -> None:
        self._forget_source(path)
        if len(data) > _SOURCE_CACHE_BYTES // 8:
            return
        self._sources[path] = (blob, data)
        self._source_bytes += len(data)
        while self._source_bytes > _SOURCE_CACHE_BYTES:
            _, (_, dropped) = self._sources.popitem(last=False)
            self._source_bytes -= len(dropped)

    def _forget_source(self, path: str) -> None:
        held = self._sources.pop(path, None)
        if held is not None:
            self._source_bytes -= len(held[1])
