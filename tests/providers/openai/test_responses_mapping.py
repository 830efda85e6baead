"""Responses API mapping without HTTP: input items, native tools, reasoning items, events."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from agentd.providers.base import (
    ChatMessage,
    Done,
    ImagePart,
    MessageData,
    ModelRequest,
    ProviderData,
    ProviderError,
    ProviderEvent,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallRequested,
    ToolSpec,
    Usage,
)
from agentd.providers.openai.responses import (
    ResponsesStreamMapper,
    build_responses_body,
    native_tool_names,
)

PNG = "data:image/png;base64,iVBORw0KGgo="
PATCH_TOOL = ToolSpec("apply_patch", "Edit files.", {}, kind="native", native_type="apply_patch")
OTHER_NATIVE = ToolSpec("shell", "Run.", {"type": "object"}, kind="native", native_type="shell")
COMPLETED = {"type": "response.completed", "response": {"status": "completed", "usage": None}}


def run(events: Iterable[dict[str, Any]], tools: tuple[ToolSpec, ...] = ()) -> list[ProviderEvent]:
    mapper = ResponsesStreamMapper(native_tool_names(tools))
    out: list[ProviderEvent] = []
    for data in events:
        out += mapper.feed("", data)
    return out + mapper.end(False)


def test_tools_native_apply_patch_and_fallbacks() -> None:
    request = ModelRequest("m", "", (ChatMessage("user", "hi"),), tools=(PATCH_TOOL, OTHER_NATIVE))
    assert build_responses_body(request)["tools"] == [
        {"type": "apply_patch"},
        {
            "type": "function",
            "name": "shell",
            "description": "Run.",
            "parameters": {"type": "object"},
            "strict": False,
        },
    ]


def test_apply_patch_call_round_trip() -> None:
    operation = {"type": "update_file", "path": "a.py", "diff": "@@\n-x\n+y\n"}
    events = run(
        [
            {
                "type": "response.output_item.done",
                "item": {
                    "id": "apc_1",
                    "type": "apply_patch_call",
                    "call_id": "call_p",
                    "status": "completed",
                    "operation": operation,
                },
            },
            COMPLETED,
        ],
        tools=(PATCH_TOOL,),
    )
    (requested,) = [e for e in events if isinstance(e, ToolCallRequested)]
    call = requested.call
    assert (call.call_id, call.name, dict(call.arguments)) == ("call_p", "apply_patch", operation)
    assert events[-1] == Done("tool_calls")

    messages = (
        ChatMessage("user", "fix it"),
        ChatMessage("assistant", "", tool_calls=(call,)),
        ChatMessage("tool", "Done!", tool_call_id="call_p"),
    )
    body = build_responses_body(ModelRequest("m", "", messages, tools=(PATCH_TOOL,)))
    assert body["input"][1:] == [
        {
            "type": "apply_patch_call",
            "call_id": "call_p",
            "status": "completed",
            "operation": operation,
        },
        {
            "type": "apply_patch_call_output",
            "call_id": "call_p",
            "status": "completed",
            "output": "Done!",
        },
    ]


def test_input_images_tool_images_and_reasoning_filtering() -> None:
    items = [
        {
            "id": "rs_1",
            "type": "reasoning",
            "summary": [],
            "encrypted_content": "enc",
            "status": "x",
        },
        {"id": "rs_2", "type": "reasoning", "summary": []},  # no encrypted content: dropped
        {"type": "message"},  # not reasoning: dropped
    ]
    messages = (
        ChatMessage("user", (TextPart("see"), ImagePart("image/png", PNG))),
        ChatMessage(
            "assistant",
            "",
            tool_calls=(ToolCall("c1", "shot", {"x": 1}),),
            provider_data=ProviderData("openai", {"items": items}),
        ),
        ChatMessage("tool", (TextPart("here"), ImagePart("image/png", PNG)), tool_call_id="c1"),
    )
    body = build_responses_body(ModelRequest("m", "sys", messages))
    assert body["input"] == [
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "see"},
                {"type": "input_image", "image_url": PNG, "detail": "auto"},
            ],
        },
        {"type": "reasoning", "summary": [], "encrypted_content": "enc"},
        {"type": "function_call", "call_id": "c1", "name": "shot", "arguments": '{"x": 1}'},
        {
            "type": "function_call_output",
            "call_id": "c1",
            "output": [
                {"type": "input_text", "text": "here"},
                {"type": "input_image", "image_url": PNG, "detail": "auto"},
            ],
        },
    ]


def test_stream_text_refusal_usage_and_reasoning_items() -> None:
    reasoning = {"id": "rs_9", "type": "reasoning", "summary": [], "encrypted_content": "e"}
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 4},
        "output_tokens": 7,
        "output_tokens_details": {"reasoning_tokens": 5},
    }
    events = run(
        [
            {"type": "response.created", "response": {}},
            {"type": "response.output_item.done", "item": reasoning},
            {"type": "response.output_text.delta", "delta": "I can't"},
            {"type": "response.refusal.delta", "delta": " help with that."},
            {"type": "response.some_future_event", "x": 1},
            {"type": "response.completed", "response": {"status": "completed", "usage": usage}},
        ]
    )
    assert events == [
        TextDelta("I can't"),
        TextDelta(" help with that."),
        MessageData(ProviderData("openai", {"items": [reasoning]})),
        Usage(10, 4, 7, 5),
        Done("stop"),
    ]


def test_incomplete_for_content_filter() -> None:
    response = {"status": "incomplete", "incomplete_details": {"reason": "content_filter"}}
    assert run([{"type": "response.incomplete", "response": response}]) == [Done("content_filter")]


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        ({"type": "error", "code": "server_error", "message": "oops"}, "upstream"),
        (
            {
                "type": "error",
                "error": {"type": "x", "code": "rate_limit_exceeded", "message": "m"},
            },
            "rate_limited",
        ),
        (
            {
                "type": "response.failed",
                "response": {"error": {"code": "context_length_exceeded", "message": "too long"}},
            },
            "context_overflow",
        ),
        ({"type": "response.failed", "response": {"error": None}}, "upstream"),
    ],
)
def test_error_events(data: dict[str, Any], kind: str) -> None:
    with pytest.raises(ProviderError) as caught:
        run([data])
    assert caught.value.kind == kind


def test_a_stream_without_completion_is_a_network_error() -> None:
    with pytest.raises(ProviderError) as caught:
        run([{"type": "response.output_text.delta", "delta": "x"}])
    assert caught.value.kind == "network"
