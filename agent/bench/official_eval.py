"""SWE-bench's own evaluation of an instance, through the `swebench` package (the optional
`swebench` extra, pinned to 4.1.0): the eval script the official harness would run, and its
log graded with the official parser and rules.

- A classic row (SWE-bench's 12 fields) gets the script that swebench's per-repository,
  per-version specs produce (`make_test_spec(row).eval_script`): activate the environment,
  `cd /testbed`, the repository's own steps, reset the test files to the base commit, apply
  the test patch, the start marker, the test command on the test files, the end marker,
  reset the test files again. patchsmith runs that text unchanged.
- A row of the newer schema brings its own `eval_script`, `log_parser` and `eval_type`.

Local datasets (instances with a `repo_path`) and rows the specs do not know are evaluated
by the built-in evaluator (evaluate.py), as is everything when the extra is not installed.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .dataset import Instance

SWEBENCH_PIN = "4.1.0"
BUILT_IN = "built-in"
MODEL_NAME = "patchsmith"  # model_name_or_path in the prediction handed to swebench's grader


@dataclass(frozen=True)
class OfficialSpec:
    """How swebench evaluates one instance."""

    script: str  # the eval script, exactly as it runs
    evaluator: str  # which evaluator graded, as results.json records it
    test_spec: Any  # swebench's TestSpec (classic rows), else None
    log_parser: str  # the parser's name
    eval_type: str  # "pass_and_fail" or "fail_only"


def swebench_version() -> str | None:
    """The installed `swebench` package's version, or None when it is not installed."""
    try:
        return importlib.metadata.version("swebench")
    except importlib.metadata.PackageNotFoundError:
        return None


@cache
def _specs() -> dict[str, dict[str, Any]] | None:
    """swebench's per-repository, per-version specs, or None when this swebench has none
    (absent, or 5.x, which moved them into the dataset rows)."""
    try:
        from swebench.harness.constants import MAP_REPO_VERSION_TO_SPECS
        from swebench.harness.test_spec.create_scripts import make_eval_script_list  # noqa: F401
    except ImportError:
        return None
    return MAP_REPO_VERSION_TO_SPECS


def swebench_row(instance: Instance) -> dict[str, Any]:
    """The instance as the row swebench reads (FAIL_TO_PASS and PASS_TO_PASS as lists)."""
    return {
        "instance_id": instance.instance_id,
        "repo": instance.repo,
        "version": instance.version,
        "base_commit": instance.base_commit,
        "test_patch": instance.test_patch,
        "FAIL_TO_PASS": list(instance.fail_to_pass),
        "PASS_TO_PASS": list(instance.pass_to_pass),
        "environment_setup_commit": instance.environment_setup_commit,
    }


def official_spec(instance: Instance) -> OfficialSpec | None:
    """The official evaluation of `instance`, or None when the built-in evaluator does it
    (a local dataset, a row the specs do not know, or no usable swebench installed)."""
    specs = _specs()
    if specs is None or instance.repo_path:
        return None
    label = f"swebench-{swebench_version()} official script"
    if instance.eval_script:
        return OfficialSpec(
            script=instance.eval_script,
            evaluator=f"swebench-{swebench_version()} row's eval_script",
            test_spec=None,
            log_parser=instance.log_parser or "parse_log_pytest",
            eval_type=instance.eval_type or "pass_and_fail",
        )
    if instance.version not in specs.get(instance.repo, {}):
        return None
    from swebench.harness.constants import FAIL_ONLY_REPOS
    from swebench.harness.log_parsers import MAP_REPO_TO_PARSER

    test_spec = _test_spec(instance, specs[instance.repo][instance.version])
    return OfficialSpec(
        script=test_spec.eval_script,
        evaluator=label,
        test_spec=test_spec,
        log_parser=MAP_REPO_TO_PARSER[instance.repo].__name__,
        eval_type="fail_only" if instance.repo in FAIL_ONLY_REPOS else "pass_and_fail",
    )


def _test_spec(instance: Instance, specs: dict[str, Any]) -> Any:
    """swebench's TestSpec with its eval script, as `make_test_spec` makes it, less the
    environment and repository setup scripts: writing those reads requirement files over the
    network, and evaluation does not use them (the image already holds their result)."""
    from swebench.harness.constants import MAP_REPO_TO_EXT
    from swebench.harness.test_spec.create_scripts import make_eval_script_list
    from swebench.harness.test_spec.test_spec import TestSpec

    env_name = "testbed"
    row = swebench_row(instance)
    return TestSpec(
        instance_id=instance.instance_id,
        repo=instance.repo,
        version=instance.version,
        repo_script_list=[],
        eval_script_list=make_eval_script_list(
            row, specs, env_name, f"/{env_name}", instance.base_commit, instance.test_patch
        ),
        env_script_list=[],
        arch="x86_64",
        FAIL_TO_PASS=row["FAIL_TO_PASS"],
        PASS_TO_PASS=row["PASS_TO_PASS"],
        language=MAP_REPO_TO_EXT[instance.repo],
        docker_specs=specs.get("docker_specs", {}),
        namespace=None,
    )


def markers() -> tuple[str, str]:
    from swebench.harness.constants import END_TEST_OUTPUT, START_TEST_OUTPUT

    return START_TEST_OUTPUT, END_TEST_OUTPUT


@dataclass(frozen=True)
class OfficialGrade:
    resolved: bool
    completed: bool  # the log had both markers and no failure code: the tests ran
    statuses: dict[str, str]  # test -> status, as swebench's parser read the log
    tests_status: dict[str, Any]  # swebench's FAIL_TO_PASS/PASS_TO_PASS success/failure lists


def grade_log(
    spec: OfficialSpec, instance: Instance, model_patch: str, log_path: Path
) -> OfficialGrade:
    """The verdict of swebench's grader on the output the eval script wrote for
    `model_patch`, saved at `log_path`."""
    from swebench.harness.constants import EvalType, ResolvedStatus
    from swebench.harness.grading import (
        get_eval_report,
        get_eval_tests_report,
        get_logs_eval,
        get_resolution_status,
    )

    iid = instance.instance_id
    if spec.test_spec is not None:
        prediction = {
            "instance_id": iid,
            "model_name_or_path": MODEL_NAME,
            "model_patch": model_patch,
        }
        report = get_eval_report(spec.test_spec, prediction, str(log_path), True)[iid]
        statuses, found = get_logs_eval(spec.test_spec, str(log_path))
        return OfficialGrade(
            resolved=bool(report["resolved"]),
            completed=found,
            statuses=statuses,
            tests_status=report.get("tests_status") or {},
        )
    # A row with its own eval_script: its named parser, the same slicing and rules.
    statuses, found = _parse_own_log(spec, instance, log_path.read_text(errors="replace"))
    gold = {"FAIL_TO_PASS": instance.fail_to_pass, "PASS_TO_PASS": instance.pass_to_pass}
    tests = get_eval_tests_report(statuses, gold, eval_type=EvalType(spec.eval_type))
    resolved = found and get_resolution_status(tests) == ResolvedStatus.FULL.value
    return OfficialGrade(resolved, found, statuses, tests if found else {})


def _parse_own_log(spec: OfficialSpec, instance: Instance, content: str) -> tuple[dict, bool]:
    start, end = markers()
    if start not in content or end not in content:
        return {}, False
    parser = parser_named(spec.log_parser)
    row = {**swebench_row(instance), "log_parser": spec.log_parser}
    return parser(content.split(start)[1].split(end)[0], SimpleNamespace(**row)), True


def parser_named(name: str) -> Any:
    """swebench's log parser of that name (a ValueError when this swebench has none)."""
    try:
        from swebench.harness.log_parsers import PARSER_REGISTRY  # swebench 5.x

        parsers = dict(PARSER_REGISTRY)
    except ImportError:
        from swebench.harness.log_parsers import MAP_REPO_TO_PARSER

        parsers = {parser.__name__: parser for parser in MAP_REPO_TO_PARSER.values()}
    if name not in parsers:
        raise ValueError(f"swebench {swebench_version()} has no log parser named {name!r}")
    return parsers[name]


def tests_outcomes(tests: list[str], statuses: dict[str, str]) -> dict[str, str]:
    """Each graded test and the status the official parser read (MISSING when none)."""
    return {test: statuses.get(test, "MISSING") for test in tests}


def reason_not_resolved(tests_status: dict[str, Any]) -> str:
    """Which graded tests failed, from swebench's report."""
    parts = []
    for label in ("FAIL_TO_PASS", "PASS_TO_PASS"):
        failed = (tests_status.get(label) or {}).get("failure") or []
        if failed:
            more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
            shown = ", ".join(failed[:3]) + more
            parts.append(f"{len(failed)} {label} failed: {shown}")
    return "; ".join(parts) or "not resolved by the official rules"
