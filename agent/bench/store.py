"""The files of a benchmark run's output directory: preds.json and results.json (rewritten
atomically), a lock against a second run, and each instance's run.log."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..redact import redact

PREDS, RESULTS, TRAJS, LOGS = "preds.json", "results.json", "trajs", "logs"


class StoreError(Exception):
    """The output directory cannot be used; the message says why."""


class BenchStore:
    """preds.json ({instance_id: prediction}) and results.json (a header and {instance_id:
    record}), both rewritten atomically under one lock after every change."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.results: dict[str, dict] = {}
        self.preds: dict[str, dict] = {}
        self.header: dict[str, Any] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory for this run: a second run on it is refused."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / ".run-bench.lock", "w") as handle:
            try:
                import fcntl

                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # not on this platform: no protection, but it still runs
                pass
            except OSError:
                raise StoreError(
                    f"another `agent run-bench` is writing to {self.directory}; wait for it or "
                    "choose another --output"
                ) from None
            yield

    def load(self) -> None:
        self.results = self._read(RESULTS).get("instances", {})
        self.preds = self._read(PREDS)

    def patch(self, instance_id: str) -> str:
        return self.preds.get(instance_id, {}).get("model_patch") or ""

    def save(self, record: dict, prediction: dict | None) -> None:
        """Keep `record`; keep `prediction` (or drop the instance's old one when None)."""
        iid = record["instance_id"]
        with self._lock:
            self.results[iid] = record
            if prediction is not None:
                self.preds[iid] = prediction
            else:
                self.preds.pop(iid, None)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            write_json(self.directory / PREDS, self.preds)
            # Results carry error messages (a provider's may quote a key): masked. The
            # predictions are patches, which must stay exact.
            write_json(
                self.directory / RESULTS,
                {**self.header, "updated": stamp, "instances": self.results},
                redacted=True,
            )

    def _read(self, name: str) -> dict:
        path = self.directory / name
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise StoreError(f"cannot resume from {path} ({exc}): move it away first") from None
        return data if isinstance(data, dict) else {}


class InstanceLog:
    """logs/<id>/run.log: time-stamped lines from the worker running the instance."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(path, "a", encoding="utf-8")

    def line(self, text: str) -> None:
        if not self.handle.closed:
            self.handle.write(f"{time.strftime('%H:%M:%S')} {redact(text.rstrip())}\n")
            self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def write_json(path: Path, data: Any, redacted: bool = False) -> None:
    """Write atomically: a run killed mid-write leaves the previous version. `redacted`
    masks what looks like a credential (see redact.py)."""
    tmp = path.with_name(f".{path.name}.tmp")
    text = json.dumps(data, indent=1, ensure_ascii=False)
    tmp.write_text(redact(text) if redacted else text, encoding="utf-8")
    os.replace(tmp, path)
