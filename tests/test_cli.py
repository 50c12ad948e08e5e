"""The `agent` command line as a user meets it: help, version, sandbox housekeeping."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import IMAGE, require_backend

AGENT = [sys.executable, "-m", "patchsmith.cli"]
GROUPS = [
    "solve",
    "localize",
    "tool",
    "run-bench",
    "evaluate",
    "precommit",
    "show",
    "replay",
    "config",
    "sandbox",
    "version",
]


def agent(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*AGENT, *args], capture_output=True, text=True, **kwargs)


def test_help_lists_every_command_group():
    result = agent("--help")
    assert result.returncode == 0
    for group in GROUPS:
        assert group in result.stdout


def test_help_does_not_import_heavy_modules():
    probe = textwrap.dedent(
        """
        import sys
        from patchsmith.cli.main import app
        try:
            app(["--help"])
        except SystemExit:
            pass
        heavy = [m for m in sys.modules if m.split(".")[0] in
                 ("litellm", "docker", "tree_sitter", "tree_sitter_python", "git")]
        print("HEAVY", heavy, file=sys.stderr)
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert "HEAVY []" in result.stderr


def test_sandbox_help_explains_build_ls_and_prune():
    result = agent("sandbox", "--help")
    assert result.returncode == 0
    assert all(word in result.stdout for word in ("build", "ls", "prune"))


def test_version_prints_the_package_version():
    from patchsmith import __version__

    assert agent("version").stdout.startswith(f"patchsmith {__version__}")


def test_prune_removes_the_sandbox_of_a_killed_process(repo: Path):
    require_backend("docker")
    opener = textwrap.dedent(
        f"""
        import os
        from patchsmith.sandbox import open_sandbox, SandboxConfig
        sb = open_sandbox({str(repo)!r}, config=SandboxConfig(image={IMAGE!r}))
        print(sb.container.short_id, flush=True)
        os.kill(os.getpid(), 9)
        """
    )
    killed = subprocess.run([sys.executable, "-c", opener], capture_output=True, text=True)
    assert killed.returncode == -9
    short_id = killed.stdout.strip()

    listed = json.loads(agent("sandbox", "ls", "--json").stdout)
    mine = [s for s in listed if s["id"] == short_id]
    assert mine and mine[0]["orphaned"] is True

    pruned = agent("sandbox", "prune")
    assert pruned.returncode == 0 and short_id in pruned.stdout
    listed = json.loads(agent("sandbox", "ls", "--json").stdout)
    assert short_id not in [s["id"] for s in listed]


def test_missing_image_names_the_command_that_builds_it(repo: Path):
    require_backend("docker")
    from patchsmith.sandbox import SandboxConfig, SandboxError, open_sandbox

    with pytest.raises(SandboxError, match="agent sandbox build"):
        open_sandbox(repo, config=SandboxConfig(image="patchsmith-no-such-image:1"))


@pytest.mark.parametrize("backend", ["local", "docker"])
def test_tool_prints_the_observation_and_writes_back_only_when_asked(repo: Path, backend):
    require_backend(backend)
    options = ["--repo", str(repo), "--sandbox", backend, "--image", IMAGE]
    found = agent("tool", "search", "pattern=return a", *options)
    assert found.returncode == 0, found.stderr
    assert "calc.py" in found.stdout and "2: " in found.stdout

    edit = ["edit", "command=str_replace", "path=calc.py", "old_str=a - b", "new_str=a + b"]
    dry = agent("tool", *edit, *options, "--json")
    assert json.loads(dry.stdout)["is_error"] is False
    assert "a - b" in (repo / "calc.py").read_text()  # not written back

    written = agent("tool", *edit, *options, "--write-back")
    assert written.returncode == 0, written.stderr
    assert "a + b" in (repo / "calc.py").read_text()


def test_tool_with_an_unknown_tool_or_bad_argument_exits_2():
    assert agent("tool", "nosuch").returncode == 2
    assert agent("tool", "search", "no-equals-sign", "--sandbox", "local").returncode == 2


def test_tool_list_documents_every_tool():
    listed = agent("tool", "--list").stdout
    for name in (
        "search",
        "find_files",
        "symbols",
        "show",
        "references",
        "repo_map",
        "view",
        "edit",
        "run_tests",
        "bash",
        "python",
        "submit",
    ):
        assert f"### {name}" in listed


def test_an_unreachable_docker_engine_is_a_clear_error(repo: Path, tmp_path: Path):
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    result = subprocess.run(
        [*AGENT, "tool", "search", "pattern=x", "--repo", str(repo)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1
    assert "cannot reach the Docker engine" in result.stderr
    assert "Traceback" not in result.stderr


def test_prune_can_remove_derived_environment_images():
    require_backend("docker")
    import docker

    from patchsmith.sandbox.environment import KEY_LABEL

    client = docker.from_env()
    builder = client.containers.create(IMAGE, ["true"])
    try:
        builder.commit("patchsmith-env", "prune-test", conf={"Labels": {KEY_LABEL: "t"}})
    finally:
        builder.remove(force=True)
    assert (
        "would remove image patchsmith-env:prune-test"
        in agent("sandbox", "prune", "--environments", "--dry-run").stdout
    )
    assert client.images.list(filters={"reference": "patchsmith-env:prune-test"})
    assert (
        "removed image patchsmith-env:prune-test"
        in agent("sandbox", "prune", "--environments").stdout
    )
    assert not client.images.list(filters={"reference": "patchsmith-env:prune-test"})
