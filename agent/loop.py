"""The CodeAct loop: ask the model, run its actions through the tools, record every step.

A run ends by raising `RunStopped` with an exit status, caught in one place (`Agent.run`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any

from patchsmith.sandbox import SandboxError
from patchsmith.tools.registry import Toolset

from .budget import Budget
from .history import Conversation
from .instructions import with_instructions
from .models import ContextWindowExceeded, Model, ModelError, ModelResponse
from .policy import Policy, refusal
from .text_protocol import FormatError, parse_actions, protocol_instructions
from .trajectory import Action, Step, Trajectory

STUCK_WARNING = (
    "You have repeated the same action(s) with the same result several times. That is not "
    "making progress: step back, reconsider what you know, and try a different approach. "
    "If this continues, the run will be stopped."
)
NO_ACTION_NATIVE = (
    "Your reply called no tool. Act by calling one of the tools; when the fix is done, call submit."
)


class RunStopped(Exception):
    def __init__(self, status: str, message: str = ""):
        super().__init__(message or status)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Limits:
    steps: int = 50
    cost: float = 3.0  # USD; checked before each call so a run never spends past it
    seconds: float = 1800.0
    format_errors: int = 3  # consecutive replies without a usable action


@dataclass
class Call:
    tool: str
    arguments: dict[str, Any]
    call_id: str | None = None  # set for native tool calls, which need an answer each
    problem: str | None = None  # arguments the model sent that could not be parsed


@contextmanager
def recording_how_it_ends(trajectory: Trajectory) -> Iterator[None]:
    """Turn how a run ends into its exit status: a limit or submit (RunStopped), Ctrl-C, a
    broken sandbox. A bug is recorded as "error" and then surfaces with its traceback."""
    try:
        yield
    except RunStopped as stop:
        trajectory.status, trajectory.message = stop.status, stop.message
    except KeyboardInterrupt:
        trajectory.status, trajectory.message = "interrupted", "interrupted by the user"
    except SandboxError as exc:
        trajectory.status, trajectory.message = "sandbox_error", str(exc)
    except BaseException as exc:
        trajectory.status, trajectory.message = "error", f"internal error: {exc!r}"
        raise


# confirm(tool, arguments) -> ("run" | "skip" | "quit", arguments, possibly edited)
Confirm = Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]


def prompt_template(name: str) -> Template:
    """agent/prompts/NAME.md, for every part of patchsmith that talks to a model."""
    source = resources.files(__package__) / "prompts" / f"{name}.md"
    return Template(source.read_text(encoding="utf-8"))


class Agent:
    def __init__(
        self,
        model: Model,
        toolset: Toolset,
        limits: Limits = Limits(),
        keep_observations: int = 5,
        context_tokens: int | None = None,
        on_step: Callable[[Step], None] | None = None,
        confirm: Confirm | None = None,
        save: Callable[[Trajectory], None] | None = None,
        budget: Budget | None = None,
        policy: Policy | None = None,
        instructions: str = "",
    ):
        self.model, self.toolset, self.limits = model, toolset, limits
        self.context_tokens = context_tokens
        self.on_step, self.confirm, self.save = on_step, confirm, save
        self.budget = budget  # shared with other runs, e.g. a benchmark's total cost cap
        self.policy = policy or Policy()
        self.instructions = instructions  # the project's AGENTS.md etc., already capped
        self.conversation = Conversation(keep=keep_observations)
        self.native = model.uses_native_tools
        self._format_errors = 0
        self._call_costs: list[float] = []
        self._signatures: list[str] = []
        self._warned_stuck = False
        self._submitted = False
        self._started = 0.0

    # -- the run ---------------------------------------------------------------------
    def run(self, issue: str, trajectory: Trajectory) -> Trajectory:
        self.trajectory = trajectory
        self._started = time.monotonic()
        root = self.toolset.sandbox.root
        protocol = "" if self.native else protocol_instructions(self.toolset.schemas())
        system = prompt_template("system").safe_substitute(root=root, protocol=protocol)
        system = with_instructions(system, self.instructions)
        instance = prompt_template("instance").safe_substitute(root=root, issue=issue.strip())
        self.conversation.add({"role": "system", "content": system})
        self.conversation.add({"role": "user", "content": instance})
        try:
            with recording_how_it_ends(trajectory):
                while True:
                    self.step()
        finally:
            if trajectory.status != "submitted":
                trajectory.diff = self._current_diff()
            trajectory.ended = time.time()
            self._save(final=True)
        return trajectory

    def step(self) -> None:
        traj = self.trajectory
        index = len(traj.steps) + 1
        self._check_limits(index)
        started = time.monotonic()
        response, model_seconds = self._query(index)
        step = Step(index, response.to_dict(), model_seconds=model_seconds)
        traj.steps.append(step)
        self.conversation.add(response.as_message())
        try:
            calls = self._calls(response)
        except FormatError as error:
            self._format_error(step, error.message, started)
            return
        self._format_errors = 0
        texts = []
        for call in calls:
            action = self._act(call)
            step.actions.append(action)
            if call.call_id is not None:
                reply = {
                    "role": "tool",
                    "tool_call_id": call.call_id,
                    "content": action.observation,
                }
                self.conversation.add(reply, step=index)
            else:
                texts.append(action.observation)
            if self._submitted:  # whatever the reply had after submit is moot
                break
        if texts:
            self.conversation.add({"role": "user", "content": "\n\n".join(texts)}, step=index)
        self._finish_step(step, started)
        if self._submitted:
            raise RunStopped("submitted", "the model submitted its patch")
        self._check_stuck(step)

    # -- pieces of a step ------------------------------------------------------------
    def _check_limits(self, index: int) -> None:
        limits = self.limits
        if index > limits.steps:
            raise RunStopped("step_limit", f"reached the step limit ({limits.steps})")
        if time.monotonic() - self._started > limits.seconds:
            raise RunStopped("time_limit", f"reached the time limit ({limits.seconds:.0f}s)")
        # The next call will cost about as much as the dearest so far (prompts only grow).
        projected = self.trajectory.cost + max(self._call_costs, default=0.0)
        if self.trajectory.cost >= limits.cost or projected > limits.cost:
            raise RunStopped(
                "cost_limit",
                f"the next model call would pass the cost limit (${limits.cost:.2f}; "
                f"spent ${self.trajectory.cost:.4f})",
            )

    def _query(self, index: int) -> tuple[ModelResponse, float]:
        """The model's reply, and the seconds spent waiting for it (retries included)."""
        tools = self.toolset.schemas() if self.native else None
        reserved = 0.0
        if self.budget is not None:
            reserved = self.budget.reserve(max(self._call_costs, default=0.0))
            if reserved is None:
                raise RunStopped("cost_limit", "the shared budget of this batch of runs is spent")
        response = None
        try:
            response, waited = self._ask(index, tools)
        finally:
            if self.budget is not None:
                # A call that failed was not billed (see the model layer's retries).
                self.budget.settle(reserved, response.cost if response else 0.0)
        self._account(response)
        return response, waited

    def _ask(self, index: int, tools: list[dict] | None) -> tuple[ModelResponse, float]:
        token_budget = self.context_tokens
        waited = 0.0
        for attempt in range(3):
            messages = self.conversation.fit(index, token_budget)
            asked = time.monotonic()
            try:
                response = self.model.query(messages, tools)
                waited += time.monotonic() - asked
                break
            except ContextWindowExceeded as exc:
                waited += time.monotonic() - asked
                if attempt == 2:
                    raise RunStopped("model_error", f"context window exceeded: {exc}") from None
                # Compress harder and try again: elide everything old, shorten the rest.
                token_budget = int((token_budget or 100_000) * 0.7)
                self.conversation.keep = min(self.conversation.keep, 1)
            except ModelError as exc:
                raise RunStopped("model_error", str(exc)) from None
        return response, waited

    def _account(self, response: ModelResponse) -> None:
        traj = self.trajectory
        usage = response.usage
        traj.count_call(
            response.cost, response.cost_known, usage.prompt_tokens, usage.completion_tokens
        )
        self._call_costs.append(response.cost)

    def _calls(self, response: ModelResponse) -> list[Call]:
        if self.native:
            if not response.tool_calls:
                raise FormatError(NO_ACTION_NATIVE)
            return [
                Call(c.name, c.arguments, call_id=c.id, problem=c.parse_error)
                for c in response.tool_calls
            ]
        calls = []
        for action in parse_actions(response.text):
            if action.kind == "bash":
                calls.append(Call("bash", {"command": action.code}))
            elif action.kind == "python":
                calls.append(Call("python", {"code": action.code}))
            else:
                calls.append(Call(action.name, action.arguments))
        return calls

    def _format_error(self, step: Step, message: str, started: float) -> None:
        step.format_error = message
        self._format_errors += 1
        self.conversation.add({"role": "user", "content": message}, step=step.index)
        self._finish_step(step, started)
        if self._format_errors >= self.limits.format_errors:
            raise RunStopped(
                "format_errors",
                f"{self._format_errors} replies in a row had no usable action",
            )

    def _act(self, call: Call) -> Action:
        started = time.monotonic()
        arguments = call.arguments
        if call.problem:
            text, is_error = f"{call.tool}: the arguments were not valid JSON: {call.problem}", True
            return Action(call.tool, arguments, text, is_error, time.monotonic() - started)
        rule = self.policy.check(call.tool, arguments)
        if rule is not None and rule.verdict != "allow":
            unconfirmed = rule.verdict == "ask" and self.confirm is None
            if rule.verdict == "deny" or unconfirmed:
                text = refusal(rule, unconfirmed)
                return Action(
                    call.tool, arguments, text, True, policy=f"{rule.verdict}: {rule.reason}"
                )
        if self.confirm is not None:
            decision, arguments = self.confirm(call.tool, arguments)
            if decision == "quit":
                raise RunStopped("interrupted", "the user quit at a confirmation prompt")
            if decision == "skip":
                return Action(call.tool, arguments, "The user declined to run this action.")
        observation = self.toolset.call(call.tool, arguments)
        if observation.finished:
            self._submitted = True
            self.trajectory.diff = observation.data.get("diff", "")
        return Action(
            call.tool, arguments, observation.text, observation.is_error, time.monotonic() - started
        )

    def _finish_step(self, step: Step, started: float) -> None:
        # Measured before saving and showing, so it is the next save that records those;
        # the benchmark of the loop's overhead times whole steps from outside.
        step.seconds = time.monotonic() - started
        self._save()
        if self.on_step is not None:
            self.on_step(step)

    def _check_stuck(self, step: Step) -> None:
        """The same actions with the same results three times running, or two alternating
        three times each: warn once, stop if it goes on."""
        payload = [(a.tool, a.arguments, a.observation) for a in step.actions]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode())
        self._signatures.append(digest.hexdigest())
        recent = self._signatures
        repeated = len(recent) >= 3 and len(set(recent[-3:])) == 1
        alternating = (
            len(recent) >= 6
            and recent[-1] != recent[-2]
            and recent[-6:] == [recent[-2], recent[-1]] * 3
        )
        if not (repeated or alternating):
            return
        if self._warned_stuck:
            raise RunStopped("stuck", "the model kept repeating itself after a warning")
        self._warned_stuck = True
        step.warning = STUCK_WARNING
        self.conversation.add({"role": "user", "content": STUCK_WARNING}, step=step.index)
        self._save()

    def _current_diff(self) -> str:
        try:
            return self.toolset.sandbox.diff()
        except Exception:  # the sandbox may be what failed; the trajectory still gets saved
            return ""

    def _save(self, final: bool = False) -> None:
        if self.save is None:
            return
        try:
            self.save(self.trajectory)
        except OSError as exc:
            if final:  # the run is ending anyway; what was saved before stays intact
                return
            # Going on would spend money on steps nobody can review.
            raise RunStopped("error", f"cannot write the trajectory ({exc}); run stopped") from exc
