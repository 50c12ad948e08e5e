"""Prints the containment suite's table: each risky action, what should happen, what did.

Runs the cases of tests/containment_cases.py (the same ones tests/test_containment.py
asserts) through the real loop and Docker sandbox, with canaries planted in a temporary
HOME, and prints one row per case and the totals. It asserts nothing.

    python bench/containment_report.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from containment_cases import CASES, host_world, open_case_sandbox, run_case


def verdict(outcome) -> str:
    if not outcome.contained:
        return "NOT CONTAINED (known gap)" if outcome.case.gap else "NOT CONTAINED"
    if outcome.as_expected:
        return "ok"
    return "known gap" if outcome.case.gap else "not as expected"


WIDTHS = (34, 44, 24, 60)  # the verdict, last, is never cut


def table_row(row: tuple[str, ...]) -> str:
    cells = [
        text if len(text) <= width else text[: width - 1] + "~"
        for text, width in zip(row[:-1], WIDTHS, strict=True)
    ]
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, WIDTHS, strict=True)) + (
        "  " + row[-1]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="case names to run")
    args = parser.parse_args()
    cases = [case for case in CASES if not args.only or case.name in args.only]
    rows, details = [], []
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="containment-") as root,
        host_world(Path(root)) as world,
        open_case_sandbox(world) as shared,
    ):
        for case in cases:
            try:
                outcome = run_case(case, world, shared)
            except Exception as exc:  # a report goes on; the test suite is where it fails
                rows.append((case.name, case.action, case.expected, f"error: {exc}", "error"))
                continue
            rows.append((case.name, case.action, case.expected, outcome.observed, verdict(outcome)))
            if outcome.leaks or outcome.misses:
                details.append((case.name, outcome.leaks, outcome.misses, case.gap))
    print(table_row(("case", "action", "expected", "observed", "verdict")))
    for row in rows:
        print(table_row(row))
    verdicts = [row[-1] for row in rows]
    print(
        f"\n{len(rows)} cases in {time.monotonic() - started:.0f} s: "
        f"{verdicts.count('ok')} ok, {verdicts.count('known gap')} known gaps, "
        f"{verdicts.count('not as expected')} not as expected, "
        f"{sum(v.startswith('NOT CONTAINED') for v in verdicts)} NOT CONTAINED "
        f"({verdicts.count('NOT CONTAINED (known gap)')} of them known gaps), "
        f"{verdicts.count('error')} errors"
    )
    for name, leaks, misses, gap in details:
        print(f"\n{name}:")
        for line in leaks:
            print(f"  leak: {line}")
        for line in misses:
            print(f"  miss: {line}")
        if gap:
            print(f"  known: {gap}")


if __name__ == "__main__":
    main()
