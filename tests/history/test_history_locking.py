"""One writer per record: a second daemon on the same home cannot resume a record in use."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentd.client import AgentdError
from agentd.store import read_record

from .conftest import close, new_session, only_record, run_turn, spawn, user_texts


async def test_second_daemon_cannot_resume_a_record_in_use(home: Path, workspace: Path) -> None:
    a = await spawn(home, workspace)
    b = await spawn(home, workspace)
    try:
        sid = await new_session(a)
        end, _ = await run_turn(a, sid, "written by daemon A")
        assert end == "session.completed"
        record_id = (await a.call("session.get", {"session_id": sid}))["activeSessionId"]
        view = only_record(home)
        assert view.meta.id == record_id
        size = view.path.stat().st_size

        for resume_id in (record_id, record_id[:8], str(view.path)):
            with pytest.raises(AgentdError) as caught:
                await b.call("session.create", {"resume_id": resume_id})
            error = caught.value
            assert error.code == -32006
            assert error.reason == "record_locked"
            assert error.message == (
                f"history record {record_id} is in use by another agentd process"
            )
        # B kept no half-made session, and A can still write
        assert (await b.call("state.get"))["sessions"]["count"] == 0
        end, _ = await run_turn(a, sid, "A again")
        assert end == "session.completed"
        assert view.path.stat().st_size > size
        # reading is not writing: B may list and read the record while A holds it
        got = await b.call("history.get", {"id": record_id})
        assert [m["text"] for m in got["messages"] if m["role"] == "user"] == [
            "written by daemon A",
            "A again",
        ]

        assert await close(a) == 0
        result = await b.call("session.create", {"resume_id": record_id})
        assert result["state"]["activeSessionId"] == record_id
        resumed = result["session_id"]
        await b.events_until(lambda e: e["type"] == "state.changed")
        end, _ = await run_turn(b, resumed, "written by daemon B")
        assert end == "session.completed"
    finally:
        if a.process.returncode is None:
            await close(a)
        code = await close(b)
    assert code == 0
    after = read_record(view.path)
    assert after.problems == ()
    assert user_texts(after) == ["written by daemon A", "A again", "written by daemon B"]


async def test_one_daemon_cannot_resume_a_record_twice(home: Path, workspace: Path) -> None:
    client = await spawn(home, workspace)
    try:
        sid = await new_session(client)
        await run_turn(client, sid, "first")
        record_id = (await client.call("session.get", {"session_id": sid}))["activeSessionId"]
        with pytest.raises(AgentdError) as caught:
            await client.call("session.create", {"resume_id": record_id})
        assert caught.value.reason == "record_locked"
        # after history.clear_session the record is free again, in the same daemon
        await client.call("history.clear_session", {"session_id": sid})
        result = await client.call("session.create", {"resume_id": record_id})
        assert [m["text"] for m in result["state"]["history"]] == ["first", "You said: first"]
    finally:
        code = await close(client)
    assert code == 0
