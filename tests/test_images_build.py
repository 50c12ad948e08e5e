"""The offline builder through real Docker: an environment layer from a host wheelhouse and an
instance layer from a small local repository; the official activation line and the tests
then run in the image. Skipped, saying so, when the package index is unreachable."""

import subprocess
import uuid

import pytest

from agent.bench.images.docker_build import build_env_image, build_instance_image
from agent.bench.images.wheels import download_wheels

BASE = "patchsmith-base:bookworm"  # Python 3.11


def _repo(tmp_path):
    repo = tmp_path / "calc"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (repo / "tests" / "test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n")
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    return repo, subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True,
                                text=True).stdout.strip()


def test_env_and_instance_layers_build_offline_and_run_tests(tmp_path):
    wheels = tmp_path / "wheels"
    got = download_wheels(["pip", "pytest==7.4.4"], "3.11", wheels)
    if not got.ok and "connection" in (got.problem or "").lower():
        pytest.skip(f"package index unreachable: {got.problem}")
    assert got.ok, got.problem
    repo, commit = _repo(tmp_path)
    suffix = uuid.uuid4().hex[:8]
    env_tag, inst_tag = f"patchsmith-test-env:{suffix}", f"patchsmith-test-inst:{suffix}"
    try:
        build_env_image(BASE, wheels, ["pytest==7.4.4"], env_tag)
        build_instance_image(env_tag, repo, commit, "true", inst_tag)
        run = subprocess.run(
            ["docker", "run", "--rm", "--network", "none", inst_tag, "bash", "-c",
             "source /opt/miniconda3/bin/activate && conda activate testbed && cd /testbed"
             " && python -m pytest -q tests/test_calc.py"],
            capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "1 passed" in run.stdout
    finally:
        subprocess.run(["docker", "rmi", "-f", inst_tag, env_tag], capture_output=True)
