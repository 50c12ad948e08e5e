"""Putting a fix into the user's working tree, merged with their unstaged edits.

The fix is a diff from the staged tree. For each file it touches, the working-tree copy
(which may hold unstaged edits) is merged three ways: base = the staged content, ours = the
working-tree file, theirs = the fixed content (`git merge-file`). The index is never
written (the user reviews and stages the fix), and nothing is written at all unless every
file merges cleanly: a conflict leaves the working tree as it was.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .staged import git

REGULAR_MODES = {"100644", "100755"}


@dataclass
class Merge:
    written: list[str] = field(default_factory=list)  # files changed in the working tree
    conflicts: list[str] = field(default_factory=list)  # "path: why" (then nothing is written)


def apply_to_tree(top: Path, base_tree: str, diff: str) -> str:
    """The tree `diff` makes of `base_tree`, built in a private index."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(top, "read-tree", base_tree, env=env)
        git(top, "apply", "--cached", "--whitespace=nowarn", "-", input=diff.encode(), env=env)
        return git(top, "write-tree", env=env).stdout.decode().strip()


def changed_paths(top: Path, before: str, after: str) -> list[str]:
    """Files that differ between two trees."""
    out = git(top, "diff-tree", "-r", "--no-renames", "--name-only", "-z", before, after)
    return [p for p in out.stdout.decode().split("\0") if p]


def merge_into_worktree(top: Path, base_tree: str, fixed_tree: str, paths: list[str]) -> Merge:
    """Write the fixed content of `paths` into the working tree, merged with whatever the
    user has there; all or nothing."""
    merge = Merge()
    plan: list[tuple[str, bytes | None, str | None]] = []  # path, new content (None: delete), mode
    for path in paths:
        base, _ = _blob(top, base_tree, path)
        fixed, mode = _blob(top, fixed_tree, path)
        target = top / path
        if mode is not None and mode not in REGULAR_MODES:
            merge.conflicts.append(f"{path}: the fix makes it a link or submodule")
            continue
        if target.is_symlink() or target.is_dir():
            merge.conflicts.append(f"{path}: not a regular file in the working tree")
            continue
        ours = target.read_bytes() if target.exists() else None
        if ours == fixed:
            continue  # already there
        if ours == base:
            plan.append((path, fixed, mode))
        elif base is not None and fixed is not None and ours is not None:
            merged = _merge_file(top, ours, base, fixed)
            if merged is None:
                merge.conflicts.append(f"{path}: the fix overlaps your unstaged changes")
            else:
                plan.append((path, merged, mode))
        elif ours is None:
            merge.conflicts.append(f"{path}: deleted in the working tree")
        else:
            merge.conflicts.append(f"{path}: your unstaged changes differ from the staged file")
    if merge.conflicts:
        return merge
    for path, content, mode in plan:
        _write(top / path, content, mode)
        merge.written.append(path)
    return merge


def _blob(top: Path, tree: str, path: str) -> tuple[bytes | None, str | None]:
    """The file's content as it would be checked out (eol and filters applied) and its mode,
    or (None, None) when the tree has no such file."""
    listed = git(top, "ls-tree", "-z", tree, "--", path).stdout.decode()
    if not listed:
        return None, None
    mode = listed.split(" ", 1)[0]
    if mode not in REGULAR_MODES:
        return None, mode
    return git(top, "cat-file", "--filters", f"{tree}:{path}").stdout, mode


def _merge_file(top: Path, ours: bytes, base: bytes, theirs: bytes) -> bytes | None:
    """The three-way merge of one file, or None on a conflict (or binary content)."""
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for label, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(tmp) / label
            path.write_bytes(data)
            names.append(str(path))
        done = git(top, "merge-file", "-p", *names, check=False)
    return done.stdout if done.returncode == 0 else None


def _write(target: Path, content: bytes | None, mode: str | None) -> None:
    if content is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    existing = target.stat().st_mode & 0o7777 if target.exists() else None
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(content)
        if existing is not None:
            os.chmod(tmp, existing)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, (0o777 if mode == "100755" else 0o666) & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
