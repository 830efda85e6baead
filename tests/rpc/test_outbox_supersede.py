"""``state.changed`` snapshots supersede each other while unwritten (docs/protocol.md, issue 12).

A reader that keeps up sees every snapshot; one that does not (or a client that pipelines
requests in one write) sees the latest, in the place of the earliest unwritten one. Events keep
their order and ``seq`` has no gaps.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agentd.api.chunks import ReferenceEventCodec
from agentd.rpc.outbox import Outbox
from agentd.wire import encode_ndjson
from tests.rpc.sinks import ListSink


def snapshot(reason: str, ids: list[str]) -> dict[str, Any]:
    return {"reason": reason, "snapshot": {"sessions": {"count": len(ids), "ids": ids}}}


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return [
        m["params"]["type"] if m.get("method") == "event" else f"response {m['id']}"
        for m in messages
    ]


def outbox(sink: ListSink) -> Outbox:
    return Outbox(sink, encode_ndjson, codec=ReferenceEventCodec())


async def test_a_reader_that_keeps_up_sees_every_snapshot() -> None:
    sink = ListSink()
    box = outbox(sink)
    for n in range(1, 4):
        box.send_event(
            "state.changed", "t", snapshot("session_created", [str(i) for i in range(n)])
        )
        box.send({"jsonrpc": "2.0", "id": n, "result": {}})
        await asyncio.sleep(0)  # the client reads between creates: each batch is written
    messages = sink.messages()
    assert kinds(messages) == [
        kind for n in (1, 2, 3) for kind in ("state.changed", f"response {n}")
    ]
    ids = [m["params"]["payload"]["snapshot"]["sessions"]["ids"] for m in messages[::2]]
    assert ids == [["0"], ["0", "1"], ["0", "1", "2"]]
    assert [m["params"]["seq"] for m in messages[::2]] == [1, 2, 3]


async def test_snapshots_in_one_batch_collapse_into_the_first_place() -> None:
    sink = ListSink()
    box = outbox(sink)
    box.holding = True  # as while the connection handles one read of pipelined creates
    for n in range(1, 4):
        payload = snapshot("session_created", [str(i) for i in range(n)])
        payload["session_id"] = str(n - 1)
        box.send_event("state.changed", f"t{n}", payload)
        box.send({"jsonrpc": "2.0", "id": n, "result": {}})
    box.holding = False
    box.write_batch()
    messages = sink.messages()
    assert kinds(messages) == ["state.changed", "response 1", "response 2", "response 3"]
    event = messages[0]["params"]
    assert event["seq"] == 1
    assert event["timestamp"] == "t3"
    assert event["payload"]["session_id"] == "2"
    assert event["payload"]["snapshot"]["sessions"]["ids"] == ["0", "1", "2"]


async def test_another_event_in_between_keeps_both_snapshots_in_order() -> None:
    sink = ListSink()
    box = outbox(sink)
    box.holding = True
    box.send_event("state.changed", "t", snapshot("session_created", ["a"]))
    box.send_event("session.status", "t", {"session_id": "a", "status_label": "ready"})
    box.send_event("state.changed", "t", snapshot("model_selected", ["a"]))
    box.send_event("state.changed", "t", snapshot("session_created", ["a", "b"]))
    box.holding = False
    box.write_batch()
    messages = sink.messages()
    assert kinds(messages) == ["state.changed", "session.status", "state.changed"]
    assert [m["params"]["seq"] for m in messages] == [1, 2, 3]
    assert messages[0]["params"]["payload"]["reason"] == "session_created"
    assert messages[2]["params"]["payload"]["snapshot"]["sessions"]["ids"] == ["a", "b"]


async def test_a_slow_reader_gets_the_latest_snapshot_only() -> None:
    sink = ListSink()
    box = outbox(sink)
    sink.backlog = 2 << 20  # the client stopped reading: everything queues
    sink.writable.clear()
    box.send_event("session.status", "t", {"session_id": "a", "status_label": "ready"})
    for n in range(1, 200):
        box.send_event(
            "state.changed", "t", snapshot("session_created", [str(i) for i in range(n)])
        )
        box.send({"jsonrpc": "2.0", "id": n, "result": {}})
    sink.backlog = 0
    sink.writable.set()
    await box.flush(1.0)
    messages = sink.messages()
    assert kinds(messages)[:4] == ["session.status", "state.changed", "response 1", "response 2"]
    assert kinds(messages).count("state.changed") == 1
    assert len(messages) == 2 + 199
    latest = messages[1]["params"]
    assert latest["seq"] == 2
    assert latest["payload"]["snapshot"]["sessions"]["ids"] == [str(i) for i in range(199)]
