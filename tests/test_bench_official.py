"""The official evaluation of SWE-bench instances: for every Lite row, the script patchsmith
runs is the one swebench makes for it (no repository or image needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from patchsmith.agent.bench.dataset import Instance, patch_files
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
