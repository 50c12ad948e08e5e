"""Benchmark datasets, selection, instance repositories and the runner: resume, the total
cost limit across workers, gold predictions, failures recorded and retried.

The runner tests use the local sandbox on a tiny repository (fast); the Docker path is
covered end to end on the mini benchmark (test_bench_mini.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml
from conftest import IMAGE, make_repo, require_backend

from patchsmith.agent.bench.dataset import DatasetError, Instance, load_dataset, select
from patchsmith.agent.bench.environment import instance_image, instance_repository, materialize
from patchsmith.agent.bench.runner import BenchOptions, BenchRun
from patchsmith.agent.config import load_settings

GOLD = "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n"  # noqa: E501
TEST_PATCH = "diff --git a/test_calc.py b/test_calc.py\n--- a/test_calc.py\n+++ b/test_calc.py\n"
ADD_TEST = (
    "diff --git a/test_calc.py b/test_calc.py\nnew file mode 100644\n--- /dev/null\n"
    "+++ b/test_calc.py\n@@ -0,0 +1,5 @@\n+from calc import add\n+\n+\n+def test_add():\n"
    "+    assert add(2, 3) == 5\n"
)


def record(iid: str, **fields) -> dict:
    return {
        "instance_id": iid,
        "repo": "acme/calc",
        "base_commit": "abc123",
        "problem_statement": "add() subtracts",
        "patch": GOLD,
        "test_patch": TEST_PATCH,
        "FAIL_TO_PASS": json.dumps(["test_calc.py::test_add"]),
        "PASS_TO_PASS": "[]",
        **fields,
    }


# -- datasets ----------------------------------------------------------------------------


def test_a_jsonl_dataset_loads_with_test_lists_decoded_and_paths_resolved(tmp_path):
    rows = [
        record("acme__calc-1", repo_path="repos/calc"),
        record("acme__calc-2", FAIL_TO_PASS=["a", "b"], PASS_TO_PASS=None, version="1.0"),
    ]
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    first, second = load_dataset(str(path))

    assert first.fail_to_pass == ["test_calc.py::test_add"] and first.pass_to_pass == []
    assert first.repo_path == str(tmp_path / "repos" / "calc")
    assert first.test_files == ["test_calc.py"]  # from the test patch
    assert second.fail_to_pass == ["a", "b"] and second.version == "1.0"
    assert second.to_record()["FAIL_TO_PASS"] == '["a", "b"]'


def test_a_bad_dataset_says_what_is_wrong(tmp_path):
    path = tmp_path / "set.json"
    path.write_text(json.dumps([record("x", FAIL_TO_PASS="not json")]))
    with pytest.raises(DatasetError, match="FAIL_TO_PASS is not a JSON list"):
        load_dataset(str(path))
    path.write_text(json.dumps([record("x"), record("x")]))
    with pytest.raises(DatasetError, match="appears twice"):
        load_dataset(str(path))
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(str(tmp_path / "missing.jsonl"))
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_dataset("swe-tiny")


def test_a_parquet_dataset_loads(tmp_path):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as parquet

    path = tmp_path / "set.parquet"
    parquet.write_table(pyarrow.Table.from_pylist([record("acme__calc-1")]), path)
    (instance,) = load_dataset(str(path))
    assert instance.instance_id == "acme__calc-1"
    assert instance.fail_to_pass == ["test_calc.py::test_add"]


def fake_datasets(monkeypatch, available: set[str]) -> list:
    calls = []

    def load(name, split):
        calls.append((name, split))
        if name not in available:
            raise FileNotFoundError(f"no dataset {name}")
        return [record("django__django-1", repo="django/django")]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load))
    return calls


def test_swe_lite_loads_the_test_split_through_the_datasets_library(monkeypatch):
    calls = fake_datasets(monkeypatch, {"princeton-nlp/SWE-bench_Lite"})
    (instance,) = load_dataset("swe-lite")
    assert calls == [("princeton-nlp/SWE-bench_Lite", "test")]
    assert instance.repo == "django/django" and instance.repo_path is None


def test_swe_verified_falls_back_to_its_second_name(monkeypatch):
    calls = fake_datasets(monkeypatch, {"princeton-nlp/SWE-bench_Verified"})
    load_dataset("swe-verified", split="dev")
    assert calls == [
        ("SWE-bench/SWE-bench_Verified", "dev"),
        ("princeton-nlp/SWE-bench_Verified", "dev"),
    ]


def test_without_the_datasets_library_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    with pytest.raises(DatasetError, match=r"pip install patchsmith\[datasets\]"):
        load_dataset("swe-full")


def test_selection_by_ids_regex_seeded_shuffle_and_slice():
    instances = [
        Instance.from_record(record(f"{repo}-{n}")) for repo in ("a__x", "b__y") for n in range(5)
    ]
    ids = lambda chosen: [i.instance_id for i in chosen]  # noqa: E731

    assert ids(select(instances, instance_ids=["b__y-1", "a__x-3"])) == ["a__x-3", "b__y-1"]
    assert ids(select(instances, filter_regex="^b__", slice_spec="1:3")) == ["b__y-1", "b__y-2"]
    assert ids(select(instances, slice_spec=":2")) == ["a__x-0", "a__x-1"]
    shuffled = ids(select(instances, shuffle=True, seed=7))
    assert shuffled == ids(select(instances, shuffle=True, seed=7))
    assert shuffled != ids(instances) and sorted(shuffled) == sorted(ids(instances))
    with pytest.raises(DatasetError, match="did you mean a__x-1"):
        select(instances, instance_ids=["a__x-11"])
    with pytest.raises(DatasetError, match="START:END"):
        select(instances, slice_spec="1-3")


def test_official_instances_run_in_swe_bench_images_unless_they_name_one():
    instance = Instance.from_record(record("django__django-15202"))
    assert instance_image(instance) == "swebench/sweb.eval.x86_64.django_1776_django-15202:latest"
    own = Instance.from_record(record("django__django-15202", image_name="mine:1"))
    assert instance_image(own) == "mine:1"


# -- repositories ------------------------------------------------------------------------


def test_plain_files_become_the_same_commit_whatever_the_users_git_config(tmp_path, monkeypatch):
    source = tmp_path / "plain"
    (source / "pkg").mkdir(parents=True)
    (source / "pkg" / "mod.py").write_text("x = 1\r\n")
    (source / "README").write_text("hello\n")
    (source / "pkg" / "__pycache__").mkdir()
    (source / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"junk")

    first = materialize(source, tmp_path / "cache1")
    hostile = tmp_path / "gitconfig"
    hostile.write_text("[core]\n\tautocrlf = true\n[commit]\n\tgpgsign = true\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(hostile))
    second = materialize(source, tmp_path / "cache2")

    head = lambda repo: subprocess.run(  # noqa: E731
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert head(first) == head(second) and len(head(first)) == 40
    tracked = subprocess.run(
        ["git", "-C", str(first), "ls-files"], capture_output=True, text=True
    ).stdout.split()
    assert tracked == ["README", "pkg/mod.py"]
    assert materialize(source, tmp_path / "cache1") == first  # reused, not made again


def test_a_repository_url_is_cloned_once_into_the_cache(tmp_path):
    repo = make_repo(tmp_path / "upstream", {"a.py": "x = 1\n"})
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    instance = Instance.from_record(
        record("acme__a-1", base_commit=commit, repo_path=f"file://{repo}")
    )
    clone = instance_repository(instance, cache=tmp_path / "cache")
    assert clone.is_relative_to(tmp_path / "cache") and (clone / ".git").is_dir()
    assert instance_repository(instance, cache=tmp_path / "cache") == clone


def test_an_instance_whose_commit_is_not_in_its_repository_is_refused(tmp_path):
    repo = make_repo(tmp_path / "repo", {"a.py": "x = 1\n"})
    instance = Instance.from_record(record("acme__calc-1", repo_path=str(repo)))
    from patchsmith.sandbox import SandboxError

    with pytest.raises(SandboxError, match="not a commit"):
        instance_repository(instance)


# -- the runner (local sandbox) ----------------------------------------------------------

FIX = [
    {"text": "Look.", "tool_calls": [{"name": "bash", "arguments": {"command": "cat calc.py"}}]},
    {
        "text": "Fix.",
        "tool_calls": [
            {
                "name": "edit",
                "arguments": {
                    "command": "str_replace",
                    "path": "calc.py",
                    "old_str": "a - b",
                    "new_str": "a + b",
                },
            }
        ],
    },
    {"text": "Done.", "tool_calls": [{"name": "submit", "arguments": {}}]},
]


@pytest.fixture
def bench(tmp_path):
    """A four-instance dataset on one repository, a script per instance, and a runner."""
    repo = make_repo(
        tmp_path / "calc",
        {"calc.py": "def add(a, b):\n    return a - b\n", "README": "calc\n"},
    )
    commit = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    # Tests run with this interpreter (the local sandbox runs them on this machine).
    tests = {
        "test_patch": ADD_TEST,
        "test_cmd": f"{sys.executable} -m pytest -rA -p no:cacheprovider",
    }
    instances = [
        Instance.from_record(
            record(f"acme__calc-{n}", base_commit=commit, repo_path=str(repo), **tests)
        )
        for n in range(1, 5)
    ]
    scripts = tmp_path / "scripts"
    scripts.mkdir()

    def write_scripts(cost: float = 0.0, steps: list | None = None) -> None:
        for instance in instances:
            turns = [{**turn, "cost": cost} for turn in (steps or FIX)]
            (scripts / f"{instance.instance_id}.yaml").write_text(yaml.safe_dump(turns))

    def run(output: Path | None = None, **options) -> tuple[BenchRun, list]:
        events = []
        settings = load_settings(
            None,
            {"model": f"scripted:{scripts}", "sandbox": "local", "setup": [], "cost_limit": 0},
        )
        runner = BenchRun(
            options.pop("chosen", instances),
            settings,
            BenchOptions(output_dir=output or tmp_path / "out", dataset="calc", **options),
            on_event=lambda kind, iid, detail: events.append((kind, iid)),
        )
        runner.run()
        return runner, events

    write_scripts()
    return types.SimpleNamespace(
        instances=instances,
        scripts=scripts,
        write_scripts=write_scripts,
        run=run,
        out=tmp_path / "out",
    )


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def test_a_run_writes_preds_trajectories_logs_and_results(bench):
    runner, _ = bench.run(workers=2)

    preds = read(bench.out / "preds.json")
    assert sorted(preds) == [i.instance_id for i in bench.instances]
    for iid, pred in preds.items():
        assert pred["instance_id"] == iid
        assert pred["model_name_or_path"].startswith("scripted:")
        assert "+    return a + b" in pred["model_patch"]
        trajectory = read(bench.out / "trajs" / f"{iid}.traj.json")
        assert trajectory["status"] == "submitted"
        assert "status: submitted" in (bench.out / "logs" / iid / "run.log").read_text()
    results = read(bench.out / "results.json")
    assert results["dataset"] == "calc" and results["mode"] == "agent"
    assert all(r["done"] and r["patch_files"] == ["calc.py"] for r in results["instances"].values())
    assert runner.progress.finished == 4 and runner.progress.failed == 0


def test_a_second_run_skips_done_instances_and_redo_runs_them_again(bench):
    bench.run(chosen=bench.instances[:2])
    before = (bench.out / "trajs" / "acme__calc-1.traj.json").read_text()

    runner, events = bench.run()
    started = [iid for kind, iid in events if kind == "start"]
    assert started == ["acme__calc-3", "acme__calc-4"]
    assert runner.progress.already_done == 2
    assert (bench.out / "trajs" / "acme__calc-1.traj.json").read_text() == before
    assert len(read(bench.out / "preds.json")) == 4

    _, events = bench.run(redo=True)
    assert len([iid for kind, iid in events if kind == "start"]) == 4


def test_evaluate_on_a_finished_run_only_evaluates_and_records_the_outcome(bench):
    bench.run(chosen=bench.instances[:2])
    before = (bench.out / "trajs" / "acme__calc-1.traj.json").read_text()

    runner, events = bench.run(chosen=bench.instances[:2], evaluate=True)

    records = read(bench.out / "results.json")["instances"]
    assert [r["evaluation"]["status"] for r in records.values()] == ["resolved", "resolved"]
    assert all(r["resolved"] for r in records.values())
    assert (bench.out / "logs" / "acme__calc-1" / "eval.log").is_file()
    assert (bench.out / "trajs" / "acme__calc-1.traj.json").read_text() == before
    assert runner.progress.already_done == 2 and runner.progress.finished == 0
    assert runner.progress.resolved == 2
    _, events = bench.run(chosen=bench.instances[:2], evaluate=True)
    assert not [kind for kind, _ in events if kind == "start"]  # nothing left to do


def test_the_total_cost_limit_holds_across_workers_and_a_later_run_finishes(bench):
    bench.write_scripts(cost=1.0)  # three calls of $1 per instance
    runner, _ = bench.run(workers=2, total_cost_limit=5.0)

    records = read(bench.out / "results.json")["instances"]
    spent = sum(r.get("cost", 0.0) for r in records.values())
    assert spent <= 5.0
    assert runner.budget.spent <= 5.0
    done = [iid for iid, r in records.items() if r["done"]]
    assert 1 <= len(done) < 4
    stopped = [r for r in records.values() if not r["done"]]
    assert stopped and all(r["status"] == "cost_limit" for r in stopped)
    assert sorted(read(bench.out / "preds.json")) == sorted(done)

    runner, events = bench.run(workers=2, total_cost_limit=100.0)
    assert not {iid for kind, iid in events if kind == "start"} & set(done)
    assert all(r["done"] for r in read(bench.out / "results.json")["instances"].values())


def test_gold_mode_predicts_the_gold_patches_without_a_model(bench):
    bench.run(gold=True)
    preds = read(bench.out / "preds.json")
    assert {p["model_patch"] for p in preds.values()} == {GOLD}
    assert {p["model_name_or_path"] for p in preds.values()} == {"gold"}
    assert not (bench.out / "trajs").exists()


def test_failures_are_recorded_left_out_of_preds_and_retried(bench):
    broken = Instance.from_record(
        record("acme__calc-9", base_commit="0" * 40, repo_path=bench.instances[0].repo_path)
    )
    unscripted = Instance.from_record(
        record(
            "acme__calc-8",
            base_commit=bench.instances[0].base_commit,
            repo_path=bench.instances[0].repo_path,
        )
    )
    (bench.scripts / "acme__calc-9.yaml").write_text(yaml.safe_dump(FIX))
    runner, _ = bench.run(chosen=[broken, unscripted, bench.instances[0]])

    records = read(bench.out / "results.json")["instances"]
    assert records["acme__calc-9"]["status"] == "sandbox_error"
    assert "not a commit" in records["acme__calc-9"]["message"]
    assert records["acme__calc-8"]["status"] == "model_error"
    assert "no script for acme__calc-8" in records["acme__calc-8"]["message"]
    assert not records["acme__calc-9"]["done"] and not records["acme__calc-8"]["done"]
    assert list(read(bench.out / "preds.json")) == ["acme__calc-1"]
    assert runner.progress.failed == 2

    _, events = bench.run(chosen=[broken, unscripted, bench.instances[0]])
    assert sorted(iid for kind, iid in events if kind == "start") == [
        "acme__calc-8",
        "acme__calc-9",
    ]


# -- an instance whose image holds the repository (as SWE-bench's do) ----------------------

TESTBED_SCRIPT = r"""set -e
mkdir /testbed && cd /testbed
printf 'def add(a, b):\n    return a - b\n' > calc.py
printf 'from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n' > test_calc.py
git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm base
echo 'export CALC_ENV=activated' >> /root/.bashrc
git rev-parse HEAD
"""


@pytest.fixture
def image_with_testbed():
    """An image made like SWE-bench's: the repository at /testbed, an environment that
    /root/.bashrc activates, run as root. Removed afterwards."""
    require_backend("docker")
    import uuid

    import docker

    client = docker.from_env()
    container = client.containers.run(
        IMAGE, ["bash", "-c", TESTBED_SCRIPT], user="root", detach=True
    )
    try:
        container.wait(timeout=120)
        commit = container.logs().decode().split()[-1]
        image = container.commit(
            repository="patchsmith-test-testbed",
            tag=uuid.uuid4().hex[:12],
            changes=['LABEL org.patchsmith.user=""'],  # SWE-bench's images run as root
        )
    finally:
        container.remove(force=True)
    try:
        yield image.tags[0], commit
    finally:
        client.images.remove(image.id, force=True)


def test_an_instance_whose_image_holds_the_repository_is_solved_and_evaluated_there(
    tmp_path, image_with_testbed
):
    image, commit = image_with_testbed
    instance = Instance.from_record(
        record(
            "acme__calc-1",
            base_commit=commit,
            image_name=image,
            test_patch="",
            test_files=["test_calc.py"],
            test_cmd="python3 -m pytest -rA -p no:cacheprovider",
        )
    )
    script = [
        {"tool_calls": [{"name": "bash", "arguments": {"command": "pwd; echo $CALC_ENV"}}]},
        *FIX[1:],
    ]
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "acme__calc-1.yaml").write_text(yaml.safe_dump(script))
    settings = load_settings(None, {"model": f"scripted:{tmp_path / 'scripts'}", "setup": []})
    options = BenchOptions(output_dir=tmp_path / "out", evaluate=True)
    BenchRun([instance], settings, options).run()

    result = read(tmp_path / "out" / "results.json")["instances"]["acme__calc-1"]
    assert result["status"] == "submitted", result["message"]
    assert result["resolved"], result["evaluation"]
    trajectory = read(tmp_path / "out" / "trajs" / "acme__calc-1.traj.json")
    assert trajectory["steps"][0]["actions"][0]["observation"].split() == [
        "/testbed",
        "activated",
    ]
    assert (
        "+    return a + b" in read(tmp_path / "out" / "preds.json")["acme__calc-1"]["model_patch"]
    )


# -- the command's errors ------------------------------------------------------------------

RUN_BENCH = [
    sys.executable,
    "-c",
    "import typer; from patchsmith.cli.bench_cmd import run_bench; typer.run(run_bench)",
]


def run_bench_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [*RUN_BENCH, *args], capture_output=True, text=True, env={**os.environ, **env}
    )


def test_bad_input_is_refused_with_a_message_and_exit_code_2(tmp_path):
    out = str(tmp_path / "out")
    cases = [
        (["swe-tiny", "-m", "x", "-o", out], "unknown dataset 'swe-tiny'"),
        (["mini", "--slice", "a:b", "-o", out], "is not START:END"),
        (["mini", "--instances", "nope", "-o", out], "not in the dataset: nope"),
        ([str(tmp_path / "set.jsonl"), "-m", "x", "-o", out], "not found"),
    ]
    for args, message in cases:
        result = run_bench_cli(*args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert message in " ".join(result.stderr.split())
    (tmp_path / "set.json").write_text(json.dumps([record("acme__calc-1")]))
    result = run_bench_cli(str(tmp_path / "set.json"), "-o", out)
    assert result.returncode == 2 and "no model given" in result.stderr


def test_without_a_docker_engine_the_run_stops_at_once_with_one_message(tmp_path):
    out = tmp_path / "out"
    result = run_bench_cli("mini", "-o", str(out), DOCKER_HOST="unix:///nonexistent.sock")
    assert result.returncode == 1
    assert "cannot reach the Docker engine" in " ".join(result.stderr.split())
    assert not (out / "results.json").exists()


def test_two_runs_cannot_write_to_one_directory(bench):
    from patchsmith.agent.bench.runner import BenchError
    from patchsmith.agent.bench.store import BenchStore

    with BenchStore(bench.out).locked(), pytest.raises(BenchError, match="another"):
        bench.run()
