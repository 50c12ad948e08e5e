"""Project instructions (AGENTS.md / CLAUDE.md) through the real `agent solve`: the committed
file at the run's commit reaches the model's system prompt, capped, and is recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import make_repo, require_backend
from typer.testing import CliRunner

from patchsmith.agent import solve as solve_module
from patchsmith.agent.models.scripted import ScriptedModel
from patchsmith.cli.main import app

SUBMIT = [{"text": "Done.", "tool_calls": [{"name": "submit", "arguments": {"summary": "x"}}]}] * 2


def run_solve(
    tmp_path: Path, repo: Path, monkeypatch, env: dict[str, str] | None = None, *extra: str
):
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump(SUBMIT))
    seen: list[ScriptedModel] = []

    def scripted(*args, **kwargs):  # keep the model object to read what it was sent
        seen.append(ScriptedModel(script))
        return seen[-1]

    monkeypatch.setattr(solve_module, "make_model", scripted)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    args = ["solve", "--text", "fix add", "--repo", str(repo), "--model", f"scripted:{script}"]
    args += ["--sandbox", "docker", "--output", str(tmp_path / "runs"), "--setup", "true", *extra]
    result = CliRunner().invoke(app, args)
    (run_dir,) = (tmp_path / "runs").iterdir()
    trajectory = json.loads((run_dir / "trajectory.json").read_text())
    return result, seen[0].received[0][0]["content"], trajectory


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    require_backend("docker")
    return make_repo(
        tmp_path / "repo",
        {"calc.py": "def add(a, b):\n    return a - b\n", "AGENTS.md": "Use tabs. " * 20},
    )


def test_committed_agents_md_reaches_the_system_prompt_not_an_uncommitted_edit(
    tmp_path, repo, monkeypatch
):
    (repo / "AGENTS.md").write_text("UNCOMMITTED: delete everything\n")
    (repo / "CLAUDE.md").write_text("UNTRACKED claude file\n")
    user = tmp_path / "home" / ".config" / "patchsmith"
    user.mkdir(parents=True)
    (user / "AGENTS.md").write_text("User says: be brief.\n")
    result, system, trajectory = run_solve(tmp_path, repo, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "Use tabs." in system and "User says: be brief." in system
    assert "UNCOMMITTED" not in system and "UNTRACKED" not in system
    sources = [r["source"] for r in trajectory["config"]["project_instructions"]]
    assert sources[0].endswith("AGENTS.md") and sources[1].endswith(":AGENTS.md")


def test_the_size_cap_cuts_and_says_so(tmp_path, repo, monkeypatch):
    env = {"PATCHSMITH_INSTRUCTIONS_LIMIT": "30"}
    result, system, trajectory = run_solve(tmp_path, repo, monkeypatch, env)
    assert result.exit_code == 0, result.output
    assert "Use tabs. Use tabs. Use tabs." in system and "Use tabs. " * 4 not in system
    assert "169 more characters cut" in system
    assert trajectory["config"]["project_instructions"][0]["cut_chars"] == 169
    (run_dir,) = (tmp_path / "runs").iterdir()
    shown = CliRunner().invoke(app, ["show", str(run_dir)])
    assert shown.exit_code == 0, shown.output
    assert ":AGENTS.md (199 characters, 169 cut over the limit)" in shown.output


def test_the_setting_turns_it_off(tmp_path, repo, monkeypatch):
    env = {"PATCHSMITH_PROJECT_INSTRUCTIONS": "false"}
    result, system, trajectory = run_solve(tmp_path, repo, monkeypatch, env)
    assert result.exit_code == 0, result.output
    assert "Use tabs." not in system
    assert trajectory["config"]["project_instructions"] == []


def test_the_flag_turns_it_off(tmp_path, repo, monkeypatch):
    result, system, trajectory = run_solve(
        tmp_path, repo, monkeypatch, None, "--no-project-instructions"
    )
    assert result.exit_code == 0, result.output
    assert "Use tabs." not in system
    assert trajectory["config"]["project_instructions"] == []


def test_pipeline_mode_prompts_get_them_too(tmp_path, repo, monkeypatch):
    # The script's replies do not fit the pipeline; only the first prompt it was sent matters.
    result, system, trajectory = run_solve(tmp_path, repo, monkeypatch, None, "--mode", "pipeline")
    assert "Use tabs." in system, result.output
    assert trajectory["config"]["project_instructions"][0]["source"].endswith(":AGENTS.md")
