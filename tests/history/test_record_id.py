"""A live session names its history record: ``record_id`` in ``session.create`` and
``session.get`` (the reference's ``activeSessionId`` holds the same id)."""

from __future__ import annotations

from pathlib import Path

from .conftest import close, run_turn, spawn


async def test_record_id_ties_a_session_to_its_record(home: Path, workspace: Path) -> None:
    client = await spawn(home, workspace)
    try:
        created = await client.call("session.create", {})
        assert created["state"]["record_id"] is None  # the first turn creates the record
        session_id = created["session_id"]
        await run_turn(client, session_id, "hello")
        state = await client.call("session.get", {"session_id": session_id})
        record_id = state["record_id"]
        assert record_id and record_id == state["activeSessionId"]
        saved = await client.call("history.get", {"id": record_id})
        assert saved["id"] == record_id

        await client.call("history.clear_session", {"session_id": session_id})  # lets go of it
        resumed = await client.call("session.create", {"resume_id": record_id[:8]})
        assert resumed["state"]["record_id"] == record_id
    finally:
        assert await close(client) == 0
