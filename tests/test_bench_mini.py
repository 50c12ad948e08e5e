"""The bundled mini benchmark through the real command, loop, tools, evaluator and Docker
sandboxes: its commits are what the dataset says, its tests fail without a fix, the scripted
gold trajectories resolve every instance, the official harness reads the predictions, and a
run interrupted halfway goes on where it stopped."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import IMAGE, require_backend
from engine_proxy import EngineProxy

from patchsmith.agent.bench.dataset import MINI_DATASET, MINI_SCRIPTS, load_dataset
from patchsmith.agent.bench.environment import instance_repository

AGENT = [sys.executable, "-m", "patchsmith.cli"]
# The command function itself, as `agent run-bench` runs it.
RUN_BENCH = [
    sys.executable,
    "-c",
    "import typer; from patchsmith.cli.bench_cmd import run_bench; typer.run(run_bench)",
]
NO_FIX = (
    "diff --git a/NOTES b/NOTES\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES\n"
    "@@ -0,0 +1 @@\n+nothing fixed here\n"
)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """Repositories made from the bundled files go to a fresh cache."""
    monkeypatch.setenv("PATCHSMITH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def run_bench(*args: str, cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*RUN_BENCH, *args], capture_output=True, text=True, env=bench_env(cache), timeout=600
    )


def bench_env(cache: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATCHSMITH_IMAGE": IMAGE,
        "PATCHSMITH_CACHE_DIR": str(cache),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_the_mini_set_has_several_repositories_languages_and_multi_file_fixes():
    instances = load_dataset("mini")
    assert 4 <= len(instances) <= 6
    assert len({i.repo for i in instances}) >= 3
    assert {i.log_format for i in instances} == {"pytest", "generic"}
    assert any(len(i.patch.split("diff --git")) > 2 for i in instances)  # several files
    assert all(i.fail_to_pass and i.pass_to_pass for i in instances)
    assert all((MINI_SCRIPTS / f"{i.instance_id}.yaml").is_file() for i in instances)


def test_mini_repositories_are_made_with_the_commits_the_dataset_names(cache):
    for instance in load_dataset("mini"):
        repo = instance_repository(instance)  # raises when the commit is not there
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        assert head == instance.base_commit, (
            f"{instance.instance_id}: the files under {instance.repo_path} make commit {head}; "
            f"update base_commit in {MINI_DATASET.name}"
        )
        for patch in (instance.patch, instance.test_patch):
            check = subprocess.run(
                ["git", "-C", str(repo), "apply", "--check", "-"], input=patch, text=True
            )
            assert check.returncode == 0, instance.instance_id


def test_without_a_fix_every_mini_instance_is_unresolved_with_its_tests_failing(cache):
    require_backend("docker")
    from patchsmith.agent.bench.evaluate import evaluate_prediction
    from patchsmith.agent.config import load_settings

    settings = load_settings(None, {"image": IMAGE})
    for instance in load_dataset("mini"):
        result = evaluate_prediction(instance, NO_FIX, settings=settings)
        assert result.status == "unresolved", (instance.instance_id, result.message)
        assert set(result.fail_to_pass.values()) <= {"FAILED", "ERROR"}, result.fail_to_pass
        assert set(result.pass_to_pass.values()) == {"PASSED"}, result.pass_to_pass


def test_the_scripted_gold_trajectories_resolve_every_mini_instance(tmp_path, cache):
    require_backend("docker")
    out = tmp_path / "out"
    result = run_bench("mini", "--evaluate", "--workers", "2", "-o", str(out), cache=cache)
    assert result.returncode == 0, result.stdout + result.stderr

    records = read(out / "results.json")["instances"]
    instances = load_dataset("mini")
    assert sorted(records) == sorted(i.instance_id for i in instances)
    unresolved = {iid: r["evaluation"] for iid, r in records.items() if not r["resolved"]}
    assert not unresolved
    assert re.search(rf"resolved\s+{len(instances)}/{len(instances)}", result.stdout)


def test_the_official_harness_reads_our_predictions_and_our_dataset_file(tmp_path, cache):
    harness = pytest.importorskip("swebench.harness.run_evaluation")
    from swebench.harness.utils import get_predictions_from_file

    out = tmp_path / "out"
    result = run_bench("mini", "--gold", "-o", str(out), cache=cache)  # no sandbox needed
    assert result.returncode == 0, result.stdout + result.stderr

    loaded = get_predictions_from_file(str(out / "preds.json"), str(MINI_DATASET), "test")
    predictions = {p["instance_id"]: p for p in loaded}
    assert {p["model_name_or_path"] for p in loaded} == {"gold"}
    chosen = harness.get_dataset_from_preds(
        str(MINI_DATASET), "test", None, predictions, "patchsmith-test", False
    )
    assert sorted(i["instance_id"] for i in chosen) == sorted(predictions)
    gold = {i["instance_id"]: i["patch"] for i in chosen}
    assert all(predictions[iid]["model_patch"] == patch for iid, patch in gold.items())


def test_an_interrupted_run_goes_on_without_redoing_finished_instances(tmp_path, cache):
    require_backend("docker")
    out, scripts = tmp_path / "out", tmp_path / "slow"
    chosen = [i.instance_id for i in load_dataset("mini")[:3]]
    # The first instance is quick; the others start with a long command, so the interrupt
    # lands while they run.
    write_scripts(scripts, quick=chosen[:1], slow=chosen[1:])
    args = ["mini", "--slice", "0:3", "--workers", "1", "-o", str(out)]
    process = start_bench([*args, "--model", f"scripted:{scripts}"], bench_env(cache))
    try:
        wait_for(lambda: first_done(out, chosen[0]), process)
        wait_for(lambda: (out / "logs" / chosen[1] / "run.log").exists(), process)
        time.sleep(3)  # for its sandbox to open and the long command to start
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stdout + stderr
    assert "run the same command again" in stderr
    assert not leftover_containers(process.pid)
    records = read(out / "results.json")["instances"]
    assert [iid for iid, r in records.items() if r["done"]] == [chosen[0]]
    assert records[chosen[1]]["status"] == "interrupted"
    assert chosen[2] not in records  # never started
    assert list(read(out / "preds.json")) == [chosen[0]]
    first_trajectory = (out / "trajs" / f"{chosen[0]}.traj.json").read_bytes()

    again = run_bench(*args, "--model", f"scripted:{MINI_SCRIPTS}", cache=cache)
    assert again.returncode == 0, again.stdout + again.stderr
    assert chosen[0] not in again.stdout  # skipped, not run again
    assert all(iid in again.stdout for iid in chosen[1:])
    assert "(1 in an earlier run)" in again.stdout
    records = read(out / "results.json")["instances"]
    assert sorted(records) == sorted(chosen) and all(r["done"] for r in records.values())
    assert sorted(read(out / "preds.json")) == sorted(chosen)
    assert (out / "trajs" / f"{chosen[0]}.traj.json").read_bytes() == first_trajectory


def test_losing_the_engine_stops_the_run_and_the_same_command_goes_on(tmp_path, cache):
    require_backend("docker")
    out, scripts = tmp_path / "out", tmp_path / "slow"
    chosen = [i.instance_id for i in load_dataset("mini")[:3]]
    write_scripts(scripts, quick=[], slow=chosen)
    proxy = EngineProxy(str(tmp_path / "engine.sock")).start()
    env = {**bench_env(cache), "DOCKER_HOST": proxy.url}
    args = ["mini", "--slice", "0:3", "--workers", "1", "-o", str(out)]
    process = start_bench([*args, "--model", f"scripted:{scripts}"], env)
    try:
        wait_for(lambda: bool(leftover_containers(process.pid)), process)
        time.sleep(3)  # for the long command to start
        proxy.cut()
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, stdout + stderr
    assert "lost the Docker engine" in stderr and "agent sandbox prune" in stderr
    records = read(out / "results.json")["instances"]
    assert list(records) == [chosen[0]]  # the others were not started, to fail in turn
    assert records[chosen[0]]["status"] == "sandbox_error" and not records[chosen[0]]["done"]

    proxy.start()  # the engine is back
    prune = subprocess.run([*AGENT, "sandbox", "prune"], capture_output=True, text=True, env=env)
    assert prune.returncode == 0 and not leftover_containers(process.pid)
    again = run_bench(*args, "--model", f"scripted:{MINI_SCRIPTS}", cache=cache)
    assert again.returncode == 0, again.stdout + again.stderr
    records = read(out / "results.json")["instances"]
    assert sorted(records) == sorted(chosen) and all(r["done"] for r in records.values())


def write_scripts(directory: Path, quick: list[str], slow: list[str]) -> None:
    """The bundled fixes; those of `slow` first run a long command (for a fault to land)."""
    directory.mkdir()
    wait = {"tool_calls": [{"name": "bash", "arguments": {"command": "sleep 300"}}]}
    for iid in [*quick, *slow]:
        turns = yaml.safe_load((MINI_SCRIPTS / f"{iid}.yaml").read_text())
        (directory / f"{iid}.yaml").write_text(yaml.safe_dump([wait] * (iid in slow) + turns))


def start_bench(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [*RUN_BENCH, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def first_done(out: Path, iid: str) -> bool:
    try:
        return read(out / "results.json")["instances"][iid]["done"]
    except (OSError, KeyError, ValueError):
        return False


def wait_for(condition, process: subprocess.Popen, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the run ended early: {process.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail("the run did not get that far")
        time.sleep(0.1)


def leftover_containers(owner_pid: int) -> list[str]:
    done = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=patchsmith.owner-pid={owner_pid}"],
        capture_output=True,
        text=True,
    )
    return done.stdout.split()


PIPELINE_FIX = """textstats/freq.py
<<<<<<< SEARCH
    return Counter(words(text))
=======
    return Counter(word.lower() for word in words(text))
>>>>>>> REPLACE
"""
PIPELINE_SCRIPT = [
    "Words are counted in textstats/freq.py.",
    "textstats/freq.py\nfunction: word_counts",
    "textstats/freq.py\nfunction: word_counts\nline: 10",
    "```python\nfrom textstats import top_words\n\n\ndef test_case_is_ignored():\n"
    '    assert top_words("The the", n=1) == [("the", 2)]\n```\n',
    *[PIPELINE_FIX] * 4,  # the pipeline's default number of candidates
]


def test_pipeline_mode_runs_an_instance_and_its_fix_resolves_it(tmp_path, cache):
    require_backend("docker")
    iid = "patchsmith-mini__textstats-1"
    scripts, out = tmp_path / "scripts", tmp_path / "out"
    scripts.mkdir()
    (scripts / f"{iid}.yaml").write_text(yaml.safe_dump(PIPELINE_SCRIPT))
    result = run_bench(
        "mini", "--mode", "pipeline", "--instances", iid, "--evaluate",
        "--model", f"scripted:{scripts}", "-o", str(out), cache=cache,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr

    record = read(out / "results.json")["instances"][iid]
    assert record["status"] == "submitted" and record["resolved"], record
    assert read(out / "trajs" / f"{iid}.traj.json")["config"]["mode"] == "pipeline"
    assert "word.lower()" in read(out / "preds.json")[iid]["model_patch"]
