"""A read-only view of one commit of a git repository, offering what CodeIndex reads.

`GitTreeSource(repo, commit)` lists the commit's files with their blob ids
(`file_hashes()`, from one `git ls-tree`) and reads their contents (`read_files(paths)`,
through one long-lived `git cat-file --batch` process). It reads git's object store only:
the working tree, the git index and any uncommitted change are never looked at or touched,
so indexing a user's repository needs no sandbox and no copy of it.
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

# No lock files, no pager and no prompts: this only reads.
_GIT_ENV = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}


class GitSourceError(Exception):
    """The directory is not a git repository, or the commit cannot be read."""


class GitTreeSource:
    """The files of `commit` (default HEAD) of the git repository at `repo`."""

    def __init__(self, repo: str | Path, commit: str = "HEAD"):
        self.repo = Path(repo)
        if not self.repo.is_dir():
            raise GitSourceError(f"{self.repo} is not a directory")
        # One process answers both "is this a repository" and "which commit".
        result = self._run("rev-parse", "--show-toplevel", "--verify", "--quiet",
                           f"{commit}^{{commit}}")  # fmt: skip
        lines = result.stdout.decode("utf-8", "surrogateescape").split("\n")
        if result.returncode != 0 or len(lines) < 2 or not lines[1]:
            if not lines[0]:
                raise GitSourceError(f"{self.repo} is not a git repository")
            raise GitSourceError(
                f"{commit!r} is not a commit of {lines[0]} (an empty repository has none)"
            )
        self.root = Path(lines[0])
        self.commit = lines[1]
        self._hashes: dict[str, str] | None = None
        self._reader: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def file_hashes(self) -> dict[str, str]:
        """Every file of the commit (relative path -> git blob id); submodules and symbolic
        links are left out, since neither has source to read."""
        if self._hashes is None:
            out = self._git("ls-tree", "-r", "-z", "--full-tree", self.commit)
            hashes = {}
            for entry in out.split(b"\0"):
                if not entry:
                    continue
                meta, path = entry.split(b"\t", 1)
                mode, kind, blob = meta.split()
                if kind == b"blob" and mode != b"120000":
                    hashes[path.decode("utf-8", "surrogateescape")] = blob.decode()
            self._hashes = hashes
        return dict(self._hashes)

    def read_files(self, paths: list[str]) -> dict[str, bytes]:
        """Contents of `paths` at the commit; paths that are not files of it are left out."""
        hashes = self._hashes if self._hashes is not None else self.file_hashes()
        wanted = [(path, hashes[path]) for path in dict.fromkeys(paths) if path in hashes]
        if not wanted:
            return {}
        found: dict[str, bytes] = {}
        with self._lock:
            reader = self._batch_reader()
            assert reader.stdin is not None and reader.stdout is not None
            # Ask in chunks, reading each chunk's answers before asking more: writing every
            # request first could fill both pipes and deadlock on a big batch.
            for start in range(0, len(wanted), 64):
                chunk = wanted[start : start + 64]
                reader.stdin.write(b"".join(blob.encode() + b"\n" for _, blob in chunk))
                reader.stdin.flush()
                for path, _ in chunk:
                    header = reader.stdout.readline()
                    parts = header.split()
                    if len(parts) != 3 or parts[1] != b"blob":
                        raise GitSourceError(f"git cat-file: unexpected reply {header!r}")
                    data = reader.stdout.read(int(parts[2]))
                    reader.stdout.read(1)  # the newline after each object
                    found[path] = data
        return found

    def close(self) -> None:
        """End the reader process (also done when the object is garbage collected)."""
        with self._lock:
            reader, self._reader = self._reader, None
        if reader is not None:
            if reader.stdin is not None:
                reader.stdin.close()
            try:
                reader.wait(timeout=5)
            except subprocess.TimeoutExpired:
                reader.kill()
                reader.wait()
            if reader.stdout is not None:
                reader.stdout.close()

    def __enter__(self) -> GitTreeSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def _batch_reader(self) -> subprocess.Popen[bytes]:
        if self._reader is None or self._reader.poll() is not None:
            self._reader = subprocess.Popen(
                ["git", "-C", str(self.root), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_GIT_ENV,
            )
        return self._reader

    def _run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                ["git", "-C", str(self.repo), *args], capture_output=True, env=_GIT_ENV, check=False
            )
        except FileNotFoundError as exc:
            raise GitSourceError(
                "git is not installed (it is needed to read the repository)"
            ) from exc

    def _git(self, *args: str) -> bytes:
        result = self._run(*args)
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", "replace").strip()
            raise GitSourceError(f"git {' '.join(args)} failed: {detail}")
        return result.stdout
