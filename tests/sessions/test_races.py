"""Races between turns and the requests that steer them, through the real daemon.

Requests written in the same write must take effect in arrival order; every turn ends with exactly
one terminal event; nothing a client sent is lost.
"""

from __future__ import annotations

import asyncio

from agentd.client import AgentdClient

from .conftest import first, kinds, new_session, terminal_events


async def test_send_then_interrupt_in_one_write(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="hang")
    send, interrupt = daemon.pipeline(
        ("session.send", {"session_id": sid, "text": "wait"}),
        ("session.interrupt", {"session_id": sid}),
    )
    turn_id = (await send)["result"]["turn_id"]
    assert (await interrupt)["result"]["interrupted"] is True
    events = await daemon.turn_events(turn_id, timeout=10)
    assert kinds(events) == [
        "status:preparing...",
        "status:interrupting...",
        "message:user",  # the prompt is kept, without a "thinking..." it never reached
        "session.context.estimate",
        "message:system",
        "session.interrupted",
        "status:ready",
    ]
    assert len(terminal_events(events)) == 1
    assert first(events, "session.interrupted")["payload"]["partial_output"] is False
    state = await daemon.call("session.get", {"session_id": sid})
    assert state["pending"] is False
    assert [m["text"] for m in state["history"]] == ["wait"]  # the prompt is kept


async def test_interrupt_while_hanging(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="hang")
    sent = await daemon.send(sid, "wait")
    await daemon.events_until(lambda e: e["type"] == "session.context.estimate")
    assert (await daemon.call("session.interrupt", {"session_id": sid}))["interrupted"] is True
    events = await daemon.turn_events(sent["turn_id"], timeout=10)
    assert [e["type"] for e in terminal_events(events)] == ["session.interrupted"]


async def test_interrupt_on_idle_session_is_false(daemon: AgentdClient) -> None:
    sid = await new_session(daemon)
    result = await daemon.call("session.interrupt", {"session_id": sid})
    assert result == {"session_id": sid, "interrupted": False}


async def test_queue_clear_while_a_turn_runs(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="short_slow")
    sent = await daemon.send(sid, "one")
    await daemon.send(sid, "two", enqueue=True)
    await daemon.send(sid, "three", enqueue=True)
    cleared = await daemon.call("session.queue.clear", {"session_id": sid})
    assert cleared == {"session_id": sid, "cleared_count": 2}
    events = await daemon.turn_events(sent["turn_id"])
    changes = [e["payload"]["queue"] for e in events if e["type"] == "session.queue.changed"]
    assert changes[-1] == []
    await daemon.call("system.ping")
    assert not [e for e in daemon.drain_events() if e["type"] == "session.status"]
    assert (await daemon.call("session.get", {"session_id": sid}))["pending"] is False


async def test_queue_remove_drops_one_prompt(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="short_slow")
    first_turn = await daemon.send(sid, "one")
    second = await daemon.send(sid, "two", enqueue=True)
    third = await daemon.send(sid, "three", enqueue=True)
    removed = await daemon.call(
        "session.queue.remove", {"session_id": sid, "id": second["turn_id"]}
    )
    assert removed == {"session_id": sid, "id": second["turn_id"], "removed": True}
    again = await daemon.call("session.queue.remove", {"session_id": sid, "id": second["turn_id"]})
    assert again["removed"] is False
    events = await daemon.turn_events(third["turn_id"])
    started = [
        e["payload"]["turn_id"]
        for e in events
        if e["type"] == "session.status" and e["payload"]["status_label"] == "preparing..."
    ]
    assert started == [first_turn["turn_id"], third["turn_id"]]


async def test_interrupt_with_clear_queue(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="short_slow")
    sent = await daemon.send(sid, "one")
    await daemon.send(sid, "two", enqueue=True)
    result = await daemon.call("session.interrupt", {"session_id": sid, "clear_queue": True})
    assert result["interrupted"] is True
    events = await daemon.turn_events(sent["turn_id"])
    assert [e["type"] for e in terminal_events(events)] == ["session.interrupted"]
    await daemon.call("system.ping")
    assert not [e for e in daemon.drain_events() if e["type"] == "session.status"]


async def test_clear_session_on_a_busy_session_interrupts_first(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="hang")
    sent = await daemon.send(sid, "wait")
    await daemon.send(sid, "queued", enqueue=True)
    cleared = await daemon.call("history.clear_session", {"session_id": sid})
    assert cleared == {"session_id": sid, "cleared": True}
    # the turn had ended (interrupted, ready) before the response was written
    events = daemon.drain_events()
    assert [e["type"] for e in terminal_events(events)] == ["session.interrupted"]
    assert first(events, "session.interrupted")["payload"]["turn_id"] == sent["turn_id"]
    state = await daemon.call("session.get", {"session_id": sid})
    assert state["messages"] == [] and state["history"] == [] and state["queue"] == []
    assert state["pending"] is False and state["statusLabel"] == "ready"
    nxt = await daemon.send(sid, "script:echo fresh")
    events = await daemon.turn_events(nxt["turn_id"])
    assert first(events, "session.completed")["payload"]["turn_id"] == nxt["turn_id"]


async def test_system_shutdown_interrupts_turns_and_drops_queues(daemon: AgentdClient) -> None:
    sessions = [await new_session(daemon, model="hang") for _ in range(2)]
    for sid in sessions:
        await daemon.send(sid, "wait")
        await daemon.send(sid, "queued", enqueue=True)
    result = await daemon.call("system.shutdown", {"reason": "test"})
    assert result == {"accepted": True, "reason": "test"}
    events = daemon.drain_events()
    assert first(events, "state.changed")["payload"]["reason"] == "test"
    ends = terminal_events(events)
    assert sorted(e["payload"]["session_id"] for e in ends) == sorted(sessions)
    assert {e["type"] for e in ends} == {"session.interrupted"}
    after = events[events.index(first(events, "state.changed")) :]
    labels = [e["payload"]["status_label"] for e in after if e["type"] == "session.status"]
    assert "preparing..." not in labels  # no queued prompt starts during shutdown


async def test_fifty_sessions_run_turns_at_once(daemon: AgentdClient) -> None:
    sessions = [await new_session(daemon, model="short_slow") for _ in range(50)]
    sends = [
        daemon.start_request("session.send", {"session_id": s, "text": "go"})[1] for s in sessions
    ]
    turns = {(await fut)["result"]["turn_id"] for fut in sends}
    done: dict[str, int] = {}
    events = []
    async with asyncio.timeout(60):
        while len(done) < 50:
            event = await daemon.next_event()
            events.append(event)
            if event["type"] in ("session.completed", "session.interrupted", "session.error"):
                done[event["payload"]["turn_id"]] = done.get(event["payload"]["turn_id"], 0) + 1
    assert set(done) == turns and set(done.values()) == {1}
    assert {e["type"] for e in terminal_events(events)} == {"session.completed"}
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_send_during_clear_is_refused_not_lost(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="hang")
    await daemon.send(sid, "wait")
    clear, send = daemon.pipeline(
        ("history.clear_session", {"session_id": sid}),
        ("session.send", {"session_id": sid, "text": "too early", "enqueue": True}),
    )
    assert (await send)["error"]["data"]["reason"] == "invalid_state"
    assert (await clear)["result"] == {"session_id": sid, "cleared": True}
    state = await daemon.call("session.get", {"session_id": sid})
    assert state["queue"] == [] and state["pending"] is False and state["messages"] == []
