"""Secrets never reach trajectories: what is masked, and what must stay exact."""

from __future__ import annotations

import json

from patchsmith.agent.bench.store import BenchStore, InstanceLog
from patchsmith.agent.redact import MASK, redact, secret_values
from patchsmith.agent.trajectory import Trajectory


def test_provider_key_shapes_are_masked():
    text = (
        "OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwxyz012345 and "
        "AKIAABCDEFGHIJKLMNOP and ghp_abcdefghijklmnopqrstuvwxyz0123456789"
    )
    masked = redact(text, known=[])
    assert "sk-proj" not in masked and "AKIA" not in masked and "ghp_" not in masked
    assert masked.count(MASK) == 3


def test_assigned_secrets_lose_their_value_but_keep_their_name():
    masked = redact('{"api_key": "a1b2c3d4e5f6g7h8i9j0"} password=Zx9Zx9Zx9Zx9Zx9Zx9', known=[])
    assert masked == f'{{"api_key": "{MASK}"}} password={MASK}'


def test_code_that_merely_names_tokens_is_left_exact():
    code = "token = tokens[i]\npassword = get_password()\nmax_tokens=4096\nsecret = None\n"
    assert redact(code, known=[]) == code


def test_values_of_secret_environment_variables_are_masked_wherever_they_appear():
    env = {"MY_SERVICE_TOKEN": "plainwordsecret", "HOME": "/root", "SHORT_KEY": "abc"}
    assert secret_values(env) == ["plainwordsecret"]
    assert redact("cat .env -> plainwordsecret", known=secret_values(env)) == f"cat .env -> {MASK}"


def test_a_saved_trajectory_holds_no_key(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-" + "x" * 40)
    trajectory = Trajectory(issue="fix it", config={"model": "anthropic/claude"})
    trajectory.diff = "+print('sk-ant-api03-" + "x" * 40 + "')\n"
    path = tmp_path / "t.json"
    trajectory.save(path)
    saved = path.read_text()
    assert "x" * 40 not in saved
    assert json.loads(saved)["diff"] == f"+print('{MASK}')\n"


def test_benchmark_results_and_logs_hold_no_key_but_patches_stay_exact(tmp_path, monkeypatch):
    key = "sk-proj-" + "y" * 40
    monkeypatch.setenv("OPENAI_API_KEY", key)
    store = BenchStore(tmp_path)
    patch = f"+KEY = '{key}'  # the model wrote it: a patch is never rewritten\n"
    store.save(
        {"instance_id": "a__b-1", "status": "error", "message": f"AuthenticationError: {key}"},
        {"instance_id": "a__b-1", "model_name_or_path": "m", "model_patch": patch},
    )
    log = InstanceLog(tmp_path / "logs" / "a__b-1" / "run.log")
    log.line(f"model error: bad key {key}")
    log.close()
    assert key not in (tmp_path / "results.json").read_text()
    assert json.loads((tmp_path / "results.json").read_text())["instances"]["a__b-1"]["message"]
    assert key not in (tmp_path / "logs" / "a__b-1" / "run.log").read_text()
    assert json.loads((tmp_path / "preds.json").read_text())["a__b-1"]["model_patch"] == patch
