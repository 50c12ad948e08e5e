"""Per-run state shared by the tools of one Toolset: the sandbox, the settings, undo history,
the code index, the Python interpreter, and helpers for confined file access."""

from __future__ import annotations

import contextlib
import secrets
import shlex
from dataclasses import dataclass, field
from typing import Any

from ..sandbox import Sandbox, SandboxError
from .base import ToolError
from .workspace import Location, TextFile, is_binary, locate, real_root


@dataclass(frozen=True)
class ToolsetConfig:
    """Settings of the tools; the defaults suit an agent working on a Python repository."""

    test_command: str | None = None  # None: `python -m pytest` (python3 if there is no python)
    test_timeout: float = 900.0
    command_timeout: float = 120.0  # bash and python, when the call gives none
    max_command_timeout: float = 1800.0
    output_chars: int = 16_000  # characters of command output an observation keeps
    view_lines: int = 300  # lines `view` shows when no range is asked for
    search_results: int = 50
    search_per_file: int = 10
    undo_depth: int = 20
    syntax_guard: bool = True  # reject edits that add syntax errors
    repo_map_tokens: int = 2048
    index_cache_dir: str | None = None  # None: the index's default (~/.cache/patchsmith)
    index_disk_cache: bool = True
    search_backend: str | None = None  # "rg", "git" or "grep"; None: the best one present


@dataclass
class EditRecord:
    """One successful edit of a file: the bytes before, and the bytes it left."""

    before: bytes | None  # None: the edit created the file
    after: bytes
    summary: str


@dataclass
class ToolContext:
    sandbox: Sandbox
    config: ToolsetConfig = field(default_factory=ToolsetConfig)
    history: dict[str, list[EditRecord]] = field(default_factory=dict)
    submit_warned: bool = False
    test_runs: int = 0
    cache: dict[str, Any] = field(default_factory=dict)  # small facts probed once per run
    _real_root: str | None = None
    _private_dir: str | None = None
    _search_backend: str | None = None
    _index: Any = None
    _index_stale: bool = False  # anything may have changed: ask the sandbox for all hashes
    _edited: set[str] = field(default_factory=set)  # files changed by edits since the update
    _python: Any = None

    # -- paths and files -----------------------------------------------------------
    @property
    def real_root(self) -> str:
        if self._real_root is None:
            self._real_root = real_root(self.sandbox)
        return self._real_root

    def locate(self, path: str, write: bool = False) -> Location:
        return locate(self.sandbox, path, self.real_root, write=write)

    def existing_file(self, path: str, write: bool = False) -> Location:
        where = self.locate(path, write=write)
        if where.kind == "missing":
            raise ToolError(f"{where.shown} does not exist{self._suggest(where.shown)}")
        if where.kind == "dir":
            raise ToolError(f"{where.shown} is a directory, not a file")
        if where.kind != "file":
            raise ToolError(f"{where.shown} is not a regular file")
        return where

    def read_text(self, where: Location) -> tuple[bytes, TextFile]:
        data = self.sandbox.read_file(where.path)
        if is_binary(data):
            raise ToolError(f"{where.shown} is a binary file ({len(data):,} bytes); not shown")
        return data, TextFile.from_bytes(data)

    def _suggest(self, shown: str) -> str:
        """A hint naming files with the same name elsewhere, for a mistyped directory."""
        name = shown.rsplit("/", 1)[-1]
        try:
            same = [p for p in self.sandbox.list_files() if p.rsplit("/", 1)[-1] == name]
        except (SandboxError, OSError):  # a hint is not worth failing for
            return ""
        if not same:
            return "; find_files can look for it by name"
        return "; files with that name: " + ", ".join(same[:5])

    # -- scratch space outside the workspace ---------------------------------------
    @property
    def private_dir(self) -> str:
        """A directory of this toolset's own in the sandbox, outside the workspace (so its
        files never show up in the diff)."""
        if self._private_dir is None:
            path = f"/tmp/patchsmith-tools-{secrets.token_hex(6)}"
            result = self.sandbox.run(f"mkdir -p {path} && chmod 700 {path}", timeout=30)
            if result.exit_code != 0:
                raise RuntimeError(f"cannot create {path} in the sandbox: {result.output}")
            self._private_dir = path
        return self._private_dir

    # -- what changed --------------------------------------------------------------
    def workspace_changed(self) -> None:
        """Something may have changed files (an edit, a command): refresh the index lazily."""
        self._index_stale = True

    def file_changed(self, path: str) -> None:
        """One known file changed (an edit): the index re-reads just that file."""
        self._edited.add(path)

    def record_edit(self, path: str, record: EditRecord) -> None:
        stack = self.history.setdefault(path, [])
        stack.append(record)
        del stack[: -self.config.undo_depth]
        self.file_changed(path)

    # -- the code index ------------------------------------------------------------
    def index(self) -> Any:
        """The code index, built on first use and brought up to date after changes."""
        from .indexing import build_index

        if self._index is None:
            self._index = build_index(self.sandbox, self.config)
        elif self._index_stale:
            self._index.update()
        elif self._edited:
            self._index.update(sorted(self._edited))
        self._index_stale = False
        self._edited.clear()
        return self._index

    # -- the Python interpreter ----------------------------------------------------
    def python(self) -> Any:
        from .python_session import PythonSession

        if self._python is None:
            self._python = PythonSession(self.sandbox, self.private_dir)
        return self._python

    # -- search backend ------------------------------------------------------------
    def search_backend(self) -> str:
        if self._search_backend is None:
            chosen = self.config.search_backend
            if chosen is None:
                probe = self.sandbox.run(
                    "command -v rg >/dev/null 2>&1 && echo rg || "
                    "{ git rev-parse --git-dir >/dev/null 2>&1 && echo git; } || echo grep",
                    cwd=self.sandbox.root,
                    timeout=30,
                )
                chosen = probe.output.strip().splitlines()[-1] if probe.output.strip() else "grep"
            self._search_backend = chosen
        return self._search_backend

    def close(self) -> None:
        """Stop the interpreter and remove the private directory; safe when the sandbox is
        already closed, and safe to call twice."""
        python, self._python = self._python, None
        private, self._private_dir = self._private_dir, None
        with contextlib.suppress(SandboxError, OSError):  # the sandbox may be gone already
            if python is not None:
                python.close()
            if private is not None:
                self.sandbox.run(f"rm -rf {shlex.quote(private)}", timeout=30)
