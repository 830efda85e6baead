"""The connection's in-flight limit counts work in flight, not work read but not yet started."""

from __future__ import annotations

import asyncio
from typing import Any

from agentd.rpc.connection import Connection
from tests.rpc.sinks import ListSink


def pings(method: str, count: int, first_id: int = 1) -> bytes:
    return b"".join(
        b'{"jsonrpc":"2.0","id":%d,"method":"%s"}\n' % (first_id + i, method.encode())
        for i in range(count)
    )


async def serve(stream: bytes, stuck: asyncio.Event, max_inflight: int = 16) -> ListSink:
    reader = asyncio.StreamReader()
    sink = ListSink()
    connection = Connection(reader, sink, framing="ndjson", max_inflight=max_inflight)

    async def instant(params: Any) -> Any:
        return {"ok": True}

    async def hang(params: Any) -> Any:
        await stuck.wait()
        return {"ok": True}

    connection.register("instant", instant)
    connection.register("hang", hang)
    reader.feed_data(stream)
    reader.feed_eof()
    await connection.serve()
    await connection.outbox.flush(1.0)
    await asyncio.sleep(0)
    return sink


async def test_instant_requests_beyond_the_limit_in_one_read_are_all_answered() -> None:
    sink = await serve(pings("instant", 1000), asyncio.Event())
    answers = sink.messages()
    assert len(answers) == 1000
    assert all("result" in m for m in answers), [m for m in answers if "error" in m][:3]


async def test_a_stuck_flood_is_refused_past_the_limit() -> None:
    stuck = asyncio.Event()
    stream = pings("hang", 40) + pings("instant", 5, first_id=100)
    task = asyncio.create_task(serve(stream, stuck))
    await asyncio.sleep(0.05)
    stuck.set()
    answers = (await task).messages()
    by_id = {m["id"]: m for m in answers}
    assert len(by_id) == len(answers) == 45
    refused = sorted(i for i, m in by_id.items() if "error" in m)
    assert refused == list(range(17, 41)) + list(range(100, 105))
    assert all(by_id[i]["error"]["data"]["reason"] == "overloaded" for i in refused)
