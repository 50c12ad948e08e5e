"""The benchmark runner: instances solved by parallel workers, each in its own sandbox, within
a total cost limit, resumable, with every result on disk as soon as it exists.

The output directory holds:
- preds.json: SWE-bench predictions, a JSON object keyed by instance_id of
  {instance_id, model_name_or_path, model_patch} (the official harness reads it as is);
- results.json: {"dataset", "model", "mode", "updated", "instances": {id: record}}, a
  record per instance run: instance_id, repo, status (how the run ended: a trajectory
  status, "gold", or "model_error"/"sandbox_error"/"error" when it could not run), done,
  message, cost, steps, patch_files, trajectory and log (paths relative to the directory),
  timing (seconds: sandbox_open, sandbox_close, model, total, evaluation), finished_at, and
  with evaluation: evaluation (the evaluator's result, `evaluator` saying which graded),
  resolved, or evaluation_error;
- trajs/<id>.traj.json: each instance's trajectory (`agent show` renders it);
- logs/<id>/: run.log (sandbox, setup, steps, errors) and the evaluation's logs (eval.log,
  and test_output.txt when swebench's official script ran);
- report.json (the official run report's keys first) and report.html, at the end.

Both JSON files are rewritten atomically after every instance. An instance is done when its
record says so; a later run skips done instances (unless `redo`), so an interrupted run goes
on where it stopped. Runs stopped by an interrupt, by the total cost limit, by a failure of
the sandbox or of the model (API errors), or by an internal error are not done and are run
again. When the Docker engine itself goes away, no further instance starts.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchsmith.sandbox import Sandbox, SandboxError

from ..budget import Budget
from ..config import Settings
from ..models import ModelError
from ..trajectory import Step
from .attempt import (
    Attempt,
    AttemptError,
    InstanceBudget,
    ModelFactory,
    StoppableModel,
    default_model_factory,
    pipeline_runner,
    run_agent,
    run_pipeline_mode,
)
from .dataset import Instance, patch_files
from .store import LOGS, TRAJS, BenchStore, InstanceLog, StoreError

# Ended for a reason outside the instance itself: run it again next time.
NOT_DONE = {"interrupted", "sandbox_error", "error", "model_error"}
FAILED = {"sandbox_error", "error", "model_error"}
FORCED_STOP_GRACE = 10.0  # seconds to wait for workers after a second interrupt

# on_event(kind, instance_id, detail): "start", "step" (a Step), "activity" (a line),
# "finish" (the record), "skip" (why).
EventHandler = Callable[[str, str, Any], None]


class BenchError(Exception):
    """The run cannot start (an output directory in use, pipeline mode unavailable...)."""


@dataclass(frozen=True)
class BenchOptions:
    output_dir: Path
    dataset: str = ""
    workers: int = 1
    redo: bool = False  # run instances that are already done again
    evaluate: bool = False  # evaluate each prediction once it is made
    gold: bool = False  # the dataset's gold patches are the predictions; no model
    total_cost_limit: float = 0.0  # USD over the whole set (done instances included); 0 = none
    model_name: str = ""  # model_name_or_path in preds.json; default: the model setting


class BenchProgress:
    """Counts for the live display, updated by the workers."""

    def __init__(self, total: int):
        self.total = total
        self.already_done = 0  # done by an earlier run, skipped
        self.finished = 0  # records written by this run
        self.failed = 0
        self.patched = 0
        self.evaluated = 0
        self.resolved = 0
        self.eval_errors = 0  # evaluations that could not judge the prediction
        self.first_eval_error = ""  # "<id>: <why>" of the first of them
        self.not_started = 0  # left out: stopped, or the total cost limit was reached
        self.cost = 0.0
        self.running: dict[str, str] = {}  # instance id -> what it is doing
        self.started = time.monotonic()
        self.lock = threading.Lock()

    @property
    def remaining(self) -> int:
        return self.total - self.already_done - self.finished - self.not_started

    def eta(self) -> float | None:
        """Seconds until the rest is done, at the pace of this run so far."""
        if not self.finished or not self.remaining:
            return None
        elapsed = time.monotonic() - self.started
        return self.remaining * elapsed / self.finished


class BenchRun:
    def __init__(
        self,
        instances: list[Instance],
        settings: Settings,
        options: BenchOptions,
        model_factory: ModelFactory | None = None,
        on_event: EventHandler | None = None,
    ):
        self.instances, self.settings, self.options = instances, settings, options
        self.model_factory = model_factory or default_model_factory(settings)
        self.on_event = on_event or (lambda kind, instance_id, detail: None)
        self.output = Path(options.output_dir)
        self.progress = BenchProgress(len(instances))
        self.store = BenchStore(self.output)
        self.budget = Budget(options.total_cost_limit or float("inf"))
        self.stopping = threading.Event()
        self.engine_lost = False  # the run stopped early: the Docker engine went away
        self.forced_at: float | None = None
        self._active: dict[str, Sandbox] = {}
        self._active_lock = threading.Lock()
        self._queue: queue.Queue[tuple[Instance, dict | None]] = queue.Queue()

    # -- the run ---------------------------------------------------------------------
    def run(self) -> BenchProgress:
        """Run every instance not yet done; returns the final counts. Stops cleanly on
        SIGINT/SIGTERM (when called from the main thread): a second signal closes the
        sandboxes at once."""
        try:
            if not self.options.gold and self.settings.mode == "pipeline":
                pipeline_runner()  # fails now, and once, when pipeline mode is not there
        except AttemptError as exc:
            raise BenchError(str(exc)) from None
        if self.options.evaluate:
            evaluator()
        if self.settings.sandbox == "docker" and (self.options.evaluate or not self.options.gold):
            from patchsmith.sandbox.docker import docker_client

            docker_client()  # no engine: one clear error now, not one per instance
        try:
            with self.store.locked(), _stop_on_signals(self):
                self.store.load()
                self.store.header = self._header()
                self._run_workers()
        except StoreError as exc:
            raise BenchError(str(exc)) from None
        return self.progress

    def _run_workers(self) -> None:
        self._plan()
        self.budget.spent = self.progress.cost
        workers = [
            threading.Thread(target=self._work, name=f"bench-{n}", daemon=True)
            for n in range(max(1, self.options.workers))
        ]
        for worker in workers:
            worker.start()
        while any(w.is_alive() for w in workers):
            for worker in workers:
                worker.join(timeout=0.2)
            if self.forced_at and time.monotonic() - self.forced_at > FORCED_STOP_GRACE:
                break  # a worker stuck in a model call; its sandbox is already closed
        left = [item for item in _drain(self._queue) if item[1] is None]
        with self.progress.lock:
            self.progress.not_started += len(left)

    def stop(self, force: bool = False) -> None:
        """Finish cleanly: no new instance starts, running commands are interrupted, each
        run ends at its next model call. `force` also closes every sandbox now."""
        self.stopping.set()
        with self._active_lock:
            sandboxes = list(self._active.values())
        for sandbox in sandboxes:
            with contextlib.suppress(Exception):
                sandbox.close() if force else sandbox.interrupt()
        if force and self.forced_at is None:
            self.forced_at = time.monotonic()

    @property
    def interrupted(self) -> bool:
        return self.stopping.is_set() and not self.engine_lost

    def _check_engine(self, record: dict) -> None:
        """After a sandbox failure: when the Docker engine itself is gone, start nothing
        more (every instance would fail the same way); `engine_lost` tells the caller why."""
        failed = record.get("status") == "sandbox_error" or record.get("evaluation_error")
        if not failed or self.settings.sandbox != "docker" or self.engine_lost:
            return
        from patchsmith.sandbox.docker import docker_client

        try:
            docker_client(timeout=10)
        except SandboxError:
            self.engine_lost = True
            self.stopping.set()

    def _header(self) -> dict[str, Any]:
        return {
            "dataset": self.options.dataset,
            "model": self._model_name(),
            "mode": "gold" if self.options.gold else self.settings.mode,
        }

    def _plan(self) -> None:
        for instance in self.instances:
            earlier = self.store.results.get(instance.instance_id)
            if earlier and earlier.get("done") and not self.options.redo:
                self.progress.cost += earlier.get("cost", 0.0)
                self.progress.already_done += 1
                if self.options.evaluate and _needs_evaluation(earlier):
                    self._queue.put((instance, earlier))  # only the evaluation is missing
                    continue
                self._count(earlier)
                self.on_event("skip", instance.instance_id, "done in an earlier run")
                continue
            self._queue.put((instance, None))

    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                instance, earlier = self._queue.get_nowait()
            except queue.Empty:
                return
            if self.budget.spent >= self.budget.total and earlier is None:
                with self.progress.lock:
                    self.progress.not_started += 1
                self.on_event("skip", instance.instance_id, "the total cost limit is reached")
                continue
            self._run_instance(instance, earlier)

    # -- one instance ----------------------------------------------------------------
    def _run_instance(self, instance: Instance, earlier: dict | None) -> None:
        iid = instance.instance_id
        log = InstanceLog(self.output / LOGS / iid / "run.log")
        self._activity(iid, "starting")
        self.on_event("start", iid, None)
        started = time.monotonic()
        record: dict[str, Any] = {"instance_id": iid, "repo": instance.repo, "status": None}
        record.update(done=False, message="")
        patch = ""
        if earlier is not None:  # done before; only its evaluation is missing
            record, patch = dict(earlier), self.store.patch(iid)
        try:
            if earlier is None:
                patch = self._attempt(instance, record, log)
                record.setdefault("timing", {})["total"] = time.monotonic() - started
            if self.options.evaluate and record["done"] and not self.stopping.is_set():
                self._evaluate(instance, patch, record, log)
        finally:
            record["log"] = f"{LOGS}/{iid}/run.log"
            record["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            log.line(f"status: {record['status']} ({record['message']})")
            log.close()
            prediction = None
            if record["done"]:  # (an instance only evaluated keeps its prediction as it was)
                prediction = self.store.preds.get(iid) if earlier else None
                prediction = prediction or self._prediction(iid, patch)
            self.store.save(record, prediction)
            self._check_engine(record)
            with self.progress.lock:
                self.progress.running.pop(iid, None)
                if earlier is None:  # (an instance only evaluated counts as done before)
                    self.progress.finished += 1
                    self.progress.cost += record.get("cost", 0.0)
                self._count(record)
            self.on_event("finish", iid, record)

    def _attempt(self, instance: Instance, record: dict, log: InstanceLog) -> str:
        """The prediction, with failures recorded (as not done) instead of raised."""
        try:
            return self._predict(instance, record, log)
        except ModelError as exc:  # no model could be made (unknown name, missing script)
            record.update(status="model_error", done=False, message=str(exc))
        except SandboxError as exc:
            record.update(status="sandbox_error", done=False, message=str(exc))
        except AttemptError as exc:
            record.update(status="error", done=False, message=str(exc))
        except Exception as exc:
            record.update(status="error", done=False, message=f"internal error: {exc!r}")
            log.line(traceback.format_exc())
        return ""

    def _evaluate(self, instance: Instance, patch: str, record: dict, log: InstanceLog) -> None:
        self._activity(instance.instance_id, "evaluating")
        started = time.monotonic()
        try:
            evaluation = evaluate_instance(
                instance, patch, self.settings, self.output / LOGS / instance.instance_id
            )
        except Exception as exc:  # the prediction stands; --evaluate tries again next time
            record.update(evaluation=None, resolved=None, evaluation_error=str(exc))
            log.line(f"evaluation failed: {exc}")
            if not isinstance(exc, (SandboxError, BenchError)):
                log.line(traceback.format_exc())
            return
        record.pop("evaluation_error", None)
        record.update(evaluation=evaluation, resolved=evaluation.get("status") == "resolved")
        record.setdefault("timing", {})["evaluation"] = time.monotonic() - started
        log.line(f"evaluation: {evaluation.get('status')}")

    def _predict(self, instance: Instance, record: dict, log: InstanceLog) -> str:
        """Make the instance's prediction; fills `record`, returns the patch."""
        iid = instance.instance_id
        if self.options.gold:
            record.update(status="gold", done=True, message="the dataset's gold patch")
            record["patch_files"] = patch_files(instance.patch)
            return instance.patch
        attempt = Attempt(
            instance=instance,
            settings=self.settings,
            model=StoppableModel(self.model_factory(instance), self.stopping),  # type: ignore[arg-type]
            budget=InstanceBudget(self.budget),
            trajectory_path=self.output / TRAJS / f"{iid}.traj.json",
            log=log,
            on_step=lambda step: self._step(iid, step, log),
            on_sandbox=lambda sandbox: self._track(iid, sandbox),
            timing=record.setdefault("timing", {}),
        )
        if self.settings.mode == "pipeline":
            self._activity(iid, "pipeline")
            directory = self.output / "pipeline" / iid
            trajectory = run_pipeline_mode(attempt, directory, fresh=self.options.redo)
        else:
            self._activity(iid, "opening the sandbox")
            trajectory = run_agent(attempt)
        status = trajectory.status or "error"
        done = status not in NOT_DONE and not attempt.budget.refused
        record.update(status=status, done=done, message=trajectory.message)
        record.update(
            cost=trajectory.cost,
            steps=len(trajectory.steps),
            patch_files=patch_files(trajectory.diff),
            trajectory=f"{TRAJS}/{iid}.traj.json",
        )
        attempt.timing["model"] = sum(step.model_seconds for step in trajectory.steps)
        return trajectory.diff

    def _track(self, iid: str, sandbox: Sandbox | None) -> None:
        with self._active_lock:  # the sandboxes stop() reaches
            if sandbox is None:
                self._active.pop(iid, None)
            else:
                self._active[iid] = sandbox
        if sandbox is not None:
            self._activity(iid, "step 1")

    def _step(self, iid: str, step: Step, log: InstanceLog) -> None:
        tools = ", ".join(action.tool for action in step.actions) or "no action"
        log.line(f"step {step.index}: {tools} (${step.response.get('cost', 0):.4f})")
        self._activity(iid, f"step {step.index + 1} (after {tools})")
        self.on_event("step", iid, step)

    def _activity(self, iid: str, what: str) -> None:
        with self.progress.lock:
            self.progress.running[iid] = what
        self.on_event("activity", iid, what)

    def _count(self, record: dict) -> None:
        # Called with the progress lock held (or before the workers start).
        progress = self.progress
        status = record.get("status")
        progress.failed += status in FAILED or (not record.get("done") and status != "interrupted")
        progress.patched += bool(record.get("patch_files"))
        if record.get("evaluation") is not None:
            progress.evaluated += 1
            progress.resolved += bool(record.get("resolved"))
        why = evaluation_error(record) if self.options.evaluate else None
        if why is not None:
            progress.eval_errors += 1
            if not progress.first_eval_error:
                progress.first_eval_error = f"{record['instance_id']}: {why}"

    def _model_name(self) -> str:
        if self.options.gold:
            return "gold"
        return self.options.model_name or self.settings.model

    def _prediction(self, iid: str, patch: str) -> dict[str, str]:
        return {"instance_id": iid, "model_name_or_path": self._model_name(), "model_patch": patch}


def evaluator() -> Callable[..., Any]:
    """The evaluator's entry point (agent/bench/evaluate.py), or a BenchError."""
    try:
        from .evaluate import evaluate_prediction
    except ImportError as exc:
        raise BenchError(f"evaluation is not available in this installation ({exc})") from None
    return evaluate_prediction


def evaluate_instance(
    instance: Instance, patch: str, settings: Settings, log_dir: Path
) -> dict[str, Any]:
    """The evaluation of one prediction, as a JSON-ready dict with at least "status"
    ("resolved", "unresolved", "error" or "empty_patch")."""
    result = evaluator()(instance, patch, settings=settings, log_dir=log_dir)
    return result.to_dict()


def evaluation_error(record: dict) -> str | None:
    """Why the record's evaluation could not judge its prediction; None when it did (or
    was not asked for)."""
    if record.get("evaluation_error"):
        return str(record["evaluation_error"])
    evaluation = record.get("evaluation") or {}
    if evaluation.get("status") == "error":
        return str(evaluation.get("message") or "the evaluation failed")
    return None


def _needs_evaluation(record: dict) -> bool:
    # An evaluation that ended in "error" did not judge the prediction: try it again.
    evaluation = record.get("evaluation")
    return evaluation is None or evaluation.get("status") == "error"


@contextlib.contextmanager
def _stop_on_signals(run: BenchRun) -> Iterator[None]:
    """SIGINT/SIGTERM stop the run cleanly; a second one stops it at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = 0

    def handle(signum: int, frame: Any) -> None:
        nonlocal received
        received += 1
        run.stop(force=received > 1)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _drain(pending: queue.Queue) -> list[Any]:
    items = []
    while True:
        try:
            items.append(pending.get_nowait())
        except queue.Empty:
            return items
