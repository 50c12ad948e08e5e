"""The CodeAct loop's limits and exit statuses, driven by scripted models on a real sandbox."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import make_repo

from patchsmith.agent.history import ELIDED, Conversation
from patchsmith.agent.loop import STUCK_WARNING, Agent, Limits
from patchsmith.agent.models import ContextWindowExceeded, ModelResponse, ScriptedModel
from patchsmith.agent.trajectory import Trajectory
from patchsmith.sandbox import SandboxConfig, SandboxError, open_sandbox
from patchsmith.tools.context import ToolsetConfig
from patchsmith.tools.registry import Toolset

FILES = {
    "calc.py": "def add(a, b):\n    return a - b\n",
    "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


@pytest.fixture(scope="module")
def toolset(tmp_path_factory):
    repo = make_repo(tmp_path_factory.mktemp("loop") / "repo", FILES)
    config = ToolsetConfig(test_command=f"{sys.executable} -m pytest")
    with (
        open_sandbox(repo, config=SandboxConfig(backend="local")) as sandbox,
        Toolset(sandbox, config) as tools,
    ):
        yield tools


def bash(command: str, cost: float = 0.0) -> dict:
    return {"tool_calls": [{"name": "bash", "arguments": {"command": command}}], "cost": cost}


def run(toolset, script, limits=Limits(), **options) -> Trajectory:
    model = script if not isinstance(script, list) else ScriptedModel(script, native_tools=True)
    agent = Agent(model, toolset, limits=limits, **options)
    return agent.run("fix add()", Trajectory(issue="fix add()", config={}))


def test_a_model_that_never_submits_hits_the_step_limit(toolset):
    script = [bash(f"echo {i}") for i in range(10)]
    trajectory = run(toolset, script, Limits(steps=4))
    assert trajectory.status == "step_limit"
    assert len(trajectory.steps) == 4


def test_cost_limit_stops_exactly_at_the_cap(toolset):
    script = [bash(f"echo {i}", cost=1.0) for i in range(10)]
    trajectory = run(toolset, script, Limits(cost=3.0))
    assert trajectory.status == "cost_limit"
    assert trajectory.cost == pytest.approx(3.0)
    assert len(trajectory.steps) == 3


def test_cost_limit_is_never_passed_when_calls_do_not_divide_it(toolset):
    script = [bash(f"echo {i}", cost=0.7) for i in range(10)]
    trajectory = run(toolset, script, Limits(cost=2.0))
    assert trajectory.status == "cost_limit"
    assert trajectory.cost <= 2.0
    assert len(trajectory.steps) == 2


def test_replies_without_an_action_hit_the_format_error_limit_and_are_billed(toolset):
    script = [{"text": "I think the bug is in add.", "cost": 0.5}] * 5
    model = ScriptedModel(script, native_tools=False)
    trajectory = run(toolset, model, Limits(format_errors=3))
    assert trajectory.status == "format_errors"
    assert len(trajectory.steps) == 3
    assert all(step.format_error for step in trajectory.steps)
    assert trajectory.cost == pytest.approx(1.5)


def test_text_protocol_actions_run_through_the_tools(toolset):
    script = [
        "Let me look.\n```bash\necho from-bash\n```",
        '```tool\n{"name": "submit", "arguments": {}}\n```',
        '```tool\n{"name": "submit", "arguments": {}}\n```',
    ]
    trajectory = run(toolset, ScriptedModel(script, native_tools=False))
    assert trajectory.steps[0].actions[0].observation.strip().startswith("from-bash")
    assert trajectory.status == "submitted"


def test_a_repeating_model_is_warned_then_stopped_as_stuck(toolset):
    trajectory = run(toolset, [bash("ls")] * 10)
    assert trajectory.status == "stuck"
    assert trajectory.steps[2].warning == STUCK_WARNING
    assert len(trajectory.steps) == 4


def test_an_alternating_loop_is_stopped_as_stuck(toolset):
    trajectory = run(toolset, [bash("ls"), bash("pwd")] * 6)
    assert trajectory.status == "stuck"
    assert trajectory.steps[5].warning == STUCK_WARNING
    assert len(trajectory.steps) == 7


def test_the_time_limit_is_checked_before_each_step(toolset):
    trajectory = run(toolset, [bash("sleep 1"), bash("echo late")], Limits(seconds=0.5))
    assert trajectory.status == "time_limit"
    assert len(trajectory.steps) == 1


def test_a_model_failure_ends_with_model_error(toolset):
    trajectory = run(toolset, [bash("echo 1")])  # the script runs out on the second call
    assert trajectory.status == "model_error"
    assert "ran out" in trajectory.message


def test_ctrl_c_ends_with_interrupted_and_keeps_the_record(toolset):
    class Interrupting(ScriptedModel):
        def query(self, messages, tools=None):
            if len(self.received) == 1:
                self.received.append(messages)
                raise KeyboardInterrupt
            return super().query(messages, tools)

    trajectory = run(toolset, Interrupting([bash("echo 1")] * 3, native_tools=True))
    assert trajectory.status == "interrupted"
    assert len(trajectory.steps) == 1


def test_a_sandbox_failure_ends_with_sandbox_error(toolset):
    class BrokenToolset:
        sandbox = toolset.sandbox

        def schemas(self):
            return toolset.schemas()

        def call(self, name, arguments):
            raise SandboxError("the container is gone")

    trajectory = run(BrokenToolset(), [bash("echo 1")])
    assert trajectory.status == "sandbox_error"
    assert "container is gone" in trajectory.message


def test_submitting_a_fix_ends_with_submitted_and_the_diff(toolset):
    script = [
        {
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
            ]
        },
        {"tool_calls": [{"name": "run_tests", "arguments": {}}]},
        {"tool_calls": [{"name": "submit", "arguments": {"summary": "fix add"}}]},
    ]
    trajectory = run(toolset, script)
    assert trajectory.status == "submitted"
    assert "+    return a + b" in trajectory.diff
    assert "1 passed" in trajectory.steps[1].actions[0].observation
    toolset.call("edit", {"command": "undo", "path": "calc.py"})


def test_context_overflow_is_compressed_and_retried(toolset):
    class Overflowing(ScriptedModel):
        def query(self, messages, tools=None):
            if not getattr(self, "overflowed", False):
                self.overflowed = True
                raise ContextWindowExceeded("too long")
            return super().query(messages, tools)

    script = [bash("echo hi"), {"tool_calls": [{"name": "submit", "arguments": {}}]}] * 2
    trajectory = run(toolset, Overflowing(script, native_tools=True), context_tokens=50_000)
    assert trajectory.status == "submitted"


def test_old_observations_are_elided_beyond_the_last_n():
    conversation = Conversation(keep=2)
    conversation.add({"role": "system", "content": "system"})
    for step in range(1, 5):
        conversation.add({"role": "assistant", "content": f"action {step}"})
        conversation.add({"role": "user", "content": f"output {step}\nline"}, step=step)
    rendered = [m["content"] for m in conversation.render(current_step=5)]
    assert "output 1\nline" not in rendered and "output 2\nline" not in rendered
    assert ELIDED.format(step=1, lines=2) in rendered
    assert "output 3\nline" in rendered and "output 4\nline" in rendered


def test_the_conversation_is_fitted_to_a_token_budget():
    conversation = Conversation(keep=10)
    conversation.add({"role": "system", "content": "system"})
    conversation.add({"role": "user", "content": "issue"})
    for step in range(1, 6):
        conversation.add({"role": "user", "content": "word " * 2000}, step=step)
    from patchsmith.agent.history import tokens_of

    fitted = conversation.fit(current_step=6, budget=1500)
    assert tokens_of(fitted) <= 1500
    assert fitted[0]["content"] == "system" and fitted[1]["content"] == "issue"


def test_trajectories_round_trip_through_json(tmp_path: Path, toolset):
    trajectory = run(toolset, [bash("echo 1")], Limits(steps=1))
    path = tmp_path / "t.json"
    trajectory.save(path)
    loaded = Trajectory.load(path)
    assert loaded.to_dict() == trajectory.to_dict()
    assert ModelResponse.from_dict(loaded.steps[0].response).tool_calls[0].name == "bash"


def test_confirm_can_skip_edit_or_quit_an_action(toolset):
    decisions = iter(
        [
            ("skip", {"command": "echo skipped"}),
            ("run", {"command": "echo edited"}),
            ("quit", {}),
        ]
    )
    seen = []

    def confirm(tool, arguments):
        seen.append((tool, arguments))
        return next(decisions)

    script = [bash("echo one"), bash("echo two"), bash("echo three")]
    trajectory = run(toolset, script, confirm=confirm)
    assert [s.actions[0].observation.strip() for s in trajectory.steps[:2]] == [
        "The user declined to run this action.",
        "edited",
    ]
    assert trajectory.status == "interrupted"
    assert seen[0] == ("bash", {"command": "echo one"})


def test_a_shared_budget_stops_runs_before_they_pass_the_total(toolset):
    from patchsmith.agent.budget import Budget

    budget = Budget(total=5.0)
    script = [bash(f"echo {i}", cost=1.0) for i in range(10)]
    first = run(toolset, ScriptedModel(script, native_tools=True), budget=budget)
    second = run(toolset, ScriptedModel(script, native_tools=True), budget=budget)
    # The first run stops at its own cap (3.0), the second where the shared total (5.0) ends.
    assert (first.status, len(first.steps)) == ("cost_limit", 3)
    assert (second.status, len(second.steps)) == ("cost_limit", 2)
    assert "shared budget" in second.message
    assert budget.spent == pytest.approx(5.0)
