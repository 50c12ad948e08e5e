"""Benchmark instances in SWE-bench's format: loading them (hub, bundled, local files) and
choosing which to run.

A local dataset is a .json file (a list of instances), a .jsonl file (one per line) or a
.parquet file, with SWE-bench's fields. FAIL_TO_PASS and PASS_TO_PASS may be JSON-encoded
strings, as on the hub, or plain lists. Fields SWE-bench does not have, all optional:

- `repo_path`: the repository, as a local path (relative paths are relative to the
  dataset file) or a git URL. A local directory that is not a git repository is turned
  into one with a fixed author and date, so its commit id is known in advance.
- `setup`: shell commands that install the repository's dependencies in the sandbox.
- `test_cmd`: the test command; test files are appended to it (default: by repository
  convention: pytest, Django's runner, SymPy's bin/test).
- `test_files`: the test files to run (default: the files the test patch touches).
- `log_format`: how to read the test log: "pytest", "django", "sympy" or "generic" (one
  line per test, "PASSED name" or "FAILED name"); default: by repository.
- `image_name`: the image to run in (official instances default to SWE-bench's images).

Rows of swebench 5's schema may carry `image` (taken as `image_name`), `eval_script`,
`log_parser` and `eval_type`: such a row is evaluated by its own script (official_eval.py).
"""

from __future__ import annotations

import difflib
import json
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .logparse import LOG_FORMATS

MINI_DIR = Path(__file__).parent / "mini"
MINI_DATASET = MINI_DIR / "dataset.json"
MINI_SCRIPTS = MINI_DIR / "trajs"

# Short names of the datasets on the hub; the first name is tried first.
HUB_DATASETS = {
    "swe-lite": ("princeton-nlp/SWE-bench_Lite", "SWE-bench/SWE-bench_Lite"),
    "swe-verified": ("SWE-bench/SWE-bench_Verified", "princeton-nlp/SWE-bench_Verified"),
    "swe-full": ("princeton-nlp/SWE-bench", "SWE-bench/SWE-bench"),
}
LOCAL_SUFFIXES = (".json", ".jsonl", ".parquet")


class DatasetError(Exception):
    """A dataset cannot be loaded or a selection is invalid; the message says why."""


@dataclass
class Instance:
    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    patch: str  # the gold patch; may be ""
    test_patch: str
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    version: str = ""
    hints_text: str = ""
    created_at: str = ""
    environment_setup_commit: str = ""
    image_name: str | None = None
    repo_path: str | None = None
    setup: list[str] = field(default_factory=list)
    test_cmd: str | None = None
    test_files: list[str] | None = None
    log_format: str | None = None
    eval_script: str | None = None  # the newer schema: the row's own official eval script
    log_parser: str | None = None  # ... and the name of swebench's parser for its log
    eval_type: str | None = None  # ... and "pass_and_fail" or "fail_only"

    def __post_init__(self) -> None:
        if self.test_files is None:
            self.test_files = patch_files(self.test_patch)

    @classmethod
    def from_record(cls, record: dict[str, Any], base_dir: Path | None = None) -> Instance:
        """An instance from a dataset row (SWE-bench's field names); `base_dir` anchors a
        relative `repo_path`."""
        where = record.get("instance_id") or "an instance without instance_id"
        required = ("instance_id", "base_commit", "problem_statement")
        missing = [key for key in required if not record.get(key)]
        if missing:
            raise DatasetError(f"{where}: missing {', '.join(missing)}")
        repo_path = record.get("repo_path") or None
        if repo_path and base_dir is not None and not _is_url(repo_path):
            repo_path = str((base_dir / repo_path).resolve())
        log_format = record.get("log_format") or None
        if log_format is not None and log_format not in LOG_FORMATS:
            raise DatasetError(f"{where}: log_format {log_format!r} is not one of {LOG_FORMATS}")
        setup = record.get("setup") or []
        if isinstance(setup, str):
            setup = [setup]
        return cls(
            instance_id=str(record["instance_id"]),
            repo=str(record.get("repo") or ""),
            base_commit=str(record["base_commit"]),
            problem_statement=str(record["problem_statement"]),
            patch=str(record.get("patch") or ""),
            test_patch=str(record.get("test_patch") or ""),
            fail_to_pass=_test_list(record, "FAIL_TO_PASS", where),
            pass_to_pass=_test_list(record, "PASS_TO_PASS", where),
            version=str(record.get("version") or ""),
            hints_text=str(record.get("hints_text") or ""),
            created_at=str(record.get("created_at") or ""),
            environment_setup_commit=str(record.get("environment_setup_commit") or ""),
            image_name=record.get("image_name") or record.get("image") or None,
            repo_path=repo_path,
            setup=[str(command) for command in setup],
            test_cmd=record.get("test_cmd") or None,
            test_files=record.get("test_files") or None,
            log_format=log_format,
            eval_script=record.get("eval_script") or None,
            log_parser=record.get("log_parser") or None,
            eval_type=record.get("eval_type") or None,
        )

    def to_record(self) -> dict[str, Any]:
        """The instance as a dataset row, FAIL_TO_PASS/PASS_TO_PASS JSON-encoded as on the hub."""
        record = asdict(self)
        record["FAIL_TO_PASS"] = json.dumps(record.pop("fail_to_pass"))
        record["PASS_TO_PASS"] = json.dumps(record.pop("pass_to_pass"))
        return record


def patch_files(patch: str) -> list[str]:
    """The files a unified git diff touches (their new names), in order."""
    found = re.findall(r"^diff --git a/.* b/(.*)$", patch, re.M)
    return list(dict.fromkeys(found))


def load_dataset(name_or_path: str, split: str = "test") -> list[Instance]:
    """The instances of a dataset: "swe-lite", "swe-verified", "swe-full" (from the hub,
    through the optional `datasets` library), "mini" (bundled), a hub id such as
    "princeton-nlp/SWE-bench_Lite", or a local .json/.jsonl/.parquet file."""
    if name_or_path == "mini":
        return _load_file(MINI_DATASET)
    if name_or_path in HUB_DATASETS:
        return _load_hub(HUB_DATASETS[name_or_path], split)
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return _load_file(path)
    if path.suffix.lower() in LOCAL_SUFFIXES or path.exists():
        raise DatasetError(f"dataset file not found: {name_or_path} (.json, .jsonl or .parquet)")
    if re.fullmatch(r"[\w.-]+/[\w.-]+", name_or_path):
        return _load_hub((name_or_path,), split)
    known = ", ".join([*HUB_DATASETS, "mini"])
    raise DatasetError(
        f"unknown dataset {name_or_path!r}: use one of {known}, a hub id (owner/name) or a "
        ".json/.jsonl/.parquet file"
    )


def select(
    instances: list[Instance],
    instance_ids: list[str] | None = None,
    filter_regex: str | None = None,
    slice_spec: str | None = None,
    shuffle: bool = False,
    seed: int = 0,
) -> list[Instance]:
    """The instances to run: those named (in dataset order), whose id matches the regex
    (anywhere in the id), then shuffled with `seed`, then sliced ("START:END", Python-style)."""
    chosen = list(instances)
    if instance_ids:
        known = {i.instance_id for i in instances}
        unknown = [i for i in instance_ids if i not in known]
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise DatasetError(f"not in the dataset: {', '.join(unknown)}{hint}")
        wanted = set(instance_ids)
        chosen = [i for i in chosen if i.instance_id in wanted]
    if filter_regex:
        try:
            pattern = re.compile(filter_regex)
        except re.error as exc:
            raise DatasetError(
                f"--filter {filter_regex!r} is not a regular expression: {exc}"
            ) from None
        chosen = [i for i in chosen if pattern.search(i.instance_id)]
    if shuffle:
        random.Random(seed).shuffle(chosen)
    if slice_spec:
        chosen = chosen[parse_slice(slice_spec)]
    return chosen


def parse_slice(spec: str) -> slice:
    """ "START:END" (either may be empty, an optional ":STEP") as a slice; "N" is ":N"."""
    parts = spec.strip().split(":")
    try:
        numbers = [int(p) if p.strip() else None for p in parts]
    except ValueError:
        numbers = []
    if not 1 <= len(numbers) <= 3 or (len(numbers) == 3 and numbers[2] == 0):
        raise DatasetError(f"--slice {spec!r} is not START:END (e.g. 0:10, :50 or 100:)")
    if len(numbers) == 1:
        return slice(None, numbers[0])
    return slice(*numbers)


def _load_file(path: Path) -> list[Instance]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            records = _read_parquet(path)
        elif suffix == ".jsonl":
            text = path.read_text(encoding="utf-8")
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            records = list(data.values()) if isinstance(data, dict) else data
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path} is not valid JSON: {exc}") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise DatasetError(f"{path} must hold a list of instances (JSON objects)")
    return _unique([Instance.from_record(r, path.parent) for r in records], str(path))


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise DatasetError(
            f"reading {path} needs pyarrow: pip install pyarrow (or use .json/.jsonl)"
        ) from None
    return parquet.read_table(path).to_pylist()


def _load_hub(names: tuple[str, ...], split: str) -> list[Instance]:
    try:
        import datasets
    except ImportError:
        raise DatasetError(
            f"loading {names[0]} needs the `datasets` library: pip install patchsmith[datasets] "
            "(or give a local .json/.jsonl/.parquet file)"
        ) from None
    first_error: Exception | None = None
    for name in names:
        try:
            rows = datasets.load_dataset(name, split=split)
        except Exception as exc:  # the library raises many kinds; the first one tells most
            first_error = first_error or exc
            continue
        return _unique([Instance.from_record(dict(row)) for row in rows], name)
    raise DatasetError(f"could not load {names[0]} (split {split!r}): {first_error}")


def _test_list(record: dict[str, Any], key: str, where: str) -> list[str]:
    value = record.get(key, record.get(key.lower()))
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise DatasetError(f"{where}: {key} is not a JSON list of test names") from None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise DatasetError(f"{where}: {key} must be a list of test names")
    return value


def _unique(instances: list[Instance], source: str) -> list[Instance]:
    seen: set[str] = set()
    for instance in instances:
        if instance.instance_id in seen:
            raise DatasetError(f"{source}: instance_id {instance.instance_id} appears twice")
        seen.add(instance.instance_id)
    return instances


def _is_url(text: str) -> bool:
    return "://" in text or bool(re.match(r"^[\w.-]+@[\w.-]+:", text))
