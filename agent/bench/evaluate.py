"""Evaluating predictions: each model patch applied in a fresh sandbox of its instance, the
instance's tests run, their log read and graded.

One evaluation, in the sandbox (see `evaluate_prediction`):
1. an empty patch is "empty_patch", without running anything;
2. the patch is written into the sandbox and applied with `git apply`, then
   `git apply --reject`, then `patch --batch --fuzz=5 -p1` (each failed attempt is undone
   before the next); a patch none of them applies is "unresolved";
3. the test files are put back as they are at the base commit, and the test patch applied;
4. the test command runs on the test files between two marker lines; the log between them
   is parsed (logparse.py) and graded (grading.py): "resolved" or "unresolved".

An official SWE-bench instance, when the `swebench` extra is installed, is evaluated the
official way instead of steps 3-4 (official_eval.py): the eval script swebench makes for it
runs in one command, and swebench's parser and rules grade its output. `evaluator` in the
result says which evaluator graded.

Whatever keeps the evaluation from telling (the sandbox does not open, the test patch does
not apply, the test command cannot start, times out, or crashes without reporting a single
test) is "error": the prediction was not judged, and evaluating it again may work.

A patch that does not apply is "unresolved", not "error": the official harness lists it
among its errors, but it is the model's patch that is at fault, not the environment, and
evaluating it again gives the same answer. Both count as not resolved.
"""

from __future__ import annotations

import json
import re
import shlex
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from patchsmith.sandbox import Sandbox, SandboxError

from ..redact import redact
from .dataset import Instance
from .grading import grade
from .logparse import between_markers, parse_log
from .official_eval import (
    BUILT_IN,
    OfficialGrade,
    OfficialSpec,
    grade_log,
    markers,
    official_spec,
    reason_not_resolved,
    tests_outcomes,
)

if TYPE_CHECKING:
    from patchsmith.agent.config import Settings
    from patchsmith.sandbox import CommandResult

EVAL_STATUSES = ("resolved", "unresolved", "error", "empty_patch")
START_MARKER = ">>>>> patchsmith: the tests start"
END_MARKER = ">>>>> patchsmith: the tests end"
# Inside .git: never part of the diff, never collected by a test runner.
WORK_DIR = ".git/patchsmith-eval"
OUTPUT_LIMIT = 1 << 27  # keep whole test logs: an elided middle would lose results
STEP_TIMEOUT = 600.0  # seconds for each git/patch command
LOG_NAME = "eval.log"
TEST_OUTPUT_NAME = "test_output.txt"  # the official script's whole output, as graded

PYTEST = "pytest --no-header -rA --tb=no -p no:cacheprovider"
DJANGO = "./tests/runtests.py --verbosity 2 --settings=test_sqlite --parallel 1"
SYMPY = "bin/test -C --verbose"
REPO_LOG_FORMATS = {"django/django": "django", "sympy/sympy": "sympy"}
PYTHON_FORMATS = ("pytest", "django", "sympy")
TEST_FILES_PLACEHOLDER = "{test_files}"

SandboxOpener = Callable[[Instance], AbstractContextManager[Sandbox]]


@dataclass
class EvalResult:
    instance_id: str
    status: str  # one of EVAL_STATUSES
    fail_to_pass: dict[str, str] = field(default_factory=dict)  # test -> status or MISSING
    pass_to_pass: dict[str, str] = field(default_factory=dict)
    applied_with: str | None = None  # "git apply", "git apply --reject" or "patch --fuzz"
    test_exit_code: int | None = None
    log_path: str | None = None
    message: str = ""  # why it is not resolved, or what went wrong
    seconds: float = 0.0
    script_seconds: float | None = None  # of which the official eval script's run
    evaluator: str = BUILT_IN  # which evaluator graded: built-in, or swebench's official script

    @property
    def resolved(self) -> bool:
        return self.status == "resolved"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


class PredictionsError(ValueError):
    """A predictions file cannot be read; the message says why."""


# -- what to run -------------------------------------------------------------------------


def log_format_for(instance: Instance) -> str:
    """The instance's own log format, else its repository's convention (pytest by default)."""
    return instance.log_format or REPO_LOG_FORMATS.get(instance.repo, "pytest")


def test_files_for(instance: Instance) -> list[str]:
    return list(instance.test_files)  # filled from the test patch when the dataset has none


def test_command(instance: Instance) -> str:
    """The shell command that runs the instance's tests: its `test_cmd`, else its
    repository's convention, with the test files appended (or put where `{test_files}`
    stands). Python runners get only the .py files; Django gets dotted module names."""
    log_format = log_format_for(instance)
    files = test_files_for(instance)
    if log_format in PYTHON_FORMATS:
        files = [f for f in files if f.endswith(".py")]
    if log_format == "django":
        files = [django_label(f) for f in files]
    command = instance.test_cmd
    if not command:
        if log_format == "generic":
            raise ValueError(
                f"{instance.instance_id}: the generic log format has no conventional test "
                "command: give the instance a test_cmd"
            )
        command = {"pytest": PYTEST, "django": DJANGO, "sympy": SYMPY}[log_format]
    arguments = " ".join(shlex.quote(f) for f in files)
    if TEST_FILES_PLACEHOLDER in command:
        return command.replace(TEST_FILES_PLACEHOLDER, arguments)
    return f"{command} {arguments}".rstrip()


def django_label(path: str) -> str:
    """Django's runner takes modules: tests/admin_views/tests.py -> admin_views.tests."""
    path = path.removeprefix("tests/").removesuffix(".py").removesuffix("/__init__")
    return path.replace("/", ".")


# -- one prediction ----------------------------------------------------------------------


class _Log:
    """What an evaluation did, command by command, for a person to read afterwards."""

    def __init__(self, instance_id: str):
        self.parts = [f"evaluation of {instance_id}\n"]

    def note(self, text: str) -> None:
        self.parts.append(f"\n# {text.rstrip()}\n")

    def command(self, command: str, result: CommandResult) -> None:
        ending = "timed out" if result.timed_out else f"exit code {result.exit_code}"
        self.parts.append(f"\n$ {command}\n{result.output.rstrip()}\n[{ending}]\n")

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(redact("".join(self.parts)), encoding="utf-8")


def evaluate_prediction(
    instance: Instance,
    model_patch: str | None,
    *,
    open_sandbox_for: SandboxOpener | None = None,
    settings: Settings | None = None,
    timeout: float = 1800.0,
    log_dir: Path | None = None,
) -> EvalResult:
    """Evaluate one model patch on its instance, in a sandbox of its own.

    `open_sandbox_for(instance)` gives the sandbox (default: the instance's own, see
    environment.py, with the sandbox settings of `settings`); `timeout` bounds the test
    run; the log of what was done goes to `log_dir/eval.log`."""
    started = time.monotonic()
    iid = instance.instance_id
    log = _Log(iid)
    if not (model_patch or "").strip():
        log.note("the patch is empty: nothing to evaluate")
        result = EvalResult(iid, "empty_patch", message="the patch is empty")
    else:
        opener = open_sandbox_for or _instance_sandbox_opener(settings)
        stage, judged, evaluator = "make the official eval script", None, BUILT_IN
        try:
            spec = official_spec(instance)
            evaluator = spec.evaluator if spec else BUILT_IN
            log.note(f"evaluator: {evaluator}")
            stage = "open the sandbox"
            with opener(instance) as sandbox:
                stage = "evaluate in the sandbox"
                if spec is None:
                    judged = _evaluate_in(sandbox, instance, model_patch, timeout, log)
                else:
                    judged = _evaluate_officially(
                        sandbox, instance, model_patch, timeout, log, spec, log_dir
                    )
        except Exception as exc:
            # An error while closing the sandbox does not undo a verdict already reached.
            log.note(traceback.format_exc())
            detail = str(exc) if isinstance(exc, SandboxError) else f"{type(exc).__name__}: {exc}"
            if judged is None:
                judged = EvalResult(iid, "error", message=f"could not {stage}: {detail}")
        result = judged
        result.evaluator = evaluator
    result.seconds = round(time.monotonic() - started, 3)
    log.note(f"status: {result.status}" + (f" ({result.message})" if result.message else ""))
    if log_dir is not None:
        path = Path(log_dir) / LOG_NAME
        log.write(path)
        result.log_path = str(path)
    return result


def _instance_sandbox_opener(settings: Settings | None) -> SandboxOpener:
    from .environment import open_instance_sandbox

    return lambda instance: open_instance_sandbox(instance, settings)


def _evaluate_in(
    sandbox: Sandbox, instance: Instance, model_patch: str, timeout: float, log: _Log
) -> EvalResult:
    iid = instance.instance_id

    def sh(command: str, seconds: float = STEP_TIMEOUT) -> CommandResult:
        result = sandbox.run(command, timeout=seconds, cwd=sandbox.root, output_limit=OUTPUT_LIMIT)
        log.command(command, result)
        return result

    model_file = f"{WORK_DIR}/model.patch"
    sandbox.write_file(model_file, _ending_in_newline(model_patch))
    applied_with = apply_patch(sh, model_file)
    if applied_with is None:
        return EvalResult(
            iid,
            "unresolved",
            message="the patch does not apply (git apply, git apply --reject and "
            "patch --fuzz all failed)",
        )
    log.note(f"the patch applied with {applied_with}")

    files = test_files_for(instance)
    if files and not sh(_restore_script(instance.base_commit, files)).ok:
        return EvalResult(
            iid, "error", applied_with=applied_with, message="could not reset the test files"
        )
    if instance.test_patch.strip():
        test_file = f"{WORK_DIR}/test.patch"
        sandbox.write_file(test_file, _ending_in_newline(instance.test_patch))
        if not sh(f"git apply --verbose {test_file}").ok:
            return EvalResult(
                iid, "error", applied_with=applied_with, message="the test patch does not apply"
            )

    try:
        command = test_command(instance)
    except ValueError as exc:
        return EvalResult(iid, "error", applied_with=applied_with, message=str(exc))
    run = sh(_marked(command), timeout)
    if (
        run.exit_code == 4
        and not instance.test_cmd
        and log_format_for(instance) == "pytest"
        and "--no-header" in run.output
    ):
        log.note("this pytest predates --no-header: running again without it")
        command = command.replace(" --no-header", "", 1)
        run = sh(_marked(command), timeout)

    def failed(message: str) -> EvalResult:
        return EvalResult(
            iid, "error", applied_with=applied_with, test_exit_code=run.exit_code, message=message
        )

    if run.timed_out:
        return failed(f"the tests did not finish within {timeout:.0f}s")
    if run.exit_code is None:
        return failed("the test run ended the sandbox's shell (killed, out of memory?)")
    output = between_markers(run.output, START_MARKER, END_MARKER)
    if output is None:
        return failed("the test command printed no start marker: it never ran")
    log_format = log_format_for(instance)
    statuses = parse_log(output, log_format)
    if not statuses:
        last = output.strip().splitlines()[-1:] or ["(no output)"]
        if run.exit_code in (126, 127):
            return failed(f"the test command could not start: {last[0][:300]}")
        return failed(
            f"the test command exited with code {run.exit_code} and reported no test "
            f"results ({log_format} log format); last line: {last[0][:300]}"
        )
    graded = grade(instance.fail_to_pass, instance.pass_to_pass, statuses, run.exit_code)
    return EvalResult(
        iid,
        "resolved" if graded.resolved else "unresolved",
        fail_to_pass=graded.fail_to_pass,
        pass_to_pass=graded.pass_to_pass,
        applied_with=applied_with,
        test_exit_code=run.exit_code,
        message=graded.reason,
    )


def _evaluate_officially(
    sandbox: Sandbox,
    instance: Instance,
    model_patch: str,
    timeout: float,
    log: _Log,
    spec: OfficialSpec,
    log_dir: Path | None,
) -> EvalResult:
    """The model patch applied as the official harness applies it, then swebench's eval
    script run as it is, in one command, and its output graded by swebench."""
    iid = instance.instance_id

    def sh(command: str, seconds: float = STEP_TIMEOUT) -> CommandResult:
        result = sandbox.run(command, timeout=seconds, cwd=sandbox.root, output_limit=OUTPUT_LIMIT)
        log.command(command, result)
        return result

    model_file, script_file = f"{WORK_DIR}/model.patch", f"{WORK_DIR}/eval.sh"
    sandbox.write_file(model_file, _ending_in_newline(model_patch))
    applied_with = apply_patch(sh, model_file)
    if applied_with is None:
        return EvalResult(
            iid,
            "unresolved",
            message="the patch does not apply (git apply, git apply --reject and "
            "patch --fuzz all failed)",
        )
    log.note(f"the patch applied with {applied_with}")
    log.note(f"the eval script that runs ({spec.evaluator}):\n{spec.script}")
    sandbox.write_file(script_file, spec.script)
    started = time.monotonic()
    run = sandbox.run(
        f"bash {script_file} 2>&1", timeout=timeout, cwd=sandbox.root, output_limit=OUTPUT_LIMIT
    )
    script_seconds = round(time.monotonic() - started, 3)
    graded = _grade_output(spec, instance, model_patch, run.output, log_dir)
    between = _between_marker_lines(run.output, *markers())
    ending = "timed out" if run.timed_out else f"exit code {run.exit_code}"
    log.note(f"bash {script_file}: {ending}; the test output between the markers:")
    log.parts.append(between.rstrip() + "\n")

    def failed(message: str) -> EvalResult:
        return EvalResult(
            iid,
            "error",
            applied_with=applied_with,
            test_exit_code=run.exit_code,
            message=message,
            script_seconds=script_seconds,
        )

    if run.timed_out:
        return failed(f"the eval script did not finish within {timeout:.0f}s")
    if run.exit_code is None:
        return failed("the eval script ended the sandbox's shell (killed, out of memory?)")
    if not graded.completed:
        # The harness would grade this "unresolved"; here the tests never ran to the end.
        last = run.output.strip().splitlines()[-1:] or ["(no output)"]
        if markers()[1] not in run.output:
            return failed(
                f"the eval script stopped before its end marker (exit code {run.exit_code}); "
                f"last line: {last[0][:300]}"
            )
        return failed("swebench's grader found a failure code in the eval script's output")
    return EvalResult(
        iid,
        "resolved" if graded.resolved else "unresolved",
        fail_to_pass=tests_outcomes(instance.fail_to_pass, graded.statuses),
        pass_to_pass=tests_outcomes(instance.pass_to_pass, graded.statuses),
        applied_with=applied_with,
        test_exit_code=run.exit_code,
        message="" if graded.resolved else reason_not_resolved(graded.tests_status),
        script_seconds=script_seconds,
    )


def _between_marker_lines(output: str, start: str, end: str) -> str:
    """The lines after the one holding `start` and before the one holding `end` (set -x
    prints the official markers as `+ : '>>>>> ...'`)."""
    lines = output.splitlines()
    first = next((n for n, line in enumerate(lines) if start in line), None)
    if first is None:
        return ""
    last = next((n for n in range(first + 1, len(lines)) if end in lines[n]), len(lines))
    return "\n".join(lines[first + 1 : last])


def _grade_output(
    spec: OfficialSpec, instance: Instance, model_patch: str, output: str, log_dir: Path | None
) -> OfficialGrade:
    """swebench grades a log file: the output is kept as log_dir/test_output.txt (in a
    scratch directory without a log_dir)."""
    if log_dir is not None:
        path = Path(log_dir) / TEST_OUTPUT_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(output, encoding="utf-8")
        return grade_log(spec, instance, model_patch, path)
    with tempfile.TemporaryDirectory(prefix="patchsmith-eval-") as scratch:
        path = Path(scratch) / TEST_OUTPUT_NAME
        path.write_text(output, encoding="utf-8")
        return grade_log(spec, instance, model_patch, path)


def apply_patch(sh: Callable[[str], CommandResult], path: str) -> str | None:
    """Apply the patch at `path` (in the sandbox) with the first method that takes it whole;
    the name of that method, or None. A partial application is undone before the next try."""
    attempts = (
        ("git apply", f"git apply --verbose {path}"),
        ("git apply --reject", f"git apply --verbose --reject {path}"),
        ("patch --fuzz", f"patch --batch --fuzz=5 -p1 -i {path}"),
    )
    snapshot = None
    for name, command in attempts:
        if name != "git apply" and snapshot is None:  # plain `git apply` is all-or-nothing
            snapshot = _snapshot(sh)
        if sh(command).ok:
            return name
        if snapshot is not None:
            _restore(sh, snapshot)
    return None


_INDEX = f"GIT_INDEX_FILE={WORK_DIR}/index"


def _snapshot(sh: Callable[[str], CommandResult]) -> str:
    """The working tree as a git tree id (in a private index: the real one is untouched)."""
    result = sh(f"{_INDEX} git add -A && {_INDEX} git write-tree")
    tree = result.output.strip().splitlines()[-1:] if result.ok else []
    if not tree or not re.fullmatch(r"[0-9a-f]{40,64}", tree[0]):
        raise SandboxError(f"could not record the working tree: {result.output.strip()[-300:]}")
    return tree[0]


def _restore(sh: Callable[[str], CommandResult], tree: str) -> None:
    """Back to the recorded tree: its files rewritten, files it lacks removed."""
    result = sh(
        f"export {_INDEX} && git read-tree {tree} && git checkout-index -a -f && git clean -fdq"
    )
    if not result.ok:
        raise SandboxError(f"could not undo a partly applied patch: {result.output.strip()[-300:]}")


def _restore_script(base_commit: str, files: list[str]) -> str:
    """Test files as they are at the base commit (removed when they are not in it). In a
    sandbox made from a copy of the repository, the base commit is its HEAD."""
    quoted = " ".join(shlex.quote(f) for f in files)
    base = shlex.quote(f"{base_commit}^{{commit}}")
    return (
        f"ref=$(git rev-parse --verify -q {base} || git rev-parse --verify HEAD) || exit 1; "
        f'for f in {quoted}; do if git cat-file -e "$ref:$f" 2>/dev/null; '
        f'then git checkout -q "$ref" -- "$f" || exit 1; else rm -f -- "$f"; fi; done'
    )


def _marked(command: str) -> str:
    return (
        f"printf '%s\\n' {shlex.quote(START_MARKER)}; {command}\n"
        f"rc=$?; printf '%s\\n' {shlex.quote(END_MARKER)}; exit $rc"
    )


def _ending_in_newline(patch: str) -> str:
    return patch if patch.endswith("\n") else patch + "\n"


# -- many predictions --------------------------------------------------------------------


def load_predictions(source: str | Path | dict[str, Any]) -> dict[str, str]:
    """{instance_id: model_patch} from a predictions file (JSONL of {"instance_id",
    "model_patch", ...}, a JSON list of those, or a JSON object keyed by instance_id, as
    preds.json is) or from such an object already loaded. A null patch is ""."""
    if isinstance(source, dict):
        data: Any = source
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PredictionsError(f"cannot read the predictions {path}: {exc.strerror}") from None
        try:
            data = json.loads(text) if text.strip() else []
        except json.JSONDecodeError:
            data = _json_lines(text, path)
    if isinstance(data, dict):
        records = [
            value if isinstance(value, dict) else {"instance_id": key, "model_patch": value}
            for key, value in data.items()
        ]
        for key, record in zip(data, records, strict=True):
            record.setdefault("instance_id", key)
    elif isinstance(data, list):
        records = data
    else:
        raise PredictionsError("predictions must be a JSON list, a JSON object or JSON lines")
    patches = {}
    for record in records:
        if not isinstance(record, dict) or not record.get("instance_id"):
            raise PredictionsError(f"a prediction without instance_id: {str(record)[:200]}")
        patch = record.get("model_patch")
        patches[str(record["instance_id"])] = patch if isinstance(patch, str) else ""
    return patches


def _json_lines(text: str, path: Path) -> list[Any]:
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise PredictionsError(
                    f"{path}:{number} is not JSON ({exc.msg}): predictions are JSON lines, "
                    "a JSON list or a JSON object keyed by instance_id"
                ) from None
    return records


def evaluate_predictions(
    predictions: str | Path | dict[str, Any],
    instances: Iterable[Instance],
    *,
    workers: int = 1,
    open_sandbox_for: SandboxOpener | None = None,
    settings: Settings | None = None,
    timeout: float = 1800.0,
    log_dir: Path | None = None,
    on_result: Callable[[EvalResult], None] | None = None,
) -> dict[str, EvalResult]:
    """Evaluate every prediction whose instance is among `instances`, `workers` at a time.
    Results come back keyed by instance_id, in the predictions' order; a prediction for an
    instance not given is an "error". Each log goes to `log_dir/<instance_id>/eval.log`;
    `on_result` is called as each evaluation ends (from the worker threads)."""
    patches = load_predictions(predictions)
    by_id = {instance.instance_id: instance for instance in instances}
    results: dict[str, EvalResult] = {}

    def done(result: EvalResult) -> None:
        results[result.instance_id] = result
        if on_result is not None:
            on_result(result)

    for iid in patches:
        if iid not in by_id:
            done(EvalResult(iid, "error", message="no such instance in the dataset"))
    todo = [by_id[iid] for iid in patches if iid in by_id]

    def one(instance: Instance) -> EvalResult:
        return evaluate_prediction(
            instance,
            patches[instance.instance_id],
            open_sandbox_for=open_sandbox_for,
            settings=settings,
            timeout=timeout,
            log_dir=None if log_dir is None else Path(log_dir) / instance.instance_id,
        )

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for future in as_completed([pool.submit(one, instance) for instance in todo]):
            done(future.result())
    return {iid: results[iid] for iid in patches}
