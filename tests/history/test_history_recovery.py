"""Recovery edges: a crash mid-tool, a crash with a queued prompt, a prompt the disk refused."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from agentd.store import read_record

from .conftest import close, crash, new_session, record_files, run_turn, spawn, spawn_wrapped


async def test_resume_after_a_crash_in_a_tool_answers_every_tool_call(
    home: Path, workspace: Path
) -> None:
    client = await spawn(home, workspace)
    sid = await new_session(client, model="tool_hang")
    await client.send(sid, "sleep for a while")
    await client.events_until(lambda e: e["type"] == "session.tool.call.started", timeout=10)
    # the call is written by the store thread, not before the event: crash once it is on disk
    for _ in range(200):
        files = record_files(home)
        if files and b'"call_1_1"' in files[0].read_bytes():
            break
        await asyncio.sleep(0.02)
    await crash(client)

    client = await spawn(home, workspace)
    try:
        [path] = record_files(home)
        result = await client.call("session.create", {"resume_id": str(path)})
        history = result["state"]["history"]
    finally:
        assert await close(client) == 0
    calls = [c["id"] for m in history for c in m.get("tool_calls", [])]
    results = [m["tool_call_id"] for m in history if m["role"] == "tool"]
    assert calls == ["call_1_1"]
    assert results == calls  # the unfinished call got a result, so the model accepts the context


async def test_an_answered_queued_prompt_survives_a_crash(home: Path, workspace: Path) -> None:
    client = await spawn(home, workspace)
    sid = await new_session(client, model="hang")
    await client.send(sid, "the running turn")
    queued = f"queued {uuid.uuid4()}"
    answer = await client.send(sid, queued, enqueue=True)
    assert answer["queued"] is True
    await crash(client)
    [path] = record_files(home)
    view = read_record(path)
    prompts = [m.text for m in view.messages if m.role == "user"]
    assert prompts == ["the running turn"]  # a queued prompt is not part of the conversation...
    assert [p.text for p in view.unstarted_prompts] == [queued]  # ...but it is on disk


async def test_a_turn_that_failed_to_store_its_prompt_has_an_end(
    home: Path, workspace: Path
) -> None:
    limit = 256 * 1024
    prelude = f"import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))"
    client = await spawn_wrapped(home, workspace, prelude)
    try:
        sid = await new_session(client)
        assert (await run_turn(client, sid, "fits"))[0] == "session.completed"
        assert (await run_turn(client, sid, "x" * (2 * limit)))[0] == "session.error"
    finally:
        assert await close(client) == 0
    [path] = record_files(home)
    turns = read_record(path).turns
    assert [t.status for t in turns] == ["completed", "error"]
    assert turns[1].error_kind == "storage"
