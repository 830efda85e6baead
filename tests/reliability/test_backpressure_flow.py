"""Issue 10 item 13: back-pressure reaches the provider. While the outbound queue is over its
pause limit the core's flow gate is closed and streaming turns stop pulling their provider
streams; nothing is lost when it opens again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentd.api.chunks import ReferenceEventCodec
from agentd.core.events import FlowGate
from agentd.rpc.outbox import Outbox
from agentd.wire import encode_ndjson
from tests.core.test_core_inprocess import make_manager


class _StuckSink:
    """A stdout nobody reads until ``release``."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self._open = asyncio.Event()
        self.stuck = True

    def write(self, data: bytes) -> None:
        self.data.append(data)

    def buffered(self) -> int:
        return 1 << 30 if self.stuck else 0

    async def drain(self) -> None:
        await self._open.wait()

    async def aclose(self, timeout: float) -> None:
        return None

    @property
    def closed(self) -> bool:
        return False

    def release(self) -> None:
        self.stuck = False
        self._open.set()


async def test_outbox_reports_pressure_both_ways() -> None:
    sink = _StuckSink()
    outbox = Outbox(sink, encode_ndjson, codec=ReferenceEventCodec())
    seen: list[bool] = []
    outbox.on_pressure = seen.append
    payload = {"session_id": "s", "turn_id": "t", "status": "x" * 1000}
    for _ in range(outbox.pause_limit // 512 + 10):
        outbox.send_event("session.status", "now", dict(payload))
    assert seen == [True]
    sink.release()
    await outbox.flush(10)
    assert seen == [True, False]


async def test_a_closed_gate_stops_the_provider_stream(tmp_path: Path) -> None:
    manager, events = make_manager(tmp_path)
    gate: FlowGate = manager.runtime.bus.flow
    gate.set_open(False)
    session = manager.create(model="flood")  # 40,000 pieces, no delay
    session.send("go", None, enqueue=False)
    for _ in range(200):  # let the turn run as far as it can
        await asyncio.sleep(0)
    chunks = [p for t, p in events if t == "session.stream.chunk"]
    assert len(chunks) <= 1  # it stopped at the gate instead of pulling 40,000 pieces
    assert session.pending
    gate.set_open(True)
    await asyncio.wait_for(session.wait_idle(30), 40)
    text = "".join(p["chunk"]["answerText"] for t, p in events if t == "session.stream.chunk")
    assert text == "piece " * 40000
    assert [t for t, _ in events].count("session.completed") == 1
