"""The official evaluation of SWE-bench instances: for every Lite row, the script patchsmith
runs is the one swebench makes for it (no repository or image needed)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import IMAGE, require_backend
from instance_image import (
    GOLD,
    WRONG,
    build_instance_image,
    remove_instance_image,
    stand_in_row,
)

from patchsmith.agent.bench.dataset import Instance, patch_files
from patchsmith.agent.bench.evaluate import evaluate_prediction
from patchsmith.agent.bench.official_eval import (
    BUILT_IN,
    SWEBENCH_PIN,
    official_spec,
    swebench_version,
)

# CI keeps a copy of shared/ beside the clone: ../shared from the repository's root.
LITE_SPECS = Path(__file__).resolve().parents[2] / "shared" / "data" / "swe-lite-specs.jsonl"


def lite_rows() -> list[dict]:
    if not LITE_SPECS.is_file():
        pytest.skip(f"{LITE_SPECS} is absent (shared/ is not beside the repository)")
    return [json.loads(line) for line in LITE_SPECS.read_text().splitlines() if line.strip()]


def as_instance(row: dict) -> Instance:
    # The file leaves out the issue text, which evaluation does not read.
    return Instance.from_record({**row, "problem_statement": "(left out of this file)"})


def files_before(patch: str) -> list[str]:
    """The files a patch changes that exist before it (a new file has nothing to reset)."""
    blocks = re.split(r"^(?=diff --git )", patch, flags=re.M)
    return [
        f
        for f, block in zip(patch_files(patch), blocks[1:], strict=True)
        if not re.search(r"^(new file mode|--- /dev/null$)", block, re.M)
    ]


def test_the_pinned_swebench_is_installed():
    assert swebench_version() == SWEBENCH_PIN


def test_every_lite_row_runs_the_official_eval_script(monkeypatch):
    from swebench.harness.constants import (
        END_TEST_OUTPUT,
        MAP_REPO_VERSION_TO_SPECS,
        NON_TEST_EXTS,
        START_TEST_OUTPUT,
    )
    from swebench.harness.test_spec import test_spec as swebench_test_spec

    # make_test_spec also writes the environment's setup script, which reads requirement
    # files over the network; evaluation does not use it.
    monkeypatch.setattr(swebench_test_spec, "make_env_script_list", lambda *args: [])
    rows = lite_rows()
    assert len(rows) == 300
    for row in rows:
        iid = row["instance_id"]
        spec = official_spec(as_instance(row))
        assert spec is not None, iid
        assert spec.evaluator == f"swebench-{SWEBENCH_PIN} official script"
        # swebench's own script for the raw row, FAIL_TO_PASS still JSON text as on the hub.
        assert spec.script == swebench_test_spec.make_test_spec(row).eval_script, iid

        # What that script must hold, checked against the row itself.
        lines = spec.script.splitlines()
        start = lines.index(f": '{START_TEST_OUTPUT}'")
        end = lines.index(f": '{END_TEST_OUTPUT}'")
        assert end == start + 2, iid  # exactly one command between the markers
        assert "cd /testbed" in lines[:start] and "conda activate testbed" in lines[:start]

        files = [f for f in patch_files(row["test_patch"]) if not f.endswith(tuple(NON_TEST_EXTS))]
        reset = f"git checkout {row['base_commit']} {' '.join(files_before(row['test_patch']))}"
        assert lines[start - 1].startswith("EOF_"), iid  # the test patch's here-document ends
        assert reset in lines[:start] and lines[end + 1] == reset, iid
        assert row["test_patch"].strip() in spec.script, iid

        if row["repo"] == "django/django":  # modules: tests/a/b.py -> a.b (__init__ kept)
            files = [f.removesuffix(".py").removeprefix("tests/").replace("/", ".") for f in files]
        test_cmd = MAP_REPO_VERSION_TO_SPECS[row["repo"]][row["version"]]["test_cmd"]
        assert lines[start + 1] == " ".join([test_cmd, *files]), iid


def test_a_local_dataset_or_an_unknown_version_is_graded_by_the_built_in_evaluator(tmp_path):
    row = lite_rows()[0]
    assert official_spec(as_instance({**row, "repo_path": str(tmp_path)})) is None
    assert official_spec(as_instance({**row, "version": "0.0.no-such"})) is None
    assert BUILT_IN == "built-in"


def test_a_row_of_the_new_schema_runs_its_own_eval_script():
    row = lite_rows()[0]
    own = {**row, "eval_script": "#!/bin/bash\necho mine\n", "log_parser": "parse_log_pytest"}
    spec = official_spec(as_instance(own))
    assert spec is not None
    assert spec.script == own["eval_script"]
    assert spec.log_parser == "parse_log_pytest"


# -- evaluation in an instance image -------------------------------------------------------


@pytest.fixture(scope="module")
def instance_image(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(image, base commit) of an instance image of a small local repository: the one
    fixture that makes it, to be switched to patchsmith's image builder."""
    require_backend("docker")
    name, head = build_instance_image(tmp_path_factory.mktemp("instance-image"), IMAGE)
    try:
        yield name, head
    finally:
        remove_instance_image(name)


def test_the_gold_patch_is_resolved_by_the_official_script_in_the_instance_image(
    instance_image, tmp_path
):
    inst = Instance.from_record(stand_in_row(*instance_image))
    result = evaluate_prediction(inst, GOLD, log_dir=tmp_path)
    assert result.status == "resolved", result.message
    assert result.evaluator == f"swebench-{SWEBENCH_PIN} official script"
    assert result.fail_to_pass == {"tests/test_calc.py::test_add": "PASSED"}
    assert result.pass_to_pass == {"tests/test_calc.py::test_zero": "PASSED"}
    log = Path(result.log_path).read_text()
    assert official_spec(inst).script in log  # the script that ran, as it ran
    assert "PASSED tests/test_calc.py::test_add" in log  # the output between the markers
    output = (tmp_path / "test_output.txt").read_text()
    assert ">>>>> Start Test Output" in output and ">>>>> End Test Output" in output


def test_a_wrong_patch_is_unresolved_and_an_empty_one_is_empty_patch(instance_image, tmp_path):
    inst = Instance.from_record(stand_in_row(*instance_image))
    wrong = evaluate_prediction(inst, WRONG, log_dir=tmp_path / "wrong")
    assert wrong.status == "unresolved"
    assert wrong.fail_to_pass == {"tests/test_calc.py::test_add": "FAILED"}
    assert "FAIL_TO_PASS failed: tests/test_calc.py::test_add" in wrong.message
    empty = evaluate_prediction(inst, "", log_dir=tmp_path / "empty")
    assert empty.status == "empty_patch"


# -- through the real CLI ----------------------------------------------------------------

AGENT = [sys.executable, "-m", "patchsmith.cli"]


def run_bench(rows: list[dict], tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    dataset = tmp_path / "rows.jsonl"
    dataset.write_text("".join(json.dumps(row) + "\n" for row in rows))
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "COLUMNS": "80"}
    command = [
        *AGENT,
        "run-bench",
        str(dataset),
        "--gold",
        "--evaluate",
        "-o",
        str(tmp_path / "out"),
    ]
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=600)


def test_run_bench_gold_writes_the_official_run_report(instance_image, tmp_path):
    row = stand_in_row(*instance_image)
    done = run_bench([row], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["schema_version"] == 2
    assert report["resolved_ids"] == [row["instance_id"]]
    assert report["completed_ids"] == [row["instance_id"]]
    assert report["unresolved_ids"] == report["error_ids"] == report["empty_patch_ids"] == []
    assert report["evaluators"] == {f"swebench-{SWEBENCH_PIN} official script": 1}
    record = json.loads((tmp_path / "out" / "results.json").read_text())["instances"]
    assert record[row["instance_id"]]["evaluation"]["evaluator"].startswith("swebench-")
    page = (tmp_path / "out" / "report.html").read_text()
    assert f"graded by swebench-{SWEBENCH_PIN} official script (1)" in page


def test_a_run_whose_evaluation_failed_says_so_and_exits_1(tmp_path):
    # An image that is not here and cannot be pulled (no such repository).
    require_backend("docker")
    row = stand_in_row("patchsmith-test-absent/no-such-image:none", "0" * 40)
    done = run_bench([row], tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "✗ psf__requests-1" in done.stdout and "evaluation error" in done.stdout
    assert re.search(r"evaluation errors\s+1\b", done.stdout), done.stdout
    first = [line for line in done.stderr.splitlines() if "first evaluation error" in line]
    assert len(first) == 1, done.stderr
    assert "psf__requests-1" in first[0] and "patchsmith-test-absent/no-such-image" in first[0]
    assert "Traceback" not in done.stdout + done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["error_ids"] == ["psf__requests-1"] and report["resolved_ids"] == []


def test_without_a_usable_swebench_the_built_in_evaluator_grades(monkeypatch):
    from patchsmith.agent.bench import official_eval

    monkeypatch.setattr(official_eval, "_specs", lambda: None)  # as with the extra absent
    assert official_spec(as_instance(lite_rows()[0])) is None


def test_a_new_schema_row_is_graded_by_its_own_script_and_named_parser(instance_image, tmp_path):
    classic = Instance.from_record(stand_in_row(*instance_image))
    row = {
        **stand_in_row(*instance_image),
        "repo": "example/calc",  # a repository swebench's specs do not know
        "version": "",
        "eval_script": official_spec(classic).script,
        "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
    }
    inst = Instance.from_record(row)
    result = evaluate_prediction(inst, GOLD, log_dir=tmp_path / "gold")
    assert result.status == "resolved", result.message
    assert result.evaluator == f"swebench-{SWEBENCH_PIN} row's eval_script"
    assert result.fail_to_pass == {"tests/test_calc.py::test_add": "PASSED"}
    wrong = evaluate_prediction(inst, WRONG, log_dir=tmp_path / "wrong")
    assert wrong.status == "unresolved"
    assert wrong.fail_to_pass == {"tests/test_calc.py::test_add": "FAILED"}


def test_report_json_has_the_official_run_reports_keys_and_meaning(tmp_path):
    from patchsmith.agent.bench.report import build_report

    def record(status: str | None, applied_with: str | None = "git apply") -> dict:
        if status is None:
            return {"status": "submitted", "done": True}
        return {"evaluation": {"status": status, "applied_with": applied_with}}

    records = {
        "a__a-1": record("resolved"),
        "a__a-2": record("unresolved"),
        "a__a-3": record("unresolved", applied_with=None),  # the patch did not apply
        "a__a-4": record("error", applied_with=None),
        "a__a-5": record("empty_patch", applied_with=None),
        "a__a-6": record(None),  # never evaluated
    }
    (tmp_path / "results.json").write_text(json.dumps({"instances": records}))
    report = build_report(tmp_path, "rows")
    assert report["schema_version"] == 2
    assert report["resolved_ids"] == ["a__a-1"]
    assert report["unresolved_ids"] == ["a__a-2"]
    assert report["error_ids"] == ["a__a-3", "a__a-4"]  # as the harness counts them
    assert report["empty_patch_ids"] == ["a__a-5"]
    assert report["incomplete_ids"] == ["a__a-6"]
    assert report["completed_ids"] == ["a__a-1", "a__a-2"]
    assert report["submitted_ids"] == ["a__a-1", "a__a-2", "a__a-3", "a__a-4", "a__a-5"]
    assert (report["total_instances"], report["error_instances"]) == (6, 2)
    assert report["outcomes"]["unresolved"] == 2  # patchsmith's own count keeps its meaning


def test_an_eval_script_that_stops_before_its_end_marker_is_an_error(instance_image, tmp_path):
    row = {
        **stand_in_row(*instance_image),
        "eval_script": '#!/bin/bash\nset -u\ncd /testbed\necho "$NOT_SET"\n',
        "log_parser": "parse_log_pytest",
    }
    result = evaluate_prediction(Instance.from_record(row), GOLD, log_dir=tmp_path)
    assert result.status == "error"
    assert "stopped before its end marker" in result.message
    assert "NOT_SET: unbound variable" in result.message
