"""Runs the pipeline: each stage in turn, skipped when its artifact is already on disk, every
model call and stage result recorded in the trajectory, and one exit status at the end."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from patchsmith.sandbox import SandboxError

from ..config import Settings
from ..instructions import instructions_for, with_instructions
from ..loop import RunStopped, prompt_template, recording_how_it_ends
from ..models import ContextWindowExceeded, Model, ModelError
from ..trajectory import Action, Step, Trajectory
from . import localize, repair, select, validate
from .artifacts import STAGES, Artifacts, artifact_name

# How a pipeline run ends when every candidate failed validation (or none could be made).
NO_VALID_CANDIDATE = "no_valid_candidate"
NO_LIMIT = float("inf")
STAGE_MODULES = {"localize": localize, "repair": repair, "validate": validate, "select": select}


class BudgetRefused(RunStopped):
    """The budget shared with other runs is spent: this run stops where it is (keeping its
    partial progress) to be resumed later, rather than making do with fewer candidates."""


@dataclass(frozen=True)
class PipelineOptions:
    candidates: int = 4  # patches sampled in repair: the first greedy, the others sampled
    sample_temperature: float = 0.8
    ranked_files: int = 20  # files of the ranking the model chooses from
    max_files: int = 3
    max_symbols: int = 8
    regression_files: int = 20  # existing test files run per candidate, at most
    test_timeout: float = 600.0


class PipelineRun:
    """What the stages share: the inputs, the model, the workspace (opened on first use),
    the artifacts and the trajectory that records it all."""

    def __init__(
        self,
        issue: str,
        repo: Path | None,
        commit: str,
        settings: Settings,
        model: Model,
        options: PipelineOptions,
        trajectory: Trajectory,
        artifacts: Artifacts,
        trajectory_path: Path,
        on_step: Callable[[Step], None] | None = None,
        progress: Callable[[str], None] | None = None,
        budget: Any = None,
        sandbox_factory: Callable[[], Any] | None = None,
    ):
        self.issue, self.repo, self.commit = issue, repo, commit
        self.settings, self.model, self.options = settings, model, options
        self.trajectory, self.artifacts = trajectory, artifacts
        self.trajectory_path = trajectory_path
        self.on_step, self.progress = on_step, progress
        self.budget = budget  # shared with other runs (agent/budget.py's Budget), or None
        self.sandbox_factory = sandbox_factory
        self.started = time.monotonic()
        self._stack = contextlib.ExitStack()
        self._toolset: Any = None
        self._call_costs: list[float] = []
        instructions = instructions_for(settings, repo, commit)
        self.instructions = instructions.text
        trajectory.config["project_instructions"] = instructions.sources

    # -- the workspace -------------------------------------------------------------
    def workspace(self) -> Any:
        """The Toolset on a sandbox of the repository, opened the first time a stage needs
        one (a resumed run whose remaining stages need none never starts a container)."""
        if self._toolset is None:
            from patchsmith.sandbox import open_sandbox
            from patchsmith.tools.registry import Toolset

            if self.sandbox_factory is not None:
                opened = self.sandbox_factory()
            else:
                config = self.settings.sandbox_config()
                opened = open_sandbox(self.repo, self.commit, config, progress=self.progress)
            sandbox = self._stack.enter_context(opened)
            self._toolset = self._stack.enter_context(
                Toolset(sandbox, self.settings.toolset_config())
            )
        return self._toolset

    def close(self) -> None:
        self._stack.close()

    # -- prompts and the model -----------------------------------------------------
    def prompt(self, name: str, **values: str) -> str:
        return prompt_template(f"pipeline_{name}").safe_substitute(values)

    def system_prompt(self) -> str:
        return with_instructions(self.prompt("system"), self.instructions)

    def ask(self, prompt: str, temperature: float | None = None) -> tuple[str, Step]:
        """The model's reply to `prompt` (after the pipeline's system prompt), and the step
        recording it; the caller adds what it made of the reply with `record`."""
        self._check_limits()
        messages = [
            {"role": "system", "content": self.system_prompt()},
            {"role": "user", "content": prompt},
        ]
        reserved = 0.0
        if self.budget is not None:
            reserved = self.budget.reserve(max(self._call_costs, default=0.0))
            if reserved is None:
                raise BudgetRefused("cost_limit", "the budget shared with other runs is spent")
        asked = time.monotonic()
        response = None
        try:
            with sampling(self.model, temperature):
                response = self.model.query(messages)
        except ContextWindowExceeded as exc:
            raise RunStopped("model_error", f"the prompt is too long: {exc}") from None
        except ModelError as exc:
            raise RunStopped("model_error", str(exc)) from None
        finally:
            if self.budget is not None:  # a call that failed was not billed
                self.budget.settle(reserved, response.cost if response else 0.0)
        waited = time.monotonic() - asked
        traj = self.trajectory
        usage = response.usage
        traj.count_call(
            response.cost, response.cost_known, usage.prompt_tokens, usage.completion_tokens
        )
        self._call_costs.append(response.cost)
        step = Step(len(traj.steps) + 1, response.to_dict(), model_seconds=waited)
        step.seconds = waited
        traj.steps.append(step)
        return response.text, step

    def record(
        self,
        stage: str,
        arguments: dict[str, Any],
        text: str,
        is_error: bool = False,
        step: Step | None = None,
        seconds: float = 0.0,
    ) -> Step:
        """Add what a stage did (as an action of tool `pipeline.<stage>`) to the model call's
        `step`, or to a step of its own when no model was called; save; show it."""
        if step is None:
            # No model call: an empty response, so that displays and replays see no turn.
            step = Step(len(self.trajectory.steps) + 1, {}, seconds=seconds)
            self.trajectory.steps.append(step)
        step.actions.append(Action(f"pipeline.{stage}", arguments, text, is_error, seconds))
        self.save()
        if self.on_step is not None:
            self.on_step(step)
        return step

    def save(self) -> None:
        self.trajectory.save(self.trajectory_path)

    def _check_limits(self) -> None:
        settings, traj = self.settings, self.trajectory
        calls = sum(1 for step in traj.steps if step.response)
        if settings.step_limit and calls >= settings.step_limit:
            raise RunStopped("step_limit", f"reached the step limit ({settings.step_limit} calls)")
        if settings.time_limit and time.monotonic() - self.started > settings.time_limit:
            raise RunStopped("time_limit", f"reached the time limit ({settings.time_limit:.0f}s)")
        limit = settings.cost_limit or NO_LIMIT
        projected = traj.cost + max(self._call_costs, default=0.0)
        if traj.cost >= limit or projected > limit:
            raise RunStopped(
                "cost_limit",
                f"the next model call would pass the cost limit (${limit:.2f}; "
                f"spent ${traj.cost:.4f})",
            )

    # -- stages --------------------------------------------------------------------
    def stage(self, name: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The stage's result: loaded from its artifact when there is one, else computed and
        saved. Either way the trajectory gets an action `pipeline.<name>` saying what it is."""
        started = time.monotonic()
        result = self.artifacts.load(name)
        resumed = result is not None
        if result is None:
            result = compute()
            self.artifacts.save(name, result)
        text = STAGE_MODULES[name].summarize(result)
        if resumed:
            text = f"(loaded from {artifact_name(name)}, made by an earlier run)\n{text}"
        arguments = {"artifact": artifact_name(name), "resumed": resumed}
        self.record(name, arguments, text, seconds=time.monotonic() - started)
        return result


@contextlib.contextmanager
def sampling(model: Model, temperature: float | None) -> Iterator[None]:
    """Query `model` at `temperature` for the duration (for models that have one, such as
    litellm's; playback models have none and are left alone)."""
    if temperature is None or not hasattr(model, "temperature"):
        yield
        return
    before = model.temperature  # type: ignore[attr-defined]
    model.temperature = temperature  # type: ignore[attr-defined]
    try:
        yield
    finally:
        model.temperature = before  # type: ignore[attr-defined]


def run_pipeline(
    issue: str,
    repo: Path | None,
    settings: Settings,
    model: Model,
    output_dir: Path,
    commit: str = "HEAD",
    candidates: int | None = None,
    options: PipelineOptions | None = None,
    on_step: Callable[[Step], None] | None = None,
    progress: Callable[[str], None] | None = None,
    budget: Any = None,
    sandbox_factory: Callable[[], Any] | None = None,
) -> Trajectory:
    """Solve `issue` in `repo` at `commit` with the fixed pipeline localize -> repair ->
    validate -> select, writing each stage's artifact, `trajectory.json` and `patch.diff`
    into `output_dir`. Run again on the same directory to resume: finished stages are loaded,
    not redone, and the trajectory goes on from where it stopped. `candidates` defaults to
    the `pipeline_candidates` setting where the configuration has one, else to 4.

    Ends "submitted" with the chosen patch as the trajectory's diff (its `verdict` "valid",
    or "unverified" when no test could check it), or "no_valid_candidate" when every
    candidate failed validation, or with one of the loop's statuses (limits,
    model_error, sandbox_error, interrupted). `budget`, a Budget shared by concurrent runs,
    caps their total cost. `sandbox_factory` opens the sandbox instead of
    `open_sandbox(repo, commit, settings.sandbox_config())` (e.g. on a benchmark image's own
    repository, with `repo` None and `commit` as given). Raises StaleArtifact when
    `output_dir` holds another issue's or commit's artifacts."""
    from ..solve import head_commit

    repo = Path(repo) if repo is not None else None
    output_dir = Path(output_dir)
    options = options or _options_from(settings)
    if candidates is not None:
        options = replace(options, candidates=max(1, candidates))
    if repo is not None:
        commit = head_commit(repo, commit)
    artifacts = Artifacts(output_dir, issue, commit)
    for stage in STAGES:  # refuse a directory of another run before touching anything
        artifacts.load(stage)
        artifacts.load_partial(stage)
    trajectory_path = output_dir / "trajectory.json"
    trajectory = _trajectory(trajectory_path, issue, repo, commit, settings, model, options)
    run = PipelineRun(
        issue, repo, commit, settings, model, options, trajectory, artifacts, trajectory_path,
        on_step, progress, budget, sandbox_factory,
    )  # fmt: skip
    try:
        with recording_how_it_ends(trajectory):
            localized = run.stage("localize", lambda: localize.localize(run))
            repaired = run.stage("repair", lambda: repair.repair(run, localized))
            validated = run.stage("validate", lambda: validate.validate(run, repaired))
            chosen = run.stage("select", lambda: select.select(validated))
            _finish(trajectory, chosen)
    finally:
        with contextlib.suppress(SandboxError, OSError):
            run.close()
        trajectory.ended = time.time()
        run.save()
        (output_dir / "patch.diff").write_text(trajectory.diff, encoding="utf-8")
    return trajectory


def _options_from(settings: Settings) -> PipelineOptions:
    """The options, with the pipeline's settings where the configuration has them."""
    options = PipelineOptions()
    candidates = getattr(settings, "pipeline_candidates", None)
    temperature = getattr(settings, "pipeline_temperature", None)
    if candidates:
        options = replace(options, candidates=candidates)
    if temperature is not None:
        options = replace(options, sample_temperature=temperature)
    return options


def _finish(trajectory: Trajectory, chosen: dict[str, Any]) -> None:
    if chosen.get("winner") is None:
        trajectory.status, trajectory.diff = NO_VALID_CANDIDATE, ""
        trajectory.message = chosen.get("reason", "no candidate passed validation")
    else:
        trajectory.status, trajectory.diff = "submitted", chosen["patch"]
        trajectory.message = chosen.get("reason", "")
        trajectory.verdict = chosen.get("verdict", "valid")


def _trajectory(
    path: Path,
    issue: str,
    repo: Path | None,
    commit: str,
    settings: Settings,
    model: Model,
    options: PipelineOptions,
) -> Trajectory:
    """The trajectory of an earlier run in this directory, to go on with, or a new one."""
    if path.is_file():
        with contextlib.suppress(ValueError, TypeError):
            earlier = Trajectory.load(path)
            if earlier.issue == issue and earlier.commit == commit:
                earlier.status, earlier.message, earlier.diff = None, "", ""
                earlier.verdict = None
                earlier.ended = None
                return earlier
    config = {
        **settings.to_dict(),
        "mode": "pipeline",
        "model": getattr(model, "name", settings.model),
        "pipeline": {
            "candidates": options.candidates,
            "sample_temperature": options.sample_temperature,
        },
    }
    where = str(repo.resolve()) if repo is not None else ""
    return Trajectory(issue=issue, config=config, repo=where, commit=commit)
