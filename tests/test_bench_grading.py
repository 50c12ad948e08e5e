"""Grading by SWE-bench's rules, status by status, and on real logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from patchsmith.agent.bench.grading import MISSING, grade, reports_failure, status_of
from patchsmith.agent.bench.logparse import parse_log

LOGS = Path(__file__).parent / "data" / "logs"


@pytest.mark.parametrize(
    ("status", "met"),
    [
        ("PASSED", True),
        ("XFAIL", True),
        ("SKIPPED", False),
        ("FAILED", False),
        ("ERROR", False),
        ("XPASS", False),
    ],
)
def test_a_fail_to_pass_test_is_met_only_when_passed_or_xfailed(status, met):
    assert grade(["t"], [], {"t": status}).resolved is met


@pytest.mark.parametrize(
    ("status", "met"),
    [
        ("PASSED", True),
        ("XFAIL", True),
        ("SKIPPED", True),
        ("FAILED", False),
        ("ERROR", False),
        ("XPASS", False),
    ],
)
def test_a_pass_to_pass_test_is_met_when_passed_xfailed_or_skipped(status, met):
    assert grade([], ["t"], {"t": status}).resolved is met


def test_a_test_missing_from_the_log_is_not_met():
    result = grade(["f"], ["p"], {"f": "PASSED"})
    assert not result.resolved
    assert result.pass_to_pass == {"p": MISSING}
    assert result.reason == "1 of 1 PASS_TO_PASS not met: p (MISSING)"


def test_resolved_needs_both_sets_fully_met():
    statuses = {"f1": "PASSED", "f2": "PASSED", "p1": "PASSED", "p2": "FAILED"}
    result = grade(["f1", "f2"], ["p1", "p2"], statuses)
    assert not result.resolved
    assert result.fail_to_pass == {"f1": "PASSED", "f2": "PASSED"}
    assert "p2 (FAILED)" in result.reason
    assert grade(["f1", "f2"], ["p1"], statuses).resolved


def test_a_non_zero_exit_without_any_failure_in_the_log_is_not_resolved():
    statuses = {"f": "PASSED", "p": "PASSED"}
    result = grade(["f"], ["p"], statuses, exit_code=139)
    assert not result.resolved
    assert "exited with code 139 without reporting a failing test" in result.reason


def test_a_non_zero_exit_explained_by_an_ungraded_failure_still_resolves():
    # Tests outside both sets may fail (they failed before the patch too).
    statuses = {"f": "PASSED", "p": "PASSED", "unrelated": "FAILED"}
    assert grade(["f"], ["p"], statuses, exit_code=1).resolved


def test_only_failures_errors_and_unexpected_passes_explain_an_exit_code():
    assert reports_failure({"a": "ERROR"})
    assert reports_failure({"a": "XPASS"})
    assert not reports_failure({"a": "PASSED", "b": "SKIPPED", "c": "XFAIL"})


def test_a_long_list_of_unmet_tests_is_shortened_in_the_reason():
    tests = [f"t{i}" for i in range(6)]
    result = grade(tests, [], {})
    assert result.reason == (
        "6 of 6 FAIL_TO_PASS not met: t0 (MISSING), t1 (MISSING), t2 (MISSING) and 3 more"
    )


def test_django_names_of_either_python_era_find_each_other():
    assert status_of({"test_x (app.tests.T)": "PASSED"}, "test_x (app.tests.T.test_x)") == "PASSED"
    statuses = parse_log((LOGS / "django-4.2-py3.11.log").read_text(), "django")
    result = grade(
        ["test_passes (fixture_app.tests.ArithmeticTests.test_passes)"],
        [
            "test_passes (fixture_app.tests.ArithmeticTests)",
            "Regression test for #12345: the admin shows the right count.",
            "test_skipped (fixture_app.tests.ArithmeticTests)",
            "test_expected_failure (fixture_app.tests.ArithmeticTests)",
        ],
        statuses,
        exit_code=1,
    )
    assert result.resolved, result.reason


def test_grading_a_real_pytest_log():
    statuses = parse_log((LOGS / "pytest-7-rA.log").read_text(), "pytest")
    mixed = "tests/test_mixed.py::"
    resolved = grade(
        [mixed + "test_param[a b]", mixed + "test_xfails"],
        [mixed + "test_passes", mixed + "TestGroup::test_numbers[1]"],
        statuses,
        exit_code=1,
    )
    assert resolved.resolved
    unresolved = grade([mixed + "test_param[x - y]"], [], statuses, exit_code=1)
    assert unresolved.fail_to_pass == {mixed + "test_param[x - y]": "FAILED"}
    assert not unresolved.resolved


def test_grading_a_real_sympy_log():
    statuses = parse_log((LOGS / "sympy-1.12.log").read_text(), "sympy")
    assert grade(["test_passes"], ["test_skips", "test_xfails", "test_alpha"], statuses, 1).resolved
    assert not grade(["test_xpasses"], [], statuses, 1).resolved
    assert not grade([], ["test_errors"], statuses, 1).resolved
