"""The pre-commit hook's checks, in process: what is staged, which tests relate, config,
merging a fix into the working tree, reading a review."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_repo

from patchsmith.agent.config import ConfigError
from patchsmith.agent.precommit import PrecommitConfig, load_precommit_config, run_checks
from patchsmith.agent.precommit.related import module_names, related_tests
from patchsmith.agent.precommit.review import ReviewError, parse_findings
from patchsmith.agent.precommit.staged import write_tree
from patchsmith.agent.precommit.worktree import apply_to_tree, changed_paths, merge_into_worktree

PYTEST = PrecommitConfig(
    test_command=f"{sys.executable} -m pytest -q -p no:cacheprovider {{tests}}"
)


def stage(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    subprocess.run(["git", "-C", str(repo), "add", *files], check=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "project",
        {
            "calc.py": "def add(a, b):\n    return a + b\n",
            "shapes/__init__.py": "",
            "shapes/area.py": "def square(x):\n    return x * x\n",
            "tests/test_calc.py": (
                "from calc import add\n\ndef test_add():\n    assert add(2, 3) == 5\n"
            ),
            "tests/test_geometry.py": (
                "from shapes.area import square\n\ndef test_square():\n    assert square(3) == 9\n"
            ),
            "README.md": "# project\n",
        },
    )


def test_nothing_staged_runs_nothing(project):
    report = run_checks(project, PYTEST)
    assert report.passed and report.runs == [] and report.files == []


def test_a_staged_change_with_no_related_test_only_gets_a_syntax_check(project):
    stage(project, {"README.md": "# changed\n", "util.py": "X = 1\n"})
    report = run_checks(project, PYTEST)
    assert report.passed
    assert [run.name for run in report.runs] == ["syntax"]
    assert report.runs[0].summary == "1 file parse"  # README.md has no grammar


def test_syntax_is_checked_on_the_staged_content_not_the_working_tree(project):
    stage(project, {"calc.py": "def add(a, b)\n    return a + b\n"})
    (project / "calc.py").write_text("def add(a, b):\n    return a + b\n")  # fixed, unstaged
    report = run_checks(project, PYTEST)
    assert not report.passed
    (failure,) = report.failures
    assert failure.check == "syntax" and failure.where.startswith("calc.py:1:")
    assert report.notes == ["tests not run: the staged files do not parse"]

    stage(project, {"calc.py": "def add(a, b):\n    return a + b\n"})
    (project / "calc.py").write_text("def add(a, b)\n")  # broken, unstaged: not our business
    assert run_checks(project, PYTEST).passed
    assert (project / "calc.py").read_text() == "def add(a, b)\n"


def test_every_language_the_code_index_reads_is_syntax_checked(project):
    stage(
        project,
        {
            "web/app.js": "function go( {\n  return 1;\n}\n",
            "cmd/main.go": "package main\n\nfunc main() {\n",
            "web/ok.ts": "export const x: number = 1;\n",
        },
    )
    report = run_checks(project, PYTEST)
    (syntax,) = report.runs
    assert syntax.summary == "2 of 3 files do not parse"
    assert sorted({f.where.split(":")[0] for f in syntax.failures}) == ["cmd/main.go", "web/app.js"]


def test_a_change_that_breaks_an_importing_test_fails_and_names_it(project):
    stage(project, {"shapes/area.py": "def square(x):\n    return x + x\n"})
    report = run_checks(project, PYTEST)
    assert list(report.related) == ["tests/test_geometry.py"]
    tests = report.runs[-1]
    assert tests.name == "tests" and not tests.passed
    assert [f.where for f in tests.failures] == ["tests/test_geometry.py::test_square"]
    assert "assert 6 == 9" in tests.failures[0].message
    assert "tests/test_geometry.py" in tests.command


def test_related_tests_run_against_the_staged_modules_even_with_unstaged_edits(project):
    stage(project, {"calc.py": "def add(a, b):\n    return a - b\n"})
    (project / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    report = run_checks(project, PYTEST)
    assert [f.where for f in report.failures] == ["tests/test_calc.py::test_add"]


def test_a_failing_test_the_staged_change_adds_blocks_since_head_cannot_have_failed_it(project):
    # calc.add is wrong at HEAD for this new test too, but the test itself is new: HEAD
    # never ran it, so its failure is the change's.
    stage(
        project,
        {
            "tests/test_more.py": "from calc import add\n\ndef test_big():\n"
            "    assert add(2, 2) == 5\n"
        },
    )
    report = run_checks(project, PYTEST)
    tests = report.runs[-1]
    assert not tests.passed and tests.already_failing == []
    assert [f.where for f in tests.failures] == ["tests/test_more.py::test_big"]


def test_unstaged_work_and_the_index_are_untouched_by_the_run_at_head(project):
    (project / "calc.py").write_text("def add(a, b):\n    return a + b + 0\n")  # unstaged
    stage(
        project,
        {
            "tests/test_calc.py": "from calc import add\n\ndef test_add():\n"
            "    assert add(2, 3) == 6\n"
        },
    )  # a wrong test, staged
    before = subprocess.run(
        ["git", "-C", str(project), "status", "--porcelain"], capture_output=True, text=True
    ).stdout
    report = run_checks(project, PYTEST)
    assert not report.passed
    after = subprocess.run(
        ["git", "-C", str(project), "status", "--porcelain"], capture_output=True, text=True
    ).stdout
    assert after == before
    assert (project / "calc.py").read_text() == "def add(a, b):\n    return a + b + 0\n"


def test_tests_relate_by_import_name_package_conftest_and_config(tmp_path):
    files = {
        "src/app/__init__.py": "",
        "src/app/core.py": "",
        "src/app/helpers.py": "",
        "tests/__init__.py": "",
        "tests/conftest.py": "",
        "tests/test_core.py": "import os\n",  # named after core.py
        "tests/test_uses.py": "from app import helpers\n",
        "tests/test_deep.py": "import app.core.sub\n",
        "tests/test_relative.py": "from .support import thing\n",
        "tests/support.py": "",
        "tests/test_unrelated.py": "import json\n",
        "tests/test_broken.py": "from app.helpers import (\n    x,\n)\ndef oops(:\n",
        "docs/guide.md": "",
    }
    (tmp_path / "tests").mkdir()
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    paths = list(files)

    def related(changed, **kwargs):
        return related_tests(tmp_path, paths, changed, **kwargs)

    assert set(related(["src/app/helpers.py"])) == {"tests/test_uses.py", "tests/test_broken.py"}
    assert set(related(["src/app/core.py"])) == {"tests/test_core.py", "tests/test_deep.py"}
    # app/__init__ runs for every import of app.*
    assert set(related(["src/app/__init__.py"])) == {
        "tests/test_uses.py",
        "tests/test_deep.py",
        "tests/test_broken.py",
    }
    assert set(related(["tests/support.py"])) == {"tests/test_relative.py"}
    assert len(related(["tests/conftest.py"])) == 6  # every test file below it
    assert related(["tests/test_unrelated.py"]) == {
        "tests/test_unrelated.py": ["tests/test_unrelated.py"]
    }
    assert related(["docs/guide.md"], configured={"docs/*": ["tests/test_docs.py"]}) == {
        "tests/test_docs.py": ["docs/guide.md"]
    }
    assert related(["src/app/core.py"], discover=False) == {}


def test_module_names_follow_package_roots():
    assert module_names("src/app/core.py", {"src/app"}) == {"src.app.core", "app.core"}
    assert module_names("calc.py", set()) == {"calc"}
    assert module_names("scripts/tool.py", set()) == {"scripts.tool", "tool"}


def test_configured_commands_lint_the_staged_files_and_a_plain_test_command_always_runs(project):
    stage(project, {"notes.py": "x = 1  # TODO remove\n"})
    config = PrecommitConfig(
        lint_command="grep -n -H TODO {files}; test $? -eq 1",
        test_command="echo suite ran; exit 3",
    )
    report = run_checks(project, config)
    lint, tests = report.runs[1], report.runs[2]
    assert (lint.name, lint.passed) == ("lint", False)
    assert [(f.where, f.message) for f in lint.failures] == [("notes.py:1", "x = 1  # TODO remove")]
    assert (tests.name, tests.passed, tests.command) == ("tests", False, "echo suite ran; exit 3")
    assert "suite ran" in tests.log and "exit code 3" in tests.summary


def test_files_given_by_pre_commit_limit_the_check_to_them(project):
    stage(project, {"a.py": "def broken(:\n", "b.py": "ok = True\n"})
    assert run_checks(project, PYTEST, files=["b.py"]).passed
    assert not run_checks(project, PYTEST, files=["a.py", "b.py"]).passed


def test_config_comes_from_pyproject_and_patchsmith_toml_which_wins(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.patchsmith.precommit]\n"
        'test-command = "make test"\n'
        "fix_step_limit = 5\n"
        'related_tests = {"docs/*" = "tests/test_docs.py"}\n'
    )
    (tmp_path / ".patchsmith.toml").write_text('[precommit]\ntest_command = "tox -q {tests}"\n')
    config = load_precommit_config(tmp_path)
    assert config.test_command == "tox -q {tests}"
    assert config.fix_step_limit == 5
    assert config.related_tests == {"docs/*": ("tests/test_docs.py",)}
    assert len(config.sources) == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('test_comand = "x"', "unknown key (did you mean 'test_command'?)"),
        ("fix_cost_limit = -1", "expected a number greater than 0"),
        ('review_severity = "severe"', 'expected one of "info"'),
        ("syntax = 1", "expected true or false"),
        ('strict = "yes"', "expected true or false"),
    ],
)
def test_bad_config_is_named_with_what_is_expected(tmp_path, line, message):
    (tmp_path / ".patchsmith.toml").write_text(f"[precommit]\n{line}\n")
    with pytest.raises(ConfigError) as error:
        load_precommit_config(tmp_path)
    assert ".patchsmith.toml [precommit]" in str(error.value)
    assert message in str(error.value)


def fixed_tree(repo: Path, edits: dict[str, str | None]) -> tuple[str, str, list[str]]:
    """The staged tree, and the tree of a fix making `edits` (None deletes) to it."""
    base = write_tree(repo)
    scratch = repo.parent / "scratch"
    subprocess.run(["git", "clone", "-q", str(repo), str(scratch)], check=True)
    subprocess.run(["git", "-C", str(scratch), "read-tree", base], check=True)
    subprocess.run(["git", "-C", str(scratch), "checkout-index", "-a", "-f"], check=True)
    for name, text in edits.items():
        if text is None:
            (scratch / name).unlink()
        else:
            (scratch / name).write_text(text)
    subprocess.run(["git", "-C", str(scratch), "add", "-A"], check=True)
    diff = subprocess.run(
        ["git", "-C", str(scratch), "diff", "--cached", "--binary", base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fixed = apply_to_tree(repo, base, diff)
    return base, fixed, changed_paths(repo, base, fixed)


def test_a_fix_merges_with_unstaged_edits_and_creates_and_deletes_files(project):
    stage(project, {"calc.py": "def add(a, b):\n    return a - b\n\n\n\n\nVERSION = 1\n"})
    (project / "calc.py").write_text("def add(a, b):\n    return a - b\n\n\n\n\nVERSION = 2\n")
    base, fixed, paths = fixed_tree(
        project,
        {
            "calc.py": "def add(a, b):\n    return a + b\n\n\n\n\nVERSION = 1\n",
            "new.py": "N = 1\n",
            "README.md": None,
        },
    )
    assert sorted(paths) == ["README.md", "calc.py", "new.py"]
    merge = merge_into_worktree(project, base, fixed, paths)
    assert merge.conflicts == [] and sorted(merge.written) == sorted(paths)
    assert (project / "calc.py").read_text() == (
        "def add(a, b):\n    return a + b\n\n\n\n\nVERSION = 2\n"
    )
    assert (project / "new.py").read_text() == "N = 1\n"
    assert not (project / "README.md").exists()
    staged = subprocess.run(
        ["git", "-C", str(project), "show", ":calc.py"], capture_output=True, text=True
    ).stdout
    assert "a - b" in staged  # the fix is not staged


def test_a_fix_that_overlaps_unstaged_edits_writes_nothing(project):
    stage(project, {"calc.py": "def add(a, b):\n    return a - b\n"})
    mine = "def add(a, b):\n    return b - a  # mine\n"
    (project / "calc.py").write_text(mine)
    base, fixed, paths = fixed_tree(
        project, {"calc.py": "def add(a, b):\n    return a + b\n", "new.py": "N = 1\n"}
    )
    merge = merge_into_worktree(project, base, fixed, paths)
    assert merge.written == []
    assert merge.conflicts == ["calc.py: the fix overlaps your unstaged changes"]
    assert (project / "calc.py").read_text() == mine
    assert not (project / "new.py").exists()


def test_review_findings_are_read_from_json_in_the_reply():
    text = (
        "Here you go:\n```json\n"
        '[{"severity": "low", "file": "a.py", "line": 3, "message": "typo"},\n'
        ' {"severity": "HIGH", "file": "b.py", "line": null, "message": "crash on empty"},\n'
        ' {"severity": "dire", "file": "c.py", "message": "odd"}]\n```'
    )
    findings = parse_findings(text)
    assert [(f.severity, f.where) for f in findings] == [
        ("high", "b.py"),
        ("medium", "c.py"),
        ("low", "a.py:3"),
    ]
    assert parse_findings("[]") == []
    with pytest.raises(ReviewError):
        parse_findings("Looks good to me!")
