"""Issue 10 item 12: an ambiguous id prefix and an unreadable record are told apart from "no
saved chat matched"; an approval interrupted while pending says so (no process ever ran)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agentd.core.turn import APPROVAL_INTERRUPTED
from agentd.store import HistoryNotFoundError, HistoryStore
from tests.core.test_core_inprocess import make_manager


def test_ambiguous_prefix_and_unreadable_record_are_told_apart(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path, refresh_interval=0)
    for record_id in ("abc111", "abc222"):
        store.create_record(provider="p", model="m", thinking_level="", record_id=record_id).close()
    broken = store.create_record(provider="p", model="m", thinking_level="", record_id="zzz999")
    broken.close()
    broken.path.write_text('{"type":"session_meta"}\n')  # no valid meta: unreadable
    cases = {
        "abc": "history_ambiguous",
        "zzz999": "history_unreadable",
        "nothing": "history_not_found",
    }
    for text, reason in cases.items():
        with pytest.raises(HistoryNotFoundError) as caught:
            store.get(id=text)
        assert caught.value.reason == reason, (text, caught.value.message)
    assert store.get(id="abc1")["id"] == "abc111"
    store.close()


async def test_approval_interrupted_while_pending(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("hello\n")
    manager, events = make_manager(tmp_path)
    asked = asyncio.Event()

    async def never_answers(*_: Any) -> Any:
        asked.set()
        await asyncio.Event().wait()

    manager.runtime.approver = never_answers
    session = manager.create(model="bash", approval_policy="ask")
    session.send("read it", None, enqueue=False)
    await asyncio.wait_for(asked.wait(), 10)
    session.interrupt()
    await asyncio.wait_for(session.wait_idle(10), 15)
    completed = [p for t, p in events if t == "session.tool.call.completed"]
    assert completed[0]["data"]["executed"]["error"] == APPROVAL_INTERRUPTED
    assert [t for t, _ in events].count("session.interrupted") == 1
