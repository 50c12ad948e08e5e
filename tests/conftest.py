"""Shared fixtures: throwaway git repositories and sandboxes on both backends.

Docker-backed tests use the real engine and the real sandbox image. They are skipped only
when no engine is reachable, and even then fail when PATCHSMITH_REQUIRE_DOCKER=1 (as in CI),
so a green CI run means they really ran.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from patchsmith.sandbox import SandboxConfig, open_sandbox

IMAGE = os.environ.get("PATCHSMITH_TEST_IMAGE", "patchsmith-sandbox:latest")
BACKENDS = ["local", "docker"]


def make_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository at `root` with `files` committed on one commit."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    return root


def docker_problem() -> str | None:
    """Why Docker-backed tests cannot run here, or None when they can."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:
        return f"no Docker engine: {exc}"
    try:
        client.images.get(IMAGE)
    except Exception:
        return f"sandbox image {IMAGE} missing: run `agent sandbox build --offline`"
    return None


def runs_command(client, owner_pid: int, command: str) -> bool:
    """Whether a container opened by process `owner_pid` is running `command` now. Containers
    come and go meanwhile (setup containers, sandboxes closing): one that vanishes is skipped."""
    import docker.errors

    owned = {"label": f"patchsmith.owner-pid={owner_pid}", "status": "running"}
    for container in client.containers.list(filters=owned, sparse=True):
        try:
            processes = container.top()["Processes"] or []
        except docker.errors.APIError:
            continue
        if any(command in " ".join(p) for p in processes):
            return True
    return False


def require_backend(backend: str) -> None:
    if backend != "docker":
        return
    problem = docker_problem()
    if problem is None:
        return
    if os.environ.get("PATCHSMITH_REQUIRE_DOCKER") == "1":
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "repo",
        {
            "calc.py": "def add(a, b):\n    return a - b\n",
            "test_calc.py": (
                "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
            ),
        },
    )


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    require_backend(request.param)
    return request.param


@pytest.fixture
def sandbox_config(backend: str) -> SandboxConfig:
    return SandboxConfig(backend=backend, image=IMAGE, memory="512m", pids=256)


@pytest.fixture
def sandbox(repo: Path, sandbox_config: SandboxConfig):
    with open_sandbox(repo, config=sandbox_config) as sb:
        yield sb
