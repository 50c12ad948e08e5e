"""Settings as a user shapes them: flags, environment, repository and user config files."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patchsmith.agent.config import ConfigError, Settings, load_settings, setting_help
from patchsmith.cli import config_cmd

USER_LABEL = "~/.config/patchsmith/config.toml"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


def write_user_config(home: Path, text: str) -> Path:
    path = home / ".config" / "patchsmith" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def write_repo_config(repo: Path, text: str) -> Path:
    path = repo / "pyproject.toml"
    path.write_text('[project]\nname = "demo"\n\n[tool.patchsmith]\n' + text)
    return path


def load(repo: Path | None, home: Path, flags: dict | None = None, **env: str) -> Settings:
    return load_settings(repo, flags or {}, {"HOME": str(home), **env})


def config_error(repo: Path | None, home: Path, flags: dict | None = None, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(repo, home, flags, **env)
    return str(caught.value)


# -- defaults and precedence ----------------------------------------------------------------


def test_nothing_configured_gives_the_documented_defaults(repo: Path, home: Path):
    settings = load(repo, home)
    assert settings == Settings()
    assert settings.step_limit == 50
    assert settings.sandbox == "docker"
    assert settings.setup is None
    assert settings.max_context_tokens is None
    assert set(settings.sources.values()) == {"default"}
    assert list(settings.sources) == list(setting_help())


LAYERS = ("flag", "env", "repo", "user")  # highest precedence first
STEP_LIMIT_IN = {"flag": 11, "env": 22, "repo": 33, "user": 44}


@pytest.mark.parametrize(
    "present",
    [combo for size in range(5) for combo in itertools.combinations(LAYERS, size)],
    ids=lambda combo: "+".join(combo) or "none",
)
def test_the_highest_source_that_sets_a_value_wins(repo: Path, home: Path, present: tuple):
    flags, env = {}, {}
    if "flag" in present:
        flags["step_limit"] = STEP_LIMIT_IN["flag"]
    if "env" in present:
        env["PATCHSMITH_STEP_LIMIT"] = str(STEP_LIMIT_IN["env"])
    if "repo" in present:
        write_repo_config(repo, f"step_limit = {STEP_LIMIT_IN['repo']}\n")
    if "user" in present:
        write_user_config(home, f"step_limit = {STEP_LIMIT_IN['user']}\n")

    settings = load(repo, home, flags, **env)

    winner = next((layer for layer in LAYERS if layer in present), None)
    expected_source = {
        "flag": "flag --step-limit",
        "env": "env PATCHSMITH_STEP_LIMIT",
        "repo": f"{repo.resolve()}/pyproject.toml [tool.patchsmith]",
        "user": USER_LABEL,
        None: "default",
    }[winner]
    assert settings.step_limit == STEP_LIMIT_IN.get(winner, 50)
    assert settings.sources["step_limit"] == expected_source


def test_each_setting_comes_from_its_own_highest_source(repo: Path, home: Path):
    write_user_config(home, 'model = "openai/gpt-4o"\ncost_limit = 1.5\nstep_limit = 10\n')
    write_repo_config(repo, 'step_limit = 30\ntest_command = "make test"\n')

    settings = load(repo, home, {"cost_limit": 0.25}, PATCHSMITH_NETWORK="true")

    assert (settings.model, settings.sources["model"]) == ("openai/gpt-4o", USER_LABEL)
    assert settings.step_limit == 30
    assert settings.test_command == "make test"
    assert (settings.cost_limit, settings.sources["cost_limit"]) == (0.25, "flag --cost-limit")
    assert (settings.network, settings.sources["network"]) == (True, "env PATCHSMITH_NETWORK")
    assert settings.sources["memory"] == "default"


def test_without_a_repository_only_the_user_file_counts(home: Path):
    write_user_config(home, "keep_observations = 8\n")
    settings = load(None, home)
    assert settings.keep_observations == 8


def test_a_pyproject_without_a_patchsmith_table_changes_nothing(repo: Path, home: Path):
    (repo / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    assert load(repo, home) == Settings()


def test_flags_left_at_none_count_as_not_given(home: Path):
    settings = load(None, home, {"step_limit": None, "api_base": None}, PATCHSMITH_STEP_LIMIT="7")
    assert settings.step_limit == 7
    assert settings.sources["api_base"] == "default"


def test_a_false_flag_overrides_a_true_environment_variable(home: Path):
    settings = load(None, home, {"network": False}, PATCHSMITH_NETWORK="1")
    assert settings.network is False
    assert settings.sources["network"] == "flag --network"


# -- where the user config file is ------------------------------------------------------------


def test_patchsmith_config_names_the_user_file(tmp_path: Path, home: Path):
    elsewhere = tmp_path / "team.toml"
    elsewhere.write_text('image = "team-sandbox:1"\n')
    write_user_config(home, 'image = "ignored:1"\n')

    settings = load(None, home, PATCHSMITH_CONFIG=str(elsewhere))

    assert settings.image == "team-sandbox:1"
    assert settings.sources["image"] == str(elsewhere)


def test_a_missing_file_named_by_patchsmith_config_is_an_error(tmp_path: Path, home: Path):
    message = config_error(None, home, PATCHSMITH_CONFIG=str(tmp_path / "nope.toml"))
    assert "PATCHSMITH_CONFIG" in message
    assert "nope.toml" in message


def test_xdg_config_home_moves_the_user_file(tmp_path: Path, home: Path):
    path = tmp_path / "xdg" / "patchsmith" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text("pids = 64\n")
    assert load(None, home, XDG_CONFIG_HOME=str(tmp_path / "xdg")).pids == 64


# -- files: keys and types ----------------------------------------------------------------


def test_keys_in_files_may_use_dashes(repo: Path, home: Path):
    write_repo_config(repo, "step-limit = 12\nformat-error-limit = 2\n")
    settings = load(repo, home)
    assert (settings.step_limit, settings.format_error_limit) == (12, 2)


def test_a_key_written_both_ways_is_an_error(repo: Path, home: Path):
    write_repo_config(repo, "step-limit = 12\nstep_limit = 13\n")
    message = config_error(repo, home)
    assert "'step-limit'" in message
    assert "'step_limit'" in message


def test_an_unknown_key_in_the_repository_table_is_named_with_a_suggestion(repo: Path, home: Path):
    write_repo_config(repo, "step_limt = 3\n")
    message = config_error(repo, home)
    assert message.startswith(f"{repo.resolve()}/pyproject.toml [tool.patchsmith]")
    assert "unknown key 'step_limt'" in message
    assert "did you mean 'step_limit'" in message


def test_an_unknown_key_in_the_user_file_is_an_error(home: Path):
    write_user_config(home, "colour = 'blue'\n")
    message = config_error(None, home)
    assert message.startswith(USER_LABEL)
    assert "unknown key 'colour'" in message


def test_a_repository_cannot_choose_the_api_base_or_leave_the_sandbox(repo: Path, home: Path):
    write_repo_config(repo, 'api_base = "http://collector.invalid"\n')
    assert "'api_base' cannot be set by the repository" in config_error(repo, home)
    write_repo_config(repo, 'sandbox = "local"\n')
    assert "'sandbox' cannot be set by the repository" in config_error(repo, home)
    write_repo_config(repo, "")
    write_user_config(home, 'sandbox = "local"\n')
    assert load(repo, home).sandbox == "local"


def test_setup_in_a_file_is_a_list_of_commands_or_one_command(repo: Path, home: Path):
    write_repo_config(repo, 'setup = ["pip install -e .", "make"]\n')
    assert load(repo, home).setup == ("pip install -e .", "make")
    write_repo_config(repo, 'setup = "pip install -e ."\n')
    assert load(repo, home).setup == ("pip install -e .",)
    write_repo_config(repo, "setup = []\n")
    assert load(repo, home).setup == ()


def test_broken_toml_is_reported_with_its_path(repo: Path, home: Path):
    (repo / "pyproject.toml").write_text("[tool.patchsmith\nstep_limit = 1\n")
    message = config_error(repo, home)
    assert str(repo.resolve() / "pyproject.toml") in message
    assert "not valid TOML" in message


# -- environment parsing ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["true", "TRUE", "1", "yes", "on", " true "])
def test_environment_words_for_true(home: Path, text: str):
    assert load(None, home, PATCHSMITH_NETWORK=text).network is True


@pytest.mark.parametrize("text", ["false", "0", "no", "off", "False"])
def test_environment_words_for_false(home: Path, text: str):
    assert load(None, home, PATCHSMITH_NETWORK=text).network is False


def test_environment_numbers_become_numbers(home: Path):
    settings = load(
        None,
        home,
        PATCHSMITH_STEP_LIMIT="20",
        PATCHSMITH_COST_LIMIT="0.5",
        PATCHSMITH_TIME_LIMIT="600",
        PATCHSMITH_MAX_CONTEXT_TOKENS="128000",
    )
    assert settings.step_limit == 20
    assert settings.cost_limit == 0.5
    assert settings.time_limit == 600.0
    assert settings.max_context_tokens == 128000


@pytest.mark.parametrize(
    ("text", "commands"),
    [
        ('["pip install -e .", "make build"]', ("pip install -e .", "make build")),
        ("pip install -e . && make", ("pip install -e . && make",)),
        ("[]", ()),
        ("", None),
    ],
    ids=["json-list", "one-command", "empty-list-means-none", "empty-means-derive"],
)
def test_environment_setup_is_a_json_list_or_one_command(home: Path, text, commands):
    assert load(None, home, PATCHSMITH_SETUP=text).setup == commands


def test_an_empty_environment_variable_clears_an_optional_setting(home: Path):
    write_user_config(home, 'api_base = "http://localhost:8000"\ntest_command = "tox"\n')
    settings = load(None, home, PATCHSMITH_API_BASE="", PATCHSMITH_TEST_COMMAND="")
    assert (settings.api_base, settings.test_command) == (None, None)
    assert settings.sources["api_base"] == "env PATCHSMITH_API_BASE"


def test_other_patchsmith_environment_variables_are_not_settings(home: Path):
    settings = load(None, home, PATCHSMITH_CACHE_DIR="/tmp/x", PATCHSMITH_REQUIRE_DOCKER="1")
    assert settings == Settings()


# -- bad values name their source -------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "text", "expected"),
    [
        ("PATCHSMITH_NETWORK", "maybe", "true or false"),
        ("PATCHSMITH_STEP_LIMIT", "ten", "a whole number"),
        ("PATCHSMITH_STEP_LIMIT", "2.5", "a whole number"),
        ("PATCHSMITH_STEP_LIMIT", "-1", "at least 0"),
        ("PATCHSMITH_COST_LIMIT", "nan", "a number"),
        ("PATCHSMITH_CPUS", "0", "greater than 0"),
        ("PATCHSMITH_SANDBOX", "podman", 'one of "docker", "local"'),
        ("PATCHSMITH_MODE", "auto", 'one of "agent", "pipeline"'),
        ("PATCHSMITH_MEMORY", "lots", 'a size such as "4g"'),
        ("PATCHSMITH_SETUP", "[1, 2]", "a list of shell commands"),
        ("PATCHSMITH_IMAGE", "", "a non-empty string"),
    ],
)
def test_a_bad_environment_value_names_the_variable(home: Path, variable, text, expected):
    message = config_error(None, home, **{variable: text})
    assert message.startswith(f"env {variable} = ")
    assert expected in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('step_limit = "10"', 'step_limit = "10" is invalid: expected a whole number'),
        ("cost_limit = -1", "cost_limit = -1 is invalid: expected a number of at least 0"),
        ('mode = "yolo"', 'expected one of "agent", "pipeline"'),
        ("network = 1", "expected true or false"),
        ("keep_observations = 0", "expected a whole number of at least 1"),
    ],
)
def test_a_bad_value_in_the_repository_file_names_file_and_key(repo, home, line, expected):
    write_repo_config(repo, line + "\n")
    message = config_error(repo, home)
    assert message.startswith(f"{repo.resolve()}/pyproject.toml [tool.patchsmith]: ")
    assert expected in message


def test_a_bad_value_in_the_user_file_names_file_and_key(home: Path):
    write_user_config(home, 'memory = "a lot"\n')
    message = config_error(None, home)
    assert message.startswith(f'{USER_LABEL}: memory = "a lot" is invalid')


@pytest.mark.parametrize("name", ["memory", "disk_reserve"])
def test_every_size_docker_accepts_passes_and_no_other(home: Path, name: str):
    from docker.utils import parse_bytes

    for size in ["4g", "512m", "1.5 gb", "100", "2G"]:
        write_user_config(home, f'{name} = "{size}"\n')
        value = getattr(load(None, home), name)
        assert parse_bytes(value) > 0
    for size in ["4gib", "1t", "lots"]:
        write_user_config(home, f'{name} = "{size}"\n')
        assert "is invalid" in config_error(None, home)


def test_a_bad_flag_value_names_the_flag(home: Path):
    message = config_error(None, home, {"step_limit": "-3"})
    assert message == 'flag --step-limit = "-3" is invalid: expected a whole number of at least 0'


def test_a_bad_value_is_reported_even_when_a_higher_source_overrides_it(home: Path):
    write_user_config(home, "step_limit = -5\n")
    assert USER_LABEL in config_error(None, home, {"step_limit": 10})


def test_a_flag_that_is_not_a_setting_is_a_programming_error(home: Path):
    with pytest.raises(ValueError, match="no setting named 'verbose'"):
        load(None, home, {"verbose": True})


# -- the settings object --------------------------------------------------------------------


def test_settings_cannot_be_changed_once_built(home: Path):
    settings = load(None, home)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.step_limit = 1  # type: ignore[misc]


def test_sandbox_and_toolset_configs_carry_the_settings(home: Path):
    settings = load(
        None,
        home,
        {"sandbox": "local", "memory": "512m", "command_timeout": 30},
        PATCHSMITH_TEST_COMMAND="make check",
        PATCHSMITH_NETWORK="yes",
    )
    sandbox = settings.sandbox_config()
    assert (sandbox.backend, sandbox.memory, sandbox.network) == ("local", "512m", True)
    assert sandbox.command_timeout == 30.0
    assert sandbox.setup is None  # none given anywhere: derive it from the repository
    tools = settings.toolset_config()
    assert (tools.test_command, tools.command_timeout) == ("make check", 30.0)


def test_setup_commands_reach_the_sandbox(home: Path):
    settings = load(None, home, PATCHSMITH_SETUP='["pip install -e .", "make"]')
    assert settings.sandbox_config().setup == ("pip install -e .", "make")
    assert load(None, home, PATCHSMITH_SETUP="[]").sandbox_config().setup == ()


def test_every_setting_has_one_line_of_help():
    for name, text in setting_help().items():
        assert text and "\n" not in text, name


# -- `agent config` through its typer app -----------------------------------------------------


def invoke(home: Path, *args: str, **env: str):
    isolated = {"HOME": str(home), "PATCHSMITH_CONFIG": None, "XDG_CONFIG_HOME": None}
    for name in Settings().sources:  # the developer's own PATCHSMITH_* must not leak in
        isolated[f"PATCHSMITH_{name.upper()}"] = None
    return CliRunner().invoke(config_cmd.app, list(args), env={**isolated, "COLUMNS": "200", **env})


def test_config_show_json_reports_values_and_sources(repo: Path, home: Path):
    write_repo_config(repo, "step_limit = 30\n")
    result = invoke(home, "show", "--repo", str(repo), "--json", PATCHSMITH_SETUP='["make"]')
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["settings"]["step_limit"] == 30
    assert shown["settings"]["setup"] == ["make"]
    assert shown["sources"]["step_limit"].endswith("pyproject.toml [tool.patchsmith]")
    assert shown["sources"]["setup"] == "env PATCHSMITH_SETUP"
    assert shown["sources"]["model"] == "default"


def test_config_show_prints_a_table_of_settings_values_and_sources(repo: Path, home: Path):
    write_user_config(home, 'model = "openai/gpt-4o"\n')
    result = invoke(home, "show", "--repo", str(repo))
    assert result.exit_code == 0, result.output
    model_line = next(line for line in result.stdout.splitlines() if line.startswith("model"))
    assert "openai/gpt-4o" in model_line
    assert USER_LABEL in model_line
    for name in setting_help():
        assert name in result.stdout


def test_config_show_explains_a_bad_value_and_exits_2(repo: Path, home: Path):
    write_repo_config(repo, "step_limt = 3\n")
    result = invoke(home, "show", "--repo", str(repo))
    assert result.exit_code == 2
    assert "[tool.patchsmith]: unknown key 'step_limt'" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


def test_config_show_rejects_a_repository_that_does_not_exist(tmp_path: Path, home: Path):
    result = invoke(home, "show", "--repo", str(tmp_path / "missing"))
    assert result.exit_code == 2


def test_config_path_lists_the_files_consulted(repo: Path, home: Path):
    write_repo_config(repo, "")
    result = invoke(home, "path", "--repo", str(repo), PATCHSMITH_STEP_LIMIT="5")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{USER_LABEL}  not there"
    assert lines[1] == f"{repo.resolve()}/pyproject.toml [tool.patchsmith]  found"
    assert "PATCHSMITH_STEP_LIMIT" in lines[2]
