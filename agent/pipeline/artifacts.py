"""The pipeline's files in a run directory: one JSON artifact per finished stage, and the
progress of a stage that was stopped half-way, so that a second run resumes where it was.

A stage whose artifact exists is not run again. Every artifact records the issue and commit
it was made for; a directory holding another run's artifacts is refused rather than mixed in.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

STAGES = ("localize", "repair", "validate", "select")
FORMAT_VERSION = 1


class StaleArtifact(ValueError):
    """The run directory holds artifacts of a different issue or commit."""


def artifact_name(stage: str) -> str:
    return f"{STAGES.index(stage) + 1:02d}_{stage}.json"


def fingerprint(issue: str, commit: str) -> str:
    return hashlib.sha256(f"{commit}\0{issue.strip()}".encode()).hexdigest()[:16]


class Artifacts:
    def __init__(self, directory: Path, issue: str, commit: str):
        self.directory = Path(directory)
        self.key = fingerprint(issue, commit)

    def path(self, stage: str) -> Path:
        return self.directory / artifact_name(stage)

    def partial_path(self, stage: str) -> Path:
        return self.directory / artifact_name(stage).replace(".json", ".partial.json")

    def load(self, stage: str) -> dict[str, Any] | None:
        """The finished stage's result, or None when the stage has not finished."""
        return self._read(self.path(stage))

    def save(self, stage: str, result: dict[str, Any]) -> Path:
        """Record the finished stage (and forget its partial progress)."""
        path = self._write(self.path(stage), stage, result)
        self.partial_path(stage).unlink(missing_ok=True)
        return path

    def load_partial(self, stage: str) -> dict[str, Any] | None:
        return self._read(self.partial_path(stage))

    def save_partial(self, stage: str, progress: dict[str, Any]) -> None:
        self._write(self.partial_path(stage), stage, progress)

    def _read(self, path: Path) -> dict[str, Any] | None:
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # half-written by a killed run (writes are atomic, but be safe): redo
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            return None
        if data.get("run") != self.key:
            raise StaleArtifact(
                f"{path} belongs to another issue or commit; give the run a fresh output "
                "directory (or remove the old artifacts)"
            )
        return data["result"]

    def _write(self, path: Path, stage: str, result: dict[str, Any]) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        document = {"version": FORMAT_VERSION, "stage": stage, "run": self.key, "result": result}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)  # atomic: a killed run leaves the old file or the new one
        return path
