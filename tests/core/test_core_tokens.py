"""Token accounting in the core: exact counts once the model's encoding is loaded, the provider's
figure after a completed turn, estimates for unknown models, and incremental updates."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentd import tokens
from agentd.api.projection import session_state
from agentd.core.conversation import Conversation, TurnDraft
from agentd.core.estimate import ESTIMATE, ExactCounter, message_tokens
from agentd.providers.base import ChatMessage, Done, TextDelta, ToolCall, ToolCallRequested, Usage

from .test_core_reshape import FakeProvider, Harness, script_of


def exact(text: str, model: str = "gpt-4o") -> int:
    return tokens.count(text, model)


async def test_counts_are_exact_once_loaded_then_the_providers_after_a_turn(
    tmp_path: Path,
) -> None:
    await tokens.preload("gpt-4o")
    usage = Usage(input_tokens=9_000, output_tokens=40)
    provider = FakeProvider(script_of([TextDelta("Hi there"), usage, Done()]))
    harness = Harness(tmp_path, provider)
    session = harness.manager.create(provider="fake", model="gpt-4o")
    state = session_state(session)
    assert state["contextTokenSource"] == "tiktoken"
    assert state["contextTokenBreakdown"]["conversation_tokens"] == 0
    end = await harness.run(session, "hello world")
    assert type(end).__name__ == "TurnCompleted"
    state = session_state(session)
    assert state["contextTokenSource"] == "provider"
    breakdown = state["contextTokenBreakdown"]
    assert state["contextTokenEstimate"] == 9_040  # the provider's figure is the whole context
    assert sum(breakdown.values()) == 9_040
    # a message added since is counted on top of the provider's figure
    session.conversation.extend([ChatMessage("user", "one more")])
    assert session_state(session)["contextTokenEstimate"] == 9_040 + 4 + exact("one more")
    # another model: the provider's figure no longer applies, the counts do
    session.select("fake", "gpt-4o-mini", None)
    state = session_state(session)
    assert state["contextTokenSource"] == "tiktoken"
    expected = sum(4 + exact(m.text) for m in session.history)
    assert state["contextTokenBreakdown"]["conversation_tokens"] == expected


async def test_unknown_models_use_the_estimate_and_clear_resets(tmp_path: Path) -> None:
    provider = FakeProvider(script_of([TextDelta("answer"), Done()]))
    harness = Harness(tmp_path, provider)
    session = harness.session()  # model "fake-model": no known encoding
    await harness.run(session, "a question")
    state = session_state(session)
    assert state["contextTokenSource"] == "estimate"
    expected = sum(message_tokens(m, ESTIMATE) for m in session.history)
    assert state["contextTokenBreakdown"]["conversation_tokens"] == expected
    await session.clear()
    assert session_state(session)["contextTokenBreakdown"]["conversation_tokens"] == 0


async def test_an_interrupted_turn_keeps_counted_messages_but_not_a_provider_figure(
    tmp_path: Path,
) -> None:
    await tokens.preload("gpt-4o")
    started = asyncio.Event()

    async def hang(request, index):  # type: ignore[no-untyped-def]
        yield Usage(input_tokens=5000, output_tokens=1)
        yield TextDelta("partial")
        started.set()
        await asyncio.sleep(3600)
        yield Done()

    harness = Harness(tmp_path, FakeProvider(hang))
    session = harness.manager.create(provider="fake", model="gpt-4o")
    session.send("go", None, enqueue=False)
    assert session.turn is not None
    turn = session.turn
    await asyncio.wait_for(started.wait(), 5)
    session.interrupt()
    await asyncio.wait_for(asyncio.shield(turn.outcome), 5)
    state = session_state(session)
    assert state["contextTokenSource"] == "tiktoken"
    assert state["contextTokenBreakdown"]["conversation_tokens"] == (4 + exact("go")) + (
        4 + exact("partial")
    )


async def test_an_update_counts_only_the_new_message() -> None:
    calls = 0

    class Counting(type(ESTIMATE)):  # type: ignore[misc]
        key = "counting"

        def text(self, text: str) -> int:
            nonlocal calls
            calls += 1
            return len(text)

    conversation = Conversation([ChatMessage("user", f"m{i}") for i in range(10_000)], Counting())
    assert calls == 10_000
    calls = 0
    draft = TurnDraft(conversation.counter)
    draft.append(ChatMessage("user", "new"))
    before = conversation.breakdown("system", 0, None, draft)["conversation_tokens"]
    assert calls == 1  # the estimate with the draft counted nothing again
    conversation.commit(draft)
    assert conversation.breakdown("system", 0, None)["conversation_tokens"] == before


async def test_an_over_long_text_is_counted_exactly_off_the_loop() -> None:
    await tokens.preload("gpt-4o")
    counter = ExactCounter("gpt-4o")
    huge = "word " * 40_000  # over the inline limit
    conversation = Conversation(counter=counter)
    conversation.extend([ChatMessage("tool", huge, tool_call_id="c")])
    estimated = conversation.breakdown("", 0, None)["conversation_tokens"]
    for _ in range(200):
        await asyncio.sleep(0.01)
        done = conversation.breakdown("", 0, None)["conversation_tokens"]
        if done != estimated:
            break
    assert done == 4 + exact(huge)


async def test_the_estimate_follows_steers_and_resume(tmp_path: Path) -> None:
    await tokens.preload("gpt-4o")
    steered = asyncio.Event()

    async def play(request, index):  # type: ignore[no-untyped-def]
        if index == 0:
            yield ToolCallRequested(ToolCall("c1", "list_dir", {"dir_path": "."}))
            await steered.wait()
            yield Done("tool_calls")
        else:
            yield TextDelta("done")
            yield Done()

    harness = Harness(tmp_path, FakeProvider(play), history=True)
    session = harness.manager.create(provider="fake", model="gpt-4o")
    session.send("look", None, enqueue=False)
    assert session.turn is not None
    turn = session.turn
    await asyncio.sleep(0.05)
    assert session.steer("and be brief")
    steered.set()
    await asyncio.wait_for(asyncio.shield(turn.outcome), 10)
    counter = ExactCounter("gpt-4o")

    def counted(history: object) -> int:
        return sum(message_tokens(m, counter) for m in history)  # type: ignore[attr-defined]

    assert "and be brief" in [m.text for m in session.history]
    state = session_state(session)
    assert state["contextTokenBreakdown"]["conversation_tokens"] == counted(session.history)
    record_id = session.record.record_id if session.record else None
    await harness.manager.shutdown(5)
    resumed = Harness(tmp_path, FakeProvider(play), history=True)
    again = await resumed.manager.create_resumed(record_id or "", provider="fake", model="gpt-4o")
    state = session_state(again)
    assert state["contextTokenSource"] == "tiktoken"
    assert state["contextTokenBreakdown"]["conversation_tokens"] == counted(again.history)
    assert [m.text for m in again.history] == [m.text for m in session.history]
    await resumed.manager.shutdown(5)
