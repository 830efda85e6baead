"""Context compaction in process: at the watermark, after a provider switch, on demand, after a
context overflow; failures and interrupts; recorded in history and resumed from the summary."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentd.core.compaction import (
    CONTINUE_PROMPT,
    SUMMARISER_PROMPT,
    SUMMARY_HEADING,
    CompactionError,
    context_window,
    limits_for,
)
from agentd.core.events import (
    CompactionCompleted,
    CompactionFailed,
    CompactionStarted,
    TurnCompleted,
    TurnFailed,
    TurnInterrupted,
)
from agentd.providers.base import (
    Done,
    ModelRequest,
    ProviderError,
    ProviderEvent,
    TextDelta,
    Usage,
)

from .test_core_reshape import FakeProvider, Harness, script_of

SMALL = "tiny-8k"  # a window of 8,000 tokens: high watermark 6,560
BIG_USAGE = Usage(input_tokens=7_000, output_tokens=10)


def test_context_windows_and_watermarks_follow_the_reference() -> None:
    assert context_window("gpt-5") == 400_000
    assert context_window("qwen-32k") == 32_000
    assert context_window("llama-1.5m") == 1_500_000
    assert context_window("something-mini") == 128_000
    assert context_window("something-nano") == 64_000
    assert context_window("llama3.1") == 272_000
    assert context_window("x-2k") == 8_000  # clamped
    limits = limits_for(SMALL)
    assert (limits.window, limits.high_watermark, limits.target) == (8_000, 6_560, 6_000)


async def test_over_the_watermark_the_next_turn_starts_from_a_summary(tmp_path: Path) -> None:
    provider = FakeProvider(
        script_of(
            [TextDelta("first answer"), BIG_USAGE, Done()],
            [TextDelta("the summary"), Done()],
            [TextDelta("second answer"), Done()],
        )
    )
    harness = Harness(tmp_path, provider)
    session = harness.manager.create(provider="fake", model=SMALL)
    await harness.run(session, "first")
    end = await harness.run(session, "second")
    assert isinstance(end, TurnCompleted)
    started, completed = harness.of(CompactionStarted), harness.of(CompactionCompleted)
    assert [e.reason for e in started] == ["auto"] and len(completed) == 1
    assert completed[0].tokens_before > completed[0].high_watermark > completed[0].tokens_after
    summariser = provider.requests[1]
    assert summariser.system_prompt == SUMMARISER_PROMPT and summariser.tools == ()
    assert [m.text for m in summariser.messages[:2]] == ["first", "first answer"]
    after = provider.requests[2].messages
    assert after[0].text == SUMMARY_HEADING + "the summary" and after[1].text == "second"
    assert [m.text for m in session.history] == [
        SUMMARY_HEADING + "the summary",
        "second",
        "second answer",
    ]
    labels = [p["status_label"] for t, p in harness.payloads if t == "session.status"]
    assert "compressing context..." in labels
    types = [t for t, _ in harness.payloads if t.startswith("compaction.")]
    assert types == [
        "compaction.started",
        "compaction.anchor_selected",
        "compaction.summary_merged",
        "compaction.completed",
    ]


async def test_a_failing_summariser_fails_the_turn_clearly(tmp_path: Path) -> None:
    async def play(request: ModelRequest, index: int) -> AsyncIterator[ProviderEvent]:
        if request.system_prompt == SUMMARISER_PROMPT:
            raise ProviderError("upstream", "HTTP 503")
        yield TextDelta("answer")
        yield BIG_USAGE
        yield Done()

    harness = Harness(tmp_path, FakeProvider(play))
    session = harness.manager.create(provider="fake", model=SMALL)
    await harness.run(session, "first")
    end = await harness.run(session, "second")
    assert isinstance(end, TurnFailed)
    assert (end.kind, end.message) == ("upstream", "context compaction failed: HTTP 503")
    assert [e.message for e in harness.of(CompactionFailed)] == ["HTTP 503"]
    assert [m.text for m in session.history] == ["first", "answer"]  # nothing lost


async def test_an_empty_summary_is_a_failure(tmp_path: Path) -> None:
    provider = FakeProvider(script_of([TextDelta("a"), BIG_USAGE, Done()], [Done()]))
    harness = Harness(tmp_path, provider)
    session = harness.manager.create(provider="fake", model=SMALL)
    await harness.run(session, "first")
    end = await harness.run(session, "second")
    assert isinstance(end, TurnFailed)
    assert (
        end.message == "context compaction failed: compaction summarizer returned an empty summary"
    )


async def test_an_interrupt_during_compaction_is_an_interrupt(tmp_path: Path) -> None:
    summarising = asyncio.Event()

    async def play(request: ModelRequest, index: int) -> AsyncIterator[ProviderEvent]:
        if request.system_prompt == SUMMARISER_PROMPT:
            summarising.set()
            await asyncio.sleep(3600)
        yield TextDelta("answer")
        yield BIG_USAGE
        yield Done()

    harness = Harness(tmp_path, FakeProvider(play))
    session = harness.manager.create(provider="fake", model=SMALL)
    await harness.run(session, "first")
    session.send("second", None, enqueue=False)
    assert session.turn is not None
    turn = session.turn
    await asyncio.wait_for(summarising.wait(), 5)
    session.interrupt()
    await asyncio.wait_for(asyncio.shield(turn.outcome), 5)
    assert isinstance(harness.of(TurnInterrupted)[0], TurnInterrupted)
    assert [m.text for m in session.history][:2] == ["first", "answer"]  # not compacted


async def test_a_context_overflow_compacts_and_the_turn_continues(tmp_path: Path) -> None:
    async def play(request: ModelRequest, index: int) -> AsyncIterator[ProviderEvent]:
        if index == 1:
            raise ProviderError("context_overflow", "maximum context length exceeded")
        if request.system_prompt == SUMMARISER_PROMPT:
            yield TextDelta("what happened so far")
        else:
            yield TextDelta(f"answer {index}")
        yield Done()

    provider = FakeProvider(play)
    harness = Harness(tmp_path, provider)
    session = harness.session()
    await harness.run(session, "first")
    end = await harness.run(session, "second")
    assert isinstance(end, TurnCompleted)
    summariser = provider.requests[2]
    assert "maximum context length exceeded" in summariser.messages[-1].text
    assert [m.text for m in summariser.messages[:-1]] == ["first", "answer 0", "second"]
    assert [m.text for m in session.history] == [
        SUMMARY_HEADING + "what happened so far",
        CONTINUE_PROMPT,
        "answer 3",
    ]


async def test_a_provider_switch_compacts_before_the_next_turn(tmp_path: Path) -> None:
    provider = FakeProvider(
        script_of(
            [TextDelta("one"), Done()], [TextDelta("sum"), Done()], [TextDelta("two"), Done()]
        )
    )
    harness = Harness(tmp_path, provider)
    session = harness.session()
    await harness.run(session, "first")
    session.conversation_provider = "another"  # as if the earlier turns ran elsewhere
    await harness.run(session, "second")
    assert [e.reason for e in harness.of(CompactionStarted)] == ["provider_switch"]
    notices = [p["message"]["text"] for t, p in harness.payloads if t == "session.message.appended"]
    assert any(n.startswith("provider switched: another -> fake.") for n in notices)


async def test_manual_compaction_and_nothing_to_compact(tmp_path: Path) -> None:
    provider = FakeProvider(script_of([TextDelta("one"), Done()], [TextDelta("sum"), Done()]))
    harness = Harness(tmp_path, provider)
    session = harness.session()
    empty = await session.compact_now()
    assert (empty.applied, empty.reason) == (False, "none")
    await harness.run(session, "first")
    done = await session.compact_now()
    assert (done.applied, done.reason) == (True, "manual")
    assert done.tokens_after < done.tokens_before
    assert not session.pending and session.status_label == "ready"
    assert [m.text for m in session.history] == [SUMMARY_HEADING + "sum"]


async def test_compaction_is_recorded_and_resume_starts_from_the_summary(tmp_path: Path) -> None:
    provider = FakeProvider(
        script_of(
            [TextDelta("one"), Done()], [TextDelta("sum"), Done()], [TextDelta("two"), Done()]
        )
    )
    harness = Harness(tmp_path, provider, history=True)
    session = harness.session()
    await harness.run(session, "first")
    await session.compact_now()
    await harness.run(session, "second")
    record_id = session.record.record_id if session.record else None
    assert record_id is not None
    await harness.manager.shutdown(5)

    resumed_provider = FakeProvider(script_of([TextDelta("three"), Done()]))
    resumed = Harness(tmp_path, resumed_provider, history=True)
    again = await resumed.manager.create_resumed(record_id, provider="fake", model="fake-model")
    await resumed.run(again, "third")
    sent = [m.text for m in resumed_provider.requests[0].messages]
    assert sent == [SUMMARY_HEADING + "sum", "second", "two", "third"]
    await resumed.manager.shutdown(5)


def test_compaction_error_keeps_the_kind() -> None:
    error = CompactionError("x", "rate_limited")
    assert (error.kind, error.message) == ("rate_limited", "x")


@pytest.mark.parametrize("model", ["gpt-4o", "o3"])
def test_known_models_use_their_catalogue_window(model: str) -> None:
    assert limits_for(model).window in (128_000, 200_000)
