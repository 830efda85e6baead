"""Through the real daemon: images reach the model request, retries are announced and
interruptible, the event order of a retried turn (both framings)."""

from __future__ import annotations

import asyncio
import base64

from agentd.client import AgentdClient

from .conftest import answer_text, kinds, new_session, terminal_events
from .test_sequences import START

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 8).decode()


async def test_images_reach_the_model(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="count_images")
    sent = await daemon.send(sid, "look", images=[{"data_url": PNG}, {"data_url": PNG}])
    events = await daemon.turn_events(sent["turn_id"])
    assert answer_text(events) == "I see 2 image(s)."


async def test_retries_are_announced_then_the_answer_streams(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="flaky")
    sent = await daemon.send(sid, "go")
    events = await daemon.turn_events(sent["turn_id"])
    retries = [e["payload"] for e in events if e["type"] == "session.retry"]
    assert [(r["attempt"], r["max_attempts"], r["delay_ms"]) for r in retries] == [
        (2, 4, 10),
        (3, 4, 10),
    ]
    assert retries[0] == {
        "session_id": sid,
        "turn_id": sent["turn_id"],
        "attempt": 2,
        "max_attempts": 4,
        "delay_ms": 10,
        "reason": "rate_limited: slow down",
        "kind": "rate_limited",
        "message": "slow down",
    }
    assert kinds(events)[4:7] == ["session.retry", "session.retry", "status:drafting response..."]
    assert answer_text(events) == "Third time lucky."
    assert [e["type"] for e in terminal_events(events)] == ["session.completed"]


async def test_an_interrupt_ends_a_retry_wait_at_once(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="backoff_long")
    sent = await daemon.send(sid, "go")
    await daemon.events_until(lambda e: e["type"] == "session.retry")
    await daemon.call("session.interrupt", {"session_id": sid})
    events = await asyncio.wait_for(daemon.turn_events(sent["turn_id"], timeout=5), 10)
    assert [e["type"] for e in terminal_events(events)] == ["session.interrupted"]


async def test_a_context_over_the_watermark_is_compacted_before_the_next_turn(
    daemon: AgentdClient,
) -> None:
    sid = await new_session(daemon, model="big_usage")
    first = await daemon.send(sid, "remember the blue door")
    await daemon.turn_events(first["turn_id"])
    state = await daemon.call("session.get", {"session_id": sid})
    assert state["contextTokenSource"] == "provider" and state["contextTokenEstimate"] > 223_040
    second = await daemon.send(sid, "what colour?")
    events = await daemon.turn_events(second["turn_id"])
    order = kinds(events)
    assert order[:4] == START
    assert order[4:10] == [
        "compaction.started",
        "status:compressing context...",
        "compaction.anchor_selected",
        "compaction.summary_merged",
        "compaction.completed",
        "message:system",
    ]
    completed = next(e["payload"] for e in events if e["type"] == "compaction.completed")
    assert completed["reason"] == "auto" and completed["model_context_window"] == 272_000
    assert completed["estimated_tokens_before"] > completed["high_watermark_limit"]
    assert [e["type"] for e in terminal_events(events)] == ["session.completed"]
    state = await daemon.call("session.get", {"session_id": sid})
    assert state["history"][0]["text"].startswith("## Conversation Summary")


async def test_session_compact_summarises_an_idle_session(daemon: AgentdClient) -> None:
    sid = await new_session(daemon)
    sent = await daemon.send(sid, "hello there")
    await daemon.turn_events(sent["turn_id"])
    result = await daemon.call("session.compact", {"session_id": sid})
    compression = result["compression"]
    assert (compression["requested"], compression["applied"], compression["reason"]) == (
        True,
        True,
        "manual",
    )
    state = await daemon.call("session.get", {"session_id": sid})
    assert len(state["history"]) == 1 and state["statusLabel"] == "ready"
