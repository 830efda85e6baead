"""Issue 10 item 6: after a kill, queued prompts are readable (``history.get``), a resumed
session offers them back in its queue without starting them, and the unfinished turn shows the
text that had streamed (journalled in bounded batches)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.history.conftest import close, crash, record_files, spawn

SCRIPTS = Path(__file__).parent / "scripts"


async def _wait_for_partial(home: Path, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not any(b'"partial_text"' in p.read_bytes() for p in record_files(home)):
            await asyncio.sleep(0.01)


async def test_queued_prompts_and_partial_text_survive_a_kill(
    tmp_path: Path,
) -> None:
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])
    session_id = await client.create_session(model="stream_then_hang")
    first = await client.send(session_id, "first prompt")
    queued = [await client.send(session_id, f"queued {n}", enqueue=True) for n in range(3)]
    assert all(q["queued"] for q in queued)
    await _wait_for_partial(home)
    await crash(client)

    client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])
    try:
        record = await client.call("history.get", {"last": True})
        texts = [(m["role"], m["text"][:14]) for m in record["messages"]]
        assert texts[0] == ("user", "first prompt")
        assert texts[1] == ("assistant", "streamed words")  # the unfinished turn's text
        assert [q["text"] for q in record["queued"]] == ["queued 0", "queued 1", "queued 2"]
        assert [q["id"] for q in record["queued"]] == [q["turn_id"] for q in queued]
        assert first["turn_id"] not in [q["id"] for q in record["queued"]]

        created = await client.call("session.create", {"resume_id": record["id"]})
        state = created["state"]
        assert [q["text"] for q in state["queue"]] == ["queued 0", "queued 1", "queued 2"]
        assert state["pending"] is False  # offered back, not started by themselves

        # a removed one is not offered again by the next resume
        removed = await client.call(
            "session.queue.remove",
            {"session_id": created["session_id"], "id": queued[0]["turn_id"]},
        )
        assert removed["removed"] is True
    finally:
        assert await close(client) == 0
    client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])
    try:
        record = await client.call("history.get", {"last": True})
        assert [q["text"] for q in record["queued"]] == ["queued 1", "queued 2"]
    finally:
        assert await close(client) == 0
