"""The report of a run: figures per repository, report.json, a self-contained report.html and
a page per trajectory, from the results.json the runner writes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from patchsmith.agent.bench.report import read_rows, summary_tables, write_report
from patchsmith.agent.trajectory import Action, Step, Trajectory


def trajectory(tmp: Path, iid: str, observation: str = "1 failed") -> str:
    t = Trajectory(issue=f"issue of {iid} with <b>markup</b>", config={}, status="submitted")
    t.steps.append(
        Step(
            index=1,
            response={"text": "Run the tests first.", "cost": 0.01},
            actions=[Action("bash", {"command": "pytest -q"}, observation)],
            seconds=1.5,
        )
    )
    t.diff = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-old\n+new\n"
    t.cost = 0.01
    relative = f"trajs/{iid}.traj.json"
    t.save(tmp / relative)
    return relative


def record(iid: str, evaluation: str | None, cost: float, steps: int, **extra) -> dict:
    return {
        "instance_id": iid,
        "status": "submitted",
        "done": True,
        "message": "",
        "cost": cost,
        "steps": steps,
        "patch_files": ["x.py"],
        "timing": {"total": 30.0},
        "evaluation": None if evaluation is None else {"status": evaluation, "message": "why"},
        "log": f"logs/{iid}/run.log",
        **extra,
    }


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    instances = {
        "django__django-1": record("django__django-1", "resolved", 0.5, 12),
        "django__django-2": record("django__django-2", "unresolved", 1.5, 30),
        "sympy__sympy-3": record("sympy__sympy-3", "error", 0.25, 8),
        "sympy__sympy-4": record("sympy__sympy-4", None, 0.0, 3, patch_files=[], status="stuck"),
        "sympy__sympy-5": record("sympy__sympy-5", None, 0.75, 20),
    }
    for iid in ("django__django-1", "django__django-2"):
        instances[iid]["trajectory"] = trajectory(tmp_path, iid)
    instances["sympy__sympy-3"]["trajectory"] = trajectory(
        tmp_path, "sympy__sympy-3", observation="<script>alert('x')</script>"
    )
    results = {"dataset": "swe-lite", "model": "scripted", "instances": instances}
    (tmp_path / "results.json").write_text(json.dumps(results))
    return tmp_path


def test_report_counts_outcomes_per_repository(run_dir):
    write_report(run_dir, "swe-lite")
    report = json.loads((run_dir / "report.json").read_text())
    assert report["outcomes"] == {
        "resolved": 1,
        "unresolved": 1,
        "error": 1,
        "empty_patch": 1,  # not evaluated, but its patch was empty
        "not_evaluated": 1,
    }
    assert report["by_repo"]["django/django"]["resolved"] == 1
    assert report["by_repo"]["sympy/sympy"]["total"] == 3
    assert report["resolved_rate"] == 0.2
    assert report["cost"]["total"] == 3.0
    assert report["steps"]["mean"] == pytest.approx(14.6)
    assert report["agent_statuses"] == {"submitted": 4, "stuck": 1}
    assert report["model"] == "scripted"


def test_report_html_is_self_contained_with_charts_and_links(run_dir):
    page = write_report(run_dir, "swe-lite").read_text()
    assert page.count("<svg") == 3  # per repository, cost, steps
    assert "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<style>" in page and "<link" not in page
    assert 'href="trajs/django__django-1.html"' in page
    assert 'href="logs/django__django-1/run.log"' in page
    assert "1 / 5" in page


def test_each_trajectory_becomes_an_escaped_page(run_dir):
    write_report(run_dir, "swe-lite")
    page = (run_dir / "trajs" / "sympy__sympy-3.html").read_text()
    assert "Run the tests first." in page
    assert "pytest -q" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert "issue of sympy__sympy-3 with &lt;b&gt;markup&lt;/b&gt;" in page
    assert '<span class="add">+new</span>' in page
    assert 'href="../report.html"' in page
    assert not (run_dir / "trajs" / "sympy__sympy-4.html").exists()  # it had no trajectory


def test_the_terminal_summary_shows_each_repository_and_the_total(run_dir):
    write_report(run_dir, "swe-lite")
    report = json.loads((run_dir / "report.json").read_text())
    console = Console(record=True, width=140)
    for table in summary_tables(report):
        console.print(table)
    text = console.export_text()
    assert re.search(r"django/django\s+│\s+1\s+│\s+1\s+│\s+0\s+│\s+0\s+│\s+0\s+│\s+50\.0", text)
    assert re.search(r"all\s+│\s+1\s+│\s+1\s+│\s+1\s+│\s+1\s+│\s+1\s+│\s+20\.0", text)
    assert "$3.0000" in text


def test_a_plain_results_object_with_eval_status_is_read_too(tmp_path):
    plain = {
        "a__b-1": {
            "instance_id": "a__b-1",
            "repo": "a/b",
            "status": "submitted",
            "eval_status": "resolved",
            "cost": 0.1,
            "steps": 4,
            "seconds": 12.0,
            "trajectory": None,
            "patch_empty": False,
        }
    }
    (tmp_path / "results.json").write_text(json.dumps(plain))
    _, rows = read_rows(tmp_path)
    assert [(r.repo, r.outcome, r.seconds) for r in rows] == [("a/b", "resolved", 12.0)]


def test_unreadable_results_are_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="cannot read"):
        write_report(tmp_path, "swe-lite")
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        write_report(tmp_path, "swe-lite")


def test_edit_arguments_show_code_as_code():
    from patchsmith.agent.bench.report import arguments_text

    shown = arguments_text({"path": "a.py", "old_str": "x = 1\ny = 2", "count": 2})
    assert shown == "path: a.py\nold_str:\n    x = 1\n    y = 2\ncount: 2"
    assert arguments_text({"command": "ls -la"}) == "ls -la"
