"""Exact event sequences of a turn (loaf-behaviour §4.3–§4.9 as adapted by PROTOCOL §4–§5),
through the real daemon in both framings."""

from __future__ import annotations

from agentd.client import AgentdClient, AgentdError

from .conftest import answer_text, first, kinds, new_session, terminal_events

START = ["status:preparing...", "status:thinking...", "message:user", "session.context.estimate"]
END = ["session.context.estimate", "session.completed", "status:ready"]


async def test_plain_answer_with_reasoning(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="reasoning")
    sent = await daemon.send(sid, "  say hi  ")
    assert sent == {
        "session_id": sid,
        "turn_id": sent["turn_id"],
        "accepted": True,
        "queued": False,
    }
    events = await daemon.turn_events(sent["turn_id"])
    assert kinds(events) == [
        *START,
        "status:thinking: planning reply",
        "chunk*",
        "status:drafting response...",
        "chunk*",
        "session.usage",
        "message:assistant",
        *END,
    ]
    preparing = first(events, "session.status", status_label="preparing...")
    assert preparing["payload"]["turn_id"] == sent["turn_id"]
    user = first(events, "session.message.appended")["payload"]["message"]
    assert user["text"] == "say hi"
    thought = next(e for e in events if e["type"] == "session.stream.chunk")["payload"]["chunk"]
    assert thought["answerText"] == "" and thought["segments"][0]["kind"] == "thought"
    assert thought["thoughts"][0].startswith("**Planning reply**")
    assert answer_text(events) == "I thought about it. You said: say hi"
    done = first(events, "session.completed")["payload"]
    assert done == {"session_id": sid, "turn_id": sent["turn_id"], "answer_length": 36}
    assert events[-1]["payload"] == {"session_id": sid, "pending": False, "status_label": "ready"}
    # seq increases by one per event
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_preparing_status_is_written_before_the_send_response(daemon: AgentdClient) -> None:
    sid = await new_session(daemon)
    sent = await daemon.send(sid, "hi")
    await daemon.turn_events(sent["turn_id"])
    order = [
        "response" if "id" in m else m["params"]["payload"].get("status_label", m["params"]["type"])
        for m in daemon.transcript
    ]
    response_at = max(i for i, m in enumerate(daemon.transcript) if m.get("result") == sent)
    assert order[response_at - 1] == "preparing..."


async def test_two_tool_calls_in_one_round(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="two_tools")
    sent = await daemon.send(sid, "check things")
    events = await daemon.turn_events(sent["turn_id"])
    assert kinds(events) == [
        *START,
        "status:drafting response...",
        "chunk*",
        "session.usage",
        "message:assistant",
        "session.tool.call.started",
        "session.tool.call.completed",
        "session.tool.call.started",
        "session.tool.call.completed",
        "session.tool.results",
        "session.context.estimate",
        "chunk*",
        "session.usage",
        "message:assistant",
        *END,
    ]
    started = [e["payload"]["data"] for e in events if e["type"] == "session.tool.call.started"]
    assert [s["call"]["name"] for s in started] == ["bash", "read_file"]
    assert all(s["toolRound"] == 1 for s in started)
    assert started[0]["call"]["input"] == {"command": "echo one"}
    results = first(events, "session.tool.results")["payload"]["data"]["executed"]
    assert [(r["name"], r["ok"]) for r in results] == [("bash", True), ("read_file", True)]
    assert results[0]["result"]["stdout"].strip() == "one"
    assert results[1]["result"] == "L1: alpha\nL2: beta"
    assert answer_text(events).startswith("Let me check.Done: L1: alpha")
    state = await daemon.call("session.get", {"session_id": sid})
    roles = [m["role"] for m in state["history"]]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    assert [c["name"] for c in state["history"][1]["tool_calls"]] == ["bash", "read_file"]
    assert state["history"][2]["tool_call_id"] == state["history"][1]["tool_calls"][0]["id"]
    # each model round's text is its own assistant message
    assistant = [m["text"] for m in state["messages"] if m["kind"] == "assistant"]
    assert assistant == ["Let me check.", "Done: L1: alpha\nL2: beta"]


async def test_send_while_busy_queues_fifo(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="short_slow")
    t1 = await daemon.send(sid, "slow one")
    with_error = None
    try:
        await daemon.send(sid, "not queued")
    except AgentdError as exc:
        with_error = exc
    assert with_error is not None and with_error.code == -32002
    assert with_error.message == "session is busy; use enqueue=true to queue the prompt"
    assert with_error.reason == "session_busy"
    t2 = await daemon.send(sid, "queued one", enqueue=True)
    t3 = await daemon.send(sid, "queued two", enqueue=True)
    assert t2["queued"] is True and t3["queued"] is True
    queue = (await daemon.call("session.queue.list", {"session_id": sid}))["queue"]
    assert [(q["id"], q["text"], q["images"]) for q in queue] == [
        (t2["turn_id"], "queued one", []),
        (t3["turn_id"], "queued two", []),
    ]
    events = await daemon.turn_events(t3["turn_id"], timeout=30)
    labels = [e["payload"]["status_label"] for e in events if e["type"] == "session.status"]
    assert "queued (1)" in labels and "queued (2)" in labels
    ends = terminal_events(events)
    assert [(e["type"], e["payload"]["turn_id"]) for e in ends] == [
        ("session.completed", t1["turn_id"]),
        ("session.completed", t2["turn_id"]),
        ("session.completed", t3["turn_id"]),
    ]
    # the next queued turn starts right after ready: ready, queue.changed, preparing(t2)
    ready_at = (
        next(
            i
            for i, e in enumerate(events)
            if e["type"] == "session.completed" and e["payload"]["turn_id"] == t1["turn_id"]
        )
        + 1
    )
    assert kinds(events[ready_at : ready_at + 3]) == [
        "status:ready",
        "session.queue.changed",
        "status:preparing...",
    ]
    assert events[ready_at + 2]["payload"]["turn_id"] == t2["turn_id"]


async def test_steer_during_a_tool_is_injected_into_the_next_round(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="steer")
    sent = await daemon.send(sid, "task with steer")
    before = await daemon.events_until(lambda e: e["type"] == "session.tool.call.started")
    steered = await daemon.call("session.steer", {"session_id": sid, "text": " also mention cats "})
    assert steered == {"session_id": sid, "accepted": True}
    state = await daemon.call("session.get", {"session_id": sid})
    assert state["pendingSteerCount"] == 1
    events = before + await daemon.turn_events(sent["turn_id"])
    tail = kinds(events)[kinds(events).index("session.tool.results") :]
    assert tail[:6] == [
        "session.tool.results",
        "session.context.estimate",
        "message:user",
        "status:steer applied; continuing...",
        "status:drafting response...",
        "chunk*",
    ]
    assert "also mention cats" in answer_text(events)
    state = await daemon.call("session.get", {"session_id": sid})
    history = [(m["role"], m["text"]) for m in state["history"]]
    assert history[0] == ("user", "task with steer")
    assert history[3] == ("user", "also mention cats")
    assert history[4][0] == "assistant"
    assert state["pendingSteerCount"] == 0


async def test_steer_sent_with_the_prompt_reaches_the_first_request(daemon: AgentdClient) -> None:
    sid = await new_session(daemon)
    send, steer = daemon.pipeline(
        ("session.send", {"session_id": sid, "text": "first"}),
        ("session.steer", {"session_id": sid, "text": "second"}),
    )
    turn_id = (await send)["result"]["turn_id"]
    assert (await steer)["result"]["accepted"] is True
    events = await daemon.turn_events(turn_id)
    users = [
        e["payload"]["message"]["text"]
        for e in events
        if e["type"] == "session.message.appended" and e["payload"]["message"]["kind"] == "user"
    ]
    assert users == ["first", "second"]
    assert answer_text(events) == "You said: second"


async def test_late_steer_is_reported_after_ready(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="short_slow")
    sent = await daemon.send(sid, "go")
    await daemon.events_until(lambda e: e["type"] == "session.stream.chunk")
    assert (await daemon.call("session.steer", {"session_id": sid, "text": "too late"}))["accepted"]
    events = await daemon.turn_events(sent["turn_id"])
    notice = await daemon.next_event()
    assert kinds(events)[-2:] == ["session.completed", "status:ready"]
    assert notice["payload"]["message"] == {
        "id": notice["payload"]["message"]["id"],
        "kind": "system",
        "text": "1 steer message(s) were queued too late and not applied.",
    }


async def test_steer_on_idle_session_is_not_accepted(daemon: AgentdClient) -> None:
    sid = await new_session(daemon)
    assert (await daemon.call("session.steer", {"session_id": sid, "text": "x"}))[
        "accepted"
    ] is False
    try:
        await daemon.call("session.steer", {"session_id": sid, "text": "   "})
    except AgentdError as exc:
        assert exc.code == -32602
        assert exc.data == {"reason": "invalid_params", "field": "text"}
    else:
        raise AssertionError("whitespace steer accepted")


async def test_interrupt_while_streaming_keeps_partial_and_the_queue(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="short_slow")
    t1 = await daemon.send(sid, "long answer")
    t2 = await daemon.send(sid, "script:echo after", enqueue=True)
    before = await daemon.events_until(lambda e: e["type"] == "session.stream.chunk")
    # two interrupts in one write: the second finds the turn already interrupting
    once, twice = daemon.pipeline(
        ("session.interrupt", {"session_id": sid}),
        ("session.interrupt", {"session_id": sid}),
    )
    assert (await once)["result"] == {"session_id": sid, "interrupted": True}
    assert (await twice)["result"] == {"session_id": sid, "interrupted": False}
    events = before + await daemon.turn_events(t1["turn_id"])
    tail = kinds(events)[kinds(events).index("status:interrupting...") :]
    assert tail[-5:] == [
        "message:assistant",
        "session.context.estimate",
        "message:system",
        "session.interrupted",
        "status:ready",
    ]
    partial = [e for e in events if e["type"] == "session.message.appended"][-2]
    assert partial["payload"]["message"]["text"] == answer_text(events).strip()
    system = [e for e in events if e["type"] == "session.message.appended"][-1]
    assert (
        system["payload"]["message"]["text"] == "response interrupted by user. partial output kept."
    )
    assert first(events, "session.interrupted")["payload"]["partial_output"] is True
    nxt = await daemon.turn_events(t2["turn_id"])
    assert (
        first(nxt, "session.status", status_label="preparing...")["payload"]["turn_id"]
        == t2["turn_id"]
    )
    assert answer_text(nxt) == "You said: script:echo after"


async def test_interrupt_during_the_rounds_last_tool(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="tool_hang")
    sent = await daemon.send(sid, "sleep")
    await daemon.events_until(lambda e: e["type"] == "session.tool.call.started")
    assert (await daemon.call("session.interrupt", {"session_id": sid}))["interrupted"]
    events = await daemon.turn_events(sent["turn_id"], timeout=10)
    assert kinds(events)[:4] == [
        "status:interrupting...",
        "session.tool.call.completed",
        "session.tool.results",
        "message:system",
    ]
    executed = first(events, "session.tool.call.completed")["payload"]["data"]["executed"]
    assert executed["ok"] is False and executed["name"] == "bash"
    assert terminal_events(events)[0]["type"] == "session.interrupted"


async def test_interrupt_during_a_tool_that_is_not_the_rounds_last(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="tool_hang_first")
    sent = await daemon.send(sid, "sleep")
    await daemon.events_until(lambda e: e["type"] == "session.tool.call.started")
    assert (await daemon.call("session.interrupt", {"session_id": sid}))["interrupted"]
    events = await daemon.turn_events(sent["turn_id"], timeout=10)
    assert kinds(events) == [
        "status:interrupting...",
        "session.tool.call.completed",
        "message:system",
        "session.interrupted",
        "status:ready",
    ]
    assert first(events, "session.interrupted")["payload"]["partial_output"] is False
    message = first(events, "session.message.appended")["payload"]["message"]
    assert message["text"] == "response interrupted by user."
    # the skipped call still has a result in the context, so later requests stay well-formed
    state = await daemon.call("session.get", {"session_id": sid})
    assert [m["role"] for m in state["history"]] == ["user", "assistant", "tool", "tool"]


async def test_provider_error_ends_the_turn_and_leaves_history(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="error_rate_limited")
    sent = await daemon.send(sid, "hello")
    events = await daemon.turn_events(sent["turn_id"])
    assert kinds(events) == [*START, "message:system", "session.error", "status:ready"]
    error = first(events, "session.error")["payload"]
    assert error == {
        "session_id": sid,
        "turn_id": sent["turn_id"],
        "message": "429 Too Many Requests (scripted)",
        "kind": "rate_limited",
    }
    notice = [e for e in events if e["type"] == "session.message.appended"][-1]
    assert (
        notice["payload"]["message"]["text"] == "inference error: 429 Too Many Requests (scripted)"
    )
    state = await daemon.call("session.get", {"session_id": sid})
    assert state["history"] == []
    assert [m["kind"] for m in state["messages"]] == ["user", "system"]


async def test_error_after_partial_output(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="partial_then_error")
    sent = await daemon.send(sid, "hello")
    events = await daemon.turn_events(sent["turn_id"])
    assert answer_text(events) == "partial text"
    assert terminal_events(events)[0]["payload"]["kind"] == "upstream"
    state = await daemon.call("session.get", {"session_id": sid})
    assert state["history"] == []


async def test_bad_image_fails_the_turn_before_the_response(daemon: AgentdClient) -> None:
    sid = await new_session(daemon)
    sent = await daemon.send(sid, "look", images=[{"data_url": "data:image/png;base64,@@@"}])
    assert sent["accepted"] is True
    events = daemon.drain_events()
    assert kinds(events) == [
        "status:preparing...",
        "message:system",
        "session.error",
        "status:ready",
    ]
    assert first(events, "session.message.appended")["payload"]["message"]["text"] == (
        "inference error: invalid image data_url. expected data:<mime>;base64,<payload>"
    )


async def test_image_prompt_gets_placeholders_and_loaded_image(daemon: AgentdClient) -> None:
    sid = await new_session(daemon)
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/"
        "PchI7wAAAABJRU5ErkJggg=="
    )
    sent = await daemon.send(sid, "", images=[{"data_url": f"data:image/png;base64,{png}"}])
    events = await daemon.turn_events(sent["turn_id"])
    user = first(events, "session.message.appended")["payload"]["message"]
    assert user["text"] == "[Image 1]"
    assert user["images"][0]["mimeType"] == "image/png"
    assert user["images"][0]["byteSize"] == 70
