"""Reading a snapshot of the user's repository without touching its working tree."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .base import SandboxError


def export_tree(repo: str | Path, commit: str = "HEAD") -> bytes:
    """A tar of the files of `repo` at `commit` (a commit or tree id, a branch, a tag)."""
    repo = Path(repo).expanduser()
    if not repo.is_dir():
        raise SandboxError(f"repository not found: {repo}")
    top = _git(repo, "rev-parse", "--show-toplevel")
    if top is None:
        raise SandboxError(
            f"{repo} is not a git repository: patchsmith works on a commit of a git repository "
            "(run `git init && git add -A && git commit -m init` there first)"
        )
    if _git(repo, "rev-parse", "--verify", "--quiet", f"{commit}^{{tree}}") is None:
        raise SandboxError(f"{commit!r} is not a commit or tree of {top}")
    done = subprocess.run(
        ["git", "-C", top, "archive", "--format=tar", commit],
        capture_output=True,
    )
    if done.returncode != 0:
        raise SandboxError(f"git archive failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def _git(repo: Path, *args: str) -> str | None:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None
