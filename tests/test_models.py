"""The model layer: responses, litellm (through its mock facilities), scripted and replay models."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from patchsmith.agent.models import (
    ContextWindowExceeded,
    LiteLLMModel,
    Model,
    ModelError,
    ModelResponse,
    ReplayModel,
    ScriptedModel,
    ToolCall,
    Usage,
    make_model,
)
from patchsmith.agent.models.litellm_model import import_litellm

USER = [{"role": "user", "content": "Fix the bug in calc.py"}]
VIEW = {
    "type": "function",
    "function": {
        "name": "view",
        "description": "Show a file.",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}


def mock_call(name: str, arguments: str, id: str = "call_1") -> dict:
    return {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}


@pytest.fixture(scope="module")
def litellm():
    # Through our importer, which keeps litellm off the network (local price map).
    return import_litellm()


def rate_limited(litellm):
    return litellm.RateLimitError("slow down", llm_provider="openai", model="gpt-4o-mini")


class Recorder:
    """A completion function that fails as told, then defers to litellm's mock."""

    def __init__(self, litellm, failures=(), mock_response="fixed it"):
        self.litellm = litellm
        self.failures = list(failures)
        self.mock_response = mock_response
        self.calls: list[dict] = []

    def __call__(self, **params):
        self.calls.append(params)
        if self.failures:
            raise self.failures.pop(0)
        return self.litellm.completion(**params, mock_response=self.mock_response)


# -- responses ----------------------------------------------------------------------


def test_tool_call_arguments_parse_from_json():
    call = ToolCall.from_raw("c1", "view", '{"path": "calc.py", "start": 3}')
    assert call.arguments == {"path": "calc.py", "start": 3}
    assert call.parse_error is None and call.raw_arguments is None


@pytest.mark.parametrize(
    "raw, error",
    [
        ('{"path": "calc.py"', "not valid JSON"),
        ('["calc.py"]', "must be a JSON object, not list"),
        ("42", "must be a JSON object, not int"),
    ],
)
def test_bad_tool_call_arguments_are_reported_not_raised(raw, error):
    call = ToolCall.from_raw("c1", "view", raw)
    assert call.arguments == {}
    assert error in call.parse_error
    assert call.raw_arguments == raw
    # The call is echoed back verbatim so the model sees what it sent.
    assert call.to_openai()["function"]["arguments"] == raw


@pytest.mark.parametrize(
    "raw, arguments",
    [
        ("", {}),
        (None, {}),
        ({"path": "a"}, {"path": "a"}),
        ('"{\\"path\\": \\"a\\"}"', {"path": "a"}),
    ],
)
def test_empty_dict_and_double_encoded_arguments_are_accepted(raw, arguments):
    call = ToolCall.from_raw("c1", "view", raw)
    assert call.arguments == arguments and call.parse_error is None


def test_missing_tool_call_id_gets_a_unique_one():
    first, second = ToolCall.from_raw(None, "view", "{}"), ToolCall.from_raw("", "view", "{}")
    assert first.id.startswith("call_") and first.id != second.id


def test_response_round_trips_through_json_exactly():
    response = ModelResponse(
        text="Let me look.",
        tool_calls=[
            ToolCall.from_raw("c1", "view", '{"path": "calc.py"}'),
            ToolCall.from_raw("c2", "edit", '{"path": '),
        ],
        usage=Usage(prompt_tokens=1200, completion_tokens=35),
        cost=0.0123,
        cost_known=False,
        model="gpt-4o-mini",
        finish_reason="tool_calls",
    )
    data = json.loads(json.dumps(response.to_dict()))
    assert ModelResponse.from_dict(data) == response


def test_response_becomes_an_openai_assistant_message():
    response = ModelResponse(tool_calls=[ToolCall.from_raw("c1", "view", '{"path": "a.py"}')])
    assert response.as_message() == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "view", "arguments": '{"path": "a.py"}'},
            }
        ],
    }
    assert ModelResponse(text="hi").as_message() == {"role": "assistant", "content": "hi"}


# -- litellm ------------------------------------------------------------------------


def test_importing_the_model_layer_does_not_import_litellm():
    code = (
        "import sys, patchsmith.agent.models, patchsmith.agent.text_protocol; "
        "print('litellm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_litellm_text_reply_is_priced(litellm):
    model = LiteLLMModel("gpt-4o-mini", mock_response="The bug is on line 2.")
    response = model.query(USER)
    assert response.text == "The bug is on line 2."
    assert response.tool_calls == []
    assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0
    assert response.cost > 0 and response.cost_known
    assert response.model == "gpt-4o-mini"
    assert isinstance(model, Model)


def test_litellm_native_tool_calls_are_parsed(litellm):
    calls = [
        mock_call("view", '{"path": "calc.py"}', "call_a"),
        mock_call("edit", '{"path": "calc.py", "old": ', "call_b"),
    ]
    model = LiteLLMModel("gpt-4o-mini", mock_response="", mock_tool_calls=calls)
    assert model.uses_native_tools
    response = model.query(USER, tools=[VIEW])
    view, edit = response.tool_calls
    assert (view.id, view.name, view.arguments) == ("call_a", "view", {"path": "calc.py"})
    assert edit.name == "edit" and edit.arguments == {} and "not valid JSON" in edit.parse_error
    assert response.cost > 0


def test_tools_are_passed_only_to_models_with_native_function_calling(litellm):
    native = Recorder(litellm)
    LiteLLMModel("gpt-4o-mini", completion=native).query(USER, tools=[VIEW])
    assert native.calls[0]["tools"] == [VIEW]

    text_only = Recorder(litellm)
    model = LiteLLMModel(
        "openai/local-coder", api_base="http://127.0.0.1:9/v1", completion=text_only
    )
    assert not model.uses_native_tools
    model.query(USER, tools=[VIEW])
    assert "tools" not in text_only.calls[0]
    assert text_only.calls[0]["api_base"] == "http://127.0.0.1:9/v1"


def test_native_tools_can_be_forced_for_a_local_model(litellm):
    recorder = Recorder(litellm)
    model = LiteLLMModel("ollama_chat/qwen2.5-coder", native_tools=True, completion=recorder)
    model.query(USER, tools=[VIEW])
    assert recorder.calls[0]["tools"] == [VIEW]


def test_unpriced_model_costs_nothing_and_says_so(litellm):
    model = LiteLLMModel(
        "openai/my-local-model", api_base="http://127.0.0.1:9/v1", mock_response="ok"
    )
    response = model.query(USER)
    assert response.text == "ok"
    assert (response.cost, response.cost_known) == (0.0, False)


def test_custom_prices_make_a_local_model_priced(litellm):
    model = LiteLLMModel(
        "openai/my-local-model",
        api_base="http://127.0.0.1:9/v1",
        input_cost_per_token=1e-6,
        output_cost_per_token=2e-6,
        mock_response="ok",
    )
    response = model.query(USER)
    expected = response.usage.prompt_tokens * 1e-6 + response.usage.completion_tokens * 2e-6
    assert response.cost_known and response.cost == pytest.approx(expected)


def test_rate_limits_are_retried_with_growing_backoff(litellm):
    recorder = Recorder(litellm, failures=[rate_limited(litellm), rate_limited(litellm)])
    sleeps: list[float] = []
    model = LiteLLMModel("gpt-4o-mini", completion=recorder, sleep=sleeps.append, backoff=2.0)
    response = model.query(USER)
    assert response.text == "fixed it"
    assert len(recorder.calls) == 3
    assert len(sleeps) == 2
    assert 2.0 <= sleeps[0] <= 2.5 and 4.0 <= sleeps[1] <= 5.0
    # Retrying is ours alone: litellm's client must not multiply the attempts.
    assert all(call["max_retries"] == 0 for call in recorder.calls)


@pytest.mark.parametrize(
    "error_name",
    ["APIConnectionError", "Timeout", "ServiceUnavailableError", "InternalServerError"],
)
def test_transient_errors_are_retried(litellm, error_name):
    error = getattr(litellm, error_name)(message="flaky", llm_provider="openai", model="gpt-4o")
    recorder = Recorder(litellm, failures=[error])
    model = LiteLLMModel("gpt-4o-mini", completion=recorder, sleep=lambda s: None)
    assert model.query(USER).text == "fixed it"
    assert len(recorder.calls) == 2


def test_persistent_rate_limit_gives_up_with_advice(litellm):
    sleeps: list[float] = []
    # litellm's own mock raises a real RateLimitError on every attempt.
    model = LiteLLMModel(
        "gpt-4o-mini", max_retries=3, sleep=sleeps.append, mock_response="litellm.RateLimitError"
    )
    with pytest.raises(ModelError) as caught:
        model.query(USER)
    assert "failed 4 time(s) in a row" in str(caught.value)
    assert "fewer workers" in str(caught.value)
    assert len(sleeps) == 3


def test_unreachable_local_server_is_explained(litellm):
    model = LiteLLMModel(
        "ollama/qwen2.5-coder",
        api_base="http://127.0.0.1:9",
        max_retries=1,
        sleep=lambda seconds: None,
        mock_response="x",
        mock_timeout=True,
        timeout=0.01,
    )
    with pytest.raises(ModelError) as caught:
        model.query(USER)
    assert "http://127.0.0.1:9" in str(caught.value) and "running" in str(caught.value)


def test_bad_credentials_are_not_retried_and_name_the_key(litellm, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    error = litellm.AuthenticationError("Incorrect API key", llm_provider="openai", model="gpt-4o")
    recorder = Recorder(litellm, failures=[error])
    model = LiteLLMModel("gpt-4o", completion=recorder, sleep=pytest.fail)
    with pytest.raises(ModelError) as caught:
        model.query(USER)
    assert "set OPENAI_API_KEY" in str(caught.value)
    assert len(recorder.calls) == 1


def test_missing_key_reported_as_a_server_error_is_not_retried(litellm, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # What litellm raises for gpt-4o-mini when OPENAI_API_KEY is unset.
    error = litellm.InternalServerError(
        "OpenAIException - Missing credentials. Please pass an `api_key`, or set the "
        "`OPENAI_API_KEY` environment variable.",
        llm_provider="openai",
        model="gpt-4o-mini",
    )
    recorder = Recorder(litellm, failures=[error])
    model = LiteLLMModel("gpt-4o-mini", completion=recorder, sleep=pytest.fail)
    with pytest.raises(ModelError, match="set OPENAI_API_KEY"):
        model.query(USER)
    assert len(recorder.calls) == 1


def test_local_openai_compatible_server_needs_no_key(litellm, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    recorder = Recorder(litellm)
    LiteLLMModel("openai/coder", api_base="http://127.0.0.1:9/v1", completion=recorder).query(USER)
    assert recorder.calls[0]["api_key"]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real")
    LiteLLMModel("openai/coder", api_base="http://127.0.0.1:9/v1", completion=recorder).query(USER)
    assert "api_key" not in recorder.calls[1]


def test_bad_request_is_not_retried(litellm):
    error = litellm.BadRequestError("unknown parameter", model="gpt-4o", llm_provider="openai")
    recorder = Recorder(litellm, failures=[error])
    model = LiteLLMModel("gpt-4o", completion=recorder, sleep=pytest.fail)
    with pytest.raises(ModelError, match=r"rejected the request: .*unknown parameter"):
        model.query(USER)
    assert len(recorder.calls) == 1


def test_other_provider_refusals_become_model_errors(litellm):
    import httpx  # litellm's HTTP client; this error class insists on a response

    response = httpx.Response(403, request=httpx.Request("POST", "http://127.0.0.1:9/v1"))
    error = litellm.PermissionDeniedError(
        "region not allowed", llm_provider="openai", model="gpt-4o", response=response
    )
    recorder = Recorder(litellm, failures=[error])
    model = LiteLLMModel("gpt-4o", completion=recorder, sleep=pytest.fail)
    with pytest.raises(ModelError, match=r"refused the call: .*region not allowed"):
        model.query(USER)


def test_context_overflow_has_its_own_error(litellm):
    model = LiteLLMModel(
        "gpt-4o-mini", sleep=pytest.fail, mock_response="litellm.ContextWindowExceededError"
    )
    with pytest.raises(ContextWindowExceeded):
        model.query(USER)


def test_odd_responses_still_carry_their_cost(litellm):
    def no_choices(**params):
        response = litellm.completion(**params, mock_response="x")
        response.choices = []
        return response

    response = LiteLLMModel("gpt-4o-mini", completion=no_choices).query(USER)
    assert response.text == "" and response.tool_calls == []
    assert response.cost > 0


# -- scripted and replay ------------------------------------------------------------

SCRIPT = """\
- "Let me look.\\n```bash\\nls\\n```"
- text: Reading the module.
  tool_calls:
    - name: view
      arguments: {path: calc.py}
  cost: 0.25
  usage: {prompt_tokens: 1200, completion_tokens: 80}
- tool_calls:
    - {name: edit, arguments: '{"path": "calc.py", '}
"""


def test_scripted_model_plays_a_yaml_file_in_order(tmp_path):
    path = tmp_path / "script.yaml"
    path.write_text(SCRIPT)
    model = ScriptedModel(path)
    first, second, third = (model.query(USER) for _ in range(3))
    assert first.text == "Let me look.\n```bash\nls\n```" and first.cost == 0
    assert second.text == "Reading the module."
    assert second.tool_calls[0].name == "view"
    assert second.tool_calls[0].arguments == {"path": "calc.py"}
    assert (second.cost, second.usage.prompt_tokens, second.usage.completion_tokens) == (
        0.25,
        1200,
        80,
    )
    assert third.tool_calls[0].parse_error and third.tool_calls[0].arguments == {}
    assert model.uses_native_tools


def test_scripted_model_says_when_it_runs_out():
    model = ScriptedModel(["one", "two"])
    model.query(USER)
    model.query(USER)
    with pytest.raises(ModelError, match="scripted model ran out of responses after 2"):
        model.query(USER)


def test_scripted_model_reads_json_and_remembers_what_it_was_sent(tmp_path):
    path = tmp_path / "script.json"
    path.write_text(json.dumps(["```bash\nls\n```"]))
    model = ScriptedModel(path)
    messages = list(USER)
    model.query(messages)
    messages.append({"role": "assistant", "content": "later"})
    assert model.received == [USER]
    assert not model.uses_native_tools  # only text: the text protocol


@pytest.mark.parametrize(
    "item, problem",
    [
        ({"txt": "typo"}, "unknown keys ['txt']"),
        ({"tool_calls": [{"arguments": {}}]}, "without a `name`"),
        ({"cost": "cheap"}, "bad `cost`"),
        (42, "must be a string or a mapping"),
    ],
)
def test_malformed_script_items_are_named(item, problem):
    with pytest.raises(ModelError) as caught:
        ScriptedModel(["fine", item])
    assert "response 2" in str(caught.value) and problem in str(caught.value)


def test_missing_script_file_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="cannot read the model script"):
        ScriptedModel(tmp_path / "nope.yaml")


def test_replay_model_plays_recorded_responses_then_stops():
    recorded = ModelResponse(text="hi", cost=0.5, model="gpt-4o")
    model = ReplayModel([recorded, recorded.to_dict()])
    assert model.query(USER) == recorded
    assert model.query(USER) == recorded
    with pytest.raises(ModelError, match="replay model ran out of responses after 2"):
        model.query(USER)


def test_replayed_responses_cannot_be_changed_by_the_caller():
    model = ReplayModel([ModelResponse(text="hi"), ModelResponse(text="hi")])
    model.query(USER).text = "changed"
    assert model.query(USER).text == "hi"


# -- make_model ---------------------------------------------------------------------


def test_make_model_builds_each_kind(tmp_path, litellm):
    script = tmp_path / "s.yaml"
    script.write_text("- hello\n")
    scripted = make_model(f"scripted:{script}", temperature=0.5, api_base="http://x")
    assert isinstance(scripted, ScriptedModel) and scripted.query(USER).text == "hello"

    recorded = ModelResponse(tool_calls=[ToolCall.from_raw("c1", "submit", "{}")], cost=0.1)
    trajectory = tmp_path / "run.traj.json"
    trajectory.write_text(json.dumps({"steps": [{"response": recorded.to_dict()}, {}]}))
    replay = make_model(f"replay:{trajectory}")
    assert isinstance(replay, ReplayModel) and replay.uses_native_tools
    assert replay.query(USER) == recorded

    live = make_model("ollama/qwen2.5-coder", api_base="http://127.0.0.1:11434", native_tools=False)
    assert isinstance(live, LiteLLMModel)
    assert (live.name, live.api_base, live.uses_native_tools) == (
        "ollama/qwen2.5-coder",
        "http://127.0.0.1:11434",
        False,
    )


@pytest.mark.parametrize("spec, problem", [("", "no model given"), ("replay:", "needs a file")])
def test_make_model_rejects_incomplete_specs(spec, problem):
    with pytest.raises(ModelError, match=problem):
        make_model(spec)


def test_replay_of_a_broken_trajectory_is_a_clear_error(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"steps": 3}')
    with pytest.raises(ModelError, match="no list of steps"):
        make_model(f"replay:{path}")
