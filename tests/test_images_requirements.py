"""An environment's pip requirements read from a local mirror (a repository the test makes),
with swebench's rules for includes and dropped lines, and a missing file reported."""

import subprocess

import pytest

from agent.bench.images.requirements import RequirementsMissing, env_requirements


def _mirror(tmp_path, files):
    repo = tmp_path / "pallets" / "flask"
    repo.mkdir(parents=True)
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "x"], check=True)
    head = subprocess.run(git[:3] + ["rev-parse", "HEAD"], capture_output=True, text=True)
    return head.stdout.strip()


def test_requirements_from_mirror_follow_includes_and_drop_editables(tmp_path):
    commit = _mirror(tmp_path, {
        "requirements/dev.txt": "-r tests.txt\n# pinned\n-e .\nblinker==1.6\n",
        "requirements/tests.txt": "pytest==7.4\n.[test]\n",
    })
    row = {"repo": "pallets/flask", "environment_setup_commit": commit, "base_commit": "x"}
    spec = {"packages": "requirements.txt", "pip_packages": ["Werkzeug==2.3.7"]}
    assert env_requirements(row, spec, tmp_path) == ["pytest==7.4", "blinker==1.6",
                                                     "Werkzeug==2.3.7"]


def test_missing_requirements_file_is_reported(tmp_path):
    commit = _mirror(tmp_path, {"README": "no requirements here\n"})
    row = {"repo": "pallets/flask", "environment_setup_commit": commit, "base_commit": "x"}
    with pytest.raises(RequirementsMissing, match="requirements/dev.txt"):
        env_requirements(row, {"packages": "requirements.txt"}, tmp_path)


def test_real_flask_mirror_when_present():
    import json
    from pathlib import Path

    from swebench.harness.constants import MAP_REPO_VERSION_TO_SPECS

    mirrors, data = Path("/work/mirrors"), Path("/work/shared/data/swe-lite-env-dev.jsonl")
    if not (mirrors / "pallets" / "flask").exists() or not data.exists():
        pytest.skip("no flask mirror or dev rows on this machine")
    row = next(json.loads(l) for l in data.read_text().splitlines() if "pallets/flask" in l)
    spec = MAP_REPO_VERSION_TO_SPECS[row["repo"]][row["version"]]
    wanted = env_requirements(row, spec, mirrors)
    assert any(line.lower().startswith("pytest") for line in wanted)
