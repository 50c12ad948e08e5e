"""Evaluating predictions end to end: a real sandbox (Docker, the real engine), a real git
repository, a real pytest run, graded by SWE-bench's rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import IMAGE, make_repo, require_backend

from patchsmith.agent.bench.dataset import Instance
from patchsmith.agent.bench.evaluate import (
    EvalResult,
    PredictionsError,
    apply_patch,
    django_label,
    evaluate_prediction,
    evaluate_predictions,
    load_predictions,
)
from patchsmith.agent.bench.evaluate import test_command as command_for
from patchsmith.sandbox import SandboxConfig, SandboxError, open_sandbox

CALC = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"
TESTS = "from calc import add, sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n"
TEST_PATCH = (
    "diff --git a/tests/test_calc.py b/tests/test_calc.py\n"
    "--- a/tests/test_calc.py\n"
    "+++ b/tests/test_calc.py\n"
    "@@ -3,3 +3,7 @@ from calc import add, sub\n"
    " \n"
    " def test_sub():\n"
    "     assert sub(5, 3) == 2\n"
    "+\n"
    "+\n"
    "+def test_add():\n"
    "+    assert add(2, 3) == 5\n"
)
FIX = (
    "diff --git a/calc.py b/calc.py\n"
    "--- a/calc.py\n"
    "+++ b/calc.py\n"
    "@@ -1,5 +1,5 @@\n"
    " def add(a, b):\n"
    "-    return a - b\n"
    "+    return a + b\n"
    " \n"
    " \n"
    " def sub(a, b):\n"
)
WRONG_FIX = FIX.replace("+    return a + b", "+    return a * b")
# Removes a line calc.py does not have: not even `patch --fuzz` (which forgives context,
# never removed lines) can apply it.
NOT_APPLYING = FIX.replace("-    return a - b", "-    return a // b")
# The fix, plus an edit of the test that would make it pass whatever the code does.
FIX_AND_WEAKEN_TEST = FIX + (
    "diff --git a/tests/test_calc.py b/tests/test_calc.py\n"
    "--- a/tests/test_calc.py\n"
    "+++ b/tests/test_calc.py\n"
    "@@ -2,4 +2,4 @@ from calc import add, sub\n"
    " \n"
    " \n"
    " def test_sub():\n"
    "-    assert sub(5, 3) == 2\n"
    "+    assert True\n"
)


def instance(repo_dir: Path, **changes) -> Instance:
    # The repository's own commit id, as in a dataset: the sandbox's copy has another
    # history, so the evaluator must find the base commit there by other means.
    head = subprocess.run(
        ["git", "-C", str(repo_dir), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    fields = dict(
        instance_id="calc__calc-1",
        repo="calc/calc",
        base_commit=head,
        problem_statement="add() subtracts",
        patch=FIX,
        test_patch=TEST_PATCH,
        fail_to_pass=["tests/test_calc.py::test_add"],
        pass_to_pass=["tests/test_calc.py::test_sub"],
        repo_path=str(repo_dir),
        log_format="pytest",
    )
    fields.update(changes)
    return Instance(**fields)


@pytest.fixture
def calc_repo(tmp_path: Path) -> Path:
    files = {"calc.py": CALC, "conftest.py": "", "tests/test_calc.py": TESTS}
    return make_repo(tmp_path / "calc", files)


# The local backend runs on this machine, where pytest is this interpreter's.
LOCAL_PYTEST = f"{sys.executable} -m pytest --no-header -rA --tb=no -p no:cacheprovider"


def local(repo_dir: Path, **changes) -> Instance:
    return instance(repo_dir, **{"test_cmd": LOCAL_PYTEST, **changes})


def opener(backend: str, **config):
    def open_for(inst: Instance):
        settings = SandboxConfig(backend=backend, image=IMAGE, memory="512m", pids=256, **config)
        return open_sandbox(inst.repo_path, inst.base_commit, settings)

    return open_for


@pytest.fixture
def docker_opener():
    require_backend("docker")
    return opener("docker")


def test_a_correct_patch_is_resolved_in_docker(calc_repo, docker_opener, tmp_path):
    result = evaluate_prediction(
        instance(calc_repo), FIX, open_sandbox_for=docker_opener, log_dir=tmp_path / "logs"
    )
    assert result.status == "resolved", result.message
    assert result.applied_with == "git apply"
    assert result.fail_to_pass == {"tests/test_calc.py::test_add": "PASSED"}
    assert result.pass_to_pass == {"tests/test_calc.py::test_sub": "PASSED"}
    assert result.test_exit_code == 0
    log = Path(result.log_path).read_text()
    assert "PASSED tests/test_calc.py::test_add" in log
    assert "status: resolved" in log


def test_a_wrong_patch_is_unresolved_and_names_the_failing_test(calc_repo, docker_opener):
    result = evaluate_prediction(instance(calc_repo), WRONG_FIX, open_sandbox_for=docker_opener)
    assert result.status == "unresolved"
    assert result.fail_to_pass == {"tests/test_calc.py::test_add": "FAILED"}
    assert result.pass_to_pass == {"tests/test_calc.py::test_sub": "PASSED"}
    assert "tests/test_calc.py::test_add (FAILED)" in result.message
    assert result.test_exit_code == 1


def test_a_patch_that_does_not_apply_is_unresolved_without_running_tests(
    calc_repo, docker_opener, tmp_path
):
    result = evaluate_prediction(
        instance(calc_repo), NOT_APPLYING, open_sandbox_for=docker_opener, log_dir=tmp_path
    )
    assert result.status == "unresolved"
    assert result.applied_with is None
    assert "does not apply" in result.message
    assert result.test_exit_code is None
    assert "the tests start" not in (tmp_path / "eval.log").read_text()


def test_an_edit_of_the_tests_in_the_patch_cannot_change_the_verdict(calc_repo, docker_opener):
    broken_sub = CALC.replace("def sub(a, b):\n    return a - b", "def sub(a, b):\n    return 0")
    files = {"calc.py": broken_sub, "conftest.py": "", "tests/test_calc.py": TESTS}
    repo = make_repo(calc_repo.parent / "other", files)
    result = evaluate_prediction(
        instance(repo), FIX_AND_WEAKEN_TEST, open_sandbox_for=docker_opener
    )
    assert result.status == "unresolved"
    assert result.pass_to_pass == {"tests/test_calc.py::test_sub": "FAILED"}


def test_an_empty_patch_is_empty_patch_and_opens_no_sandbox(calc_repo, tmp_path):
    def no_sandbox(inst):
        raise AssertionError("an empty patch must not open a sandbox")

    for patch in ("", "  \n", None):
        result = evaluate_prediction(
            instance(calc_repo), patch, open_sandbox_for=no_sandbox, log_dir=tmp_path
        )
        assert result.status == "empty_patch"
        assert result.to_dict()["status"] == "empty_patch"


def test_a_missing_test_command_is_an_error_not_unresolved(calc_repo, docker_opener):
    broken = instance(calc_repo, test_cmd="no-such-test-runner")
    result = evaluate_prediction(broken, FIX, open_sandbox_for=docker_opener)
    assert result.status == "error"
    assert result.test_exit_code == 127
    assert "could not start" in result.message
    assert "no-such-test-runner" in result.message


def test_a_sandbox_whose_setup_fails_is_an_error(calc_repo):
    require_backend("docker")
    failing_setup = opener("docker", setup=("echo cannot install >&2; exit 3",))
    result = evaluate_prediction(instance(calc_repo), FIX, open_sandbox_for=failing_setup)
    assert result.status == "error"
    assert "could not open the sandbox" in result.message
    assert "exit 3" in result.message or "exited with code 3" in result.message


def test_a_test_run_past_the_timeout_is_an_error(calc_repo):
    slow = local(calc_repo, test_cmd=f"sleep 30; {LOCAL_PYTEST}")
    result = evaluate_prediction(slow, FIX, open_sandbox_for=opener("local"), timeout=1)
    assert result.status == "error"
    assert "did not finish within 1s" in result.message


def test_a_crash_part_way_is_not_resolved(calc_repo):
    # Every graded test passes, then the runner dies: the exit code is not explained.
    crash = local(calc_repo, test_cmd=LOCAL_PYTEST + " {test_files}; exit 3")
    result = evaluate_prediction(crash, FIX, open_sandbox_for=opener("local"))
    assert result.status == "unresolved"
    assert "exited with code 3 without reporting a failing test" in result.message


def test_a_patch_with_stale_context_applies_with_fuzz_after_git_apply_refuses(calc_repo):
    stale = FIX.replace(
        "@@ -1,5 +1,5 @@\n def add(a, b):", "@@ -1,5 +1,5 @@\n def add(a, b):  # old"
    )
    result = evaluate_prediction(local(calc_repo), stale, open_sandbox_for=opener("local"))
    assert result.applied_with == "patch --fuzz"
    assert result.status == "resolved", result.message


def test_a_partly_applied_patch_is_undone_before_the_next_method(calc_repo):
    half = FIX + NOT_APPLYING.replace("calc.py", "tests/test_calc.py")
    with open_sandbox(calc_repo, config=SandboxConfig(backend="local")) as sandbox:
        sandbox.write_file(".git/patchsmith-eval/p.patch", half)

        def sh(command):
            return sandbox.run(command, cwd=sandbox.root)

        assert apply_patch(sh, ".git/patchsmith-eval/p.patch") is None
        assert sandbox.diff() == ""
        assert sandbox.changed_files() == []


def test_batch_evaluation_reads_jsonl_and_reports_unknown_instances(calc_repo, tmp_path):
    preds = tmp_path / "preds.jsonl"
    lines = [
        {"instance_id": "calc__calc-1", "model_name_or_path": "m", "model_patch": FIX},
        {"instance_id": "calc__calc-2", "model_name_or_path": "m", "model_patch": ""},
        {"instance_id": "other__thing-9", "model_name_or_path": "m", "model_patch": FIX},
    ]
    preds.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    seen: list[EvalResult] = []
    results = evaluate_predictions(
        preds,
        [local(calc_repo), local(calc_repo, instance_id="calc__calc-2")],
        workers=2,
        open_sandbox_for=opener("local"),
        log_dir=tmp_path / "logs",
        on_result=seen.append,
    )
    assert list(results) == ["calc__calc-1", "calc__calc-2", "other__thing-9"]
    assert [r.status for r in results.values()] == ["resolved", "empty_patch", "error"]
    assert results["other__thing-9"].message == "no such instance in the dataset"
    assert (tmp_path / "logs" / "calc__calc-1" / "eval.log").is_file()
    assert len(seen) == 3


def test_predictions_load_from_a_dict_keyed_by_id_and_a_json_list(tmp_path):
    keyed = tmp_path / "preds.json"
    keyed.write_text(json.dumps({"a__b-1": {"model_patch": "P1"}, "a__b-2": {"model_patch": None}}))
    assert load_predictions(keyed) == {"a__b-1": "P1", "a__b-2": ""}
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([{"instance_id": "a__b-3", "model_patch": "P3"}]))
    assert load_predictions(listed) == {"a__b-3": "P3"}
    assert load_predictions({"a__b-4": "P4"}) == {"a__b-4": "P4"}


def test_unreadable_predictions_say_what_is_wrong(tmp_path):
    bad = tmp_path / "preds.jsonl"
    bad.write_text('{"instance_id": "a", "model_patch": ""}\nnot json\n')
    with pytest.raises(PredictionsError, match=r"preds\.jsonl:2 is not JSON"):
        load_predictions(bad)
    with pytest.raises(PredictionsError, match="cannot read"):
        load_predictions(tmp_path / "missing.jsonl")
    no_id = tmp_path / "noid.json"
    no_id.write_text(json.dumps([{"model_patch": "x"}]))
    with pytest.raises(PredictionsError, match="without instance_id"):
        load_predictions(no_id)


def test_test_commands_follow_each_repository_convention(calc_repo):
    two_files = TEST_PATCH + TEST_PATCH.replace("tests/test_calc.py", "tests/data/cases.json")
    pytest_inst = instance(calc_repo, test_patch=two_files, log_format=None)
    assert command_for(pytest_inst) == (
        "pytest --no-header -rA --tb=no -p no:cacheprovider tests/test_calc.py"
    )
    django = instance(
        calc_repo,
        repo="django/django",
        log_format=None,
        test_files=["tests/admin_views/tests.py", "tests/admin_views/models.py"],
    )
    assert command_for(django) == (
        "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1 "
        "admin_views.tests admin_views.models"
    )
    sympy = instance(
        calc_repo,
        repo="sympy/sympy",
        log_format=None,
        test_files=["sympy/core/tests/test_basic.py"],
    )
    assert command_for(sympy) == "bin/test -C --verbose sympy/core/tests/test_basic.py"
    generic = instance(
        calc_repo, log_format="generic", test_cmd="bash tests/run.sh", test_files=["tests/t 1.sh"]
    )
    assert command_for(generic) == "bash tests/run.sh 'tests/t 1.sh'"
    placed = instance(
        calc_repo,
        log_format="generic",
        test_cmd="make check TESTS='{test_files}'",
        test_files=["a.c"],
    )
    assert command_for(placed) == "make check TESTS='a.c'"
    assert django_label("tests/migrations/__init__.py") == "migrations"


def test_the_generic_format_without_a_test_command_is_an_error(calc_repo):
    result = evaluate_prediction(
        instance(calc_repo, log_format="generic"), FIX, open_sandbox_for=opener("local")
    )
    assert result.status == "error"
    assert "give the instance a test_cmd" in result.message


def test_a_sandbox_error_while_opening_is_reported_without_a_traceback(calc_repo, tmp_path):
    def unreachable(inst):
        raise SandboxError("cannot reach the Docker engine")

    result = evaluate_prediction(
        instance(calc_repo), FIX, open_sandbox_for=unreachable, log_dir=tmp_path
    )
    assert result.status == "error"
    assert result.message == "could not open the sandbox: cannot reach the Docker engine"
    assert "Traceback" in (tmp_path / "eval.log").read_text()  # kept for the curious


def cli_app():
    import typer

    from patchsmith.cli.evaluate_cmd import evaluate

    app = typer.Typer()
    app.command()(evaluate)
    return app


def test_agent_evaluate_on_the_mini_benchmark_writes_results_and_a_report(tmp_path):
    from typer.testing import CliRunner

    from patchsmith.agent.bench.dataset import load_dataset

    require_backend("docker")
    gold = {i.instance_id: i.patch for i in load_dataset("mini")}
    preds = {
        "patchsmith-mini__textstats-1": gold["patchsmith-mini__textstats-1"],
        "patchsmith-mini__textstats-2": "",
        # Another repository's patch: it cannot apply here.
        "patchsmith-mini__shkit-1": gold["patchsmith-mini__textstats-1"],
    }
    path = tmp_path / "preds.json"
    path.write_text(json.dumps({k: {"instance_id": k, "model_patch": v} for k, v in preds.items()}))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli_app(),
        [str(path), "--dataset", "mini", "--workers", "2", "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "patchsmith-mini__textstats-1: resolved" in result.output
    assert "patchsmith-mini__textstats-2: empty_patch" in result.output
    assert "patchsmith-mini__shkit-1: unresolved" in result.output
    saved = json.loads((out / "evaluation.json").read_text())["instances"]
    assert {k: v["eval_status"] for k, v in saved.items()} == {
        "patchsmith-mini__textstats-1": "resolved",
        "patchsmith-mini__textstats-2": "empty_patch",
        "patchsmith-mini__shkit-1": "unresolved",
    }
    assert saved["patchsmith-mini__textstats-1"]["log"] == (
        "logs/patchsmith-mini__textstats-1/eval.log"
    )
    report = json.loads((out / "report.json").read_text())
    assert report["outcomes"]["resolved"] == 1
    assert (out / "report.html").is_file()


def test_agent_evaluate_refuses_bad_input_with_exit_code_2(tmp_path):
    from typer.testing import CliRunner

    runner = CliRunner()
    both = runner.invoke(cli_app(), [str(tmp_path / "p.json"), "--gold", "--dataset", "mini"])
    assert both.exit_code == 2
    assert "not both" in both.output
    missing = runner.invoke(cli_app(), [str(tmp_path / "p.json"), "--dataset", "mini"])
    assert missing.exit_code == 2
    assert "cannot read the predictions" in missing.output
    unknown = runner.invoke(cli_app(), ["--gold", "--dataset", "mini", "-i", "nope__nope-1"])
    assert unknown.exit_code == 2
    assert "not in the dataset: nope__nope-1" in unknown.output


def test_the_official_harness_command_line():
    from patchsmith.agent.bench.official import harness_command

    command = harness_command(
        "swe-lite", "/runs/preds.json", 4, "run-1", ["django__django-1"], 900, python="python"
    )
    assert command == [
        "python",
        "-m",
        "swebench.harness.run_evaluation",
        "--dataset_name",
        "princeton-nlp/SWE-bench_Lite",
        "--predictions_path",
        "/runs/preds.json",
        "--max_workers",
        "4",
        "--run_id",
        "run-1",
        "--instance_ids",
        "django__django-1",
        "--timeout",
        "900",
    ]
    local = harness_command("data/my.jsonl", "gold", 1, "r", split="dev", python="python")
    assert local[3:6] == ["--dataset_name", "data/my.jsonl", "--predictions_path"]
    assert local[-2:] == ["--split", "dev"]


def test_the_official_harness_report_is_read_back(tmp_path, monkeypatch):
    from patchsmith.agent.bench import official

    monkeypatch.setattr(official, "harness_installed", lambda: True)
    # A stand-in for the harness: a real process writing a report as the harness does.
    writer = (
        "import json; json.dump({'resolved_ids': ['a__b-1'], 'unresolved_ids': ['a__b-2'], "
        "'error_ids': ['a__b-3'], 'empty_patch_ids': ['a__b-4']}, open('m.r1.json', 'w'))"
    )
    statuses = official.run_harness([sys.executable, "-c", writer, "--run_id", "r1"], tmp_path)
    assert statuses == {
        "a__b-1": "resolved",
        "a__b-2": "unresolved",
        "a__b-3": "error",
        "a__b-4": "empty_patch",
    }


def test_agent_evaluate_with_the_official_harness_missing_says_how_to_get_it(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from patchsmith.agent.bench import official

    monkeypatch.setattr(official, "harness_installed", lambda: False)
    result = CliRunner().invoke(
        cli_app(),
        ["--gold", "--dataset", "mini", "--evaluator", "swebench", "-o", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert "harness is not installed" in result.output
    assert "--evaluator patchsmith" in result.output


def test_a_pytest_older_than_no_header_is_run_again_without_it(calc_repo, tmp_path):
    # A stand-in for pytest 5, which refuses --no-header with a usage error (exit 4).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pytest").write_text(
        "#!/bin/sh\n"
        'case " $* " in *" --no-header "*)\n'
        '  echo "pytest: error: unrecognized arguments: --no-header" >&2; exit 4;;\n'
        "esac\n"
        f'exec {sys.executable} -m pytest "$@"\n'
    )
    (bin_dir / "pytest").chmod(0o755)
    open_for = opener("local", env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    result = evaluate_prediction(
        instance(calc_repo), FIX, open_sandbox_for=open_for, log_dir=tmp_path / "log"
    )
    assert result.status == "resolved", result.message
    assert "predates --no-header" in (tmp_path / "log" / "eval.log").read_text()
