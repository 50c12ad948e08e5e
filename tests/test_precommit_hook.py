"""`agent precommit` as a hook: driven by the real `pre-commit` tool, by git's own hook and by
hand, on throwaway repositories; fixes by a scripted model in real sandboxes."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import IMAGE, make_repo, require_backend

pytest.importorskip("pre_commit", reason="pre-commit is in the test extra")

import patchsmith

AGENT = [sys.executable, "-m", "patchsmith.cli"]
CALC = '''def add(a, b):
    return a + b


def mul(a, b):
    """Multiply."""
    return a * b


def neg(a):
    return -a


VERSION = "1.0"
'''
BROKEN = CALC.replace("return a + b", "return a - b")
TEST_CALC = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FIX_SCRIPT = [
    {
        "text": "The staged add() subtracts; fix the operator.",
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
        "cost": 0.0123,
    },
    {"tool_calls": [{"name": "submit", "arguments": {"summary": "fix add"}}]},
]


def environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATCHSMITH_", "GIT_"))}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"),  # no user config of patchsmith
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "PATCHSMITH_SETUP": "[]",
            "PATCHSMITH_IMAGE": IMAGE,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
    )
    return env


def hook_config(*args: str) -> str:
    entry = " ".join(shlex.quote(part) for part in [*AGENT, "precommit"])
    hook = {
        "id": "patchsmith",
        "name": "patchsmith",
        "entry": entry,
        "language": "system",
        "args": list(args),
        "pass_filenames": True,
        "require_serial": True,
    }
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]})


def project(tmp_path: Path, *hook_args: str) -> Path:
    return make_repo(
        tmp_path / "project",
        {
            "calc.py": CALC,
            "tests/test_calc.py": TEST_CALC,
            "notes.txt": "notes\n",
            ".pre-commit-config.yaml": hook_config(*hook_args),
        },
    )


def script(tmp_path: Path, turns: list) -> str:
    path = tmp_path / "model.yaml"
    path.write_text(yaml.safe_dump(turns))
    return f"scripted:{path}"


def run(repo: Path, tmp_path: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=repo, capture_output=True, text=True, env=environment(tmp_path), timeout=300
    )


def pre_commit(repo: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run(repo, tmp_path, sys.executable, "-m", "pre_commit", *args)


def agent(repo: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return run(repo, tmp_path, *AGENT, "precommit", *args)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    return done.stdout


def stage(repo: Path, name: str, text: str) -> None:
    (repo / name).write_text(text)
    git(repo, "add", name)


def test_a_clean_commit_passes_through_git_commit_with_no_model_call(tmp_path):
    # Any model call would fail: the script does not exist.
    repo = project(tmp_path, "--fix", "--model", f"scripted:{tmp_path / 'absent.yaml'}")
    assert pre_commit(repo, tmp_path, "install").returncode == 0
    stage(repo, "calc.py", CALC.replace('"1.0"', '"1.1"'))
    stage(repo, "notes.txt", "more notes\n")

    done = run(repo, tmp_path, "git", "commit", "-q", "-m", "bump")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "patchsmith" in done.stdout + done.stderr and "Passed" in done.stdout + done.stderr
    assert git(repo, "log", "--format=%s").split() == ["bump", "init"]
    assert not (repo / ".git" / "patchsmith").exists()  # no fix was attempted


def test_a_staged_syntax_error_fails_with_the_file_and_line_and_unstaged_work_survives(tmp_path):
    repo = project(tmp_path)
    stage(repo, "calc.py", CALC.replace("def neg(a):", "def neg(a)"))
    mine = CALC.replace('"1.0"', '"2.0"')
    (repo / "calc.py").write_text(mine)  # an unstaged edit that parses: pre-commit stashes it

    done = pre_commit(repo, tmp_path, "run")
    out = done.stdout
    assert done.returncode == 1, out
    assert "syntax: 1 of 1 file does not parse" in out
    assert "calc.py:10:" in out and "def neg(a)" in out
    assert (repo / "calc.py").read_text() == mine
    assert "def neg(a)\n" in git(repo, "show", ":calc.py")


def test_a_staged_change_that_breaks_a_related_test_fails_and_names_the_test(tmp_path):
    repo = project(tmp_path)
    stage(repo, "calc.py", BROKEN)

    done = pre_commit(repo, tmp_path, "run")
    assert done.returncode == 1, done.stdout
    assert "tests: 1 related test file: 1 failing" in done.stdout
    assert "tests/test_calc.py::test_add  failed: assert -1 == 5" in done.stdout
    assert "related: tests/test_calc.py (calc.py)" in done.stdout
    assert "agent precommit --fix" in done.stdout


def test_fix_under_pre_commit_lands_in_the_working_tree_and_keeps_unstaged_edits(tmp_path):
    repo = project(tmp_path, "--fix", "--sandbox", "local", "--model", script(tmp_path, FIX_SCRIPT))
    stage(repo, "calc.py", BROKEN)
    (repo / "calc.py").write_text(BROKEN.replace('"1.0"', '"2.0"'))  # unstaged, same file

    done = pre_commit(repo, tmp_path, "run")
    out = done.stdout
    assert done.returncode == 1, out
    assert "fix: submitted in 2 step(s), $0.0123" in out
    assert "+    return a + b" in out  # the diff is shown
    assert "The fix is in your working tree (calc.py)" in out
    assert (repo / "calc.py").read_text() == CALC.replace('"1.0"', '"2.0"')
    assert git(repo, "show", ":calc.py") == BROKEN  # not staged: the user reviews it
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == "MM calc.py\n"


def test_fix_by_hand_merges_into_a_file_with_unstaged_edits(tmp_path):
    repo = project(tmp_path)
    stage(repo, "calc.py", BROKEN)
    (repo / "calc.py").write_text(BROKEN.replace("return -a", "return 0 - a"))

    done = agent(repo, tmp_path, "--fix", "--sandbox", "local", "-m", script(tmp_path, FIX_SCRIPT))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "The fix is in your working tree" in done.stdout
    assert (repo / "calc.py").read_text() == CALC.replace("return -a", "return 0 - a")
    assert git(repo, "show", ":calc.py") == BROKEN


def test_a_fix_that_collides_with_unstaged_edits_leaves_the_tree_alone_and_saves_the_patch(
    tmp_path,
):
    repo = project(tmp_path)
    stage(repo, "calc.py", BROKEN)
    mine = BROKEN.replace("return a - b", "return a - b  # checked by hand")
    (repo / "calc.py").write_text(mine)

    done = agent(repo, tmp_path, "--fix", "--sandbox", "local", "-m", script(tmp_path, FIX_SCRIPT))
    assert done.returncode == 1
    assert "could not be merged with your unstaged changes" in done.stdout
    assert "calc.py: the fix overlaps your unstaged changes" in done.stdout
    assert (repo / "calc.py").read_text() == mine
    patch = Path(done.stdout.split("Its patch is in ")[1].split(".diff")[0] + ".diff")
    assert patch.is_file() and "+    return a + b" in patch.read_text()
    assert str(patch).startswith(str(repo / ".git"))  # not an untracked file in the tree


def test_a_fix_outside_the_staged_files_is_refused(tmp_path):
    repo = project(tmp_path)
    stage(repo, "calc.py", BROKEN)
    edit_test = [
        {
            "tool_calls": [
                {
                    "name": "edit",
                    "arguments": {
                        "command": "str_replace",
                        "path": "tests/test_calc.py",
                        "old_str": "== 5",
                        "new_str": "== -1",
                    },
                }
            ]
        },
        {"tool_calls": [{"name": "submit", "arguments": {}}]},
    ]
    model = script(tmp_path, edit_test)

    done = agent(repo, tmp_path, "--fix", "--sandbox", "local", "-m", model)
    assert done.returncode == 1
    assert "The fix edits files that are not staged (tests/test_calc.py)" in done.stdout
    assert (repo / "tests/test_calc.py").read_text() == TEST_CALC

    allowed = agent(
        repo, tmp_path, "--fix", "--sandbox", "local", "-m", model, "--allow-other-files"
    )
    assert "The fix is in your working tree (tests/test_calc.py)" in allowed.stdout
    assert "== -1" in (repo / "tests/test_calc.py").read_text()


def test_the_fix_budget_comes_from_pyproject_and_an_unfinished_fix_is_not_applied(tmp_path):
    repo = project(tmp_path)
    stage(repo, "pyproject.toml", "[tool.patchsmith.precommit]\nfix_step_limit = 1\n")
    stage(repo, "calc.py", BROKEN)

    done = agent(repo, tmp_path, "--fix", "--sandbox", "local", "-m", script(tmp_path, FIX_SCRIPT))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "at most 1 step," in done.stdout
    assert "fix: step_limit in 1 step(s)" in done.stdout
    assert "The agent did not finish (step_limit)" in done.stdout
    assert (repo / "calc.py").read_text() == BROKEN


def test_fix_in_the_docker_sandbox_under_pre_commit(tmp_path):
    require_backend("docker")
    repo = project(
        tmp_path, "--fix", "--sandbox", "docker", "--model", script(tmp_path, FIX_SCRIPT)
    )
    stage(repo, "calc.py", BROKEN)

    done = pre_commit(repo, tmp_path, "run")
    assert done.returncode == 1, done.stdout
    assert "The fix is in your working tree (calc.py)" in done.stdout
    assert (repo / "calc.py").read_text() == CALC
    assert git(repo, "show", ":calc.py") == BROKEN
    assert "files were modified by this hook" in done.stdout


def broken_at_head(tmp_path: Path, *extra: tuple[str, str]) -> Path:
    """A project whose HEAD already fails test_add (add subtracts) and test_mul (mul adds)."""
    files = {
        "calc.py": BROKEN.replace("return a * b", "return a + b"),
        "tests/test_calc.py": TEST_CALC
        + "\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
        + "\n\ndef test_neg():\n    assert neg(2) == -2\n",
        ".pre-commit-config.yaml": hook_config(),
        **dict(extra),
    }
    files["tests/test_calc.py"] = files["tests/test_calc.py"].replace(
        "import add", "import add, mul, neg"
    )
    return make_repo(tmp_path / "project", files)


def test_a_correct_fix_commits_though_a_related_test_already_failed_at_head(tmp_path):
    repo = broken_at_head(tmp_path)
    assert pre_commit(repo, tmp_path, "install").returncode == 0
    stage(repo, "calc.py", BROKEN)  # fixes mul; add still subtracts, as at HEAD

    # pre-commit shows a passing hook's output only with --verbose.
    shown = pre_commit(repo, tmp_path, "run", "--verbose")
    out = shown.stdout
    assert shown.returncode == 0, out
    assert "1 related test file: 1 already failing at HEAD" in out
    assert "already failing at HEAD, not caused by the staged change: not blocking" in out
    assert "tests/test_calc.py::test_add  failed: assert -1 == 5" in out
    assert "test_mul" not in out  # fixed by the change: not reported

    done = run(repo, tmp_path, "git", "commit", "-q", "-m", "fix mul")
    assert done.returncode == 0, done.stdout + done.stderr
    assert git(repo, "log", "--format=%s").split() == ["fix", "mul", "init"]


def test_a_new_failure_still_blocks_beside_one_that_was_already_there(tmp_path):
    repo = broken_at_head(tmp_path)
    stage(repo, "calc.py", BROKEN.replace("return -a", "return a"))  # fixes mul, breaks neg

    done = agent(repo, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "tests: 1 related test file: 1 failing (and 1 already failing at HEAD)" in done.stdout
    assert "tests/test_calc.py::test_neg  failed: assert 2 == -2" in done.stdout
    assert "already failing at HEAD" in done.stdout and "test_add" in done.stdout


def test_strict_blocks_on_tests_that_already_failed_at_head(tmp_path):
    strict = ("pyproject.toml", "[tool.patchsmith.precommit]\nstrict = true\n")
    repo = broken_at_head(tmp_path, strict)
    stage(repo, "calc.py", BROKEN)

    done = agent(repo, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 of them fail at HEAD too (strict: they block)" in done.stdout
    assert "failing at HEAD too, and blocking (strict = true)" in done.stdout
    assert "tests/test_calc.py::test_add  failed: assert -1 == 5" in done.stdout


def test_fix_needs_a_model(tmp_path):
    repo = project(tmp_path)
    stage(repo, "calc.py", BROKEN)
    done = agent(repo, tmp_path, "--fix")
    assert done.returncode == 2
    assert "--fix needs a model" in done.stderr


def test_review_fails_on_findings_at_or_above_the_severity(tmp_path):
    repo = project(tmp_path)
    stage(repo, "calc.py", CALC.replace("return -a", "return -a if a else None"))
    reply = (
        '```json\n[{"severity": "high", "file": "calc.py", "line": 11, '
        '"message": "neg(0) returns None"}]\n```'
    )
    model = script(tmp_path, [reply])

    blocked = agent(repo, tmp_path, "--review", "-m", model)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert "review: 1 finding(s), 1 at high or worse" in blocked.stdout
    assert "high calc.py:11  neg(0) returns None" in blocked.stdout

    passed = agent(repo, tmp_path, "--review", "--severity", "critical", "-m", model)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "1 finding(s), 0 at critical or worse" in passed.stdout


def test_git_own_hook_checks_what_commit_a_is_about_to_commit(tmp_path):
    repo = project(tmp_path)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexec " + " ".join(map(shlex.quote, [*AGENT, "precommit"])) + "\n")
    hook.chmod(0o755)
    (repo / "calc.py").write_text(CALC.replace("def neg(a):", "def neg(a"))  # not staged

    refused = run(repo, tmp_path, "git", "commit", "-a", "-m", "broken")
    assert refused.returncode != 0
    assert "calc.py:10:" in refused.stderr  # git shows its hooks' output there
    assert git(repo, "log", "--format=%s").split() == ["init"]

    (repo / "calc.py").write_text(CALC.replace('"1.0"', '"1.1"'))
    accepted = run(repo, tmp_path, "git", "commit", "-a", "-m", "bump")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert git(repo, "log", "--format=%s").split() == ["bump", "init"]


def hook_source(tmp_path: Path) -> Path:
    """This project's source as pre-commit would fetch it: a repository with one commit of
    every file the checkout has (committed or not)."""
    here = Path(patchsmith.__file__).parent
    top = subprocess.run(
        ["git", "-C", str(here), "rev-parse", "--show-toplevel"], capture_output=True, text=True
    )
    if top.returncode != 0:
        pytest.skip("patchsmith is not running from a git checkout")
    source = Path(top.stdout.strip())
    listed = git(source, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    snapshot = tmp_path / "hook-source"
    for name in filter(None, listed.split("\0")):
        if (source / name).is_file():
            (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / name, snapshot / name)
    return make_repo(snapshot, {})


def offline_dependencies(tmp_path: Path) -> Path:
    """The installed dependencies, minus the build tools and patchsmith itself, so pre-commit's
    `pip install .` finds everything it needs without an index."""
    import typer

    site = Path(typer.__file__).resolve().parent.parent
    deps = tmp_path / "deps"
    deps.mkdir()
    skip = ("setuptools", "pkg_resources", "_distutils_hack", "pip", "patchsmith", "__editable__")
    for entry in site.iterdir():
        if not entry.name.startswith(skip) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    return deps


def test_try_repo_installs_the_published_hook_and_it_fails_a_syntax_error(tmp_path):
    source = hook_source(tmp_path)
    repo = project(tmp_path)
    stage(repo, "calc.py", CALC.replace("def neg(a):", "def neg(a)"))
    env = environment(tmp_path)
    # pre-commit builds a virtualenv and pip-installs the hook repository into it; offline,
    # the dependencies come from this environment and the build uses virtualenv's setuptools.
    env.update(
        PIP_NO_INDEX="1",
        PIP_NO_BUILD_ISOLATION="0",  # pip reads "0" here as: do not isolate the build
        PYTHONPATH=str(offline_dependencies(tmp_path)),
    )
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(source), "patchsmith-check"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "patchsmith check" in done.stdout and "Failed" in done.stdout
    assert "calc.py:10:" in done.stdout
