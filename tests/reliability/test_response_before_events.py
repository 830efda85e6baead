"""Issue 10 item 9: the response to a request is written before any event its turn causes once
it runs (a turn that fails at once cannot report ``session.error`` before ``session.send`` has
answered with its ``turn_id``). What ``session.send`` does synchronously (``preparing...``, a
pre-flight failure) precedes the response, as the reference documents."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agentd.api import session as api_session
from agentd.api.context import ApiContext
from agentd.core.manager import SessionManager
from agentd.protocol.methods import SessionSendParams
from tests.core.test_core_inprocess import make_manager
from tests.history.conftest import close, spawn

ROUNDS = 30


async def test_send_response_precedes_the_turns_events(tmp_path: Path) -> None:
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    client = await spawn(home, workspace)
    try:
        for model in ("error_auth", "echo"):
            session_id = await client.create_session(model=model)
            for _ in range(ROUNDS):
                sent = await client.send(session_id, "go")
                await client.turn_events(sent["turn_id"], timeout=20)
                transcript = client.transcript
                answered = max(i for i, m in enumerate(transcript) if m.get("result") == sent)
                caused = [
                    i
                    for i, m in enumerate(transcript)
                    if m.get("method") == "event"
                    and m["params"]["payload"].get("turn_id") == sent["turn_id"]
                    and m["params"]["payload"].get("status_label") != "preparing..."
                ]
                assert caused and min(caused) > answered, (model, answered, caused[:3])
    finally:
        assert await close(client) == 0


async def test_queued_send_response_precedes_its_turns_events(tmp_path: Path) -> None:
    """The running turn ends while a queued prompt's response waits for its fsync: the queued
    turn starts at once, but its events still follow its ``session.send`` response."""
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    client = await spawn(home, workspace)
    try:
        session_id = await client.create_session(model="error_auth")
        for _ in range(ROUNDS):
            first, second = client.pipeline(
                ("session.send", {"session_id": session_id, "text": "a"}),
                ("session.send", {"session_id": session_id, "text": "b", "enqueue": True}),
            )
            for future in (first, second):
                response = await future
                await client.turn_events(response["result"]["turn_id"], timeout=20)
            response = await second
            turn_id = response["result"]["turn_id"]
            transcript = client.transcript
            answered = max(i for i, m in enumerate(transcript) if m.get("id") == response["id"])
            caused = [
                i
                for i, m in enumerate(transcript)
                if m.get("method") == "event" and m["params"]["payload"].get("turn_id") == turn_id
            ]
            assert caused and min(caused) > answered, (answered, caused[:3])
    finally:
        assert await close(client) == 0


async def test_events_of_a_turn_started_meanwhile_wait_for_the_response(tmp_path: Path) -> None:
    """In process: the running turn ends (and the queued prompt's turn starts) while the queued
    prompt's ``session.send`` is still being answered."""
    manager, events = make_manager(tmp_path)
    session = manager.create(model="hang")
    session.send("running", None, enqueue=False)
    await asyncio.sleep(0.01)
    ctx: Any = ApiContext(None, _Lifecycle(manager), "test")  # type: ignore[arg-type]

    async def respond() -> None:
        params = SessionSendParams(session_id=session.id, text="queued", enqueue=True)
        result = await api_session.send(ctx, params)
        events.append(("response", dict(result)))  # the connection writes it in this step

    request = asyncio.ensure_future(respond())
    await asyncio.sleep(0)  # the queued send took effect; its response is on its way
    session.interrupt()  # the running turn ends now and the queued one starts
    await asyncio.wait_for(request, 10)
    await asyncio.sleep(0.01)
    session.interrupt()
    await asyncio.wait_for(session.wait_idle(10), 15)
    response_at = next(i for i, (t, _) in enumerate(events) if t == "response")
    queued_id = events[response_at][1]["turn_id"]
    caused = [
        i for i, (t, p) in enumerate(events) if t != "response" and p.get("turn_id") == queued_id
    ]
    assert caused and min(caused) > response_at, (response_at, caused)


class _Lifecycle:
    def __init__(self, manager: SessionManager) -> None:
        self.manager = manager

    def core(self) -> SessionManager:
        return self.manager
