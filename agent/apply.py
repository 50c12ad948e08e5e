"""Putting a patch into the user's repository: on a new branch, never over uncommitted work."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path


class ApplyError(Exception):
    pass


def check_clean(repo: Path) -> None:
    """Refuse a repository with uncommitted changes to tracked files."""
    import git

    try:
        repository = git.Repo(repo, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise ApplyError(f"{repo} is not a git repository") from None
    if repository.is_dirty(untracked_files=False):
        raise ApplyError(
            f"{repository.working_tree_dir} has uncommitted changes; commit or stash them, "
            "or pass --allow-dirty to make the branch without checking it out"
        )


def apply_on_branch(repo: Path, base_commit: str, diff: str, run_dir: Path) -> str:
    """Commit `diff` on top of `base_commit` as a new branch, built in a private index so the
    user's index and working tree are untouched; check the branch out only when the working
    tree is clean. Returns the branch name."""
    import git

    repository = git.Repo(repo, search_parent_directories=True)
    branch = f"patchsmith/{run_dir.name}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        top = repository.working_tree_dir

        def git_run(*args: str, stdin: str | None = None) -> str:
            done = subprocess.run(
                ["git", "-C", top, *args], input=stdin, capture_output=True, text=True, env=env
            )
            if done.returncode != 0:
                raise ApplyError(f"git {args[0]} failed: {done.stderr.strip()}")
            return done.stdout.strip()

        git_run("read-tree", base_commit)
        git_run("apply", "--cached", "--whitespace=nowarn", "-", stdin=diff)
        tree = git_run("write-tree")
        message = f"patchsmith: {run_dir.name}\n\nTrajectory: {run_dir / 'trajectory.json'}\n"
        commit = git_run(
            "-c",
            "user.name=patchsmith",
            "-c",
            "user.email=patchsmith@localhost",
            "commit-tree",
            tree,
            "-p",
            base_commit,
            "-m",
            message,
        )
    repository.create_head(branch, commit)
    if not repository.is_dirty(untracked_files=False):
        repository.git.checkout(branch)
    return branch
