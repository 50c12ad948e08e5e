"""A candidate patch's verdict from the test runs around it: valid, invalid or unverified.

The one place that decides it (validation here, parallel attempts later). Only tests that
ran count: a run that gave no report, collected nothing or errored before any test passed
says nothing either way, whatever its exit code. A candidate is

- invalid when a test that passed on the base commit fails with it (or the run now times
  out, or gives no report where it gave one), or when a reproduction test that failed on
  the base still fails with it;
- valid when a run with it executed tests and at least one passed, with no such failure
  (tests that failed on the base too do not count against it);
- unverified otherwise: no test could run, so nothing was checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VALID, INVALID, UNVERIFIED = "valid", "invalid", "unverified"


@dataclass
class TestRun:
    """What one test run showed: how many tests it executed, which failed."""

    __test__ = False  # not a test class, whatever pytest makes of its name

    exit_code: int | None
    failures: set[str] = field(default_factory=set)
    ran: int = 0  # tests executed: passed, failed or errored (skipped ones are not)
    passed_tests: int = 0
    per_test: bool = False  # a per-test report was read, so `failures` is complete
    timed_out: bool = False

    @classmethod
    def from_observation(cls, observation: Any) -> TestRun:
        """From the `run_tests` tool's answer (its counts come from the runner's report)."""
        data = observation.data
        counts = data.get("counts") or {}
        return cls(
            exit_code=data.get("exit_code"),
            failures={f["test"] for f in data.get("failures", [])},
            ran=sum(counts.get(k, 0) for k in ("passed", "failed", "error")),
            passed_tests=counts.get("passed", 0),
            per_test=bool(data.get("report")),
            timed_out=bool(data.get("timed_out")),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestRun:
        return cls(**{**data, "failures": set(data.get("failures", []))})

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "failures": sorted(self.failures)}

    @property
    def passed(self) -> bool:
        """Tests ran, and all of them passed."""
        return self.exit_code == 0 and not self.timed_out and self.passed_tests > 0

    def describe(self) -> str:
        if self.timed_out:
            return "timed out"
        if self.ran == 0:
            return f"no test ran (exit code {self.exit_code})"
        failing = self.ran - self.passed_tests
        return f"{self.passed_tests} passed" + (f", {failing} failed" if failing else "")


@dataclass
class Verdict:
    status: str  # VALID, INVALID or UNVERIFIED
    reason: str
    stage: str | None = None  # where an invalid candidate failed: "regression", "reproduction"

    @property
    def valid(self) -> bool:
        return self.status == VALID


def verdict_of(checked: dict[str, Any]) -> str:
    """A checked candidate's verdict (artifacts of earlier versions have only `valid`)."""
    return checked.get("verdict") or (VALID if checked.get("valid") else INVALID)


def judge(
    before: TestRun | None,
    after: TestRun | None,
    reproduction: TestRun | None = None,
) -> Verdict:
    """The verdict on a candidate that applied cleanly. `before`/`after`: the existing tests
    about the changed files on the base commit and with the candidate (None: there are
    none). `reproduction`: the reproduction test with the candidate, when it reproduced the
    issue on the base (None: no usable reproduction test)."""
    confirmed: list[str] = []
    unchecked: list[str] = []
    if after is None:
        unchecked.append("no existing test covers the changed files")
    else:
        found = _regression(before or TestRun(None), after)
        if found.broken:
            return Verdict(INVALID, found.broken, "regression")
        (confirmed if found.confirms else unchecked).append(found.note)
    if reproduction is not None:
        if not reproduction.passed:
            return Verdict(INVALID, "the reproduction test still fails", "reproduction")
        confirmed.append("the reproduction test passes")
    else:
        unchecked.append("no reproduction test that fails on the base")
    if confirmed:
        return Verdict(VALID, "; ".join(confirmed))
    return Verdict(UNVERIFIED, "no test checked it: " + "; ".join(unchecked))


@dataclass
class _Finding:
    broken: str = ""  # why the candidate breaks the tests ("": it does not)
    confirms: bool = False  # tests ran with it and passed
    note: str = ""


def _regression(before: TestRun, after: TestRun) -> _Finding:
    if after.timed_out:
        if before.timed_out:
            return _Finding(note="the regression tests time out, on the base too")
        return _Finding("the regression tests time out with the change")
    if after.ran == 0:
        if before.passed_tests:
            return _Finding(f"the regression tests no longer run (exit code {after.exit_code})")
        return _Finding(note=f"no regression test ran (exit code {after.exit_code})")
    if after.per_test:
        if before.per_test:
            new = sorted(after.failures - before.failures)
            if new:
                return _Finding("tests that passed before fail now: " + ", ".join(new))
        elif after.failures:
            return _Finding(note="regression tests fail, and could not run on the base")
        if not after.passed_tests:
            return _Finding(note="no regression test passes, on the base either")
        failing = len(after.failures)
        already = f" ({failing} failed on the base too)" if failing else ""
        return _Finding(confirms=True, note=f"{after.passed_tests} regression tests pass{already}")
    # Counts without test names (another runner's summary): whole runs compare.
    if after.passed:
        return _Finding(confirms=True, note=f"{after.passed_tests} regression tests pass")
    if before.passed:
        return _Finding("the regression tests passed on the base and fail now")
    return _Finding(note="the regression tests fail, on the base too")
