"""Issue 10 item 7: a turn ends exactly once, on disk and on the wire, even when an interrupt
lands while its end is being fsync'd; the error path never commits the failed turn."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from agentd.core.recorder import HistoryWriter, SessionRecord
from agentd.core.turn import TurnPhase
from tests.core.test_core_inprocess import make_manager

TERMINAL = ("session.completed", "session.interrupted", "session.error")


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.001)


@pytest.mark.parametrize(
    ("model", "terminal", "status"),
    [("echo", "session.completed", "completed"), ("partial_then_error", "session.error", "error")],
)
async def test_interrupt_during_turn_end_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str, terminal: str, status: str
) -> None:
    gate = threading.Event()
    real_end = SessionRecord.end_turn

    def slow_end(self: SessionRecord, *args: Any, **kwargs: Any) -> asyncio.Future[None]:
        self.writer.submit(gate.wait, 10.0)  # the store thread is busy: the fsync "hangs"
        return real_end(self, *args, **kwargs)

    monkeypatch.setattr(SessionRecord, "end_turn", slow_end)
    manager, events = make_manager(tmp_path)
    writer = HistoryWriter(tmp_path / "home")
    manager.runtime.history = writer
    session = manager.create(model=model)
    session.send("hello", None, enqueue=False)
    turn = session.turn
    assert turn is not None
    await _until(lambda: turn.phase is TurnPhase.ENDING)
    assert session.interrupt() is True  # lands while the end is being written
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.wait_for(session.wait_idle(10), 15)
    await writer.close(5)

    ends = [t for t, _ in events if t in TERMINAL]
    assert ends == [terminal]
    files = list((tmp_path / "home").rglob("rollout-*.jsonl"))
    lines = [json.loads(line) for line in files[0].read_text().splitlines()]
    turn_ends = [line["status"] for line in lines if line["type"] == "turn_end"]
    assert turn_ends == [status]
    if status == "error":
        assert list(session.history) == []  # the failed turn's messages stay out
    else:
        assert [m.role for m in session.history] == ["user", "assistant"]
