"""Faults during a run: it ends with a clear status, keeps its record, and leaks nothing."""

from __future__ import annotations

import errno
import json
import threading
from pathlib import Path

import docker
from conftest import IMAGE, make_repo, require_backend

from patchsmith.agent.loop import Agent
from patchsmith.agent.models import ScriptedModel
from patchsmith.agent.trajectory import Trajectory
from patchsmith.sandbox import SandboxConfig, open_sandbox
from patchsmith.tools.registry import Toolset


def bash(command: str) -> dict:
    return {"tool_calls": [{"name": "bash", "arguments": {"command": command}}]}


def test_a_container_killed_mid_run_ends_with_sandbox_error_and_a_saved_trajectory(tmp_path):
    require_backend("docker")
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    path = tmp_path / "trajectory.json"
    with (
        open_sandbox(repo, config=SandboxConfig(image=IMAGE)) as sandbox,
        Toolset(sandbox) as toolset,
    ):
        container = docker.from_env().containers.get(sandbox.container.id)
        threading.Timer(1.5, container.kill).start()
        model = ScriptedModel([bash("echo one"), bash("sleep 30"), bash("echo 3")], True)
        agent = Agent(model, toolset, save=lambda t: t.save(path))
        trajectory = agent.run("x", Trajectory(issue="x", config={}))
    assert trajectory.status == "sandbox_error"
    assert json.loads(path.read_text())["status"] == "sandbox_error"
    assert docker.from_env().containers.list(all=True, filters={"id": container.id}) == []


def test_a_full_disk_stops_the_run_and_keeps_what_was_saved(tmp_path):
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    path = tmp_path / "trajectory.json"
    saves = []

    def save(trajectory: Trajectory) -> None:
        if len(saves) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        saves.append(len(trajectory.steps))
        trajectory.save(path)

    with (
        open_sandbox(repo, config=SandboxConfig(backend="local")) as sandbox,
        Toolset(sandbox) as toolset,
    ):
        model = ScriptedModel([bash(f"echo {i}") for i in range(6)], True)
        trajectory = Agent(model, toolset, save=save).run("x", Trajectory(issue="x", config={}))
    assert trajectory.status == "error" and "No space left" in trajectory.message
    assert len(trajectory.steps) == 3  # it stopped right away, not after spending more
    assert len(json.loads(Path(path).read_text())["steps"]) == 2  # the last good save
