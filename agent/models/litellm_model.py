"""LiteLLMModel: any provider litellm knows, or a local OpenAI-compatible server, with retries.

Model names follow litellm: `gpt-4o`, `anthropic/claude-sonnet-4-20250514`, `ollama/qwen2.5-coder`,
`ollama_chat/llama3.1`, or `openai/NAME` with `api_base` pointing at any OpenAI-compatible
server. Keys come from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...). litellm is
imported on first construction, never when this module is imported: it takes seconds.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable
from typing import Any

from .base import ContextWindowExceeded, ModelError, ModelResponse, ToolCall, Usage

# litellm error classes worth another attempt: the same request may well succeed later.
RETRYABLE_ERRORS = (
    "RateLimitError",
    "APIConnectionError",
    "Timeout",
    "ServiceUnavailableError",
    "InternalServerError",
    "BadGatewayError",
)

# Providers report a missing key as a server or connection error; retrying cannot help.
MISSING_KEY = re.compile(r"missing credentials|missing \w+ api key|api_key client option", re.I)


def import_litellm() -> Any:
    """litellm, configured to run offline and quietly."""
    # The bundled price map avoids a network fetch at import time.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def provider_error_base() -> type[Exception]:
    """The base class of every error litellm raises for a provider's answer (openai's)."""
    import openai  # a dependency of litellm

    return openai.APIError


class LiteLLMModel:
    """A model reached through `litellm.completion`.

    Rate limits and transient server or network errors are retried with exponential
    backoff (`max_retries` times); authentication and bad-request errors are not, and become
    a `ModelError` saying what to fix. Every response that comes back is returned, even an
    unusable one, so that its cost is always counted by the caller.

    Tools are passed natively when litellm says the model supports function calling;
    `native_tools` overrides that guess (e.g. for an Ollama model that does support tools).
    Extra keyword arguments go to `litellm.completion` unchanged (e.g. `timeout`,
    `max_tokens`, or `input_cost_per_token` / `output_cost_per_token` to price a model litellm
    does not know). `completion` and `sleep` are injectable for tests.
    """

    def __init__(
        self,
        name: str,
        api_base: str | None = None,
        temperature: float | None = 0.0,
        max_retries: int = 6,
        *,
        native_tools: bool | None = None,
        completion: Callable[..., Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        **kwargs: Any,
    ):
        self.name = name
        self.api_base = api_base
        self.temperature = temperature
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.kwargs = kwargs
        self._litellm = import_litellm()
        self._completion = completion or self._litellm.completion
        self._sleep = sleep
        self._skip_mcp_handler = False
        if native_tools is None:
            native_tools = self._supports_function_calling()
        self.uses_native_tools = native_tools

    def context_window(self) -> int | None:
        """Input tokens the model accepts, from litellm's model table; None when unknown."""
        try:
            info = self._litellm.get_model_info(model=self.name)
        except Exception:  # unknown models (most local ones): the loop then uses no budget
            return None
        return info.get("max_input_tokens") or info.get("max_tokens")

    def _needs_cache_breakpoints(self) -> bool:
        # Anthropic's models (also through Bedrock and Vertex: the name still says claude)
        # cache only up to marked blocks; OpenAI's and others cache a repeated prefix by
        # themselves. By name, since this litellm's table does not know every Claude.
        return "claude" in self.name.lower() or self.name.startswith("anthropic/")

    def _supports_function_calling(self) -> bool:
        try:
            return bool(self._litellm.supports_function_calling(model=self.name))
        except Exception:  # an unknown model simply gets the text protocol
            return False

    def query(self, messages: list[dict], tools: list[dict] | None = None) -> ModelResponse:
        if self._needs_cache_breakpoints():
            messages = with_cache_breakpoints(messages)
        params: dict[str, Any] = {
            "model": self.name,
            "messages": messages,
            # Retries happen here only, so that they are counted and backed off in one place.
            "max_retries": 0,
            # Some models reject e.g. temperature; dropping it beats failing the run.
            "drop_params": True,
        }
        if self.temperature is not None:
            params["temperature"] = self.temperature
        if self.api_base:
            params["api_base"] = self.api_base
            if self.name.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
                # Local OpenAI-compatible servers ignore the key, but the client insists on one.
                params["api_key"] = "not-needed"
        if tools and self.uses_native_tools:
            params["tools"] = tools
        params.update(self.kwargs)
        retryable = tuple(getattr(self._litellm, name) for name in RETRYABLE_ERRORS)
        attempt = 0
        while True:
            try:
                raw = self._call(params)
            except retryable as exc:
                if MISSING_KEY.search(str(exc)):
                    raise ModelError(self._auth_message(exc)) from exc
                if attempt >= self.max_retries:
                    raise ModelError(self._gave_up_message(exc, attempt + 1)) from exc
                self._sleep(self.retry_delay(attempt))
                attempt += 1
                continue
            except self._litellm.ContextWindowExceededError as exc:
                raise ContextWindowExceeded(
                    f"the conversation is too long for {self.name}: {_brief(exc)}"
                ) from exc
            except self._litellm.AuthenticationError as exc:
                raise ModelError(self._auth_message(exc)) from exc
            except self._litellm.NotFoundError as exc:
                raise ModelError(
                    f"model {self.name!r} was not found: {_brief(exc)}. Check the model name "
                    "(litellm form: provider/model, e.g. ollama/qwen2.5-coder)."
                ) from exc
            except self._litellm.BadRequestError as exc:
                raise ModelError(f"{self.name} rejected the request: {_brief(exc)}") from exc
            except provider_error_base() as exc:  # e.g. permission denied, payment required
                raise ModelError(f"{self.name} refused the call: {_brief(exc)}") from exc
            return self.to_response(raw)

    def _call(self, params: dict[str, Any]) -> Any:
        if self._skip_mcp_handler:
            return self._completion(**params, _skip_mcp_handler=True)
        try:
            return self._completion(**params)
        except ModuleNotFoundError as exc:
            # Some litellm releases import their optional `mcp` extra whenever tools are
            # passed; their private switch skips that MCP gateway, which we never use.
            if exc.name != "mcp" or "tools" not in params:
                raise
            self._skip_mcp_handler = True
            return self._completion(**params, _skip_mcp_handler=True)

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (from 0): doubling, capped, with a
        little jitter so parallel workers do not retry in lockstep."""
        delay = min(self.max_backoff, self.backoff * 2**attempt)
        return delay * random.uniform(1.0, 1.25)

    def to_response(self, raw: Any) -> ModelResponse:
        """Our response from a litellm one. Never raises on an odd shape: the call was billed."""
        choices = getattr(raw, "choices", None) or []
        message = getattr(choices[0], "message", None) if choices else None
        content = getattr(message, "content", None)
        calls = []
        for call in getattr(message, "tool_calls", None) or []:
            function = getattr(call, "function", None)
            calls.append(
                ToolCall.from_raw(
                    getattr(call, "id", None),
                    getattr(function, "name", "") or "",
                    getattr(function, "arguments", None),
                )
            )
        usage = getattr(raw, "usage", None)
        cost, cost_known = self._cost(raw)
        return ModelResponse(
            text=content if isinstance(content, str) else "",
            tool_calls=calls,
            usage=Usage(
                prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            ),
            cost=cost,
            cost_known=cost_known,
            model=self.name,
            finish_reason=str(getattr(choices[0], "finish_reason", "") or "") if choices else "",
        )

    def _cost(self, raw: Any) -> tuple[float, bool]:
        # litellm prices the call while logging it; ask again only when it did not.
        hidden = getattr(raw, "_hidden_params", None) or {}
        cost = hidden.get("response_cost")
        if cost is None:
            try:
                cost = self._litellm.completion_cost(completion_response=raw, model=self.name)
            except Exception:  # no price known for this model
                return 0.0, False
        return float(cost or 0.0), True

    def _auth_message(self, exc: Exception) -> str:
        try:
            missing = self._litellm.validate_environment(model=self.name).get("missing_keys")
        except Exception:  # the hint is optional
            missing = None
        if missing:
            todo = f"set {' and '.join(missing)} in the environment"
        else:
            todo = "check that the API key in the environment is valid for this provider"
        return f"{self.name} refused the credentials ({_brief(exc)}): {todo}."

    def _gave_up_message(self, exc: Exception, attempts: int) -> str:
        what = f"{self.name} failed {attempts} time(s) in a row: {_brief(exc)}"
        if isinstance(exc, self._litellm.RateLimitError):
            return f"{what}. Wait, raise the provider's limits, or run fewer workers."
        # litellm.Timeout is not a litellm.APIConnectionError (only openai's), so both.
        if isinstance(exc, (self._litellm.APIConnectionError, self._litellm.Timeout)):
            where = self.api_base or "the provider"
            return (
                f"{what}. Is {where} reachable from here? For a local server (e.g. Ollama) "
                "check that it is running and that --api-base points at it; a slow model may "
                "need a longer timeout."
            )
        return f"{what}. The provider seems to be having trouble; try again later."


def _brief(exc: Exception, limit: int = 400) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def with_cache_breakpoints(messages: list[dict]) -> list[dict]:
    """A copy of `messages` with the system prompt and the last message marked as cache
    breakpoints, so each call reads the previous call's prefix from the cache."""
    marked = [dict(m) for m in messages]
    for index in {0, len(marked) - 1}:
        if not marked or index < 0 or marked[index].get("content") in (None, ""):
            continue
        if index == 0 and marked[0].get("role") != "system":
            continue
        content = marked[index]["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        blocks = [dict(b) for b in blocks]
        blocks[-1]["cache_control"] = {"type": "ephemeral"}
        marked[index]["content"] = blocks
    return marked
