"""The Chat Completions wire (``POST {base}/chat/completions``, streamed): request body and stream.

This is the wire every OpenAI-compatible server speaks (Ollama, vLLM, llama.cpp, LM Studio,
LiteLLM, OpenRouter), so the stream side is lenient: reasoning arrives as ``reasoning_content`` or
``reasoning``; a tool call's id and name come in its first delta and its arguments in pieces, keyed
by ``index`` (position in the list when a server leaves the index out); usage usually arrives in a
chunk of its own, with no choices, *after* the finish reason. So ``Done`` is held back until the
stream ends, and the usage is delivered before it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, Literal

from agentd.providers.base import (
    ChatMessage,
    Done,
    FinishReason,
    ImagePart,
    ModelRequest,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallRequested,
    Usage,
)
from agentd.providers.openai.common import json_int as _int
from agentd.providers.openai.common import parse_arguments
from agentd.providers.openai.common import usage_detail as _detail
from agentd.providers.openai.errors import stream_error

__all__ = ["ChatStreamMapper", "MaxTokensField", "build_chat_body", "chat_usage"]

MaxTokensField = Literal["max_completion_tokens", "max_tokens"]

_FINISH: Final[Mapping[str, FinishReason]] = {
    "stop": "stop",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "length": "length",
    "content_filter": "content_filter",
}


# -- request -------------------------------------------------------------------------------------


def _user_content(message: ChatMessage) -> str | list[dict[str, Any]]:
    """A plain string for text alone (every server takes it), parts once there is an image."""
    if not message.images:
        return message.text
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            parts.append({"type": "image_url", "image_url": {"url": part.data_url}})
    return parts


def _message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "user":
        return {"role": "user", "content": _user_content(message)}
    if message.role == "tool":
        # Chat Completions tool messages carry text only.
        return {"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.text}
    out: dict[str, Any] = {"role": "assistant", "content": message.text or None}
    if message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_text or "{}"},
            }
            for call in message.tool_calls
        ]
    return out


def build_chat_body(
    request: ModelRequest, *, max_tokens_field: MaxTokensField = "max_completion_tokens"
) -> dict[str, Any]:
    """The JSON body for one streamed Chat Completions request.

    ``max_tokens_field``: OpenAI wants ``max_completion_tokens``; older compatible servers only
    know ``max_tokens``. Native tools are declared as functions (this wire has no native form).
    """
    messages: list[dict[str, Any]] = []
    if request.system_prompt:
        messages.append({"role": "system", "content": request.system_prompt})
    messages.extend(_message(m) for m in request.messages)
    body: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": dict(tool.input_schema),
                },
            }
            for tool in request.tools
        ]
    options = request.options
    if options.max_output_tokens is not None:
        body[max_tokens_field] = options.max_output_tokens
    if options.reasoning_effort is not None:
        body["reasoning_effort"] = options.reasoning_effort
    if options.temperature is not None:
        body["temperature"] = options.temperature
    return body


# -- stream --------------------------------------------------------------------------------------


def chat_usage(usage: Mapping[str, Any]) -> Usage:
    """A ``usage`` object as ``Usage`` (cached tokens are counted inside the input)."""
    return Usage(
        input_tokens=_int(usage.get("prompt_tokens")),
        cached_input_tokens=_detail(usage, "prompt_tokens_details", "cached_tokens"),
        output_tokens=_int(usage.get("completion_tokens")),
        reasoning_tokens=_detail(usage, "completion_tokens_details", "reasoning_tokens"),
    )


class _PendingCall:
    __slots__ = ("arguments", "call_id", "name")

    def __init__(self) -> None:
        self.call_id = ""
        self.name = ""
        self.arguments: list[str] = []


class ChatStreamMapper:
    """Chunks of one streamed chat completion in, provider events out (choice 0 only)."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self._secrets = secrets  # kept out of error messages
        self._calls: dict[int, _PendingCall] = {}
        self._finish: FinishReason | None = None
        self._emitted_calls = False
        #: Chat streams end with ``[DONE]`` (the caller sees it), never with a chunk.
        self.done = False

    def feed(self, event: str, data: Mapping[str, Any]) -> list[ProviderEvent]:
        # Fast path for nearly every chunk of an answer: one choice whose delta is content
        # alone (some servers repeat the role). Anything else takes the general path below,
        # which gives the same events for these chunks too.
        choices = data.get("choices")
        if type(choices) is list and len(choices) == 1 and data.get("usage") is None:
            choice = choices[0]
            if type(choice) is dict and choice.get("finish_reason") is None:
                delta = choice.get("delta")
                index = choice.get("index")
                if (
                    type(delta) is dict
                    and (len(delta) == 1 or (len(delta) == 2 and "role" in delta))
                    and (index == 0 or index is None)
                    and data.get("error") is None
                ):
                    content = delta.get("content")
                    if type(content) is str:
                        return [TextDelta(content)] if content else []
        error = data.get("error")
        if error is not None:
            body = data if isinstance(error, Mapping) else {"message": str(error)}
            raise stream_error(body, self._secrets)
        out: list[ProviderEvent] = []
        choices = data.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                if isinstance(choice, Mapping) and _int(choice.get("index")) == 0:
                    self._choice(choice, out)
        usage = data.get("usage")
        if isinstance(usage, Mapping):
            out.append(chat_usage(usage))
        return out

    def end(self, saw_done: bool) -> list[ProviderEvent]:
        if self._finish is None and not saw_done:
            raise ProviderError(
                "network",
                "the connection closed before the model finished its answer; try again",
            )
        out: list[ProviderEvent] = []
        self._flush_calls(out)
        finish = self._finish or "stop"
        if self._emitted_calls and finish == "stop":
            finish = "tool_calls"  # some servers say "stop" after tool calls
        out.append(Done(finish))
        self.done = True
        return out

    def _choice(self, choice: Mapping[str, Any], out: list[ProviderEvent]) -> None:
        delta = choice.get("delta")
        if isinstance(delta, Mapping):
            for key in ("reasoning_content", "reasoning"):
                reasoning = delta.get(key)
                if isinstance(reasoning, str) and reasoning:
                    out.append(ReasoningDelta(reasoning))
                    break
            content = delta.get("content")
            if isinstance(content, str) and content:
                out.append(TextDelta(content))
            calls = delta.get("tool_calls")
            if isinstance(calls, list):
                self._tool_deltas(calls)
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            if reason == "error":  # OpenRouter: a provider failure behind the router
                raise stream_error({"message": "the upstream provider failed"}, self._secrets)
            self._finish = _FINISH.get(reason, "stop")
            self._flush_calls(out)

    def _tool_deltas(self, calls: list[Any]) -> None:
        for position, raw in enumerate(calls):
            if not isinstance(raw, Mapping):
                continue
            index = raw.get("index")
            key = index if isinstance(index, int) and not isinstance(index, bool) else position
            pending = self._calls.get(key)
            if pending is None:
                pending = self._calls[key] = _PendingCall()
            call_id = raw.get("id")
            if isinstance(call_id, str) and call_id and not pending.call_id:
                pending.call_id = call_id
            function = raw.get("function")
            if isinstance(function, Mapping):
                name = function.get("name")
                if isinstance(name, str) and name and not pending.name:
                    pending.name = name
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    pending.arguments.append(arguments)
                elif isinstance(arguments, Mapping):  # a few servers send the object itself
                    pending.arguments.append(json.dumps(arguments, ensure_ascii=False))

    def _flush_calls(self, out: list[ProviderEvent]) -> None:
        for key in sorted(self._calls):
            pending = self._calls[key]
            raw = "".join(pending.arguments)
            call_id = pending.call_id or f"call_{key}"
            call = ToolCall(call_id, pending.name, parse_arguments(raw), raw_arguments=raw)
            out.append(ToolCallRequested(call))
            self._emitted_calls = True
        self._calls.clear()
