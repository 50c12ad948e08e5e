"""The `run_tests` tool: the repository's tests (or some of them) summarised, not dumped."""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .base import Observation, Tool, ToolError
from .context import ToolContext
from .render import clip_text, tail_lines

SHOWN_FAILURES = 8  # failures shown with their tracebacks; the rest are listed by name
LISTED_FAILURES = 40
TRACEBACK_LINES = 30
TAIL_LINES = 60  # of the log, when there is no report to summarise
UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ", re.M)
UNITTEST_END = re.compile(r"^(OK|FAILED)(?: \((.*)\))?\s*$", re.M)
SUMMARY_LINE = re.compile(r"^=*\s*((?:\d+ [a-z]+(?:, )?)+)(?: in ([\d.]+)s)?.*?=*$")


class RunTestsTool(Tool):
    name = "run_tests"
    description = """
Run the repository's tests in the sandbox and get a summary: counts of passed, failed,
errored and skipped tests, and each failing test with its short traceback. Run everything,
or only some tests: files, directories or pytest node ids in `tests`, and/or a `-k`
expression in `k` (other pytest options such as "-x" can be given in `tests` too). The
full log is kept in a file named in the answer; raw=true shows the log itself.

Examples:
  {}
  {"tests": ["tests/test_parser.py"]}
  {"tests": ["tests/test_parser.py::TestHeader::test_folding"], "raw": true}
  {"k": "header and not slow", "timeout": 600}
"""
    parameters: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "tests": {
                "type": "array",
                "items": {"type": "string"},
                "description": "test files, directories or node ids (default: all tests)",
            },
            "k": {"type": "string", "description": "pytest -k expression selecting tests"},
            "raw": {
                "type": "boolean",
                "description": "show the test log instead of the summary",
                "default": False,
            },
            "timeout": {
                "type": "number",
                "description": "seconds before the run is stopped (default 900)",
                "minimum": 1,
            },
        },
    }

    def run(
        self,
        ctx: ToolContext,
        tests: list[str] | None = None,
        k: str | None = None,
        raw: bool = False,
        timeout: float | None = None,
    ) -> Observation:
        base = test_command(ctx)
        pytest = "pytest" in base
        selection = [shlex.quote(t) for t in tests or [] if t.strip()]
        if k:
            if not pytest:
                raise ToolError(f"k works with pytest only; the test command is `{base}`")
            selection[:0] = ["-k", shlex.quote(k)]
        ctx.test_runs += 1
        log = f"{ctx.private_dir}/tests-{ctx.test_runs}.log"
        report = f"{ctx.private_dir}/tests-{ctx.test_runs}.xml"
        options = []
        if pytest:
            options = [
                "-q",
                "-rfE",
                "--tb=short",
                "--color=no",
                "-p no:cacheprovider",
                f"--junitxml={report}",
                "-o junit_family=xunit1",
            ]
        command = " ".join([base, *options, *selection])
        shown = " ".join([base, *selection])  # our reporting options are noise to the model
        limit = min(timeout or ctx.config.test_timeout, ctx.config.max_command_timeout)
        result = ctx.sandbox.run(
            f"{command} > {log} 2>&1; s=$?; tail -n 400 {log}; exit $s",
            cwd=ctx.sandbox.root,
            timeout=limit,
            output_limit=400_000,
        )
        ctx.workspace_changed()
        tail = result.output
        data: dict[str, Any] = {
            "command": command,
            "exit_code": result.exit_code,
            "timed_out": result.timed_out,
            "log": log,
        }
        where = f"[full log: {log} (run_tests with raw=true, or bash: tail -n 100 {log})]"
        if result.timed_out:
            progress = tail_lines(_read(ctx, log, 20_000), 15)
            return Observation.error(
                f"`{command}` timed out after {limit:g} s and was stopped. Run fewer tests "
                f"(tests/k) or give a larger timeout. The log ended with:\n{progress}\n{where}",
                **data,
            )
        if raw:
            text = clip_text(_read(ctx, log, 2_000_000), ctx.config.output_chars, "see the log")
            return Observation(f"`{command}` (exit code {result.exit_code}):\n{text}", data)
        if re.search(r"No module named pytest|pytest: command not found", tail):
            return Observation.error(
                f"pytest is not installed in the sandbox (`{command}` failed). Install it with "
                "bash (pip install pytest), or use the repository's own test runner through bash.",
                **data,
            )
        if not pytest:
            counts = unittest_counts(tail)
            if counts is not None:
                data["counts"] = counts
            body = tail_lines(tail, TAIL_LINES)
            status = "passed" if result.exit_code == 0 else f"failed (exit code {result.exit_code})"
            return Observation(f"`{command}` {status}. Last lines:\n{body}\n{where}", data)
        summary = _Report.parse(_read(ctx, report, 20_000_000))
        data.update(summary.as_data())
        return Observation(summary.render(shown, result.exit_code, tail, where), data)


def test_command(ctx: ToolContext) -> str:
    """The configured test command, or `python -m pytest` (python3 if there is no python)."""
    return ctx.config.test_command or sandbox_pytest(ctx)


def sandbox_pytest(ctx: ToolContext) -> str:
    """`python -m pytest` with the sandbox's python (python3 if there is no python)."""
    if "sandbox_pytest" not in ctx.cache:
        probe = ctx.sandbox.run(
            "command -v python >/dev/null 2>&1 && echo python || echo python3", timeout=30
        )
        python = (probe.output.strip().splitlines() or ["python3"])[-1]
        ctx.cache["sandbox_pytest"] = f"{python} -m pytest"
    return ctx.cache["sandbox_pytest"]


def unittest_counts(log: str) -> dict[str, int] | None:
    """The counts in unittest's closing lines ("Ran 7 tests in 0.2s" then "FAILED (failures=1,
    skipped=2)" or "OK"), as Django's runner also prints them; None when the log has none."""
    ran = UNITTEST_RAN.findall(log)
    ending = UNITTEST_END.findall(log)
    if not ran or not ending:
        return None
    details = dict(re.findall(r"([a-z][a-z ]*)=(\d+)", ending[-1][1]))
    failed, error = int(details.get("failures", 0)), int(details.get("errors", 0))
    skipped = int(details.get("skipped", 0)) + int(details.get("expected failures", 0))
    passed = max(int(ran[-1]) - failed - error - skipped, 0)
    return {"passed": passed, "failed": failed, "error": error, "skipped": skipped}


def _read(ctx: ToolContext, path: str, limit: int) -> str:
    result = ctx.sandbox.run(f"cat {path} 2>/dev/null", timeout=60, output_limit=limit)
    return result.output if result.exit_code == 0 else ""


@dataclass
class _Case:
    nodeid: str
    outcome: str  # passed, failed, error, skipped
    message: str = ""
    details: str = ""


@dataclass
class _Report:
    cases: list[_Case] = field(default_factory=list)
    readable: bool = False

    @classmethod
    def parse(cls, xml_text: str) -> _Report:
        if not xml_text.strip():
            return cls()
        try:
            root = ET.fromstring(xml_text)
        except ET.ParseError:
            return cls()
        cases = []
        for case in root.iter("testcase"):
            outcome, message, details = "passed", "", ""
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[
                        child.tag
                    ]
                    message = child.get("message", "")
                    details = child.text or ""
                    break
            cases.append(_Case(_nodeid(case), outcome, message, details))
        return cls(cases, readable=True)

    def counts(self) -> dict[str, int]:
        counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        for case in self.cases:
            counts[case.outcome] += 1
        return counts

    def as_data(self) -> dict[str, Any]:
        return {
            "report": self.readable,  # False: pytest wrote no report (no test ran)
            "counts": self.counts(),
            "failures": [
                {"test": c.nodeid, "outcome": c.outcome, "message": c.message, "details": c.details}
                for c in self.cases
                if c.outcome in ("failed", "error")
            ],
        }

    def render(self, command: str, exit_code: int | None, tail: str, where: str) -> str:
        summary_line = _summary_line(tail)
        if not self.readable:
            # No report: pytest stopped before writing one (bad arguments, crash).
            return (
                f"`{command}` ended with exit code {exit_code} without a test report. "
                f"Last lines:\n{tail_lines(tail, TAIL_LINES)}\n{where}"
            )
        counts = self.counts()
        if not self.cases:
            nothing = (
                f"No tests ran: `{command}` collected nothing (exit code {exit_code}). Check the "
                "test paths, node ids and the -k expression."
            )
            if exit_code != 5:
                nothing += f" Last lines:\n{tail_lines(tail, 20)}"
            return f"{nothing}\n{where}"
        shown = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
        header = f"`{command}`: {summary_line or shown} (exit code {exit_code})"
        bad = [c for c in self.cases if c.outcome in ("failed", "error")]
        if not bad:
            return f"{header}\nAll selected tests passed." if exit_code == 0 else header
        blocks = [header, ""]
        for case in bad[:SHOWN_FAILURES]:
            label = "FAILED" if case.outcome == "failed" else "ERROR"
            message = case.message.strip().split("\n")[0]
            blocks.append(f"{label} {case.nodeid}" + (f" - {message}" if message else ""))
            details = case.details.strip("\n")
            if details:
                blocks.append(_clip_traceback(details))
            blocks.append("")
        rest = bad[SHOWN_FAILURES:]
        if rest:
            blocks.append(f"{len(rest)} more failing:")
            blocks += [f"  {c.nodeid}" for c in rest[:LISTED_FAILURES]]
            if len(rest) > LISTED_FAILURES:
                blocks.append(f"  ... and {len(rest) - LISTED_FAILURES} more")
        blocks.append(where)
        return "\n".join(blocks)


def _summary_line(tail: str) -> str:
    for line in reversed(tail.strip().splitlines()[-5:]):
        found = SUMMARY_LINE.match(line.strip())
        if found and re.search(r"passed|failed|error|skipped|deselected|xfail", line):
            return found.group(1) + (f" in {found.group(2)}s" if found.group(2) else "")
    return ""


def _clip_traceback(text: str) -> str:
    lines = text.split("\n")
    if len(lines) > TRACEBACK_LINES:
        # The end (the assertion and the error) matters most; keep a little of the start.
        lines = [*lines[:5], f"[... {len(lines) - TRACEBACK_LINES} lines ...]"] + lines[
            -(TRACEBACK_LINES - 5) :
        ]
    return "\n".join("    " + line for line in lines)


def _nodeid(case: ET.Element) -> str:
    """pytest's node id back from the junit attributes (file, dotted classname, name)."""
    name = case.get("name", "")
    classname = case.get("classname", "")
    file = case.get("file", "")
    if not classname:  # a collection error: the name is the module
        return f"{name.replace('.', '/')}.py (collection)" if name else "(collection)"
    if not file:
        return f"{classname}::{name}"
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
    rest = classname[len(module) :].lstrip(".") if classname.startswith(module) else ""
    return "::".join([file, *([p for p in rest.split(".") if p]), name])
