"""The localization index of one repository snapshot: units, BM25 postings, definitions, uses.

`load_corpus(source)` takes anything offering `file_hashes()` and `read_files(paths)` (a
`GitTreeSource` over a commit, or a sandbox) and returns a `Corpus`: every readable source
and documentation file split into units (see units.py), BM25 posting lists, which unit
defines which name, and which defined names each file uses (the reference graph).

A corpus is kept on disk under a key made of every indexed file's path and blob id, so one
snapshot is indexed once and loaded in tens of milliseconds afterwards, by any process.
Building one for a large repository takes a few seconds; on a machine with several cores
the files are split into contiguous shards indexed in parallel, each shard keeping its own
postings (unit ids inside a shard are offset by the units before it).
"""

from __future__ import annotations

import hashlib
import marshal
import multiprocessing
import os
import posixpath
import sys
import tempfile
import threading
from array import array
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..index.cache import default_cache_dir
from .terms import WORD, split_word, text_terms
from .units import HEADERS, declared_options, indexable, module_globals, readable, split_units

# Bump whenever what the corpus holds or how it is built changes: older files are ignored.
CORPUS_VERSION = 7
KEEP_CACHED = 16  # corpora kept on disk; the least recently used go first
NAME_BOOST = 3  # a unit's own name counts this many times among its terms
MAX_DEFINERS = 8  # a name defined in more files than this links nothing in the graph
PARALLEL_BYTES = 4 << 20  # below this much source, starting processes costs more than it saves
_READ_BATCH = 500


class FileSource(Protocol):
    def file_hashes(self) -> dict[str, str]: ...

    def read_files(self, paths: list[str]) -> dict[str, bytes]: ...


@dataclass
class Corpus:
    """Units of every indexed file (parallel lists indexed by unit id) and their postings.

    Units of one file are contiguous, module-level unit first, files in path order."""

    paths: list[str]
    unit_file: list[int]
    unit_name: list[str]  # qualified within the file; "" for a file's module-level unit
    unit_kind: list[str]
    unit_line: list[int]
    unit_end: list[int]
    unit_length: list[int]  # terms in the unit, for BM25's length normalisation
    # Per shard: term -> array("I") of (unit id within the shard, term frequency) pairs.
    postings: list[dict[str, bytes]]
    shard_offsets: list[int]  # the first unit id of each shard
    file_globals: list[list[str]]  # per file: names assigned at its top level
    file_uses: list[list[str]] = field(default_factory=list)  # names defined elsewhere
    file_options: list[list[str]] = field(default_factory=list)  # "--option" literals
    name_files: dict[str, int] = field(default_factory=dict)  # defined name -> files naming it
    key: str = ""
    _definers: dict[str, list[int]] | None = field(default=None, repr=False)
    _file_lengths: list[int] | None = field(default=None, repr=False)
    _first_units: list[int] | None = field(default=None, repr=False)
    _basenames: dict[str, list[int]] | None = field(default=None, repr=False)
    _modules: dict[str, list[int]] | None = field(default=None, repr=False)
    _norms: dict[tuple[str, float, float], list[float]] = field(default_factory=dict, repr=False)

    def postings_of(self, term: str) -> Iterator[tuple[array, int]]:
        """The (unit, frequency) pairs of `term`, shard by shard, with the shard's offset."""
        for shard, offset in zip(self.postings, self.shard_offsets, strict=True):
            data = shard.get(term)
            if data:
                pairs = array("I")
                pairs.frombytes(data)
                yield pairs, offset

    def document_frequency(self, term: str) -> int:
        return sum(len(shard.get(term, b"")) for shard in self.postings) // 8

    def definers(self) -> dict[str, list[int]]:
        """Bare definition name -> the units defining it (a file's module-level unit for
        the names it assigns at its top level)."""
        if self._definers is None:
            found: dict[str, list[int]] = {}
            for unit, name in enumerate(self.unit_name):
                if name:
                    found.setdefault(name.rsplit(".", 1)[-1], []).append(unit)
            first = self.first_units()
            for file, names in enumerate(self.file_globals):
                for name in names:
                    found.setdefault(name, []).append(first[file])
            self._definers = found
        return self._definers

    def first_units(self) -> list[int]:
        """Per file, its first (module-level) unit."""
        if self._first_units is None:
            first = [0] * len(self.paths)
            for unit in range(len(self.unit_file) - 1, -1, -1):
                first[self.unit_file[unit]] = unit
            self._first_units = first
        return self._first_units

    def units_of(self, file: int) -> range:
        """Unit ids of one file."""
        first = self.first_units()
        end = first[file + 1] if file + 1 < len(first) else len(self.unit_file)
        return range(first[file], end)

    def by_basename(self) -> dict[str, list[int]]:
        """File name ("query.py") -> the files of that name."""
        if self._basenames is None:
            table: dict[str, list[int]] = {}
            for file, path in enumerate(self.paths):
                table.setdefault(posixpath.basename(path), []).append(file)
            self._basenames = table
        return self._basenames

    def by_module(self) -> dict[str, list[int]]:
        """Dotted Python module name -> its files; also every tail of two or more parts
        ("matplotlib.axes" for lib/matplotlib/axes/__init__.py), for src/ and lib/
        layouts and for paths seen from elsewhere."""
        if self._modules is None:
            table: dict[str, list[int]] = {}
            for file, path in enumerate(self.paths):
                stem, extension = posixpath.splitext(path)
                if extension not in (".py", ".pyi", ".pyx"):
                    continue
                parts = stem.split("/")
                if parts[-1] == "__init__" and len(parts) > 1:
                    parts.pop()
                for start in range(max(len(parts) - 1, 1)):
                    table.setdefault(".".join(parts[start:]), []).append(file)
            self._modules = table
        return self._modules

    def length_norms(self, k1: float, b: float) -> list[float]:
        """BM25's length normalisation per unit: k1 * (1 - b + b * length / average)."""
        key = ("units", k1, b)
        if key not in self._norms:
            average = sum(self.unit_length) / max(len(self.unit_length), 1)
            self._norms[key] = [k1 * (1 - b + b * n / average) for n in self.unit_length]
        return self._norms[key]

    def file_length_norms(self, k1: float, b: float) -> list[float]:
        """The same per file, each file counted as one document."""
        key = ("files", k1, b)
        if key not in self._norms:
            lengths = self.file_lengths()
            average = sum(lengths) / max(len(lengths), 1)
            self._norms[key] = [k1 * (1 - b + b * n / average) for n in lengths]
        return self._norms[key]

    def file_lengths(self) -> list[int]:
        """Terms per file (the sum over its units)."""
        if self._file_lengths is None:
            lengths = [0] * len(self.paths)
            for unit, length in enumerate(self.unit_length):
                lengths[self.unit_file[unit]] += length
            self._file_lengths = lengths
        return self._file_lengths


def corpus_key(hashes: dict[str, str]) -> str:
    digest = hashlib.sha1(f"v{CORPUS_VERSION}".encode())
    for path in sorted(hashes):
        digest.update(f"{path}\0{hashes[path]}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def load_corpus(
    source: FileSource, cache_dir: str | Path | None = None, disk_cache: bool = True
) -> Corpus:
    """The corpus of `source`'s files, from the disk cache when this exact snapshot was
    indexed before (`cache_dir`: default the index cache, see index/cache.py;
    `disk_cache=False` neither reads nor writes it)."""
    hashes = {path: blob for path, blob in source.file_hashes().items() if indexable(path)}
    key = corpus_key(hashes)
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    major, minor = sys.version_info[:2]
    cached = directory / "localize" / f"{key}.py{major}{minor}"
    corpus = _read_cached(cached) if disk_cache else None
    if corpus is None:
        corpus = build_corpus(source, sorted(hashes))
        if disk_cache:
            _write_cached(cached, corpus)
    corpus.key = key
    return corpus


def build_corpus(source: FileSource, paths: list[str], workers: int | None = None) -> Corpus:
    """Index `paths` (read from `source`) from scratch, on `workers` processes (default:
    one per core, up to four, when there is at least PARALLEL_BYTES of text; else one)."""
    contents: list[tuple[str, bytes]] = []
    for start in range(0, len(paths), _READ_BATCH):
        batch = paths[start : start + _READ_BATCH]
        found = source.read_files(batch)
        contents.extend((path, found[path]) for path in batch if path in found)
    total = sum(len(data) for _, data in contents)
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if total >= PARALLEL_BYTES else 1
    chunks = _split(contents, workers)
    if len(chunks) == 1:
        return _merge([_index_files(chunks[0])])
    # This process indexes the first chunk while the workers index the others.
    with ProcessPoolExecutor(len(chunks) - 1, mp_context=_process_context()) as pool:
        pending = [pool.submit(_index_files, chunk) for chunk in chunks[1:]]
        first = _index_files(chunks[0])
        return _merge([first, *(future.result() for future in pending)])


def _process_context() -> multiprocessing.context.BaseContext:
    # Forking skips re-importing everything in each worker, but is only safe while this
    # process has a single thread (a lock held by another thread would stay held).
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _split(contents: list[tuple[str, bytes]], parts: int) -> list[list[tuple[str, bytes]]]:
    """`contents` cut into at most `parts` contiguous runs of about equal size."""
    if parts <= 1 or len(contents) < 2:
        return [contents]
    total = sum(len(data) for _, data in contents)
    chunks: list[list[tuple[str, bytes]]] = [[]]
    size = 0
    for item in contents:
        if size >= total * len(chunks) / parts and len(chunks) < parts:
            chunks.append([])
        chunks[-1].append(item)
        size += len(item[1])
    return [chunk for chunk in chunks if chunk]


@dataclass
class _Shard:
    paths: list[str]
    unit_file: list[int]  # within the shard
    unit_name: list[str]
    unit_kind: list[str]
    unit_line: list[int]
    unit_end: list[int]
    unit_length: list[int]
    postings: dict[str, bytes]
    file_globals: list[list[str]]
    file_words: list[set[str]]
    file_options: list[list[str]]


def _index_files(contents: list[tuple[str, bytes]]) -> _Shard:
    shard = _Shard([], [], [], [], [], [], [], {}, [], [], [])
    lists: dict[str, array] = {}
    for path, data in contents:
        text = readable(data)
        if text is None:
            continue
        file = len(shard.paths)
        shard.paths.append(path)
        path_terms = _path_terms(path)
        for unit in split_units(path, text):
            counts = text_terms(unit.text)
            for term in path_terms:
                counts[term] += 1
            if unit.name:
                for term in split_word(unit.name.rsplit(".", 1)[-1]):
                    counts[term] += NAME_BOOST
            unit_id = len(shard.unit_file)
            shard.unit_file.append(file)
            shard.unit_name.append(unit.name)
            shard.unit_kind.append(unit.kind)
            shard.unit_line.append(unit.line)
            shard.unit_end.append(unit.end_line)
            shard.unit_length.append(sum(counts.values()))
            for term, n in counts.items():
                postings = lists.get(term)
                if postings is None:
                    postings = lists[term] = array("I")
                postings.append(unit_id)
                postings.append(n)
        # Names and what uses them are about code: documentation adds nothing to either.
        code = posixpath.splitext(path)[1].lower() in HEADERS
        shard.file_words.append(set(WORD.findall(text)) if code else set())
        shard.file_globals.append(module_globals(text) if code else [])
        shard.file_options.append(declared_options(text) if code else [])
    shard.postings = {term: postings.tobytes() for term, postings in lists.items()}
    return shard


def _merge(shards: list[_Shard]) -> Corpus:
    corpus = Corpus([], [], [], [], [], [], [], [], [], [])
    file_words: list[set[str]] = []
    for shard in shards:
        file_offset = len(corpus.paths)
        corpus.shard_offsets.append(len(corpus.unit_file))
        corpus.postings.append(shard.postings)
        corpus.paths.extend(shard.paths)
        corpus.unit_file.extend(file + file_offset for file in shard.unit_file)
        corpus.unit_name.extend(shard.unit_name)
        corpus.unit_kind.extend(shard.unit_kind)
        corpus.unit_line.extend(shard.unit_line)
        corpus.unit_end.extend(shard.unit_end)
        corpus.unit_length.extend(shard.unit_length)
        corpus.file_globals.extend(shard.file_globals)
        corpus.file_options.extend(shard.file_options)
        file_words.extend(shard.file_words)
    corpus.file_uses, corpus.name_files = _uses(corpus, file_words)
    return corpus


def _path_terms(path: str) -> list[str]:
    """Terms of a file's name and its directory ("django/db/models/query.py" -> "query",
    "models"): a unit is also about the module it lives in."""
    parts = path.rsplit(".", 1)[0].split("/")
    return [term for part in parts[-2:] for term in split_word(part)]


def _uses(corpus: Corpus, file_words: list[set[str]]) -> tuple[list[list[str]], dict[str, int]]:
    """Per file, the names it mentions that few other files define (the graph's edges); and
    per defined name, how many files mention it (how specific it is)."""
    definer_files: dict[str, set[int]] = {}
    for unit, name in enumerate(corpus.unit_name):
        if name:
            definer_files.setdefault(name.rsplit(".", 1)[-1], set()).add(corpus.unit_file[unit])
    for file, names in enumerate(corpus.file_globals):
        for name in names:
            definer_files.setdefault(name, set()).add(file)
    linking = {n for n, files in definer_files.items() if len(files) <= MAX_DEFINERS and len(n) > 2}
    defined = definer_files.keys()
    mentions: Counter[str] = Counter()
    uses = []
    for file, words in enumerate(file_words):
        mentions.update(words & defined)
        uses.append(sorted(n for n in words & linking if definer_files[n] != {file}))
    return uses, dict(mentions)


_FIELDS = ("paths", "unit_file", "unit_name", "unit_kind", "unit_line", "unit_end",
           "unit_length", "postings", "shard_offsets", "file_globals", "file_uses",
           "file_options", "name_files")  # fmt: skip


def _read_cached(path: Path) -> Corpus | None:
    try:
        data = marshal.loads(path.read_bytes())
        os.utime(path)  # recently used: pruned last
        return Corpus(**dict(zip(_FIELDS, data, strict=True)))
    except (OSError, ValueError, EOFError, TypeError):
        return None


def _write_cached(path: Path, corpus: Corpus) -> None:
    """Store the corpus (atomically: concurrent readers see all of it or nothing) and prune
    old ones. The cache is an optimisation: failing to write it is not an error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = marshal.dumps(tuple(getattr(corpus, name) for name in _FIELDS))
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
        kept = sorted(path.parent.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in [p for p in kept if not p.name.startswith(".tmp-")][KEEP_CACHED:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
