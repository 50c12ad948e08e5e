"""Project instructions: AGENTS.md (else CLAUDE.md) from the repository's committed tree at
the run's commit, and the user's ~/.config/patchsmith/AGENTS.md, for the system prompt.

Read with `git show COMMIT:PATH` so that nothing outside the committed tree (an uncommitted
edit, a file planted beside the repository) reaches the model's instructions."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import Settings

REPOSITORY_FILES = ("AGENTS.md", "CLAUDE.md")


def user_file() -> Path:
    return Path.home() / ".config" / "patchsmith" / "AGENTS.md"


@dataclass
class Instructions:
    text: str = ""
    # One record per file used: where it came from, its size and how much of it was cut.
    sources: list[dict] = field(default_factory=list)


def committed_file(repo: Path, commit: str, name: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:{name}"],
        capture_output=True, text=True, errors="replace",
    )  # fmt: skip
    return done.stdout if done.returncode == 0 else None


def _capped(text: str, limit: int) -> tuple[str, int]:
    if limit <= 0 or len(text) <= limit:
        return text, 0
    cut = len(text) - limit
    return text[:limit] + f"\n[... {cut} more characters cut: over the size limit]", cut


def load_instructions(repo: Path, commit: str, limit: int) -> Instructions:
    """The instructions in force for a run of `repo` at `commit`, each file cut at `limit`
    characters (the cut is said in the text and in the record)."""
    found: list[tuple[str, str]] = []
    path = user_file()
    if path.is_file():
        found.append((str(path), path.read_text(encoding="utf-8", errors="replace")))
    for name in REPOSITORY_FILES:
        text = committed_file(repo, commit, name)
        if text is not None:
            found.append((f"{commit}:{name}", text))
            break
    result = Instructions()
    parts = []
    for source, text in found:
        text = text.strip()
        kept, cut = _capped(text, limit)
        result.sources.append({"source": source, "chars": len(text), "cut_chars": cut})
        parts.append(f"## From {source}\n\n{kept}")
    if parts:
        result.text = (
            "# Project instructions\n\nThe maintainers' instructions for this repository; "
            "follow them unless they conflict with the task.\n\n" + "\n\n".join(parts)
        )
    return result


def instructions_for(settings: Settings, repo: Path | None, commit: str) -> Instructions:
    """The instructions a run uses: none when the settings turn them off, or when there is no
    host repository (a benchmark image's own), rather than read from outside its tree."""
    if repo is None or not settings.project_instructions:
        return Instructions()
    return load_instructions(repo, commit, settings.instructions_limit)


def with_instructions(system: str, instructions: str) -> str:
    """The system prompt `system` followed by the project instructions, if any."""
    return f"{system.rstrip()}\n\n{instructions}\n" if instructions else system
