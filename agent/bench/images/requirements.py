"""What an environment layer pip-installs, read offline: the spec's `pip_packages`, and for
specs whose packages are "requirements.txt", the repository's requirements file at the
environment setup commit, taken from a local mirror (`--repo-mirrors DIR`, DIR/owner/name)
instead of the network that swebench's own reader uses. The same lines are kept and dropped
as swebench 4.1 keeps them, so the environment matches the official one."""

from __future__ import annotations

import posixpath
import subprocess
from pathlib import Path
from typing import Any

from swebench.harness.constants import MAP_REPO_TO_REQS_PATHS

DROPPED_PREFIXES = ("-e .", "#", ".[test")


class RequirementsMissing(Exception):
    """The requirements file the spec names is not in the mirror at that commit."""


def mirror_path(mirrors: Path, repo: str) -> Path:
    return mirrors / repo


def _show(mirror: Path, commit: str, path: str) -> str | None:
    done = subprocess.run(["git", "-C", str(mirror), "show", f"{commit}:{path}"],
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def _wanted(line: str) -> bool:
    return bool(line.strip()) and not line.strip().startswith(DROPPED_PREFIXES)


def _kept(lines: str) -> list[str]:
    return [line for line in lines.splitlines() if _wanted(line)]


def requirements_at(mirror: Path, repo: str, commit: str) -> list[str]:
    """The requirement lines of `repo` at `commit`, `-r` includes followed one level deep."""
    for req_path in MAP_REPO_TO_REQS_PATHS.get(repo, []):
        text = _show(mirror, commit, req_path)
        if text is not None:
            break
    else:
        raise RequirementsMissing(
            f"{repo}: none of {MAP_REPO_TO_REQS_PATHS.get(repo, [])} at {commit[:12]} in {mirror}")
    own, included = [], []
    for line in text.splitlines():
        if line.strip().startswith("-r"):
            name = posixpath.join(posixpath.dirname(req_path), line.strip()[2:].strip())
            included += _kept(_show(mirror, commit, name) or "")
        elif _wanted(line):
            own.append(line)
    return included + own


def env_requirements(row: dict[str, Any], spec: dict[str, Any], mirrors: Path) -> list[str]:
    """Everything the environment of `row` installs with pip, in install order."""
    wanted: list[str] = []
    if spec.get("packages") == "requirements.txt":
        commit = row.get("environment_setup_commit") or row["base_commit"]
        wanted += requirements_at(mirror_path(mirrors, row["repo"]), row["repo"], commit)
    wanted += list(spec.get("pip_packages", []))
    return wanted
