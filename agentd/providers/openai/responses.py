"""The Responses API wire (``POST {base}/responses``, streamed, stateless): body and stream.

Stateless means ``store: false`` and the whole conversation as input items every round. Reasoning
models return reasoning items (with ``encrypted_content`` when asked for) that must go back in on
later rounds for the model to keep its train of thought; they travel as the assistant message's
``ProviderData`` and are put back in front of that message's output. They are sent without their
``id`` (nothing is stored server-side to look it up) and dropped if they carry no encrypted
content, which is what the server refuses with "Items are not persisted when store is false".

The native ``apply_patch`` tool is declared as ``{"type": "apply_patch"}``; the model then answers
with an ``apply_patch_call`` item whose ``operation`` (``{type: create_file|update_file|
delete_file, path, diff}``) becomes the ``ToolCall`` arguments, marked in its ``provider_data`` so
the call and its result go back as ``apply_patch_call`` / ``apply_patch_call_output`` items.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from agentd.providers.base import (
    ChatMessage,
    Done,
    FinishReason,
    ImagePart,
    MessageData,
    ModelRequest,
    ProviderData,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallRequested,
    ToolSpec,
    Usage,
)
from agentd.providers.openai.common import PROVIDER, parse_arguments
from agentd.providers.openai.common import json_int as _int
from agentd.providers.openai.common import usage_detail as _detail
from agentd.providers.openai.errors import stream_error

__all__ = [
    "APPLY_PATCH",
    "ResponsesStreamMapper",
    "build_responses_body",
    "native_tool_names",
    "responses_usage",
]

#: The one native tool type this wire declares as such; others fall back to functions.
APPLY_PATCH: Final = "apply_patch"
_APPLY_PATCH_CALL: Final = "apply_patch_call"
_REASONING_ITEM_KEYS: Final = ("type", "summary", "encrypted_content")


# -- request -------------------------------------------------------------------------------------


def native_tool_names(tools: tuple[ToolSpec, ...]) -> dict[str, str]:
    """``native_type`` → tool name, for the native tools this wire declares natively."""
    return {
        tool.native_type: tool.name
        for tool in tools
        if tool.kind == "native" and tool.native_type == APPLY_PATCH
    }


def _tool(tool: ToolSpec) -> dict[str, Any]:
    if tool.kind == "native" and tool.native_type == APPLY_PATCH:
        return {"type": APPLY_PATCH}
    return {
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": dict(tool.input_schema),
        "strict": False,
    }


def _parts(message: ChatMessage) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            parts.append({"type": "input_text", "text": part.text})
        elif isinstance(part, ImagePart):
            parts.append({"type": "input_image", "image_url": part.data_url, "detail": "auto"})
    return parts


def _reasoning_items(message: ChatMessage) -> list[dict[str, Any]]:
    data = message.provider_data
    if data is None or data.provider != PROVIDER:
        return []
    items = data.data.get("items")
    out: list[dict[str, Any]] = []
    for item in items if isinstance(items, list) else ():
        if (
            isinstance(item, Mapping)
            and item.get("type") == "reasoning"
            and isinstance(item.get("encrypted_content"), str)
        ):
            clean = {k: item[k] for k in _REASONING_ITEM_KEYS if k in item}
            clean.setdefault("summary", [])
            out.append(clean)
    return out


def _is_apply_patch(call: ToolCall) -> bool:
    data = call.provider_data
    return (
        data is not None
        and data.provider == PROVIDER
        and data.data.get("item_type") == _APPLY_PATCH_CALL
    )


def _assistant_items(message: ChatMessage, patch_calls: set[str]) -> list[dict[str, Any]]:
    items = _reasoning_items(message)
    if message.text:
        items.append(
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": message.text}],
            }
        )
    for call in message.tool_calls:
        if _is_apply_patch(call):
            patch_calls.add(call.call_id)
            items.append(
                {
                    "type": _APPLY_PATCH_CALL,
                    "call_id": call.call_id,
                    "status": "completed",
                    "operation": dict(call.arguments),
                }
            )
        else:
            items.append(
                {
                    "type": "function_call",
                    "call_id": call.call_id,
                    "name": call.name,
                    "arguments": call.arguments_text or "{}",
                }
            )
    return items


def _tool_output(message: ChatMessage, patch_calls: set[str]) -> dict[str, Any]:
    call_id = message.tool_call_id or ""
    if call_id in patch_calls:
        return {
            "type": "apply_patch_call_output",
            "call_id": call_id,
            "status": "completed",
            "output": message.text,
        }
    output: str | list[dict[str, Any]] = message.text
    if message.images:  # a tool that returned an image (a screenshot, a viewed file)
        output = _parts(message)
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def build_input(messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
    """The whole conversation as Responses input items, in order."""
    items: list[dict[str, Any]] = []
    patch_calls: set[str] = set()
    for message in messages:
        if message.role == "user":
            items.append({"type": "message", "role": "user", "content": _parts(message)})
        elif message.role == "assistant":
            items.extend(_assistant_items(message, patch_calls))
        else:
            items.append(_tool_output(message, patch_calls))
    return items


def build_responses_body(request: ModelRequest) -> dict[str, Any]:
    """The JSON body for one streamed, stateless Responses request.

    ``include: ["reasoning.encrypted_content"]`` goes with the ``reasoning`` block only: models
    without reasoning refuse it, and reasoning is only asked for when the options say so.
    """
    body: dict[str, Any] = {
        "model": request.model,
        "input": build_input(request.messages),
        "stream": True,
        "store": False,
    }
    if request.system_prompt:
        body["instructions"] = request.system_prompt
    if request.tools:
        body["tools"] = [_tool(tool) for tool in request.tools]
    options = request.options
    if options.reasoning_effort is not None or options.reasoning_summary is not None:
        reasoning: dict[str, Any] = {}
        if options.reasoning_effort is not None:
            reasoning["effort"] = options.reasoning_effort
        if options.reasoning_summary is not None:
            reasoning["summary"] = options.reasoning_summary
        body["reasoning"] = reasoning
        body["include"] = ["reasoning.encrypted_content"]
    if options.max_output_tokens is not None:
        body["max_output_tokens"] = options.max_output_tokens
    if options.temperature is not None:
        body["temperature"] = options.temperature
    return body


# -- stream --------------------------------------------------------------------------------------


def responses_usage(usage: Mapping[str, Any]) -> Usage:
    """A response's ``usage`` as ``Usage`` (cached tokens are counted inside the input)."""
    return Usage(
        input_tokens=_int(usage.get("input_tokens")),
        cached_input_tokens=_detail(usage, "input_tokens_details", "cached_tokens"),
        output_tokens=_int(usage.get("output_tokens")),
        reasoning_tokens=_detail(usage, "output_tokens_details", "reasoning_tokens"),
    )


_TEXT_DELTAS: Final = frozenset({"response.output_text.delta", "response.refusal.delta"})
_REASONING_DELTAS: Final = frozenset(
    {"response.reasoning_summary_text.delta", "response.reasoning_text.delta"}
)
_INCOMPLETE: Final[Mapping[str, FinishReason]] = {
    "max_output_tokens": "length",
    "content_filter": "content_filter",
}


class ResponsesStreamMapper:
    """Events of one streamed response in, provider events out.

    Text and reasoning stream as deltas; a tool call is reported once its item is done (its
    arguments whole); reasoning items are collected and reported as one ``MessageData`` when the
    response completes, before its ``Usage``; ``Done`` comes from ``end``.
    """

    def __init__(
        self, native_names: Mapping[str, str] | None = None, secrets: tuple[str, ...] = ()
    ) -> None:
        self._native = dict(native_names or {})
        self._secrets = secrets  # kept out of error messages
        self._reasoning: list[dict[str, Any]] = []
        self._reasoning_part: tuple[object, object] | None = None
        self._calls = 0
        self._finish: FinishReason | None = None
        #: A plain attribute, not a property: the provider reads it after every event.
        self.done = False

    def feed(self, event: str, data: Mapping[str, Any]) -> list[ProviderEvent]:
        kind = data.get("type")
        if not isinstance(kind, str):
            kind = event
        if kind in _TEXT_DELTAS:
            delta = data.get("delta")
            return [TextDelta(delta)] if isinstance(delta, str) and delta else []
        if kind in _REASONING_DELTAS:
            return self._reasoning_delta(data)
        if kind == "response.output_item.done":
            item = data.get("item")
            return self._item_done(item) if isinstance(item, Mapping) else []
        if kind in ("response.completed", "response.incomplete"):
            return self._completed(data.get("response"))
        if kind == "response.failed":
            response = data.get("response")
            error = response.get("error") if isinstance(response, Mapping) else None
            body = error if isinstance(error, Mapping) else {"message": "the response failed"}
            raise stream_error(body, self._secrets)
        if kind == "error":
            raise stream_error(data, self._secrets)
        return []

    def end(self, saw_done: bool) -> list[ProviderEvent]:
        if self._finish is None:
            raise ProviderError(
                "network",
                "the connection closed before the response completed; try again",
            )
        return [Done(self._finish)]

    def _reasoning_delta(self, data: Mapping[str, Any]) -> list[ProviderEvent]:
        delta = data.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        part = (data.get("item_id"), data.get("summary_index", data.get("content_index")))
        out: list[ProviderEvent] = []
        if self._reasoning_part is not None and part != self._reasoning_part:
            out.append(ReasoningDelta("\n\n"))  # a new summary part or item: keep them apart
        self._reasoning_part = part
        out.append(ReasoningDelta(delta))
        return out

    def _item_done(self, item: Mapping[str, Any]) -> list[ProviderEvent]:
        kind = item.get("type")
        if kind == "reasoning":
            self._reasoning.append(dict(item))
            return []
        if kind == "function_call":
            raw = item.get("arguments")
            raw = raw if isinstance(raw, str) else ""
            call = ToolCall(
                _str(item.get("call_id")),
                _str(item.get("name")),
                parse_arguments(raw),
                raw_arguments=raw,
            )
            self._calls += 1
            return [ToolCallRequested(call)]
        if kind == _APPLY_PATCH_CALL:
            operation = item.get("operation")
            arguments = dict(operation) if isinstance(operation, Mapping) else {}
            call = ToolCall(
                _str(item.get("call_id")),
                self._native.get(APPLY_PATCH, APPLY_PATCH),
                arguments,
                raw_arguments=json.dumps(arguments, ensure_ascii=False),
                provider_data=ProviderData(PROVIDER, {"item_type": _APPLY_PATCH_CALL}),
            )
            self._calls += 1
            return [ToolCallRequested(call)]
        return []

    def _completed(self, response: object) -> list[ProviderEvent]:
        out: list[ProviderEvent] = []
        if self._reasoning:
            out.append(MessageData(ProviderData(PROVIDER, {"items": list(self._reasoning)})))
        finish: FinishReason = "tool_calls" if self._calls else "stop"
        if isinstance(response, Mapping):
            usage = response.get("usage")
            if isinstance(usage, Mapping):
                out.append(responses_usage(usage))
            details = response.get("incomplete_details")
            if isinstance(details, Mapping):
                finish = _INCOMPLETE.get(_str(details.get("reason")), finish)
        self._finish = finish
        self.done = True
        return out


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""
