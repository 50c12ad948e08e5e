"""The hook's checks on the staged content: syntax, the lint command, the related tests.

`run_checks` returns a `Report`: one `CheckRun` per check, each with the failures found
(what, where, a short log). Nothing here calls a model, starts a sandbox or imports
litellm or docker: a clean commit costs a few git calls, a parse per staged file, and the
related tests. Only when related tests fail are those tests run again on HEAD: the ones that
fail there too were broken before the staged change and do not block it (unless `strict`).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .config import DEFAULT_TEST_COMMAND, PrecommitConfig
from .related import related_tests
from .staged import Staged, head_checkout, index_files, staged_changes, staged_checkout

LOG_LINES = 30  # of a failing command's output, shown in the report
_FAILED_TEST = re.compile(r"^(FAILED|ERROR) (\S+)(?: - (.*))?$", re.M)
_LINT_LOCATION = re.compile(
    r"^(?P<path>[^\s:][^:]*):(?P<line>\d+):(?:(?P<col>\d+):)?\s*(?P<msg>.+)$"
)


@dataclass
class Failure:
    check: str  # "syntax", "lint", "tests", "review"
    where: str  # a file and line, a test id, or a command
    message: str
    outcome: str = ""  # a named test's: "failed" or "error" (comparable with HEAD's run)


@dataclass
class CheckRun:
    name: str
    passed: bool
    summary: str  # one line for the report
    failures: list[Failure] = field(default_factory=list)
    command: str | None = None
    log: str = ""  # the end of the command's output (or the offending lines)
    seconds: float = 0.0
    already_failing: list[Failure] = field(default_factory=list)  # at HEAD too


@dataclass
class Report:
    files: list[str]  # the staged files checked
    deleted: list[str]  # staged deletions (they count for related tests)
    runs: list[CheckRun] = field(default_factory=list)
    related: dict[str, list[str]] = field(default_factory=dict)  # test -> staged files
    notes: list[str] = field(default_factory=list)  # what was not run, and why
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(run.passed for run in self.runs)

    @property
    def failures(self) -> list[Failure]:
        return [f for run in self.runs for f in run.failures]


def select_files(top: Path, given: Sequence[str] | None) -> Staged:
    """The files to check: those given (as pre-commit passes them), else everything staged.
    Given files are checked in their staged content, so only files in the index count."""
    staged = staged_changes(top)
    if given is None:
        return staged
    in_index = set(index_files(top))
    chosen = tuple(dict.fromkeys(p for p in given if p in in_index))
    return Staged(chosen, staged.deleted)


def run_checks(top: Path, config: PrecommitConfig, files: Sequence[str] | None = None) -> Report:
    """Check what is staged in the repository at `top` (`files`: only these, relative to
    the top). Unstaged changes are not seen: the checks run on an export of the index when
    the working tree differs from it."""
    started = time.monotonic()
    staged = select_files(top, files)
    report = Report(list(staged.changed), list(staged.deleted))
    if not staged.changed and not staged.deleted:
        return report
    with staged_checkout(top) as root:
        syntax = syntax_check(root, staged.changed) if config.syntax else None
        if syntax is not None:
            report.runs.append(syntax)
        if config.lint_command:
            report.runs.append(lint_check(root, config, staged.changed))
        report.related = related_tests(
            root,
            index_files(top),
            [*staged.changed, *staged.deleted],
            config.related_tests,
            config.discover_tests,
        )
        if any(run.name == "syntax" and not run.passed for run in report.runs):
            # Tests of code that does not parse only repeat the error, slowly.
            report.notes.append("tests not run: the staged files do not parse")
        else:
            tests = test_check(root, config, list(report.related), snapshot=root != top)
            if tests is not None and not tests.passed:
                compare_with_head(top, config, tests, report.notes)
            if tests is not None:
                report.runs.append(tests)
    report.seconds = time.monotonic() - started
    return report


def syntax_check(root: Path, files: Sequence[str]) -> CheckRun | None:
    """Every staged file in a language the code index reads must parse (None: no such file)."""
    from patchsmith.tools.index.languages import language_for, syntax_errors

    started = time.monotonic()
    checked, failures, shown = 0, [], []
    for path in files:
        if language_for(path) is None or (root / path).is_symlink():
            continue
        try:
            source = (root / path).read_bytes()
        except OSError:
            continue
        checked += 1
        lines = source.decode("utf-8", "replace").splitlines()
        for issue in syntax_errors(path, source) or []:
            failures.append(Failure("syntax", f"{path}:{issue.line}:{issue.column}", issue.message))
            text = lines[issue.line - 1] if issue.line <= len(lines) else ""
            prefix = f"{path}:{issue.line}: "
            shown.append(f"{prefix}{text.rstrip()}\n{' ' * (len(prefix) + issue.column - 1)}^")
    if not checked:
        return None
    broken = len({f.where.rsplit(":", 2)[0] for f in failures})
    summary = (
        f"{broken} of {checked} file{_s(checked)} do{'es' if broken == 1 else ''} not parse"
        if failures
        else f"{checked} file{_s(checked)} parse"
    )
    return CheckRun(
        "syntax",
        not failures,
        summary,
        failures,
        None,
        "\n".join(shown[:20]),
        time.monotonic() - started,
    )


def lint_check(root: Path, config: PrecommitConfig, files: Sequence[str]) -> CheckRun:
    command = _expand(config.lint_command or "", "{files}", files)
    done = _run(command, root, config.timeout)
    failures = []
    for line in done.output.splitlines():
        match = _LINT_LOCATION.match(line.strip())
        if match and match["path"] in files:
            where = f"{match['path']}:{match['line']}" + (
                f":{match['col']}" if match["col"] else ""
            )
            failures.append(Failure("lint", where, match["msg"].strip()))
    passed = done.code == 0
    if not passed and not failures:
        failures.append(Failure("lint", command, done.why()))
    summary = "passed" if passed else f"{len(failures)} problem{_s(len(failures))} ({done.why()})"
    return CheckRun(
        "lint",
        passed,
        summary,
        failures if not passed else [],
        command,
        "" if passed else _tail(done.output),
        done.seconds,
    )


def test_check(
    root: Path, config: PrecommitConfig, tests: list[str], snapshot: bool
) -> CheckRun | None:
    """The related tests (or the configured command, when it takes no `{tests}`); None when
    there is nothing to run."""
    template = config.test_command or DEFAULT_TEST_COMMAND
    if "{tests}" in template and not tests:
        return None
    if config.test_command is None:
        pytest = _pytest_command()
        if pytest is None:
            message = (
                "tests relate to the staged files, but no pytest was found to run them: install "
                "pytest, or set test_command in [tool.patchsmith.precommit]"
            )
            return CheckRun(
                "tests", False, "pytest not found", [Failure("tests", ", ".join(tests), message)]
            )
        template = template.replace("pytest", pytest, 1)
    command = _expand(template, "{tests}", tests)
    env = None
    if snapshot or config.test_command is None:
        # As `python -m pytest` would, and so that in an export of the index the staged
        # modules are imported rather than an editable install's working-tree copies.
        paths = [str(root)] + ([str(root / "src")] if (root / "src").is_dir() else [])
        env = {"PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")])}
    done = _run(command, root, config.timeout, env)
    no_tests = done.code == 5 and "pytest" in command  # pytest's "collected nothing"
    passed = done.code == 0 or no_tests
    failures = []
    if not passed:
        for kind, test, message in _FAILED_TEST.findall(done.output):
            outcome = "failed" if kind == "FAILED" else "error"
            label = "failed" if kind == "FAILED" else "error (see the log)"
            text = f"{label}: {message}" if message else label
            failures.append(Failure("tests", test, text, outcome))
        if not failures:
            failures.append(Failure("tests", command, done.why()))
    count = (
        f"{len(tests)} related test file{_s(len(tests))}" if "{tests}" in template else "the tests"
    )
    if passed:
        summary = f"{count} passed" + (" (no tests collected)" if no_tests else "")
    else:
        summary = f"{count}: {len(failures)} failing ({done.why()})"
    return CheckRun(
        "tests",
        passed,
        summary,
        failures,
        command,
        "" if passed else _tail(done.output),
        done.seconds,
    )


def compare_with_head(top: Path, config: PrecommitConfig, run: CheckRun, notes: list[str]) -> None:
    """Run the failing tests again on HEAD's files; those failing there the same way were
    broken before the staged change: they move to `run.already_failing` and stop blocking
    (with `strict`, they keep blocking). A failure that names no test cannot be compared."""
    named = [f for f in run.failures if f.outcome]
    if not named or len(named) < len(run.failures):
        notes.append("the tests failed without naming each failing test: not compared with HEAD")
        return
    with head_checkout(top) as head:
        if head is None:
            return  # no commit yet: every failure is new
        present = [f.where for f in named if (head / f.where.split("::")[0]).is_file()]
        at_head = test_check(head, config, present, snapshot=True) if present else None
    failing_at_head = {(f.where, f.outcome) for f in at_head.failures} if at_head else set()
    run.already_failing = [f for f in named if (f.where, f.outcome) in failing_at_head]
    known = len(run.already_failing)
    if not known:
        return
    if config.strict:
        run.summary += f"; {known} of them fail at HEAD too (strict: they block)"
        return
    run.failures = [f for f in named if f not in run.already_failing]
    run.passed = not run.failures
    tests = run.summary.split(": ", 1)[0]
    already = f"{known} already failing at HEAD"
    if run.passed:
        run.summary, run.log = f"{tests}: {already}", ""
    else:
        run.summary = f"{tests}: {len(run.failures)} failing (and {already})"


@dataclass
class _Done:
    code: int | None  # None: timed out
    output: str
    seconds: float
    timeout: float

    def why(self) -> str:
        if self.code is None:
            return f"timed out after {self.timeout:g} s"
        return f"exit code {self.code}"


def _run(command: str, cwd: Path, timeout: float, env: dict[str, str] | None = None) -> _Done:
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            shell=True,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
        code, output = done.returncode, done.stdout
    except subprocess.TimeoutExpired as exc:
        code, output = None, exc.stdout or b""
    return _Done(code, output.decode("utf-8", "replace"), time.monotonic() - started, timeout)


def _pytest_command() -> str | None:
    """pytest from PATH (the project's, also under pre-commit's own environment), else this
    interpreter's."""
    found = shutil.which("pytest")
    if found:
        return shlex.quote(found)
    if importlib.util.find_spec("pytest") is not None:
        return f"{shlex.quote(sys.executable)} -m pytest"
    return None


def _expand(template: str, placeholder: str, paths: Sequence[str]) -> str:
    return template.replace(placeholder, " ".join(shlex.quote(p) for p in paths))


def _tail(text: str) -> str:
    # Imported here: only a failing check needs it, and the tools are slow to import.
    from patchsmith.tools.render import tail_lines

    return tail_lines(text, LOG_LINES)


def _s(count: int) -> str:
    return "" if count == 1 else "s"
