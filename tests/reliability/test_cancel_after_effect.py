"""Issue 10 item 8: ``$/cancelRequest`` for a request that already took effect answers with its
result, never ``-32800`` while the effect happened (a client that retries would duplicate it)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from agentd.api import session as api_session
from agentd.api.context import ApiContext
from agentd.core.manager import SessionManager
from agentd.core.recorder import HistoryWriter
from agentd.protocol.methods import SessionSendParams
from tests.core.test_core_inprocess import make_manager


class _Lifecycle:
    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager

    def core(self) -> SessionManager:
        return self.manager


async def test_cancel_while_the_prompt_is_being_saved_answers_the_result(tmp_path: Path) -> None:
    manager, events = make_manager(tmp_path)
    writer = HistoryWriter(tmp_path / "home")
    manager.runtime.history = writer
    gate = threading.Event()
    writer.submit(gate.wait, 10.0)  # the disk is slow: the prompt's fsync waits behind this
    ctx: Any = ApiContext(None, _Lifecycle(manager), "test")  # type: ignore[arg-type]
    session = manager.create(model="echo")
    params = SessionSendParams(session_id=session.id, text="hello")
    request = asyncio.ensure_future(api_session.send(ctx, params))
    await asyncio.sleep(0)  # the handler ran: the prompt is accepted, waiting for the disk
    assert session.pending
    request.cancel()  # $/cancelRequest lands now
    await asyncio.sleep(0)
    gate.set()
    result = await asyncio.wait_for(request, 15)  # not CancelledError
    assert result["accepted"] is True and result["queued"] is False
    await asyncio.wait_for(session.wait_idle(10), 15)
    assert [t for t, _ in events].count("session.completed") == 1
    await writer.close(5)
