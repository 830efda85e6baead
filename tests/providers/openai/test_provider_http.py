"""OpenAIProvider against a real local HTTP server replaying recorded-format transcripts, both
wires: events, request bodies, typed errors, stalls, resets and interrupts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from agentd.providers.base import (
    ChatMessage,
    Done,
    MessageData,
    ModelRequest,
    Provider,
    ProviderData,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    RequestOptions,
    TextDelta,
    ToolCallRequested,
    ToolSpec,
    Usage,
)
from agentd.providers.openai.provider import OpenAIProvider
from tests.providers.openai.conftest import API_KEY
from tests.providers.openai.fake_server import FakeServer, Reply, fixture

WIRES = ("chat", "responses")
SYSTEM = "You are terse."
TOOLS = (
    ToolSpec("read_file", "Read a file.", {"type": "object", "properties": {"path": {}}}),
    ToolSpec("list_dir", "List a directory.", {"type": "object", "properties": {"path": {}}}),
)
HELLO = [TextDelta("Hello"), TextDelta(", world"), TextDelta("!")]

MakeProvider = Callable[..., OpenAIProvider]


def request(*messages: ChatMessage, **options: Any) -> ModelRequest:
    return ModelRequest(
        model="gpt-test",
        system_prompt=SYSTEM,
        messages=messages or (ChatMessage("user", "Say hello"),),
        tools=TOOLS,
        options=RequestOptions(**options),
    )


async def collect(
    provider: OpenAIProvider, req: ModelRequest
) -> tuple[list[ProviderEvent], ProviderError | None]:
    events: list[ProviderEvent] = []
    try:
        async with contextlib.aclosing(provider.stream(req)) as stream:
            async for event in stream:
                events.append(event)
    except ProviderError as exc:
        return events, exc
    return events, None


def sse(wire: str, name: str) -> bytes:
    return fixture(f"{wire}_{name}.sse")


def test_the_provider_satisfies_the_protocol() -> None:
    provider: Provider = OpenAIProvider(api_key="k", base_url="http://127.0.0.1:9/v1")
    assert provider.name == "openai"
    assert "k" not in repr(provider).replace("openai", "")


# -- answers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
async def test_plain_answer(wire: str, server: FakeServer, make_provider: MakeProvider) -> None:
    server.queue(Reply(body=sse(wire, "plain")))
    events, error = await collect(make_provider(wire), request(max_output_tokens=64))
    assert error is None
    assert events == [*HELLO, Usage(21, 16, 4, 0), Done("stop")]

    seen = server.requests[0]
    assert seen.method == "POST"
    assert seen.headers["authorization"] == f"Bearer {API_KEY}"
    assert seen.headers["accept"] == "text/event-stream"
    body = seen.json
    assert body["model"] == "gpt-test"
    assert body["stream"] is True
    if wire == "chat":
        assert seen.path == "/v1/chat/completions"
        assert body["stream_options"] == {"include_usage": True}
        assert body["messages"] == [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Say hello"},
        ]
        assert body["max_tokens"] == 64  # not OpenAI's host: the field every server knows
        assert body["tools"][0] == {
            "type": "function",
            "function": {
                "name": "read_file",
                "description": "Read a file.",
                "parameters": {"type": "object", "properties": {"path": {}}},
            },
        }
    else:
        assert seen.path == "/v1/responses"
        assert body["store"] is False
        assert body["instructions"] == SYSTEM
        assert body["input"] == [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Say hello"}],
            }
        ]
        assert body["max_output_tokens"] == 64
        assert "reasoning" not in body and "include" not in body
        assert body["tools"][1] == {
            "type": "function",
            "name": "list_dir",
            "description": "List a directory.",
            "parameters": {"type": "object", "properties": {"path": {}}},
            "strict": False,
        }


@pytest.mark.parametrize("wire", WIRES)
async def test_reasoning_then_answer(
    wire: str, server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(Reply(body=sse(wire, "reasoning")))
    req = request(reasoning_effort="low", reasoning_summary="auto")
    events, error = await collect(make_provider(wire), req)
    assert error is None
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(not isinstance(e, ReasoningDelta) for e in events[first_text:])
    assert events[-2:] == [Usage(12, 0, 28, 20), Done("stop")]
    body = server.requests[0].json
    if wire == "chat":
        assert reasoning == "The user greets me. Answer briefly."
        assert body["reasoning_effort"] == "low"
    else:
        assert reasoning == "**Greeting**\n\nThe user says hi.\n\nAnswer briefly."
        assert body["reasoning"] == {"effort": "low", "summary": "auto"}
        assert body["include"] == ["reasoning.encrypted_content"]
        (data,) = [e for e in events if isinstance(e, MessageData)]
        assert data.data.provider == "openai"
        assert [item["id"] for item in data.data.data["items"]] == ["rs_reason1"]
        assert events.index(data) < len(events) - 2  # before the usage and Done


@pytest.mark.parametrize("wire", WIRES)
async def test_parallel_tool_calls_then_results_by_call_id(
    wire: str, server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(
        Reply(body=sse(wire, "tools"), chunk_size=37), Reply(body=sse(wire, "after_tools"))
    )
    provider = make_provider(wire)
    prompt = ChatMessage("user", "What is in README.md and src?")
    events, error = await collect(provider, request(prompt, reasoning_effort="low"))
    assert error is None
    calls = [e.call for e in events if isinstance(e, ToolCallRequested)]
    assert [(c.call_id, c.name, dict(c.arguments), c.raw_arguments) for c in calls] == [
        ("call_Wx1", "read_file", {"path": "README.md"}, '{"path": "README.md"}'),
        ("call_Wx2", "list_dir", {"path": "src"}, '{"path": "src"}'),
    ]
    assert isinstance(events[-2], Usage) and events[-1] == Done("tool_calls")
    data = [e.data for e in events if isinstance(e, MessageData)]
    assert len(data) == (1 if wire == "responses" else 0)

    assistant = ChatMessage(
        "assistant", "", tool_calls=tuple(calls), provider_data=data[0] if data else None
    )
    results = (
        ChatMessage("tool", "hello readme", tool_call_id="call_Wx1"),
        ChatMessage("tool", "a.py\nb.py", tool_call_id="call_Wx2"),
    )
    events, error = await collect(provider, request(prompt, assistant, *results))
    assert error is None
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == "The README says hello; src has two files."
    assert events[-1] == Done("stop")

    body = server.requests[1].json
    if wire == "chat":
        assert body["messages"][2:] == [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_Wx1",
                        "type": "function",
                        "function": {"name": "read_file", "arguments": '{"path": "README.md"}'},
                    },
                    {
                        "id": "call_Wx2",
                        "type": "function",
                        "function": {"name": "list_dir", "arguments": '{"path": "src"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_Wx1", "content": "hello readme"},
            {"role": "tool", "tool_call_id": "call_Wx2", "content": "a.py\nb.py"},
        ]
    else:
        assert body["input"][1:] == [
            {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": "Two lookups at once."}],
                "encrypted_content": "gAAAAABoENCRYPTED-tools-1",
            },
            {
                "type": "function_call",
                "call_id": "call_Wx1",
                "name": "read_file",
                "arguments": '{"path": "README.md"}',
            },
            {
                "type": "function_call",
                "call_id": "call_Wx2",
                "name": "list_dir",
                "arguments": '{"path": "src"}',
            },
            {"type": "function_call_output", "call_id": "call_Wx1", "output": "hello readme"},
            {"type": "function_call_output", "call_id": "call_Wx2", "output": "a.py\nb.py"},
        ]
    assert server.connections == 1  # the finished first stream left its connection reusable


async def test_reasoning_items_round_trip_into_the_next_turn(
    server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(Reply(body=sse("responses", "reasoning")), Reply(body=sse("responses", "plain")))
    provider = make_provider("responses")
    first = ChatMessage("user", "Hi")
    events, _ = await collect(provider, request(first, reasoning_effort="low"))
    (data,) = [e.data for e in events if isinstance(e, MessageData)]
    stored = ProviderData.from_json(data.to_json())  # as history keeps it
    answer = ChatMessage("assistant", "Hi there.", provider_data=stored)
    other = ChatMessage("assistant", "ignored data", provider_data=ProviderData("gemini", {"x": 1}))
    await collect(
        provider,
        request(first, answer, ChatMessage("user", "And?"), other, ChatMessage("user", "Ok")),
    )
    assert server.requests[1].json["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {
            "type": "reasoning",
            "summary": [
                {"type": "summary_text", "text": "**Greeting**\n\nThe user says hi."},
                {"type": "summary_text", "text": "Answer briefly."},
            ],
            "encrypted_content": "gAAAAABoENCRYPTED-reason-1",
        },
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi there."}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "And?"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "ignored data"}],
        },
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Ok"}]},
    ]


@pytest.mark.parametrize("wire", WIRES)
async def test_keep_alives_and_malformed_lines_are_skipped(
    wire: str, server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(Reply(body=sse(wire, "noisy"), chunk_size=5))
    events, error = await collect(make_provider(wire), request())
    assert error is None
    assert events == [TextDelta("Hel"), TextDelta("lo"), Usage(9, 0, 2, 0), Done("stop")]


async def test_usage_after_the_finish_reason_comes_before_done(
    server: FakeServer, make_provider: MakeProvider
) -> None:
    body = sse("chat", "plain")
    assert body.index(b'"finish_reason":"stop"') < body.index(b'"usage":{')  # as recorded
    server.queue(Reply(body=body))
    events, _ = await collect(make_provider("chat"), request())
    assert [type(e) for e in events[-2:]] == [Usage, Done]


async def test_a_length_limited_response(server: FakeServer, make_provider: MakeProvider) -> None:
    server.queue(Reply(body=sse("responses", "incomplete")))
    events, error = await collect(make_provider("responses"), request())
    assert error is None
    assert events == [TextDelta("Cut"), Usage(10, 0, 5, 0), Done("length")]


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
async def test_mid_stream_error_after_partial_text(
    wire: str, server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(Reply(body=sse(wire, "error_midstream")))
    events, error = await collect(make_provider(wire), request())
    assert events == [TextDelta("Partial"), TextDelta(" answer")]
    assert error is not None and error.kind == "upstream"
    assert error.retryable
    expected = "Provider returned error" if wire == "chat" else "The server had an error"
    assert expected in error.message


async def test_a_failed_response_is_typed_by_its_code(
    server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(Reply(body=sse("responses", "failed")))
    events, error = await collect(make_provider("responses"), request())
    assert events == [TextDelta("Part")]
    assert error is not None and error.kind == "rate_limited"


@pytest.mark.parametrize("wire", WIRES)
async def test_429_with_retry_after_then_success(
    wire: str, server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(
        Reply(429, fixture("error_429.json"), {"retry-after": "20"}, "application/json"),
        Reply(429, fixture("error_429.json"), {"retry-after-ms": "1500"}, "application/json"),
        Reply(body=sse(wire, "plain")),
    )
    provider = make_provider(wire)
    events, error = await collect(provider, request())
    assert events == [] and error is not None
    assert (error.kind, error.retryable, error.retry_after) == ("rate_limited", True, 20.0)
    assert getattr(error, "status", None) == 429
    assert "wait 20 s" in error.message
    _, error = await collect(provider, request())
    assert error is not None and error.retry_after == 1.5
    events, error = await collect(provider, request())
    assert error is None and events[-1] == Done("stop")
    assert len(server.requests) == 3  # no hidden retries


@pytest.mark.parametrize(
    ("status", "name", "kind", "retryable"),
    [
        (500, "error_500.json", "upstream", True),
        (503, "error_500.json", "upstream", True),
        (401, "error_401.json", "auth", False),
        (403, "error_401.json", "auth", False),
        (400, "error_context.json", "context_overflow", False),
        (400, "error_context_vllm.json", "context_overflow", False),
        (404, "error_500.json", "invalid_request", False),
        (408, "error_500.json", "timeout", True),
        (409, "error_500.json", "upstream", True),
    ],
)
@pytest.mark.parametrize("wire", WIRES)
async def test_http_errors_are_typed(
    wire: str,
    status: int,
    name: str,
    kind: str,
    retryable: bool,
    server: FakeServer,
    make_provider: MakeProvider,
) -> None:
    server.queue(Reply(status, fixture(name), content_type="application/json"))
    events, error = await collect(make_provider(wire), request())
    assert events == [] and error is not None
    assert (error.kind, error.retryable, getattr(error, "status", None)) == (
        kind,
        retryable,
        status,
    )
    assert f"HTTP {status}" in error.message
    assert API_KEY not in error.message


@pytest.mark.parametrize("wire", WIRES)
async def test_connection_reset_after_partial_text(
    wire: str, server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(Reply(body=sse(wire, "partial"), after="reset"))
    events, error = await collect(make_provider(wire), request())
    assert [e for e in events if isinstance(e, TextDelta)] == [
        TextDelta("Once upon"),
        TextDelta(" a time"),
    ]
    assert error is not None and error.kind == "network" and error.retryable


@pytest.mark.parametrize("wire", WIRES)
async def test_a_body_that_ends_early_is_a_network_error(
    wire: str, server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(Reply(body=sse(wire, "partial"), after="close"))
    events, error = await collect(make_provider(wire), request())
    assert len([e for e in events if isinstance(e, TextDelta)]) == 2
    assert error is not None and error.kind == "network"


@pytest.mark.parametrize("wire", WIRES)
async def test_a_stall_between_chunks_times_out(
    wire: str, server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(Reply(body=sse(wire, "partial"), after="stall"))
    events, error = await collect(make_provider(wire, stall_timeout=0.3), request())
    assert len([e for e in events if isinstance(e, TextDelta)]) == 2
    assert error is not None and error.kind == "timeout" and error.retryable
    assert "0.3 s" in error.message
    await server.wait_closed(server.requests[0])  # the stalled connection was hung up


async def test_connection_refused_is_a_network_error(make_provider: MakeProvider) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = make_provider("chat", base_url=f"http://127.0.0.1:{port}/v1")
    events, error = await collect(provider, request())
    assert events == [] and error is not None
    assert (error.kind, error.retryable) == ("network", True)
    assert "check the base URL" in error.message


async def test_json_instead_of_a_stream(server: FakeServer, make_provider: MakeProvider) -> None:
    server.queue(Reply(200, b'{"id": "x", "choices": []}', content_type="application/json"))
    _, error = await collect(make_provider("chat"), request())
    assert error is not None and error.kind == "upstream" and not error.retryable


# -- interrupts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
async def test_cancelling_the_consumer_closes_the_connection(
    wire: str, server: FakeServer, make_provider: MakeProvider
) -> None:
    server.queue(Reply(body=sse(wire, "partial"), after="stall"))
    provider = make_provider(wire)
    got_text = asyncio.Event()
    events: list[ProviderEvent] = []

    async def consume() -> None:
        async with contextlib.aclosing(provider.stream(request())) as stream:
            async for event in stream:
                events.append(event)
                if event == TextDelta(" a time"):
                    got_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_text.wait(), 5)
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):  # never turned into a ProviderError
        await task
    closed_at = await server.wait_closed(server.requests[0])
    assert closed_at - cancelled_at < 1.0


async def test_aclose_after_cancel_while_waiting_for_headers(
    server: FakeServer, make_provider: MakeProvider
) -> None:
    """An interrupt before the first byte: the pending request is abandoned and closed."""
    server.queue(Reply(body=b"", after="stall"))
    provider = make_provider("responses")
    task = asyncio.create_task(collect(provider, request()))
    while not server.requests:
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await server.wait_closed(server.requests[0])
    await provider.aclose()
    await provider.aclose()  # idempotent


# -- secrets ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("wire", WIRES)
async def test_the_key_never_appears_in_errors_or_logs(
    wire: str,
    server: FakeServer,
    make_provider: MakeProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = b'{"error": {"message": "bad key {API_KEY}", "code": "invalid_api_key"}}'
    midstream = b'data: {"error": {"message": "key {API_KEY} is over quota"}}\n\n'
    server.queue(
        Reply(401, fixture("error_401.json"), content_type="application/json"),
        Reply(400, echo, content_type="application/json"),
        Reply(429, b"rate limited for {API_KEY}", content_type="text/plain"),
        Reply(body=midstream.replace(b"{API_KEY}", API_KEY.encode())),
        Reply(body=sse(wire, "noisy")),
        Reply(body=sse(wire, "partial"), after="reset"),
    )
    provider = make_provider(wire)
    errors = []
    for _ in range(6):
        _, error = await collect(provider, request())
        errors.append(error)
    texts = [repr(provider)]
    for error in errors:
        if error is not None:
            texts += [str(error), error.message, repr(error)]
    texts += [record.getMessage() for record in caplog.records]
    assert len([e for e in errors if e is not None]) == 5
    assert any("[redacted]" in t for t in texts)
    for text in texts:
        assert API_KEY not in text
