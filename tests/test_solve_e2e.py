"""`agent solve`, `show`, `replay` and `demo` end to end: real CLI, loop, tools and sandboxes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import IMAGE, require_backend, runs_command

AGENT = [sys.executable, "-m", "patchsmith.cli"]
FIX_SCRIPT = [
    {"text": "Find add.", "tool_calls": [{"name": "search", "arguments": {"pattern": "def add"}}]},
    {"text": "Read it.", "tool_calls": [{"name": "show", "arguments": {"symbol": "add"}}]},
    {
        "text": "Fix the operator.",
        "tool_calls": [
            {
                "name": "edit",
                "arguments": {
                    "command": "str_replace",
                    "path": "calc.py",
                    "old_str": "return a - b",
                    "new_str": "return a + b",
                },
            }
        ],
    },
    {"text": "Test.", "tool_calls": [{"name": "run_tests", "arguments": {}}]},
    {"text": "Done.", "tool_calls": [{"name": "submit", "arguments": {"summary": "fix add"}}]},
]


def agent_env() -> dict[str, str]:
    # The host's python3 may lack pytest (for the local sandbox); this interpreter has it.
    return {
        **os.environ,
        "PATCHSMITH_IMAGE": IMAGE,
        "PATCHSMITH_TEST_COMMAND": f"{sys.executable} -m pytest",
    }


def agent(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*AGENT, *args], capture_output=True, text=True, env=agent_env())


@pytest.fixture(params=["docker", "local"])
def backend(request) -> str:
    require_backend(request.param)
    return request.param


def write_script(path: Path, script: list) -> Path:
    path.write_text(yaml.safe_dump(script))
    return path


def solve_args(tmp_path: Path, repo: Path, backend: str, script: list) -> list[str]:
    script_path = write_script(tmp_path / "script.yaml", script)
    args = ["solve", "--text", "add() subtracts instead of adding", "--repo", str(repo)]
    args += ["--model", f"scripted:{script_path}", "--sandbox", backend]
    args += ["--output", str(tmp_path / "runs"), "--setup", "true"]
    return args


def only_run_dir(tmp_path: Path) -> Path:
    (run_dir,) = (tmp_path / "runs").iterdir()
    return run_dir


def test_solve_fixes_a_real_bug_and_replay_reproduces_the_diff(tmp_path, repo, backend):
    result = agent(*solve_args(tmp_path, repo, backend, FIX_SCRIPT))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "submitted" in result.stdout

    run_dir = only_run_dir(tmp_path)
    patch = (run_dir / "patch.diff").read_text()
    assert "+    return a + b" in patch
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a - b\n"  # untouched

    # The patch really fixes the failing test.
    check = tmp_path / "check"
    subprocess.run(["git", "clone", "-q", str(repo), str(check)], check=True)
    subprocess.run(["git", "-C", str(check), "apply", str(run_dir / "patch.diff")], check=True)
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", str(check)], cwd=check)
    assert tests.returncode == 0

    trajectory = json.loads((run_dir / "trajectory.json").read_text())
    assert trajectory["status"] == "submitted"
    assert [s["actions"][0]["tool"] for s in trajectory["steps"]] == [
        "search",
        "show",
        "edit",
        "run_tests",
        "submit",
    ]

    shown = agent("show", str(run_dir))
    assert shown.returncode == 0 and "run_tests" in shown.stdout and "submitted" in shown.stdout

    replayed = agent("replay", str(run_dir / "trajectory.json"), "--output", str(tmp_path / "re"))
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "identical" in replayed.stdout


def test_apply_puts_the_patch_on_a_new_branch_and_refuses_a_dirty_tree(tmp_path, repo):
    (repo / "calc.py").write_text("uncommitted\n")
    refused = agent(*solve_args(tmp_path, repo, "local", FIX_SCRIPT), "--apply")
    assert refused.returncode == 2 and "uncommitted" in refused.stderr
    assert (repo / "calc.py").read_text() == "uncommitted\n"

    subprocess.run(["git", "-C", str(repo), "checkout", "--", "calc.py"], check=True)
    applied = agent(*solve_args(tmp_path, repo, "local", FIX_SCRIPT), "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    branch = subprocess.run(
        ["git", "-C", str(repo), "branch", "--show-current"], capture_output=True, text=True
    ).stdout.strip()
    assert branch.startswith("patchsmith/")
    assert "a + b" in (repo / "calc.py").read_text()


def test_a_run_that_does_not_submit_exits_non_zero(tmp_path, repo):
    script = [
        {"tool_calls": [{"name": "bash", "arguments": {"command": f"echo {i}"}}]} for i in range(5)
    ]
    result = agent(*solve_args(tmp_path, repo, "local", script), "--step-limit", "2")
    assert result.returncode == 1
    assert "step_limit" in result.stdout


def test_ctrl_c_leaves_a_trajectory_and_no_container(tmp_path, repo):
    require_backend("docker")
    script = [{"tool_calls": [{"name": "bash", "arguments": {"command": "sleep 120"}}]}]
    args = solve_args(tmp_path, repo, "docker", script)
    proc = subprocess.Popen(
        [*AGENT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=agent_env()
    )
    import docker

    client = docker.from_env()
    owned = {"label": f"patchsmith.owner-pid={proc.pid}"}
    deadline = time.monotonic() + 60
    while not client.containers.list(filters=owned, sparse=True) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.containers.list(filters=owned, sparse=True), "the sandbox never started"
    time.sleep(2)  # let the step start its command
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode == 130
    assert client.containers.list(all=True, filters=owned) == []
    trajectory = json.loads((only_run_dir(tmp_path) / "trajectory.json").read_text())
    assert trajectory["status"] == "interrupted"


def test_ctrl_c_during_setup_leaves_no_container_and_no_half_made_environment(tmp_path, repo):
    require_backend("docker")
    import docker

    marker = f"sleep 6{time.time_ns() % 1000:03d}"  # a setup no earlier run has cached
    script = [{"tool_calls": [{"name": "submit", "arguments": {"summary": "x"}}]}]
    args = [*solve_args(tmp_path, repo, "docker", script)[:-2], "--setup", marker]
    proc = subprocess.Popen(
        [*AGENT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=agent_env()
    )
    client = docker.from_env()
    owned = {"label": f"patchsmith.owner-pid={proc.pid}"}
    deadline = time.monotonic() + 60
    while not runs_command(client, proc.pid, marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert runs_command(client, proc.pid, marker), "setup never started"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode == 130
    assert client.containers.list(all=True, filters=owned) == []
    images = client.images.list(filters={"label": "patchsmith.env.key"})
    assert not [i for i in images if marker in i.labels.get("patchsmith.env.setup", "")]
    assert (
        subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain"], capture_output=True, text=True
        ).stdout
        == ""
    )


def test_solve_without_a_model_explains_what_to_do(tmp_path, repo):
    result = agent("solve", "--text", "x", "--repo", str(repo))
    assert result.returncode == 2 and "--model" in result.stderr


def test_the_offline_demo_prints_the_patch(tmp_path):
    require_backend("docker")
    result = agent("demo", "--output", str(tmp_path / "runs"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "+    return separator.join(word for word in words if word)" in result.stdout
