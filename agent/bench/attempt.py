"""One attempt at one benchmark instance: the agent (or the pipeline) on the instance's
sandbox, with a model that stops once the run is stopping and the run's shared budget."""

from __future__ import annotations

import dataclasses
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patchsmith.sandbox import Sandbox, SandboxError

from ..budget import Budget
from ..config import Settings
from ..loop import RunStopped
from ..models import Model, ModelError, ScriptedModel, make_model
from ..solve import agent_for
from ..trajectory import Step, Trajectory
from .dataset import Instance
from .environment import instance_repository, open_instance_sandbox
from .store import InstanceLog

ModelFactory = Callable[[Instance], Model]


class AttemptError(Exception):
    """The instance cannot be attempted this way; the message says why."""


@dataclass
class Attempt:
    """What an attempt needs, and how it reports as it goes."""

    instance: Instance
    settings: Settings
    model: Model
    budget: InstanceBudget
    trajectory_path: Path
    log: InstanceLog
    on_step: Callable[[Step], None]
    # Called with the open sandbox (so that a stop can interrupt it), then with None.
    on_sandbox: Callable[[Sandbox | None], None]
    timing: dict[str, float]


def run_agent(attempt: Attempt) -> Trajectory:
    """The CodeAct loop on a sandbox of the instance; the trajectory is saved as it goes."""
    instance, settings = attempt.instance, attempt.settings
    trajectory = Trajectory(
        issue=instance.problem_statement,
        config={
            **settings.to_dict(),
            "model": attempt.model.name,
            "instance_id": instance.instance_id,
        },
        repo=instance.repo or (instance.repo_path or ""),
        commit=instance.base_commit,
    )
    trajectory.save(attempt.trajectory_path)
    opened = time.monotonic()
    try:
        with open_instance_sandbox(instance, settings, progress=attempt.log.line) as sandbox:
            attempt.timing["sandbox_open"] = time.monotonic() - opened
            attempt.on_sandbox(sandbox)
            try:
                _loop(attempt, sandbox, trajectory)
            finally:
                attempt.on_sandbox(None)
                closing = time.monotonic()
        attempt.timing["sandbox_close"] = time.monotonic() - closing
    except SandboxError as exc:
        if trajectory.status is None:  # the sandbox failed to open or to close
            trajectory.status, trajectory.message = "sandbox_error", str(exc)
        attempt.log.line(f"sandbox error: {exc}")
    finally:
        trajectory.ended = trajectory.ended or time.time()
        trajectory.save(attempt.trajectory_path)
    return trajectory


def _loop(attempt: Attempt, sandbox: Sandbox, trajectory: Trajectory) -> None:
    from patchsmith.tools.registry import Toolset

    instance, settings = attempt.instance, attempt.settings
    tools = dataclasses.replace(
        settings.toolset_config(), test_command=settings.test_command or instance.test_cmd
    )
    with Toolset(sandbox, tools) as toolset:
        agent = agent_for(
            settings,
            attempt.model,
            toolset,
            attempt.trajectory_path,
            attempt.on_step,
            budget=attempt.budget,  # type: ignore[arg-type]
        )
        agent.run(instance.problem_statement, trajectory)


def run_pipeline_mode(attempt: Attempt, directory: Path, fresh: bool = False) -> Trajectory:
    """The fixed pipeline on the instance's repository. Its stages are kept in `directory`,
    so an attempt stopped part-way goes on from its last finished stage (unless `fresh`)."""
    run_pipeline = pipeline_runner()
    instance, settings = attempt.instance, attempt.settings
    repo = instance_repository(instance)
    if repo is None:
        raise AttemptError(
            f"{instance.instance_id}: pipeline mode needs the repository on this machine "
            "(repo_path); it cannot run in an official SWE-bench image yet"
        )
    settings = dataclasses.replace(
        settings,
        image=instance.image_name or settings.image,
        setup=tuple(instance.setup),
        test_command=settings.test_command or instance.test_cmd,
    )
    if fresh:
        shutil.rmtree(directory, ignore_errors=True)
    trajectory = run_pipeline(
        instance.problem_statement,
        repo,
        settings,
        attempt.model,
        directory,
        commit=instance.base_commit,
        on_step=attempt.on_step,
        progress=attempt.log.line,
        budget=attempt.budget,
    )
    trajectory.save(attempt.trajectory_path)  # beside the agent mode's, for the report and `show`
    return trajectory


def pipeline_runner() -> Callable[..., Trajectory]:
    """The pipeline's entry point, or an AttemptError when pipeline mode is missing."""
    try:
        from ..pipeline import run_pipeline
    except ImportError as exc:
        raise AttemptError(f"pipeline mode is not available in this installation ({exc})") from None
    return run_pipeline


class InstanceBudget:
    """One attempt's view of the run's shared budget: it remembers whether a call was
    refused, so that an attempt stopped by the total limit (not its own) is run again later."""

    def __init__(self, shared: Budget):
        self.shared = shared
        self.refused = False

    def reserve(self, estimate: float) -> float | None:
        amount = self.shared.reserve(estimate)
        self.refused = self.refused or amount is None
        return amount

    def settle(self, reserved: float, actual: float) -> None:
        self.shared.settle(reserved, actual)


class StoppableModel:
    """A model that refuses further calls once the run is stopping, which ends the loop
    (or pipeline) at a clean point with the status "interrupted"."""

    def __init__(self, model: Model, stopping: threading.Event):
        self._model, self._stopping = model, stopping

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # The pipeline sets the temperature of its model for sampling: pass that through.
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._model, name, value)

    def query(self, messages: list[dict], tools: list[dict] | None = None) -> Any:
        if self._stopping.is_set():
            raise RunStopped("interrupted", "the benchmark run was stopped")
        return self._model.query(messages, tools)


def default_model_factory(settings: Settings) -> ModelFactory:
    """A model per instance from the model setting. `scripted:DIR` with a directory plays
    DIR/<instance_id>.yaml (or .yml/.json) for each instance."""
    spec = settings.model.strip()
    kind, _, rest = spec.partition(":")
    if kind == "scripted" and Path(rest).is_dir():
        return scripted_models(Path(rest))
    return lambda instance: make_model(
        spec, api_base=settings.api_base, temperature=settings.temperature
    )


def scripted_models(directory: Path) -> ModelFactory:
    def model_for(instance: Instance) -> Model:
        for suffix in (".yaml", ".yml", ".json"):
            script = directory / f"{instance.instance_id}{suffix}"
            if script.is_file():
                return ScriptedModel(script)
        raise ModelError(f"no script for {instance.instance_id} in {directory}")

    return model_for
