"""What is staged: git plumbing for the hook, read without touching the index or working tree.

Every git call here inherits `GIT_INDEX_FILE`, so under `git commit -a` or `git commit FILE`
(where git hands its hooks a temporary index) "staged" means what is about to be committed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path


class PrecommitError(Exception):
    """Something the user can fix stops the hook (not a repository, a conflicted index...)."""


# Under `git commit` the index is locked; git must not try to refresh it behind our back.
_ENV = {"GIT_OPTIONAL_LOCKS": "0", "GIT_PAGER": "cat", "LC_ALL": "C"}


def git(
    top: Path,
    *args: str,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run git in `top`; with `check`, a failure raises PrecommitError with git's message."""
    done = subprocess.run(
        ["git", "-C", str(top), *args],
        input=input,
        capture_output=True,
        env={**os.environ, **_ENV, **(env or {})},
    )
    if check and done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()
        raise PrecommitError(f"git {args[0]} failed: {message}")
    return done


def repo_top(path: Path) -> Path:
    """The top of the working tree holding `path`."""
    if not path.is_dir():
        raise PrecommitError(f"no such directory: {path}")
    done = git(path, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0:
        raise PrecommitError(f"{path} is not inside a git repository")
    return Path(done.stdout.decode().strip())


def git_dir(top: Path) -> Path:
    """The repository's private directory (`.git`, or a worktree's own): nothing written
    there shows up as an untracked file."""
    return Path(git(top, "rev-parse", "--absolute-git-dir").stdout.decode().strip())


@dataclass(frozen=True)
class Staged:
    """The staged changes: files added or modified (their index content is what is checked),
    and files deleted."""

    changed: tuple[str, ...]
    deleted: tuple[str, ...]


def staged_changes(top: Path) -> Staged:
    """The files the next commit adds, modifies or deletes (renames as delete + add)."""
    out = git(top, "diff", "--cached", "--name-status", "--no-renames", "-z").stdout.decode()
    fields = [f for f in out.split("\0") if f]
    changed, deleted = [], []
    for status, path in zip(fields[::2], fields[1::2], strict=True):
        (deleted if status.startswith("D") else changed).append(path)
    return Staged(tuple(changed), tuple(deleted))


def index_files(top: Path) -> list[str]:
    """Every path in the index (submodules left out)."""
    out = git(top, "ls-files", "-s", "-z").stdout.decode()
    paths = []
    for entry in out.split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            if not meta.startswith("160000"):
                paths.append(path)
    return paths


def relative_to_top(top: Path, files: Sequence[str], cwd: Path | None = None) -> list[str]:
    """File arguments (relative to `cwd` or absolute) as paths relative to the top."""
    cwd = (cwd or Path.cwd()).resolve()
    found = []
    for name in files:
        path = Path(name)
        absolute = path if path.is_absolute() else cwd / path
        try:
            found.append(Path(os.path.normpath(absolute)).relative_to(top.resolve()).as_posix())
        except ValueError:
            raise PrecommitError(f"{name} is outside the repository {top}") from None
    return found


def write_tree(top: Path) -> str:
    """The staged content as a tree object (nothing else changes)."""
    done = git(top, "write-tree", check=False)
    if done.returncode != 0:
        raise PrecommitError(
            "the index cannot be written as a tree (unresolved merge conflicts?): "
            + done.stderr.decode(errors="replace").strip()
        )
    return done.stdout.decode().strip()


def has_unstaged_changes(top: Path) -> bool:
    """Whether any tracked file in the working tree differs from the index."""
    return git(top, "diff", "--quiet", "--ignore-submodules", check=False).returncode != 0


@contextlib.contextmanager
def staged_checkout(top: Path) -> Iterator[Path]:
    """A directory holding exactly the staged files: the working tree itself when it has no
    unstaged changes (as under pre-commit, which stashes them), else a temporary export of
    the index, so checks never see (or alter) unstaged work."""
    if not has_unstaged_changes(top):
        yield top
        return
    tmp = Path(tempfile.mkdtemp(prefix="patchsmith-staged-"))
    try:
        git(top, "checkout-index", "--all", f"--prefix={tmp}/")
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def head_checkout(top: Path) -> Iterator[Path | None]:
    """A temporary export of the files of HEAD (None before the first commit), read through a
    private index: the repository's index and working tree are not touched."""
    if git(top, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False).returncode != 0:
        yield None
        return
    tmp = Path(tempfile.mkdtemp(prefix="patchsmith-head-"))
    try:
        with tempfile.TemporaryDirectory() as private:
            env = {"GIT_INDEX_FILE": str(Path(private) / "index")}
            git(top, "read-tree", "HEAD", env=env)
            git(top, "checkout-index", "--all", f"--prefix={tmp}/", env=env)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
