"""The core's contract with real providers, in process: streams are closed before a turn ends,
usage after ``Done`` counts, retries only before content and interruptible, finish reasons acted
on, images and opaque provider data reach the model and survive history and resume."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from agentd.api.projection import Projector
from agentd.core.events import (
    CoreEvent,
    RetryScheduled,
    TurnCompleted,
    TurnFailed,
    TurnInterrupted,
    UsageReported,
)
from agentd.core.manager import SessionManager
from agentd.core.recorder import HistoryWriter
from agentd.core.runtime import Runtime
from agentd.core.session import Session
from agentd.core.toolset import ToolSet
from agentd.providers.base import (
    ChatMessage,
    Done,
    FinishReason,
    MessageData,
    ModelRequest,
    ProviderData,
    ProviderError,
    ProviderEvent,
    ProviderStream,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    Usage,
)
from agentd.providers.registry import ProviderRegistry
from agentd.providers.retry import RetryingProvider, RetryPolicy
from agentd.tools.registry import default_registry

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
Script = Callable[[ModelRequest, int], AsyncIterator[ProviderEvent]]


class FakeProvider:
    """A provider whose stream is a coroutine per request; records requests and closings."""

    name = "fake"

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[ModelRequest] = []
        #: Indexes of requests whose stream has been finalised (closed or exhausted).
        self.closed: list[int] = []
        self.closed_provider = False

    async def aclose(self) -> None:
        self.closed_provider = True

    async def stream(self, request: ModelRequest) -> ProviderStream:
        index = len(self.requests)
        self.requests.append(request)
        try:
            async for event in self.script(request, index):
                yield event
        finally:
            self.closed.append(index)


class Harness:
    """A real core around one fake provider; terminal events record what was closed then."""

    def __init__(self, tmp_path: Path, provider: Any, *, history: bool = False) -> None:
        from agentd.core.events import EventBus

        self.events: list[CoreEvent] = []
        self.payloads: list[tuple[str, dict[str, Any]]] = []
        #: For each terminal event: the provider's closed list at that moment.
        self.closed_at_end: list[list[int]] = []
        self.provider = provider
        bus = EventBus()
        bus.subscribe(self._on_event)
        bus.subscribe(Projector(lambda t, _ts, p: self.payloads.append((t, p)), dict))
        self.runtime = Runtime(
            bus=bus,
            providers=ProviderRegistry({}, instances={"fake": provider}),
            tools=ToolSet(default_registry()),
            default_cwd=tmp_path,
            history=HistoryWriter(tmp_path / "home") if history else None,
        )
        self.manager = SessionManager(self.runtime)

    def _on_event(self, event: CoreEvent, _timestamp: str) -> None:
        self.events.append(event)
        if isinstance(event, TurnCompleted | TurnInterrupted | TurnFailed):
            inner = getattr(self.provider, "inner", self.provider)
            self.closed_at_end.append(list(inner.closed))

    def session(self, **options: Any) -> Session:
        return self.manager.create(provider="fake", model="fake-model", **options)

    async def run(self, session: Session, text: str, images: Any = None) -> CoreEvent:
        outcome = session.send(text, images, enqueue=False)
        assert session.turn is not None and session.turn.id == outcome.turn_id
        await asyncio.wait_for(asyncio.shield(session.turn.outcome), 10)
        return [
            e for e in self.events if isinstance(e, TurnCompleted | TurnInterrupted | TurnFailed)
        ][-1]

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def script_of(*rounds: Sequence[ProviderEvent]) -> Script:
    async def play(request: ModelRequest, index: int) -> AsyncIterator[ProviderEvent]:
        for event in rounds[min(index, len(rounds) - 1)]:
            await asyncio.sleep(0)
            yield event

    return play


async def test_an_image_reaches_the_model_request(tmp_path: Path) -> None:
    provider = FakeProvider(script_of([TextDelta("seen"), Done()]))
    harness = Harness(tmp_path, provider)
    session = harness.session()
    image = {"data_url": f"data:image/png;base64,{PNG}", "path": "shot.png"}
    end = await harness.run(session, "what is this?", [image])
    assert isinstance(end, TurnCompleted)
    (user,) = [m for m in provider.requests[0].messages if m.role == "user"]
    assert user.text == "what is this? [Image 1]"
    (part,) = user.images
    assert part.mime_type == "image/png" and part.data_url == image["data_url"]
    assert part.label == "shot.png"


async def test_usage_after_done_is_counted_and_the_stream_closed_first(tmp_path: Path) -> None:
    usage = Usage(input_tokens=11, cached_input_tokens=3, output_tokens=7, reasoning_tokens=2)
    provider = FakeProvider(script_of([TextDelta("hi"), Done("stop"), usage]))
    harness = Harness(tmp_path, provider)
    end = await harness.run(harness.session(), "hello")
    assert isinstance(end, TurnCompleted) and end.stop_reason == "end_turn"
    assert [e.usage for e in harness.of(UsageReported)] == [usage]
    order = [type(e).__name__ for e in harness.events]
    assert order.index("UsageReported") < order.index("TurnCompleted")
    assert harness.closed_at_end == [[0]]


async def test_an_interrupted_stream_is_closed_before_the_turn_reports(tmp_path: Path) -> None:
    started = asyncio.Event()

    async def hang(request: ModelRequest, index: int) -> AsyncIterator[ProviderEvent]:
        yield TextDelta("partial ")
        started.set()
        await asyncio.sleep(3600)
        yield Done()

    provider = FakeProvider(hang)
    harness = Harness(tmp_path, provider)
    session = harness.session()
    session.send("go", None, enqueue=False)
    assert session.turn is not None
    turn = session.turn
    await asyncio.wait_for(started.wait(), 5)
    assert session.interrupt()
    await asyncio.wait_for(asyncio.shield(turn.outcome), 5)
    assert isinstance(harness.of(TurnInterrupted)[0], TurnInterrupted)
    assert harness.closed_at_end == [[0]]  # closed before session.interrupted
    assert [m.text for m in session.history][-1] == "partial"


async def test_a_stream_that_ends_without_done_is_an_upstream_error(tmp_path: Path) -> None:
    provider = FakeProvider(script_of([TextDelta("cut")]))
    harness = Harness(tmp_path, provider)
    end = await harness.run(harness.session(), "hello")
    assert isinstance(end, TurnFailed) and end.kind == "upstream"
    assert harness.closed_at_end == [[0]]


@pytest.mark.parametrize(
    ("finish", "stop"), [("length", "max_tokens"), ("content_filter", "refusal")]
)
async def test_finish_reasons_end_the_turn_and_cut_calls_are_not_run(
    tmp_path: Path, finish: FinishReason, stop: str
) -> None:
    call = ToolCall("c1", "bash", {"command": "echo never"}, raw_arguments='{"command": "ec')
    provider = FakeProvider(script_of([TextDelta("so far"), ToolCallRequested(call), Done(finish)]))
    harness = Harness(tmp_path, provider)
    session = harness.session()
    end = await harness.run(session, "hello")
    assert isinstance(end, TurnCompleted) and end.stop_reason == stop
    assert len(provider.requests) == 1  # no tool round
    assert [(m.role, m.tool_call_id) for m in session.history] == [
        ("user", None),
        ("assistant", None),
        ("tool", "c1"),  # the context stays valid: every call has an answer
    ]
    assert not [t for t, _ in harness.payloads if t.startswith("session.tool")]


async def test_retry_twice_then_succeed_announces_each_wait(tmp_path: Path) -> None:
    async def flaky(request: ModelRequest, index: int) -> AsyncIterator[ProviderEvent]:
        if index < 2:
            raise ProviderError("rate_limited", "slow down", retry_after=0.01)
        yield TextDelta("done")
        yield Done()

    inner = FakeProvider(flaky)
    provider = RetryingProvider(inner, RetryPolicy(max_attempts=3))
    harness = Harness(tmp_path, provider)
    end = await harness.run(harness.session(), "hello")
    assert isinstance(end, TurnCompleted)
    retries = harness.of(RetryScheduled)
    assert [(r.attempt, r.max_attempts, r.delay_ms) for r in retries] == [(2, 3, 10), (3, 3, 10)]
    assert retries[0].reason == "rate_limited: slow down"
    assert len(inner.requests) == 3 and inner.closed == [0, 1, 2]
    retry_payload = next(p for t, p in harness.payloads if t == "session.retry")
    assert set(retry_payload) == {
        "session_id",
        "turn_id",
        "attempt",
        "max_attempts",
        "delay_ms",
        "reason",
        "kind",
        "message",
    }


async def test_no_retry_after_content_or_for_permanent_errors(tmp_path: Path) -> None:
    async def fails_late(request: ModelRequest, index: int) -> AsyncIterator[ProviderEvent]:
        yield TextDelta("half")
        raise ProviderError("network", "connection reset")

    inner = FakeProvider(fails_late)
    harness = Harness(tmp_path, RetryingProvider(inner, RetryPolicy(base_delay_s=0.001)))
    end = await harness.run(harness.session(), "hello")
    assert isinstance(end, TurnFailed) and end.kind == "network"
    assert len(inner.requests) == 1 and not harness.of(RetryScheduled)

    async def denied(request: ModelRequest, index: int) -> AsyncIterator[ProviderEvent]:
        raise ProviderError("auth", "bad key")
        yield Done()  # pragma: no cover

    inner = FakeProvider(denied)
    harness = Harness(tmp_path, RetryingProvider(inner, RetryPolicy(base_delay_s=0.001)))
    end = await harness.run(harness.session(), "hello")
    assert isinstance(end, TurnFailed) and end.kind == "auth" and len(inner.requests) == 1


async def test_budget_spent_ends_with_the_last_error(tmp_path: Path) -> None:
    async def down(request: ModelRequest, index: int) -> AsyncIterator[ProviderEvent]:
        raise ProviderError("upstream", "HTTP 500")
        yield Done()  # pragma: no cover

    inner = FakeProvider(down)
    harness = Harness(tmp_path, RetryingProvider(inner, RetryPolicy(4, base_delay_s=0.001)))
    end = await harness.run(harness.session(), "hello")
    assert isinstance(end, TurnFailed) and end.kind == "upstream"
    assert len(inner.requests) == len(harness.of(RetryScheduled)) + 1 == 4


async def test_an_interrupt_during_the_back_off_is_an_interrupt(tmp_path: Path) -> None:
    async def busy(request: ModelRequest, index: int) -> AsyncIterator[ProviderEvent]:
        raise ProviderError("rate_limited", "wait a minute", retry_after=60)
        yield Done()  # pragma: no cover

    inner = FakeProvider(busy)
    harness = Harness(tmp_path, RetryingProvider(inner))
    session = harness.session()
    session.send("go", None, enqueue=False)
    assert session.turn is not None
    turn = session.turn
    for _ in range(200):
        if harness.of(RetryScheduled):
            break
        await asyncio.sleep(0.01)
    assert harness.of(RetryScheduled)[0].delay_ms == 60_000
    session.interrupt()
    await asyncio.wait_for(asyncio.shield(turn.outcome), 2)
    assert [type(e) for e in harness.events if isinstance(e, TurnInterrupted | TurnFailed)] == [
        TurnInterrupted
    ]


async def test_provider_data_round_trips_through_history_and_resume(tmp_path: Path) -> None:
    reasoning = ProviderData(
        "fake", {"items": [{"type": "reasoning", "encrypted": "ZXhhbXBsZQ=="}]}
    )
    signature = ProviderData("fake", {"thought_signature": "c2ln"})
    call = ToolCall(
        "c1",
        "read_file",
        {"file_path": "README.md"},
        raw_arguments='{"file_path":"README.md"}',
        provider_data=signature,
    )
    (tmp_path / "README.md").write_text("alpha\n")
    first_rounds = script_of(
        [MessageData(reasoning), ToolCallRequested(call), Done("tool_calls")],
        [TextDelta("it says alpha"), Done()],
    )
    provider = FakeProvider(first_rounds)
    harness = Harness(tmp_path, provider, history=True)
    session = harness.session()
    assert isinstance(await harness.run(session, "read it"), TurnCompleted)
    # the second round of the same turn already carries the data back
    assistant = next(m for m in provider.requests[1].messages if m.role == "assistant")
    assert assistant.provider_data == reasoning
    assert assistant.tool_calls[0].provider_data == signature
    assert assistant.tool_calls[0].raw_arguments == '{"file_path":"README.md"}'
    record_id = session.record.record_id if session.record else None
    assert record_id is not None
    await harness.manager.shutdown(5)

    # on disk, exactly as given
    lines = [json.loads(line) for p in (tmp_path / "home").rglob("*.jsonl") for line in p.open()]
    stored = next(r for r in lines if r.get("role") == "assistant" and r.get("tool_calls"))
    assert stored["provider_data"] == reasoning.to_json()
    assert stored["tool_calls"][0]["provider_data"] == signature.to_json()
    assert stored["tool_calls"][0]["arguments"] == '{"file_path":"README.md"}'

    # a new core resumes the record: the next request sends the data back to the model
    resumed_provider = FakeProvider(script_of([TextDelta("again"), Done()]))
    resumed = Harness(tmp_path, resumed_provider, history=True)
    again = await resumed.manager.create_resumed(record_id, provider="fake", model="fake-model")
    assert isinstance(await resumed.run(again, "and now?"), TurnCompleted)
    history = resumed_provider.requests[0].messages
    assistant = next(m for m in history if m.role == "assistant" and m.tool_calls)
    assert assistant.provider_data == reasoning
    assert assistant.tool_calls[0].provider_data == signature
    assert assistant.tool_calls[0].raw_arguments == '{"file_path":"README.md"}'
    await resumed.manager.shutdown(5)


async def test_the_runtime_closes_its_providers_at_shutdown(tmp_path: Path) -> None:
    provider = FakeProvider(script_of([TextDelta("x"), Done()]))
    harness = Harness(tmp_path, provider)
    await harness.manager.shutdown(1)
    assert provider.closed_provider


def test_chat_message_parts() -> None:
    message = ChatMessage("user", "hi")
    assert message.text == "hi" and message.images == () and message == ChatMessage("user", "hi")
    assert ChatMessage("assistant", "").content == ()


async def test_a_stream_abandoned_by_the_turn_is_closed_before_it_reports(tmp_path: Path) -> None:
    """The turn stops reading mid-stream (here: it fails on a malformed event): the stream is
    suspended at a ``yield``, and only ``aclosing`` closes it before ``session.error``."""
    provider = FakeProvider(
        script_of([TextDelta("a"), ReasoningDelta(None), TextDelta("b"), Done()])  # type: ignore[arg-type]
    )
    harness = Harness(tmp_path, provider)
    end = await harness.run(harness.session(), "hello")
    assert isinstance(end, TurnFailed) and end.message == "internal error"
    assert harness.closed_at_end == [[0]]


def test_back_off_doubles_with_jitter_up_to_its_cap_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay_s=0.5, max_delay_s=1.5, random=lambda: 1.0)
    error = ProviderError("upstream", "HTTP 503")
    waits = [policy.delay(n, error) for n in range(2, 8)]
    assert waits == [0.375, 0.75, 1.125, 1.125, 1.125, None]  # 25% jitter at its largest
    assert RetryPolicy(random=lambda: 0.0).delay(2, error) == 0.5
    assert policy.delay(2, ProviderError("rate_limited", "x", retry_after=7)) == 7
    assert policy.delay(2, ProviderError("rate_limited", "x", retry_after=999)) is None
    assert policy.delay(2, ProviderError("auth", "bad key")) is None


def test_images_of_any_message_survive_the_history_round_trip() -> None:
    from agentd.core.recorder import from_stored, to_stored
    from agentd.providers.base import ImagePart, TextPart

    url = f"data:image/png;base64,{PNG}"
    message = ChatMessage(
        "tool", (TextPart("screenshot"), ImagePart("image/png", url, "shot")), tool_call_id="c1"
    )
    back = from_stored(to_stored(message, "t1"))
    assert back.images == message.images and back.text == "screenshot"
