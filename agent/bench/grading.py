"""Grading one evaluated prediction by SWE-bench's rules: pure functions over a status map.

- a FAIL_TO_PASS test is met when it PASSED or XFAILed;
- a PASS_TO_PASS test is met when it PASSED, XFAILed or was SKIPPED;
- a test the log does not mention is not met;
- resolved only when every test of both sets is met, and the test command's exit code is
  explained: a non-zero exit with no failure in the log (a crash part-way) is not resolved.
"""

from __future__ import annotations

from dataclasses import dataclass

from .logparse import FAILURES, PASSED, SKIPPED, XFAIL, StatusMap, canonical_name

FAIL_TO_PASS_MET = frozenset({PASSED, XFAIL})
PASS_TO_PASS_MET = frozenset({PASSED, XFAIL, SKIPPED})
MISSING = "MISSING"  # the outcome of a test the log does not report


@dataclass(frozen=True)
class Grade:
    resolved: bool
    fail_to_pass: dict[str, str]  # each FAIL_TO_PASS test and its status (or MISSING)
    pass_to_pass: dict[str, str]
    reason: str  # why it is not resolved; "" when it is


def status_of(statuses: StatusMap, test: str) -> str:
    """The status the log gives `test`, or MISSING. Django's two spellings of a test id
    (before and after Python 3.11) find each other."""
    found = statuses.get(test) or statuses.get(canonical_name(test))
    return found or MISSING


def outcomes(tests: list[str], statuses: StatusMap) -> dict[str, str]:
    return {test: status_of(statuses, test) for test in tests}


def unmet(tests: dict[str, str], met: frozenset[str]) -> list[str]:
    return [test for test, status in tests.items() if status not in met]


def reports_failure(statuses: StatusMap) -> bool:
    """Whether the log reports any failing test at all (in or out of the graded sets)."""
    return any(status in FAILURES for status in statuses.values())


def grade(
    fail_to_pass: list[str],
    pass_to_pass: list[str],
    statuses: StatusMap,
    exit_code: int | None = 0,
) -> Grade:
    """Resolved or not, with every graded test's outcome and the reason when not."""
    f2p, p2p = outcomes(fail_to_pass, statuses), outcomes(pass_to_pass, statuses)
    reasons = []
    for label, tests, met in (
        ("FAIL_TO_PASS", f2p, FAIL_TO_PASS_MET),
        ("PASS_TO_PASS", p2p, PASS_TO_PASS_MET),
    ):
        missed = unmet(tests, met)
        if missed:
            shown = ", ".join(f"{test} ({tests[test]})" for test in missed[:3])
            more = f" and {len(missed) - 3} more" if len(missed) > 3 else ""
            reasons.append(f"{len(missed)} of {len(tests)} {label} not met: {shown}{more}")
    if exit_code not in (0, None) and not reports_failure(statuses):
        reasons.append(
            f"the test command exited with code {exit_code} without reporting a failing test "
            "(it may have crashed part-way)"
        )
    return Grade(not reasons, f2p, p2p, "; ".join(reasons))
