"""The layer plan for real Lite rows, offline: shared environments, bases that really have
the spec's Python, and a reported problem (never a substitute) when none has it."""

import json
from pathlib import Path

from swebench.harness.constants import MAP_REPO_VERSION_TO_SPECS

from agent.bench.images.spec import DEBIAN_BASE_FOR_PYTHON, plan_layers

SPECS_ROWS = Path(__file__).resolve().parents[2] / "shared" / "data" / "swe-lite-specs.jsonl"


def _rows():
    import pytest

    if not SPECS_ROWS.exists():
        pytest.skip(f"{SPECS_ROWS} is not on this machine")
    return [json.loads(line) for line in SPECS_ROWS.read_text().splitlines() if line.strip()]


def test_every_lite_row_gets_a_plan_or_a_reason():
    plans = [plan_layers(row, MAP_REPO_VERSION_TO_SPECS) for row in _rows()]
    assert len(plans) == 300
    for plan in plans:
        spec = MAP_REPO_VERSION_TO_SPECS[plan.repo]
        assert plan.instance_image.startswith("sweb.eval.x86_64.")
        if plan.base_release:
            assert DEBIAN_BASE_FOR_PYTHON[plan.python] == plan.base_release
            assert plan.problem is None
        else:
            assert plan.python not in DEBIAN_BASE_FOR_PYTHON and plan.python in plan.problem
        assert spec  # the repository is known to swebench 4.1


def test_pytest_instances_share_environments_per_version():
    plans = [plan_layers(r, MAP_REPO_VERSION_TO_SPECS) for r in _rows()
             if r["repo"] == "pytest-dev/pytest"]
    versions = {r["version"] for r in _rows() if r["repo"] == "pytest-dev/pytest"}
    assert len(plans) == 17
    assert len({p.env_key for p in plans}) == len(versions) < len(plans)


def test_unknown_version_is_reported_not_guessed():
    row = {"repo": "psf/requests", "version": "99.0", "instance_id": "psf__requests-1"}
    plan = plan_layers(row, MAP_REPO_VERSION_TO_SPECS)
    assert plan.base_release is None and "no spec" in plan.problem
