"""A candidate is valid only by tests that ran: the verdict rules on their own, then `agent
solve --mode pipeline` through the real CLI and Docker sandbox on a repository whose tests
cannot run (its conftest imports a package the sandbox lacks) and on one whose tests do."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import IMAGE
from test_pipeline_e2e import CORRECT, CORRECT_RESTYLED, ISSUE, LOCALIZE, REPRODUCTION, make_shop

from patchsmith.agent.pipeline.verdict import INVALID, UNVERIFIED, VALID, TestRun, judge

AGENT = [sys.executable, "-m", "patchsmith.cli"]


def report(passed: int = 0, failures: tuple[str, ...] = (), exit_code: int | None = None):
    """A pytest run whose junit report was read."""
    code = exit_code if exit_code is not None else (1 if failures else 0)
    ran = passed + len(failures)
    return TestRun(code, set(failures), ran=ran, passed_tests=passed, per_test=True)


NO_REPORT = TestRun(4)  # pytest stopped before any test: a conftest import failed


def test_a_run_that_executed_no_test_leaves_the_candidate_unverified_whatever_its_exit_code():
    verdict = judge(NO_REPORT, NO_REPORT)
    assert verdict.status == UNVERIFIED
    assert "no regression test ran (exit code 4)" in verdict.reason
    # Exit code 0 with nothing executed (every test skipped) proves nothing either.
    assert judge(report(), TestRun(0, ran=0, per_test=True)).status == UNVERIFIED
    assert judge(None, None).status == UNVERIFIED


def test_tests_that_all_error_in_setup_before_and_after_leave_it_unverified():
    # A conftest fixture imports the missing package: every test errors, nothing passes.
    errors = report(failures=("t.py::test_a", "t.py::test_b"))
    verdict = judge(errors, errors)
    assert verdict.status == UNVERIFIED
    assert "no regression test passes, on the base either" in verdict.reason


def test_tests_that_ran_and_passed_make_it_valid_and_old_failures_do_not_count_against_it():
    before = report(passed=2, failures=("t.py::test_old_bug",))
    after = report(passed=2, failures=("t.py::test_old_bug",))
    verdict = judge(before, after)
    assert verdict.status == VALID
    assert verdict.reason == "2 regression tests pass (1 failed on the base too)"


def test_a_test_that_passed_on_the_base_and_fails_now_makes_it_invalid():
    before = report(passed=3)
    after = report(passed=2, failures=("t.py::test_total",))
    verdict = judge(before, after)
    assert (verdict.status, verdict.stage) == (INVALID, "regression")
    assert "t.py::test_total" in verdict.reason
    # Tests that ran on the base and cannot run with the change: broken too.
    assert judge(before, NO_REPORT).status == INVALID


def test_the_reproduction_test_alone_can_validate_or_reject():
    passes = TestRun(0, ran=1, passed_tests=1)
    fails = TestRun(1, {"repro"}, ran=1)
    assert judge(NO_REPORT, NO_REPORT, passes).status == VALID
    assert judge(None, None, fails).stage == "reproduction"


def test_counts_without_test_names_compare_whole_runs():
    whole_pass = TestRun(0, ran=5, passed_tests=5)
    whole_fail = TestRun(1, ran=5, passed_tests=4)
    assert judge(whole_pass, whole_pass).status == VALID
    assert judge(whole_pass, whole_fail).status == INVALID
    assert judge(whole_fail, whole_fail).status == UNVERIFIED


def solve(
    tmp_path: Path, repo: Path, replies: list[str]
) -> tuple[subprocess.CompletedProcess, Path]:
    script = tmp_path / "model.yaml"
    script.write_text(yaml.safe_dump(replies))
    runs = tmp_path / "runs"
    args = ["solve", "--text", ISSUE, "--repo", str(repo), "--mode", "pipeline"]
    args += ["--candidates", str(len(replies) - len(LOCALIZE) - 1)]
    args += ["--model", f"scripted:{script}", "--sandbox", "docker", "--setup", "true"]
    args += ["--output", str(runs)]
    env = {**os.environ, "PATCHSMITH_IMAGE": IMAGE, "COLUMNS": "80"}
    done = subprocess.run([*AGENT, *args], capture_output=True, text=True, env=env, timeout=600)
    (run_dir,) = runs.iterdir()
    return done, run_dir


def artifact(run_dir: Path, name: str) -> dict:
    return json.loads((run_dir / name).read_text())["result"]


def test_when_the_tests_cannot_run_every_candidate_and_the_patch_are_unverified(tmp_path):
    shop = make_shop(tmp_path / "shop")
    # The sandbox lacks the package the conftest imports: pytest stops before any test.
    (shop / "conftest.py").write_text("import a_package_the_sandbox_lacks\n")
    subprocess.run(["git", "-C", str(shop), "add", "conftest.py"], check=True)
    git = ["git", "-C", str(shop), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "commit", "-qm", "conftest"], check=True)

    done, run_dir = solve(tmp_path, shop, [*LOCALIZE, REPRODUCTION, CORRECT, CORRECT_RESTYLED])

    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    validated = artifact(run_dir, "03_validate.json")
    assert validated["baseline"]["run"]["ran"] == 0
    assert validated["baseline"]["reproduction"] == "does not run (exit code 4): not used"
    assert [c["verdict"] for c in validated["candidates"]] == [UNVERIFIED, UNVERIFIED]
    assert not any(c["valid"] for c in validated["candidates"])
    assert artifact(run_dir, "04_select.json")["verdict"] == UNVERIFIED
    trajectory = json.loads((run_dir / "trajectory.json").read_text())
    assert (trajectory["status"], trajectory["verdict"]) == ("submitted", UNVERIFIED)
    assert trajectory["message"].startswith("unverified, candidate 0 chosen")
    shown = [a["observation"] for s in trajectory["steps"] for a in s["actions"]]
    assert any("candidate 0: unverified (no test checked it" in text for text in shown)
    assert "+    return price - price * percent / 100" in trajectory["diff"]
    assert "candidate 0: unverified" in out
    assert re.search(r"patch +unverified \(no test could check it\)", out)
    assert "validated" not in out and ": valid (" not in out
    assert "2 of 2 candidates valid" not in out


def test_when_the_tests_run_the_chosen_patch_is_validated(tmp_path):
    shop = make_shop(tmp_path / "shop")

    done, run_dir = solve(tmp_path, shop, [*LOCALIZE, REPRODUCTION, CORRECT])

    assert done.returncode == 0, done.stdout + done.stderr
    (checked,) = artifact(run_dir, "03_validate.json")["candidates"]
    assert checked["verdict"] == VALID
    # test_half_price failed on the base; with the fix all three pass.
    assert checked["reason"] == "3 regression tests pass; the reproduction test passes"
    trajectory = json.loads((run_dir / "trajectory.json").read_text())
    assert trajectory["verdict"] == VALID
    assert re.search(r"patch +validated by tests", done.stdout)
