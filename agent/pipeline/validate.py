"""Validate, in the sandbox: apply each candidate with the edit tool (its whitespace-tolerant
matching and syntax guard), then run the repository's tests that touch the edited code and
the reproduction test, comparing with a baseline run on the unchanged code.

A candidate whose edits do not apply or parse, or change nothing, is invalid; otherwise the
test runs decide (verdict.py): valid when tests ran and passed with no test broken, invalid
when it breaks a test or leaves the reproduced issue, unverified when no test could run.
The workspace is reset to the base commit around every candidate. Each finished check is
kept as partial progress.
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING, Any

from patchsmith.sandbox.base import BASE_REF

from .ranking import is_test
from .search_replace import Edit
from .verdict import INVALID, UNVERIFIED, VALID, TestRun, judge, verdict_of

if TYPE_CHECKING:
    from .runner import PipelineRun

REPRODUCTION = "test_patchsmith_reproduction.py"  # at the root, removed after each run
RESET_INDEX = ".git/patchsmith-reset-index"
PYTEST_TESTS_FAILED = 1  # pytest's exit code when tests ran and some failed


def validate(run: PipelineRun, repaired: dict[str, Any]) -> dict[str, Any]:
    toolset = run.workspace()
    progress = run.artifacts.load_partial("validate") or {"baseline": None, "candidates": []}
    candidates = repaired.get("candidates", [])
    reproduction = (repaired.get("reproduction") or {}).get("code", "")
    if progress["baseline"] is None:
        _reset(toolset)
        progress["baseline"] = _baseline(run, toolset, candidates, reproduction)
        base = progress["baseline"]
        tests = ", ".join(base["regression_tests"]) or "none found"
        if base["run"] is not None:
            tests += f" ({TestRun.from_dict(base['run']).describe()})"
        text = f"baseline: regression tests {tests}; reproduction test {base['reproduction']}"
        run.record("validate", {"baseline": True}, text)
        run.artifacts.save_partial("validate", progress)
    for candidate in candidates[len(progress["candidates"]) :]:
        result = _check(run, toolset, candidate, progress["baseline"], reproduction)
        progress["candidates"].append(result)
        arguments = {"candidate": candidate["index"]}
        is_error = result["verdict"] == INVALID
        run.record("validate", arguments, describe(result), is_error=is_error)
        run.artifacts.save_partial("validate", progress)
    _reset(toolset)
    return progress


def describe(result: dict[str, Any]) -> str:
    verdict = verdict_of(result)
    if verdict == INVALID:
        return f"candidate {result['index']}: rejected at {result['failed']}: {result['reason']}"
    return f"candidate {result['index']}: {verdict} ({result['reason']})"


def summarize(result: dict[str, Any]) -> str:
    checked = result.get("candidates", [])
    verdicts = [verdict_of(c) for c in checked]
    head = f"{verdicts.count(VALID)} of {len(checked)} candidates valid"
    if UNVERIFIED in verdicts:
        head += f", {verdicts.count(UNVERIFIED)} unverified (no test could check them)"
    return "\n".join([head, *(describe(c) for c in checked)])


def _baseline(
    run: PipelineRun, toolset: Any, candidates: list[dict[str, Any]], reproduction: str
) -> dict[str, Any]:
    """Which existing tests touch each edited file, how they fare on the unchanged code, and
    whether the reproduction test fails there (if it does not, it says nothing: unused)."""
    edited = sorted({e["path"] for c in candidates for e in c.get("edits", [])})
    tests_for = regression_tests(toolset.sandbox, edited, run.options.regression_files)
    every_test = sorted({t for tests in tests_for.values() for t in tests})
    before = _run_tests(run, toolset, every_test) if every_test else None
    state = "not written"
    if reproduction.strip():
        outcome = _run_reproduction(run, toolset, reproduction)
        if _reproduces(outcome):
            state = "fails before the change: used"
        elif outcome.passed:
            state = "passes before the change: not used"
        else:
            state = f"does not run (exit code {outcome.exit_code}): not used"
        _reset(toolset)
    return {
        "tests_for": tests_for,
        "regression_tests": every_test,
        "run": before.to_dict() if before is not None else None,
        "reproduction": state,
        "reproduction_used": state.endswith(": used"),
    }


def _check(
    run: PipelineRun,
    toolset: Any,
    candidate: dict[str, Any],
    baseline: dict[str, Any],
    reproduction: str,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "index": candidate["index"],
        "verdict": INVALID,
        "valid": False,
        "failed": None,
        "reason": "",
        "diff": "",
        "changed_lines": 0,
        "after": {},
    }

    def reject(stage: str, reason: str) -> dict[str, Any]:
        result.update(failed=stage, reason=reason)
        return result

    edits = [Edit.from_dict(e) for e in candidate.get("edits", []) if e["search"] != e["replace"]]
    if candidate.get("problems"):
        return reject("format", "; ".join(candidate["problems"]))
    if not edits:
        return reject("format", "the reply had no edit that changes anything")
    _reset(toolset)
    for number, edit in enumerate(edits, 1):
        observation = _apply(toolset, edit)
        if observation.is_error:
            stage = "syntax" if "syntax_errors" in observation.data else "apply"
            return reject(stage, f"edit {number} ({edit.path}): {_first_lines(observation.text)}")
    sandbox = toolset.sandbox
    diff = sandbox.diff()
    if not diff.strip():
        return reject("apply", "the edits leave the code as it was")
    changed = sandbox.changed_files()
    contents = sandbox.read_files(changed)
    result.update(
        diff=diff,
        changed_lines=changed_lines(diff),
        after={path: contents[path].decode("utf-8", "replace") for path in sorted(contents)},
    )

    tests = sorted({t for path in changed for t in baseline["tests_for"].get(path, [])})
    before = TestRun.from_dict(baseline["run"]) if baseline.get("run") else None
    after = _run_tests(run, toolset, tests) if tests else None
    verdict = judge(before, after)
    if verdict.status != INVALID and baseline["reproduction_used"]:
        # Only now: a candidate that breaks the tests needs no reproduction run.
        verdict = judge(before, after, _run_reproduction(run, toolset, reproduction))
    result.update(
        verdict=verdict.status,
        valid=verdict.valid,
        failed=verdict.stage,
        reason=verdict.reason,
        tests=after.describe() if after is not None else "none",
    )
    return result


def _apply(toolset: Any, edit: Edit) -> Any:
    if not edit.search.strip():
        arguments = {"command": "create", "path": edit.path, "file_text": edit.replace}
    else:
        arguments = {
            "command": "str_replace",
            "path": edit.path,
            "old_str": edit.search,
            "new_str": edit.replace,
        }
    return toolset.call("edit", arguments)


def _first_lines(text: str, count: int = 6) -> str:
    lines = text.strip().splitlines()
    return "\n".join(lines[:count]) + (" ..." if len(lines) > count else "")


def _reproduces(outcome: TestRun) -> bool:
    # pytest's other exit codes mean the test did not run (a collection error, nothing
    # collected); a test that cannot run says nothing about the issue.
    return outcome.exit_code == PYTEST_TESTS_FAILED and bool(outcome.failures)


def _run_tests(run: PipelineRun, toolset: Any, tests: list[str]) -> TestRun:
    arguments = {"tests": tests, "timeout": run.options.test_timeout}
    return TestRun.from_observation(toolset.call("run_tests", arguments))


def _run_reproduction(run: PipelineRun, toolset: Any, code: str) -> TestRun:
    """The reproduction test's outcome. It is a pytest file whatever the repository's own
    test command is (Django's runner, say), so it runs with pytest."""
    sandbox = toolset.sandbox
    sandbox.write_file(REPRODUCTION, code)
    command = f"{_pytest(toolset)} -q -p no:cacheprovider {REPRODUCTION}"
    try:
        done = sandbox.run(command, cwd=sandbox.root, timeout=run.options.test_timeout)
    finally:
        sandbox.run(f"rm -f {REPRODUCTION}", cwd=sandbox.root, timeout=30)
    counts = _pytest_counts(done.output[-3000:])
    failing = counts.get("failed", 0) + counts.get("error", 0)
    return TestRun(
        exit_code=done.exit_code,
        # Only a failure in the test's body shows the issue; an error is in its setup.
        failures={REPRODUCTION} if counts.get("failed") else set(),
        ran=counts.get("passed", 0) + failing,
        passed_tests=counts.get("passed", 0),
        timed_out=done.timed_out,
    )


def _pytest_counts(output: str) -> dict[str, int]:
    """The counts on pytest's closing line ("1 failed, 2 passed in 0.1s"); {} without one."""
    lines = output.strip().splitlines()
    found = re.findall(r"\b(\d+) (passed|failed|error)s?\b", lines[-1] if lines else "")
    return {word: int(number) for number, word in found}


def _pytest(toolset: Any) -> str:
    """The configured test command when it is plain pytest (it knows the interpreter),
    else pytest from the sandbox's python."""
    configured = toolset.config.test_command or ""
    if re.fullmatch(r"\S*python[\d.]*\s+-m\s+pytest|\S*pytest", configured.strip()):
        return configured.strip()
    from patchsmith.tools.run_tests import sandbox_pytest

    return sandbox_pytest(toolset.context)


def _reset(toolset: Any) -> None:
    """The workspace exactly as at the base: edits undone, files the tests made removed
    (ignored files, such as an installed package's metadata, are kept). A private index does
    it, so the repository's HEAD and index stay as they were (an image's own repository has
    history the base is not part of); kept between resets, it rewrites only changed files."""
    sandbox = toolset.sandbox
    done = sandbox.run(
        f"git read-tree --reset -u {BASE_REF} && git clean -fdq",
        cwd=sandbox.root,
        env={"GIT_INDEX_FILE": RESET_INDEX},
        timeout=300,
    )
    if done.exit_code != 0:
        from patchsmith.sandbox import SandboxError

        raise SandboxError(f"could not reset the workspace: {done.output.strip()[-300:]}")
    toolset.context.workspace_changed()


def regression_tests(sandbox: Any, edited: list[str], limit: int) -> dict[str, list[str]]:
    """For each edited source file, the repository's test files about it: named after it
    (test_mod.py, mod_test.py) or importing its module. At most `limit` in all."""
    files = sandbox.list_files()
    tests = [p for p in files if p.endswith(".py") and _test_module(p)]
    sources = sandbox.read_files(tests) if tests else {}
    found: dict[str, list[str]] = {}
    budget = limit
    for path in edited:
        if not path.endswith(".py") or is_test(path):
            continue
        stem = posixpath.splitext(posixpath.basename(path))[0]
        if stem == "__init__":
            stem = posixpath.basename(posixpath.dirname(path)) or stem
        pattern = _import_pattern(path)
        named = {f"test_{stem}.py", f"{stem}_test.py", f"tests_{stem}.py"}
        matches = [
            test
            for test in tests
            if posixpath.basename(test) in named
            or pattern.search(sources.get(test, b"").decode("utf-8", "replace"))
        ]
        found[path] = matches[: max(budget, 0)]
        budget -= len(found[path])
    return found


def _test_module(path: str) -> bool:
    name = posixpath.basename(path)
    return name.startswith("test") or name.endswith("_test.py") or name.endswith("tests.py")


def _import_pattern(path: str) -> re.Pattern[str]:
    """Imports of the module at `path` (or of it from its package), for any root among the
    path's directories (src/pkg/mod.py is imported as pkg.mod)."""
    from patchsmith.tools.index import module_name

    parts = module_name(path).split(".")
    names = [".".join(parts[i:]) for i in range(len(parts))]
    alternatives = []
    for name in names:
        dotted = re.escape(name)
        alternatives.append(rf"^\s*(?:from|import)\s+{dotted}\b")
        package, _, leaf = name.rpartition(".")
        if package:
            alternatives.append(
                rf"^\s*from\s+{re.escape(package)}\s+import\s+[^\n]*\b{re.escape(leaf)}\b"
            )
    return re.compile("|".join(alternatives), re.MULTILINE)


def changed_lines(diff: str) -> int:
    return sum(
        1 for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )
