"""scripts/setup in a fresh clone: it makes the virtual environment and the install, and the
second run is quick and installs nothing (the stamp matches pyproject.toml)."""

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_setup(clone: Path, venv: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "PATCHSMITH_VENV": str(venv)}
    # Keep the machine's pip settings (its local wheel directory, certificates).
    env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_") or k == "HOME"})
    return subprocess.run(
        [str(clone / "scripts" / "setup")], env=env, capture_output=True, text=True, timeout=900
    )


def test_setup_in_a_fresh_clone_installs_once_then_is_quick(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    venv = tmp_path / "venv"

    first = run_setup(clone, venv)
    assert first.returncode == 0, first.stderr
    assert "installing patchsmith" in first.stderr
    version = subprocess.run(
        [str(venv / "bin" / "agent"), "--help"], capture_output=True, text=True
    )
    assert version.returncode == 0 and "sandbox" in version.stdout

    second = run_setup(clone, venv)
    assert second.returncode == 0, second.stderr
    # Quick means it did nothing: no install, no image build, nothing said.
    assert second.stderr == ""

    # A changed dependency list means a new install.
    (clone / "pyproject.toml").write_text((clone / "pyproject.toml").read_text() + "\n")
    third = run_setup(clone, venv)
    assert third.returncode == 0, third.stderr
    assert "installing patchsmith" in third.stderr
