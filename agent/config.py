"""Settings: the one typed configuration of a run, and how flags, environment and files make it.

Precedence, highest first:

1. command-line flags (only those the user gave),
2. environment variables `PATCHSMITH_<FIELD>` (e.g. `PATCHSMITH_STEP_LIMIT=20`),
3. `[tool.patchsmith]` in the target repository's `pyproject.toml`,
4. the user config file: `$PATCHSMITH_CONFIG`, else `$XDG_CONFIG_HOME/patchsmith/config.toml`,
   else `~/.config/patchsmith/config.toml`. Its settings are top-level keys (no table),
5. the defaults below.

Keys in files are the field names; dashes work too (`step-limit`). Every value is checked once,
here; a bad one raises `ConfigError` naming where it came from and what is expected. Other
`PATCHSMITH_*` variables (such as `PATCHSMITH_CACHE_DIR`) are not settings and are ignored.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args, get_origin, get_type_hints

if TYPE_CHECKING:
    from ..sandbox.base import SandboxConfig
    from ..tools.context import ToolsetConfig

ENV_PREFIX = "PATCHSMITH_"
REPO_TABLE = "[tool.patchsmith]"
# A repository the agent is pointed at may be someone else's: it must not be able to send the
# user's API key elsewhere, move model-written commands out of the container onto the host,
# or loosen the command policy.
NOT_FROM_REPO = ("api_base", "sandbox", "allow")
# Tables inside [tool.patchsmith] that other parts read themselves (the pre-commit hook).
SUBTABLES = ("precommit",)


class ConfigError(Exception):
    """A setting a user gave is unknown or invalid; the message names its source."""


def _setting(default: Any, help: str, **checks: Any) -> Any:
    return field(default=default, metadata={"help": help, **checks})


# Sizes as Docker reads them: bytes, or k/m/g with an optional b (no "gib", no "t").
SIZE = r"\d+(\.\d+)? ?[kmg]?b?"


@dataclass(frozen=True)
class Settings:
    """Everything a run needs, built once by `load_settings` and passed down."""

    model: str = _setting("", 'Model name as litellm knows it; "" = none given.')
    api_base: str | None = _setting(None, "Base URL of the model endpoint; none = the default.")
    temperature: float = _setting(0.0, "Sampling temperature of the model.", minimum=0)
    max_context_tokens: int | None = _setting(
        None, "Context window in tokens; none = from litellm's model info.", minimum=1
    )
    mode: Literal["agent", "pipeline"] = _setting(
        "agent", '"agent" (the CodeAct loop) or "pipeline" (localize, repair, validate).'
    )
    sandbox: Literal["docker", "local"] = _setting(
        "docker", '"docker" (a container) or "local" (commands run on this machine).'
    )
    image: str = _setting("patchsmith-sandbox:latest", "Docker image of the sandbox.", filled=True)
    network: bool = _setting(False, "Let commands in the sandbox reach the network.")
    setup: tuple[str, ...] | None = _setting(
        None, "Shell commands run before the agent starts; none = derive from the repo, [] = none."
    )
    memory: str = _setting(
        "4g",
        "Memory limit of the sandbox.",
        pattern=SIZE,
        expected='a size such as "4g" or "512m"',
    )
    cpus: float = _setting(2.0, "CPUs the sandbox may use.", above=0)
    pids: int = _setting(1024, "Most processes the sandbox may run at once.", minimum=1)
    disk_reserve: str = _setting(
        "2g",
        "Free disk space the sandbox must leave: commands that keep writing below it are "
        'stopped; "0" = no guard.',
        pattern=SIZE,
        expected='a size such as "2g" or "500m"',
    )
    command_timeout: float = _setting(
        120.0, "Seconds a command may run when the call names no timeout.", above=0
    )
    test_command: str | None = _setting(None, "Command that runs the tests; none = pytest.")
    step_limit: int = _setting(50, "Most model turns in a run; 0 = no limit.", minimum=0)
    cost_limit: float = _setting(
        3.0, "Most USD spent on the model in a run; 0 = no limit.", minimum=0
    )
    time_limit: float = _setting(1800.0, "Most seconds a run may take; 0 = no limit.", minimum=0)
    format_error_limit: int = _setting(
        3, "Malformed model replies in a row before the run stops.", minimum=1
    )
    keep_observations: int = _setting(
        5, "Observations kept whole in the history; older ones are elided.", minimum=1
    )
    project_instructions: bool = _setting(
        True, "Add the repository's AGENTS.md (else CLAUDE.md) and the user's to the prompt."
    )
    instructions_limit: int = _setting(
        8000, "Most characters kept of each project instructions file.", minimum=0
    )
    output_dir: str = _setting("patchsmith-runs", "Where patches and trajectories go.", filled=True)
    pipeline_candidates: int = _setting(
        4, "Candidate patches in pipeline mode (the first greedy, the rest sampled).", minimum=1
    )
    pipeline_temperature: float = _setting(
        0.8, "Sampling temperature of pipeline mode's other candidates.", minimum=0
    )
    allow: tuple[str, ...] = _setting(
        (), "Actions to let through even when a built-in rule would stop them (regexes)."
    )
    deny: tuple[str, ...] = _setting((), "Actions to refuse, besides the built-in rules (regexes).")
    ask: tuple[str, ...] = _setting(
        (), "Actions that need a person's confirmation (regexes); refused when nobody is asked."
    )
    # Where each value came from: "default", "flag --x", "env PATCHSMITH_X" or a file.
    sources: dict[str, str] = field(
        default_factory=lambda: dict.fromkeys(setting_names(), "default"),
        compare=False,
        hash=False,
        repr=False,
    )

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-ready values (without their sources)."""
        plain = {}
        for name in setting_names():
            value = getattr(self, name)
            plain[name] = list(value) if isinstance(value, tuple) else value
        return plain

    def sandbox_config(self) -> SandboxConfig:
        """The sandbox layer's settings (limits it has no setting for keep their defaults)."""
        from ..sandbox.base import SandboxConfig

        values: dict[str, Any] = {
            "backend": self.sandbox,
            "image": self.image,
            "network": self.network,
            "memory": self.memory,
            "cpus": self.cpus,
            "pids": self.pids,
            "disk_reserve": self.disk_reserve,
            "command_timeout": self.command_timeout,
            "setup": self.setup,
        }
        return SandboxConfig(**values)

    def toolset_config(self) -> ToolsetConfig:
        """The tools' settings (the rest keep the tools' own defaults)."""
        from ..tools.context import ToolsetConfig

        return ToolsetConfig(test_command=self.test_command, command_timeout=self.command_timeout)


def _specs() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(Settings) if "help" in f.metadata}


def setting_names() -> list[str]:
    """The names of all settings, in display order."""
    return list(_specs())


def setting_help() -> dict[str, str]:
    """The one-line help of every setting, in display order."""
    return {name: spec.metadata["help"] for name, spec in _specs().items()}


@dataclass(frozen=True)
class ConfigFile:
    """A config file that is consulted: where it is and how its settings are laid out."""

    path: Path
    label: str  # as shown in sources and errors
    table: tuple[str, ...]  # keys leading to the settings table; () = top level
    required: bool = False  # named explicitly ($PATCHSMITH_CONFIG), so it must exist
    from_repo: bool = False  # belongs to the target repository, not to the user


def config_files(repo: Path | None, env: Mapping[str, str] = os.environ) -> list[ConfigFile]:
    """The config files that are consulted, lowest precedence first."""
    home = Path(env.get("HOME") or Path.home())
    explicit = env.get(f"{ENV_PREFIX}CONFIG")
    if explicit:
        user = Path(explicit).expanduser()
    else:
        user = Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "patchsmith" / "config.toml"
    found = [ConfigFile(user, _shorten(user, home), (), required=bool(explicit))]
    if repo is not None:
        pyproject = Path(repo).resolve() / "pyproject.toml"
        label = f"{pyproject} {REPO_TABLE}"
        found.append(ConfigFile(pyproject, label, ("tool", "patchsmith"), from_repo=True))
    return found


def load_settings(
    repo: Path | None, flags: Mapping[str, Any], env: Mapping[str, str] = os.environ
) -> Settings:
    """Build the settings from flags > environment > repository file > user file > defaults.

    `flags` maps field names to the values the user gave; None counts as not given.
    Raises ConfigError for unknown keys in files and for every invalid value.
    """
    hints = get_type_hints(Settings)
    specs = _specs()
    layers = [_file_layer(cf, specs, hints) for cf in config_files(repo, env)]
    layers.append(_env_layer(env, specs, hints))
    layers.append(_flag_layer(flags, specs, hints))
    values: dict[str, Any] = {}
    sources = dict.fromkeys(specs, "default")
    for layer in layers:
        for name, (value, source) in layer.items():
            values[name] = value
            sources[name] = source
    return Settings(**values, sources=sources)


Layer = dict[str, tuple[Any, str]]  # field name -> (value, source label)


def _file_layer(cf: ConfigFile, specs: dict, hints: dict) -> Layer:
    table = _read_table(cf)
    layer: Layer = {}
    written: dict[str, str] = {}  # field name -> key as written, to catch `a_b` next to `a-b`
    for key, raw in table.items():
        if key in SUBTABLES and isinstance(raw, dict):
            continue
        name = key.replace("-", "_")
        if name not in specs:
            raise ConfigError(f"{cf.label}: unknown key {key!r}{_suggestion(name, specs)}")
        if name in written:
            raise ConfigError(f"{cf.label}: {written[name]!r} and {key!r} set the same thing")
        if name in NOT_FROM_REPO and cf.from_repo:
            raise ConfigError(
                f"{cf.label}: {key!r} cannot be set by the repository (it decides where your "
                f"API key goes or whether commands run on your machine); use the user config "
                f"file, {ENV_PREFIX}{name.upper()} or --{name.replace('_', '-')}"
            )
        written[name] = key
        layer[name] = (_value(specs[name], hints[name], raw, False, f"{cf.label}: {key}"), cf.label)
    return layer


def _read_table(cf: ConfigFile) -> dict[str, Any]:
    if not cf.path.is_file():
        if cf.required:
            raise ConfigError(f"{ENV_PREFIX}CONFIG names {cf.path}, which is not a file")
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with cf.path.open("rb") as stream:
            data = tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cf.path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {cf.path}: {exc.strerror or exc}") from None
    for key in cf.table:
        data = data.get(key, {})
        if not isinstance(data, dict):
            raise ConfigError(f"{cf.label} must be a table of settings")
    return data


def _env_layer(env: Mapping[str, str], specs: dict, hints: dict) -> Layer:
    layer: Layer = {}
    for name, spec in specs.items():
        var = ENV_PREFIX + name.upper()
        if var in env:
            source = f"env {var}"
            layer[name] = (_value(spec, hints[name], env[var], True, source), source)
    return layer


def _flag_layer(flags: Mapping[str, Any], specs: dict, hints: dict) -> Layer:
    layer: Layer = {}
    for key, raw in flags.items():
        name = key.replace("-", "_")
        if name not in specs:  # a bug in the CLI, not a user error: keep the traceback
            raise ValueError(f"no setting named {key!r}")
        if raw is not None:
            source = f"flag --{name.replace('_', '-')}"
            layer[name] = (_value(specs[name], hints[name], raw, True, source), source)
    return layer


class _Invalid(Exception):
    pass


def _value(spec: dataclasses.Field, hint: Any, raw: Any, textual: bool, where: str) -> Any:
    """`raw` checked and converted for the field; `textual` values (environment, flags) may be
    strings to parse, while a TOML file's values must already have the right type."""
    try:
        value = _convert(hint, raw, textual)
        if value is not None and not _within(spec.metadata, value):
            raise _Invalid
    except _Invalid:
        shown = json.dumps(raw, default=str)
        expected = _expected(spec, hint)
        raise ConfigError(f"{where} = {shown} is invalid: expected {expected}") from None
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(hint: Any, raw: Any, textual: bool) -> Any:
    args = get_args(hint)
    if type(None) in args:  # an optional setting: empty means none
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        hint = next(arg for arg in args if arg is not type(None))
        args = get_args(hint)
    text = raw.strip() if textual and isinstance(raw, str) else None
    if get_origin(hint) is Literal:
        choice = raw if text is None else text
        if choice in args:
            return choice
    elif hint is bool:
        if isinstance(raw, bool):
            return raw
        if text is not None and text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
    elif hint is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if text is not None and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
    elif hint is float:
        number = None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            number = float(raw)
        elif text is not None:
            try:
                number = float(text)
            except ValueError:
                pass
        if number is not None and math.isfinite(number):
            return number
    elif hint is str:
        if isinstance(raw, str):
            return raw
    elif get_origin(hint) is tuple:
        return _commands(raw, text)
    raise _Invalid


def _commands(raw: Any, text: str | None) -> tuple[str, ...]:
    if text is not None and text.startswith("["):
        try:
            raw = json.loads(text)
        except ValueError:
            raise _Invalid from None
    elif isinstance(raw, str):
        return (raw,)
    if isinstance(raw, (list, tuple)) and all(isinstance(item, str) for item in raw):
        return tuple(raw)
    raise _Invalid


def _within(checks: Mapping[str, Any], value: Any) -> bool:
    if "minimum" in checks and value < checks["minimum"]:
        return False
    if "above" in checks and value <= checks["above"]:
        return False
    if checks.get("filled") and not value.strip():
        return False
    return not ("pattern" in checks and not re.fullmatch(checks["pattern"], value, re.I))


def _expected(spec: dataclasses.Field, hint: Any) -> str:
    checks = spec.metadata
    if "expected" in checks:
        return checks["expected"]
    args = get_args(hint)
    if type(None) in args:
        hint = next(arg for arg in args if arg is not type(None))
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(f'"{choice}"' for choice in get_args(hint))
    if get_origin(hint) is tuple:
        return "a list of shell commands (in the environment: a JSON list or one command)"
    noun = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
    described = noun[hint]
    if "minimum" in checks:
        described += f" of at least {checks['minimum']}"
    if "above" in checks:
        described += f" greater than {checks['above']}"
    if checks.get("filled"):
        described = "a non-empty string"
    return described


def _suggestion(name: str, specs: Mapping[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(specs), n=1)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return "; known keys: " + ", ".join(specs)


def _shorten(path: Path, home: Path) -> str:
    try:
        return "~/" + path.relative_to(home).as_posix()
    except ValueError:
        return str(path)
