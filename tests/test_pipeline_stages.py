"""Each pipeline stage on its own, with scripted models and the Docker sandbox. A stage is
isolated by giving the run directory the artifacts of the stages before it, as a resumed
run has them, and a model with only the replies this stage needs."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest
from test_pipeline_e2e import (
    BUGGY_LINE,
    CORRECT,
    FAILS_REPRODUCTION,
    ISSUE,
    LOCALIZE,
    PRICING,
    REPRODUCTION,
    artifact,
    make_shop,
    settings,
)

from patchsmith.agent.models import ScriptedModel
from patchsmith.agent.pipeline import StaleArtifact, run_pipeline
from patchsmith.agent.pipeline.artifacts import Artifacts

LOCALIZED = {
    "ranking": {"files": [["shop/pricing.py", 1.0]], "symbols": []},
    "files": ["shop/pricing.py"],
    "symbols": [
        {"path": "shop/pricing.py", "qualname": "shop.pricing.apply_discount", "start": 1, "end": 3}
    ],
    "locations": [{"path": "shop/pricing.py", "start": 3, "end": 3}],
    "context": [{"path": "shop/pricing.py", "start": 1, "end": 7, "code": PRICING}],
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return make_shop(tmp_path / "shop")


def head(repo: Path) -> str:
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True)
    return done.stdout.decode().strip()


def seed(run_dir: Path, repo: Path, **results: dict) -> None:
    """Artifacts as an earlier run of this issue would have left them."""
    artifacts = Artifacts(run_dir, ISSUE, head(repo))
    for stage, result in results.items():
        artifacts.save(stage, result)


def test_localize_narrows_to_the_named_file_symbol_and_lines_and_keeps_their_code(tmp_path, shop):
    run_dir = tmp_path / "run"
    replies = ["pricing.py, I think", "method: apply_discount", "Line 3 is wrong."]
    model = ScriptedModel(replies)

    trajectory = run_pipeline(ISSUE, shop, settings(), model, run_dir)

    # The model ran out of replies at repair: the run stops there, localization is kept.
    assert trajectory.status == "model_error"
    localized = artifact(run_dir, "01_localize.json")
    assert localized["ranking"]["files"][0][0] == "shop/pricing.py"
    assert localized["files"] == ["shop/pricing.py"]
    assert [s["qualname"] for s in localized["symbols"]] == ["shop.pricing.apply_discount"]
    assert localized["locations"] == [{"path": "shop/pricing.py", "start": 3, "end": 3}]
    assert localized["context"] == [
        {"path": "shop/pricing.py", "start": 1, "end": 7, "code": PRICING}
    ]
    # The model saw the ranking, then the file's skeleton, then the function's numbered code.
    prompts = [conversation[-1]["content"] for conversation in model.received]
    assert "shop/pricing.py" in prompts[0]
    assert "1 | def apply_discount(price, percent):" in prompts[1]
    assert "3 |     return price - price * percent" in prompts[2]


def test_localize_falls_back_on_the_ranking_when_the_replies_name_nothing_usable(tmp_path, shop):
    run_dir = tmp_path / "run"
    model = ScriptedModel(["I am not sure.", "Hard to say.", "Somewhere."])

    run_pipeline(ISSUE, shop, settings(), model, run_dir)

    localized = artifact(run_dir, "01_localize.json")
    assert localized["files"][0] == "shop/pricing.py"
    assert "shop.pricing.apply_discount" in [s["qualname"] for s in localized["symbols"]]
    assert localized["context"][0]["code"].startswith("def apply_discount(price, percent):")


class TemperatureModel(ScriptedModel):
    """A scripted model with a sampling temperature, as litellm's models have."""

    def __init__(self, script: list):
        super().__init__(script)
        self.temperature = 0.3
        self.temperatures: list[float] = []

    def query(self, messages, tools=None):
        self.temperatures.append(self.temperature)
        return super().query(messages, tools)


def test_repair_asks_for_a_test_then_one_greedy_candidate_then_sampled_ones(tmp_path, shop):
    run_dir = tmp_path / "run"
    seed(run_dir, shop, localize=LOCALIZED)
    model = TemperatureModel([REPRODUCTION, CORRECT, FAILS_REPRODUCTION, CORRECT])

    trajectory = run_pipeline(ISSUE, shop, settings(), model, run_dir, candidates=3)

    assert trajectory.status == "submitted"
    # The test is asked at the model's own temperature; candidate 0 greedily, then sampled.
    assert model.temperatures == [0.3, 0.0, 0.8, 0.8]
    assert model.temperature == 0.3
    repaired = artifact(run_dir, "02_repair.json")
    assert "def test_fifty_per_cent_halves_the_price" in repaired["reproduction"]["code"]
    assert [c["temperature"] for c in repaired["candidates"]] == [0.0, 0.8, 0.8]
    assert repaired["candidates"][0]["edits"] == [
        {
            "path": "shop/pricing.py",
            "search": "    return price - price * percent\n",
            "replace": "    return price - price * percent / 100\n",
        }
    ]
    # The code shown for SEARCH/REPLACE is the file's own text, without line numbers.
    assert "```python\ndef apply_discount(price, percent):\n" in model.received[1][-1]["content"]


def test_reaching_the_cost_limit_ends_sampling_early_and_validates_what_there_is(tmp_path, shop):
    run_dir = tmp_path / "run"
    seed(run_dir, shop, localize=LOCALIZED)
    priced = [{"text": reply, "cost": 0.4} for reply in (CORRECT, CORRECT, CORRECT)]
    model = ScriptedModel([REPRODUCTION, *priced])
    limited = dataclasses.replace(settings(), cost_limit=1.0)

    trajectory = run_pipeline(ISSUE, shop, limited, model, run_dir, candidates=4)

    # Two candidates cost $0.80; a third would pass $1: the run goes on with two.
    assert trajectory.status == "submitted"
    assert trajectory.cost == pytest.approx(0.8)
    repaired = artifact(run_dir, "02_repair.json")
    assert len(repaired["candidates"]) == 2
    assert repaired["stopped"].startswith("sampling stopped after 2 candidates")


@pytest.mark.parametrize(
    ("reproduction", "verdict"),
    [
        ("def test_nothing_wrong():\n    assert True\n", "passes before the change: not used"),
        ("from shop.pricing import discount\n", "does not run (exit code 2): not used"),
    ],
    ids=["passes-already", "cannot-import"],
)
def test_validation_needs_no_model_and_a_test_that_reproduces_nothing_is_not_used(
    tmp_path, shop, reproduction, verdict
):
    run_dir = tmp_path / "run"
    wrong = {"path": "shop/pricing.py", "search": BUGGY_LINE, "replace": BUGGY_LINE[:-1] + "/10\n"}
    new_file = {"path": "shop/rounding.py", "search": "", "replace": "PLACES = 2\n"}
    candidates = [
        {"index": i, "temperature": 0.0, "edits": [edit], "problems": [], "step": 0}
        for i, edit in enumerate([wrong, new_file])
    ]
    repaired = {"reproduction": {"code": reproduction, "step": 0}, "candidates": candidates}
    seed(run_dir, shop, localize=LOCALIZED, repair=repaired)
    model = ScriptedModel([])

    trajectory = run_pipeline(ISSUE, shop, settings(), model, run_dir)

    assert model.received == []
    validated = artifact(run_dir, "03_validate.json")
    assert validated["baseline"]["reproduction"] == verdict
    # Without a reproduction test, the wrong fix passes: its tests ran and it breaks none that
    # passed (test_half_price failed on the base too). No test covers the new file, so that
    # candidate is unverified, and a valid candidate wins over it.
    assert [c["verdict"] for c in validated["candidates"]] == ["valid", "unverified"]
    assert (
        validated["candidates"][0]["reason"] == "2 regression tests pass (1 failed on the base too)"
    )
    assert "+PLACES = 2" in validated["candidates"][1]["diff"]
    assert (trajectory.status, trajectory.verdict) == ("submitted", "valid")
    assert "shop/pricing.py" in trajectory.diff
    assert "shop/rounding.py" not in trajectory.diff


def test_a_run_directory_of_another_issue_is_refused_before_anything_runs(tmp_path, shop):
    run_dir = tmp_path / "run"
    Artifacts(run_dir, "another issue", head(shop)).save("localize", LOCALIZED)
    model = ScriptedModel(LOCALIZE)

    with pytest.raises(StaleArtifact, match=r"01_localize\.json belongs to another issue"):
        run_pipeline(ISSUE, shop, settings(), model, run_dir)

    assert model.received == []
    assert not (run_dir / "trajectory.json").exists()
    saved = json.loads((run_dir / "01_localize.json").read_text())
    assert saved["result"] == LOCALIZED
