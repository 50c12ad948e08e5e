"""Faults during a run: it ends with a clear status, keeps its record, and leaks nothing."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import docker
import yaml
from conftest import IMAGE, make_repo, require_backend, runs_command
from engine_proxy import EngineProxy

from patchsmith.agent.loop import Agent
from patchsmith.agent.models import ScriptedModel
from patchsmith.agent.trajectory import Trajectory
from patchsmith.sandbox import SandboxConfig, open_sandbox
from patchsmith.sandbox.docker import OWNER_LABEL
from patchsmith.tools.registry import Toolset

AGENT = [sys.executable, "-m", "patchsmith.cli"]


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


def test_the_engine_going_away_mid_run_ends_with_sandbox_error_and_prune_cleans_up(tmp_path):
    require_backend("docker")
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    before = {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()}
    proxy = EngineProxy(str(tmp_path / "engine.sock")).start()
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump([bash("echo one > b.py"), bash("sleep 60"), bash("true")]))
    env = {**os.environ, "DOCKER_HOST": proxy.url, "PATCHSMITH_IMAGE": IMAGE}
    args = ["solve", "--text", "x", "--repo", str(repo), "--model", f"scripted:{script}"]
    args += ["--output", str(tmp_path / "runs"), "--setup", "true"]
    solve = subprocess.Popen(
        [*AGENT, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    engine = docker.from_env()
    try:
        deadline = time.monotonic() + 60
        while not runs_command(engine, solve.pid, "sleep 60") and time.monotonic() < deadline:
            time.sleep(0.2)
        proxy.cut()  # mid-command: the model's `sleep 60` is running
        out, err = solve.communicate(timeout=120)
    finally:
        solve.kill()
    (run_dir,) = (tmp_path / "runs").iterdir()
    trajectory = json.loads((run_dir / "trajectory.json").read_text())
    assert trajectory["status"] == "sandbox_error", out + err
    assert solve.returncode != 0
    assert "agent sandbox prune" in out + err  # it says how to clean up once the engine is back
    assert {p.name: p.read_bytes() for p in repo.iterdir() if p.is_file()} == before

    left = owned_by(engine, solve.pid)
    assert left, "the container cannot have been removed while the engine was away"
    proxy.start()  # the engine is back
    prune = subprocess.run([*AGENT, "sandbox", "prune"], env=env, capture_output=True, text=True)
    assert prune.returncode == 0, prune.stdout + prune.stderr
    assert owned_by(engine, solve.pid) == []


def owned_by(engine, pid: int) -> list:
    return engine.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={pid}"})


def test_a_command_filling_the_disk_is_stopped_at_the_reserve_and_deleting_recovers(tmp_path):
    require_backend("docker")
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    with open_sandbox(repo, config=SandboxConfig(image=IMAGE)) as probe:
        free = int(probe.run("echo $(( $(stat -f -c '%a * %S' .) ))").output)
    # A reserve 300 MB below what is free now: writing 3 GB must be stopped near 300 MB.
    config = SandboxConfig(image=IMAGE, disk_reserve=str(free - 300 * 2**20))
    with open_sandbox(repo, config=config) as sandbox:
        fill = sandbox.run("head -c 3G /dev/zero > fill.bin; echo exit $?", timeout=120)
        size = int(sandbox.run("stat -c %s fill.bin").output)
        assert "exit 137" in fill.output and "disk" in fill.note, (fill.output, fill.note)
        assert size < 2 * 2**30
        assert sandbox.run("rm fill.bin && echo gone").output.strip() == "gone"
        after = sandbox.run("head -c 10M /dev/zero > small.bin && echo ok")
        assert after.output.strip() == "ok" and "disk" not in (after.note or "")
