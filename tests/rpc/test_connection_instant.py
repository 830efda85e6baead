"""Instant methods (answered without a task) and reading through the intake protocol."""

from __future__ import annotations

import asyncio
from typing import Any

from agentd.rpc.connection import Connection

from .sinks import ListSink
from .test_connection_limits import pings


def request(request_id: int, method: str) -> bytes:
    return b'{"jsonrpc":"2.0","id":%d,"method":"%s"}\n' % (request_id, method.encode())


async def test_instant_methods_keep_arrival_order_and_may_await_after_all() -> None:
    sink = ListSink()
    connection = Connection(None, sink, framing="ndjson")
    seen: list[str] = []
    gate = asyncio.Event()

    async def slow(params: Any) -> Any:
        seen.append("slow")
        await gate.wait()
        return "slow"

    async def quick(params: Any) -> Any:
        seen.append("quick")
        return "quick"

    async def awaits(params: Any) -> Any:  # declared instant, but it waits
        seen.append("awaits")
        await gate.wait()
        return "awaited"

    for name, handler in (("slow", slow), ("quick", quick), ("awaits", awaits)):
        connection.register(name, handler)
    connection.instant_methods.update({"quick", "awaits"})
    intake = connection.intake()
    serving = asyncio.create_task(connection.serve())
    intake.data_received(request(2, "quick") + request(3, "awaits"))
    assert [m["id"] for m in sink.messages()] == [2]  # answered inside the callback
    assert seen == ["quick", "awaits"]
    # behind a request that has not started yet, an instant one waits its turn
    intake.data_received(request(1, "slow") + request(4, "quick"))
    assert seen == ["quick", "awaits"]
    await asyncio.sleep(0)
    assert seen == ["quick", "awaits", "slow", "quick"]
    intake.data_received(b'{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":3}}\n')
    await asyncio.sleep(0)
    gate.set()
    await asyncio.sleep(0.01)
    by_id = {m["id"]: m for m in sink.messages()}
    assert by_id[1]["result"] == "slow" and by_id[4]["result"] == "quick"
    assert by_id[3]["error"]["code"] == -32800
    assert intake.eof_received() is None
    await asyncio.wait_for(serving, 2.0)


async def test_intake_answers_a_flood_past_the_in_flight_limit() -> None:
    sink = ListSink()
    connection = Connection(None, sink, framing="ndjson", max_inflight=16)

    async def instant(params: Any) -> Any:
        return {"ok": True}

    connection.register("instant", instant)  # not declared instant: a task each
    intake = connection.intake()
    serving = asyncio.create_task(connection.serve())
    intake.data_received(pings("instant", 1000))
    intake.eof_received()
    await asyncio.wait_for(serving, 5.0)
    await connection.outbox.flush(1.0)
    await asyncio.sleep(0)
    answers = sink.messages()
    assert len(answers) == 1000 and all("result" in m for m in answers)


class CountingSink(ListSink):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: bytes) -> None:
        self.writes += 1
        super().write(data)


async def test_instant_answers_and_errors_go_out_in_one_write_within_the_read() -> None:
    from agentd.protocol.errors import RpcError

    sink = CountingSink()
    connection = Connection(None, sink, framing="ndjson")
    gate = asyncio.Event()

    async def ok(params: Any) -> Any:
        return {"ok": True}

    async def refuses(params: Any) -> Any:
        raise RpcError(-32006, "not now", "invalid_state")

    async def breaks(params: Any) -> Any:
        raise ValueError("a bug")

    async def cancelled(params: Any) -> Any:
        raise asyncio.CancelledError

    async def awaits(params: Any) -> Any:
        await gate.wait()
        return "later"

    handlers = {"ok": ok, "refuses": refuses, "breaks": breaks, "cancelled": cancelled}
    for name, handler in {**handlers, "awaits": awaits}.items():
        connection.register(name, handler)
        connection.instant_methods.add(name)
    intake = connection.intake()
    serving = asyncio.create_task(connection.serve())
    await asyncio.sleep(0)
    read = b"".join(request(i, name) for i, name in enumerate([*handlers, "awaits"], 1))
    intake.data_received(read)
    # no loop step yet: everything that could be answered is written, in one write
    assert sink.writes == 1
    by_id = {m["id"]: m for m in sink.messages()}
    assert by_id[1]["result"] == {"ok": True}
    assert by_id[2]["error"]["code"] == -32006
    assert by_id[3]["error"]["code"] == -32603
    assert by_id[4]["error"]["code"] == -32800
    assert 5 not in by_id
    gate.set()
    await asyncio.sleep(0.01)
    assert {m["id"]: m for m in sink.messages()}[5]["result"] == "later"
    intake.eof_received()
    await asyncio.wait_for(serving, 2.0)
