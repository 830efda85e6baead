"""Chat Completions mapping without HTTP: request bodies and chunk streams."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from agentd.providers.base import (
    ChatMessage,
    Done,
    ImagePart,
    ModelRequest,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    RequestOptions,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallRequested,
    ToolSpec,
    Usage,
)
from agentd.providers.openai.chat import ChatStreamMapper, build_chat_body

PNG = "data:image/png;base64,iVBORw0KGgo="


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> Any:
    return {"choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}], **extra}


def run(chunks: Iterable[dict[str, Any]], saw_done: bool = True) -> list[ProviderEvent]:
    mapper = ChatStreamMapper()
    out: list[ProviderEvent] = []
    for data in chunks:
        out += mapper.feed("message", data)
    return out + mapper.end(saw_done)


def test_body_with_images_tool_history_and_options() -> None:
    request = ModelRequest(
        model="m",
        system_prompt="",
        messages=(
            ChatMessage("user", (TextPart("What is this?"), ImagePart("image/png", PNG, "a.png"))),
            ChatMessage(
                "assistant",
                "Let me look.",
                tool_calls=(ToolCall("c1", "read_file", {"path": "a"}),),
            ),
            ChatMessage("tool", "contents", tool_call_id="c1"),
        ),
        tools=(
            ToolSpec("apply_patch", "Patch files.", {}, kind="native", native_type="apply_patch"),
        ),
        options=RequestOptions(
            reasoning_effort="high",
            max_output_tokens=100,
            temperature=0.2,
            reasoning_summary="auto",
        ),
    )
    body = build_chat_body(request)
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": PNG}},
            ],
        },
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "read_file", "arguments": '{"path": "a"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "contents"},
    ]
    # a native tool has no native form on this wire: declared as a function
    assert body["tools"][0]["function"]["name"] == "apply_patch"
    assert body["max_completion_tokens"] == 100
    assert (body["reasoning_effort"], body["temperature"]) == ("high", 0.2)
    assert "max_tokens" not in body


def test_tool_deltas_by_index_and_by_position() -> None:
    events = run(
        [
            chunk(
                {
                    "tool_calls": [
                        {"index": 1, "id": "b", "function": {"name": "g", "arguments": ""}}
                    ]
                }
            ),
            chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f"}}]}),
            chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"y":'}}]}),
            chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"arguments": "not json"}}]}),
            chunk({"tool_calls": [{"index": 1, "function": {"arguments": " 2}"}}]}),
            chunk(finish="stop"),  # some servers say stop after tool calls
        ]
    )
    assert events == [
        ToolCallRequested(ToolCall("a", "f", {}, raw_arguments="not json")),
        ToolCallRequested(ToolCall("b", "g", {"y": 2}, raw_arguments='{"y": 2}')),
        Done("tool_calls"),
    ]
    # a server that sends whole calls without an index (and arguments as an object)
    whole = [{"id": "x", "function": {"name": "h", "arguments": {"k": 1}}}]
    assert run([chunk({"tool_calls": whole}, finish="tool_calls")])[0] == ToolCallRequested(
        ToolCall("x", "h", {"k": 1}, raw_arguments='{"k": 1}')
    )


def test_reasoning_fields_text_other_choices_and_usage() -> None:
    events = run(
        [
            chunk({"reasoning": "think"}),
            chunk({"reasoning_content": "ing", "content": None}),
            {"choices": [{"index": 1, "delta": {"content": "other choice"}}]},
            chunk({"content": "answer"}, usage=None),
            chunk(finish="length"),
            {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}},
        ]
    )
    assert events == [
        ReasoningDelta("think"),
        ReasoningDelta("ing"),
        TextDelta("answer"),
        Usage(3, 0, 2, 0),
        Done("length"),
    ]


@pytest.mark.parametrize(
    ("finish", "expected"),
    [("content_filter", "content_filter"), ("function_call", "tool_calls"), ("weird", "stop")],
)
def test_finish_reasons(finish: str, expected: str) -> None:
    assert run([chunk(finish=finish)]) == [Done(expected)]  # type: ignore[arg-type]


def test_end_of_stream() -> None:
    assert run([chunk({"content": "x"})], saw_done=True)[-1] == Done("stop")
    with pytest.raises(ProviderError) as caught:
        run([chunk({"content": "x"})], saw_done=False)
    assert caught.value.kind == "network"
    # a finish reason without [DONE] is a complete answer
    assert run([chunk(finish="stop")], saw_done=False) == [Done("stop")]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        ({"message": "Provider returned error", "code": 502}, "upstream"),
        ({"message": "maximum context length is 4096 tokens"}, "context_overflow"),
        ({"message": "slow down", "code": "rate_limit_exceeded"}, "rate_limited"),
        ("a bare string", "upstream"),
    ],
)
def test_error_objects_in_chunks(error: object, kind: str) -> None:
    mapper = ChatStreamMapper(secrets=("sk-secret",))
    assert mapper.feed("message", chunk({"content": "a"})) == [TextDelta("a")]
    with pytest.raises(ProviderError) as caught:
        mapper.feed("message", {"error": error})
    assert caught.value.kind == kind


def test_finish_reason_error_without_an_error_object() -> None:
    with pytest.raises(ProviderError) as caught:
        run([chunk(finish="error")])
    assert caught.value.kind == "upstream"
