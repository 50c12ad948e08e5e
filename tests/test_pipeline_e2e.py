"""Pipeline mode end to end: scripted models, the real tools and the real Docker sandbox, on
a small repository with a real bug (a percentage used as a fraction) and a failing test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import IMAGE, make_repo, require_backend

from patchsmith.agent.config import Settings
from patchsmith.agent.models import ReplayModel, ScriptedModel
from patchsmith.agent.pipeline import NO_VALID_CANDIDATE, run_pipeline

ISSUE = (
    "apply_discount(100, 50) returns -4900 instead of 50: the percentage is used as if it "
    "were a fraction."
)
PRICING = '''\
def apply_discount(price, percent):
    """The price after a discount of `percent` per cent."""
    return price - price * percent


def total(prices):
    return sum(prices)
'''
TESTS = """\
from shop.pricing import apply_discount, total


def test_total():
    assert total([1, 2]) == 3


def test_no_discount_leaves_the_price():
    assert apply_discount(100, 0) == 100


def test_half_price():
    assert apply_discount(80, 50) == 40
"""
LOCALIZE = [
    "The discount is computed in shop/pricing.py.",
    "shop/pricing.py\nfunction: apply_discount",
    "shop/pricing.py\nfunction: apply_discount\nline: 3",
]
REPRODUCTION = """\
```python
from shop.pricing import apply_discount


def test_fifty_per_cent_halves_the_price():
    assert apply_discount(100, 50) == 50
```
"""
BUGGY_LINE = "    return price - price * percent\n"


def fix(new_lines: str, search: str = BUGGY_LINE, fenced: bool = False) -> str:
    block = f"shop/pricing.py\n<<<<<<< SEARCH\n{search}=======\n{new_lines}>>>>>>> REPLACE\n"
    return f"Here is the fix.\n\n```python\n{block}```\n" if fenced else block


CORRECT = fix("    return price - price * percent / 100\n")
# The same fix as far as Python is concerned: other spacing and a comment.
CORRECT_RESTYLED = fix(
    "    # `percent` is in per cent, not a fraction\n    return price - (price*percent) / 100\n",
    fenced=True,
)
ANOTHER_VALID = fix("    return price * (100 - percent) / 100\n")
FAILS_REPRODUCTION = fix("    return price - price * percent / 10\n")  # 100, 50 -> -400
BREAKS_SYNTAX = fix("    return price - price * percent / 100)\n")
BREAKS_A_PASSING_TEST = fix("    return price - price / percent\n")  # 0 per cent divides by 0
DOES_NOT_MATCH = fix("    return 0\n", search="    return price * percent\n")


def make_shop(root: Path) -> Path:
    """The repository with the bug; Docker-backed tests need the engine."""
    require_backend("docker")
    files = {
        "shop/__init__.py": "",
        "shop/pricing.py": PRICING,
        "shop/labels.py": "def label(name):\n    return name.title()\n",
        "tests/test_pricing.py": TESTS,
        "tests/test_labels.py": "from shop.labels import label\n\n\ndef test_label():\n"
        "    assert label('tea') == 'Tea'\n",
    }
    return make_repo(root, files)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_shop(tmp_path / "shop")


def settings() -> Settings:
    return Settings(sandbox="docker", image=IMAGE, setup=(), memory="512m", pids=256)


def artifact(run_dir: Path, name: str) -> dict:
    return json.loads((run_dir / name).read_text())["result"]


def test_the_vote_picks_the_fix_most_candidates_agree_on_among_wrong_and_broken_ones(
    tmp_path, shop
):
    candidates = [FAILS_REPRODUCTION, CORRECT_RESTYLED, BREAKS_SYNTAX, ANOTHER_VALID, CORRECT]
    model = ScriptedModel([*LOCALIZE, REPRODUCTION, *candidates])
    run_dir = tmp_path / "run"

    trajectory = run_pipeline(ISSUE, shop, settings(), model, run_dir, candidates=len(candidates))

    assert trajectory.status == "submitted", trajectory.message
    # Candidates 1 and 4 are one fix written two ways: two votes beat the single other valid
    # fix (3), and of the two the smaller patch (4, without the comment) is handed back.
    assert "candidate 4 chosen: 2 of 3 valid candidates" in trajectory.message
    assert "+    return price - price * percent / 100\n" in trajectory.diff
    assert "per cent, not a fraction" not in trajectory.diff
    assert (run_dir / "patch.diff").read_text() == trajectory.diff
    checked = {c["index"]: c for c in artifact(run_dir, "03_validate.json")["candidates"]}
    assert [checked[i]["failed"] for i in range(5)] == [
        "reproduction",
        None,
        "syntax",
        None,
        None,
    ]
    groups = artifact(run_dir, "04_select.json")["groups"]
    assert [(g["votes"], g["members"]) for g in groups] == [(2, [1, 4]), (1, [3])]
    baseline = artifact(run_dir, "03_validate.json")["baseline"]
    assert baseline["regression_tests"] == ["tests/test_pricing.py"]
    assert baseline["reproduction_used"]
    # Every model call is a step with its reply; every stage left an action.
    assert sum(1 for step in trajectory.steps if step.response) == 3 + 1 + 5
    tools = {action.tool for step in trajectory.steps for action in step.actions}
    assert tools == {"pipeline.localize", "pipeline.repair", "pipeline.validate", "pipeline.select"}
    saved = json.loads((run_dir / "trajectory.json").read_text())
    assert saved["status"] == "submitted"
    assert saved["config"]["mode"] == "pipeline"
    # The model turns of the trajectory, played again in a fresh directory, give the same patch.
    replay = ReplayModel([step.response for step in trajectory.steps if step.response])
    again = run_pipeline(ISSUE, shop, settings(), replay, tmp_path / "again", candidates=5)
    assert (again.status, again.diff) == ("submitted", trajectory.diff)


def test_when_every_candidate_fails_validation_the_run_says_so_and_hands_back_no_patch(
    tmp_path, shop
):
    candidates = [FAILS_REPRODUCTION, BREAKS_A_PASSING_TEST, DOES_NOT_MATCH]
    model = ScriptedModel([*LOCALIZE, REPRODUCTION, *candidates])
    run_dir = tmp_path / "run"

    trajectory = run_pipeline(ISSUE, shop, settings(), model, run_dir, candidates=3)

    assert trajectory.status == NO_VALID_CANDIDATE
    assert trajectory.message == (
        "all 3 candidates failed validation (0: reproduction; 1: regression; 2: apply)"
    )
    assert trajectory.diff == ""
    assert (run_dir / "patch.diff").read_text() == ""
    checked = artifact(run_dir, "03_validate.json")["candidates"]
    assert "tests/test_pricing.py::test_no_discount_leaves_the_price" in checked[1]["reason"]
    assert "old_str was not found" in checked[2]["reason"]


class InterruptedModel(ScriptedModel):
    """A scripted model whose user presses Ctrl-C while call number `at` (from 1) waits."""

    def __init__(self, script: list, at: int):
        super().__init__(script)
        self.at = at

    def query(self, messages, tools=None):
        if len(self.received) + 1 == self.at:
            raise KeyboardInterrupt
        return super().query(messages, tools)


def test_a_run_interrupted_during_repair_resumes_without_redoing_what_was_done(tmp_path, shop):
    candidates = [CORRECT, FAILS_REPRODUCTION, CORRECT_RESTYLED]
    run_dir = tmp_path / "run"
    # Calls: 3 to localize, the reproduction test, candidate 0, then Ctrl-C on candidate 1.
    first = InterruptedModel([*LOCALIZE, REPRODUCTION, *candidates], at=6)

    stopped = run_pipeline(ISSUE, shop, settings(), first, run_dir, candidates=3)

    assert stopped.status == "interrupted"
    localized = run_dir / "01_localize.json"
    assert localized.is_file()
    assert not (run_dir / "02_repair.json").exists()
    made_before = localized.stat().st_mtime_ns
    second = ScriptedModel(candidates[1:])

    resumed = run_pipeline(ISSUE, shop, settings(), second, run_dir, candidates=3)

    assert resumed.status == "submitted", resumed.message
    assert "+    return price - price * percent / 100\n" in resumed.diff
    # Only the two candidates not made yet were asked for: no localization, no new test.
    assert len(second.received) == 2
    assert "SEARCH" in second.received[0][-1]["content"]
    assert localized.stat().st_mtime_ns == made_before
    assert [c["index"] for c in artifact(run_dir, "02_repair.json")["candidates"]] == [0, 1, 2]
    # One trajectory tells the whole story: the first run's calls, then the second's.
    assert sum(1 for step in resumed.steps if step.response) == 5 + 2
    resumed_notes = [
        action.observation
        for step in resumed.steps
        for action in step.actions
        if action.arguments.get("resumed")
    ]
    assert len(resumed_notes) == 1 and "01_localize.json" in resumed_notes[0]
