"""The pre-commit hook's configuration: `[tool.patchsmith.precommit]` or `.patchsmith.toml`.

Keys (dashes work too), in the repository's `pyproject.toml` under
`[tool.patchsmith.precommit]`, or in `.patchsmith.toml` under `[precommit]` (which wins key
by key when both are there):

    test_command = "pytest -q {tests}"   # {tests}: the related tests; without it, always run
    lint_command = "ruff check {files}"  # {files}: the staged files; without it, run as is
    related_tests = {"src/app/*.py" = ["tests/test_app.py"]}  # glob -> tests, added to
    discover_tests = true                # ...tests found by imports and names (false: off)
    syntax = true                        # tree-sitter syntax check of staged files
    strict = false                       # true: related tests failing at HEAD too block
    timeout = 600                        # seconds per command
    fix_step_limit = 12                  # the budget of `--fix`
    fix_cost_limit = 0.5
    fix_time_limit = 600
    fix_only_staged = true               # refuse a fix that edits files that are not staged
    review_severity = "high"             # `--review` fails on findings at least this severe
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from patchsmith.agent.config import ConfigError

DEFAULT_TEST_COMMAND = "pytest -q --tb=short -p no:cacheprovider {tests}"
SEVERITIES = ("info", "low", "medium", "high", "critical")
LOCAL_FILE = ".patchsmith.toml"


@dataclass(frozen=True)
class PrecommitConfig:
    """What the hook checks and how much a fix may spend."""

    test_command: str | None = None  # None: DEFAULT_TEST_COMMAND, with pytest found on PATH
    lint_command: str | None = None
    related_tests: dict[str, tuple[str, ...]] = field(default_factory=dict)
    discover_tests: bool = True
    syntax: bool = True
    strict: bool = False  # block on related tests that fail at HEAD too (not the change's)
    timeout: float = 600.0
    fix_step_limit: int = 12
    fix_cost_limit: float = 0.5
    fix_time_limit: float = 600.0
    fix_only_staged: bool = True
    review_severity: str = "high"
    sources: tuple[str, ...] = ()  # the files the values came from


def load_precommit_config(top: Path) -> PrecommitConfig:
    """The hook's settings for the repository at `top`; ConfigError names a bad key or value."""
    values: dict[str, Any] = {}
    sources = []
    layers = [
        (
            top / "pyproject.toml",
            ("tool", "patchsmith", "precommit"),
            "[tool.patchsmith.precommit]",
        ),
        (top / LOCAL_FILE, ("precommit",), "[precommit]"),
    ]
    for path, keys, table_name in layers:
        table = _table(path, keys)
        if table is None:
            continue
        label = f"{path.name} {table_name}"
        sources.append(label)
        written: dict[str, str] = {}
        for key, raw in table.items():
            name = key.replace("-", "_")
            if name in written:
                raise ConfigError(f"{label}: {written[name]!r} and {key!r} set the same thing")
            written[name] = key
            values[name] = _checked(name, raw, f"{label}: {key}")
    return PrecommitConfig(**values, sources=tuple(sources))


def _table(path: Path, keys: tuple[str, ...]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as stream:
            data: Any = tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: {'.'.join(keys)} must be a table")
    return data


_KINDS = {
    "test_command": "command",
    "lint_command": "command",
    "related_tests": "mapping",
    "discover_tests": bool,
    "syntax": bool,
    "strict": bool,
    "timeout": "positive",
    "fix_step_limit": "count",
    "fix_cost_limit": "positive",
    "fix_time_limit": "positive",
    "fix_only_staged": bool,
    "review_severity": "severity",
}


def _checked(name: str, raw: Any, where: str) -> Any:
    kind = _KINDS.get(name)
    if kind is None:
        close = difflib.get_close_matches(name, list(_KINDS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else "; known keys: " + ", ".join(_KINDS)
        raise ConfigError(f"{where}: unknown key{hint}")
    if kind is bool and isinstance(raw, bool):
        return raw
    if kind == "command" and isinstance(raw, str) and raw.strip():
        return raw.strip()
    number = isinstance(raw, (int, float)) and not isinstance(raw, bool)
    if kind == "positive" and number and raw > 0:
        return float(raw)
    if kind == "count" and number and isinstance(raw, int) and raw >= 1:
        return raw
    if kind == "severity" and raw in SEVERITIES:
        return raw
    if kind == "mapping" and isinstance(raw, dict):
        mapping = {}
        for pattern, tests in raw.items():
            if isinstance(tests, str):
                tests = [tests]
            if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
                break
            mapping[pattern] = tuple(tests)
        else:
            return mapping
    expected = {
        bool: "true or false",
        "command": "a non-empty command string",
        "positive": "a number greater than 0",
        "count": "a whole number of at least 1",
        "severity": "one of " + ", ".join(f'"{s}"' for s in SEVERITIES),
        "mapping": 'a table of glob = ["test path", ...]',
    }[kind]
    raise ConfigError(f"{where} = {raw!r} is invalid: expected {expected}")
