"""A full disk (simulated with RLIMIT_FSIZE): the turn fails cleanly, the daemon keeps serving,
and the record file stays valid.

CPython ignores SIGXFSZ at start-up (and the ignored disposition survives ``execv``), so a write
past the limit fails with EFBIG instead of killing the daemon.

Why 512 KiB and not 256 KiB: the limit applies to every file the daemon writes, and the SQLite
index in WAL mode grows ``index.sqlite3-wal`` by ~10-30 KiB per index update until its automatic
checkpoint at ~4 MiB. After the few turns of this test the WAL is at ~220 KiB, so under 256 KiB
the index would be the next file to hit the limit (its updates are best effort and only logged);
512 KiB keeps the index out of the way so the JOURNAL is what hits the limit. The big prompt is
larger than the whole limit, so it can never fit whatever the other files hold.
"""

from __future__ import annotations

from pathlib import Path

from agentd.store import read_record

from .conftest import (
    assert_all_lines_json,
    close,
    new_session,
    record_files,
    run_turn,
    spawn_wrapped,
)

LIMIT = 512 * 1024
BIG = 600 * 1024


async def test_disk_full_fails_the_turn_and_keeps_the_record_valid(
    home: Path, workspace: Path
) -> None:
    prelude = f"import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, ({LIMIT}, {LIMIT}))"
    client = await spawn_wrapped(home, workspace, prelude)
    try:
        sid = await new_session(client)
        prompts = [f"before the disk filled {n} script:two_tools" for n in range(3)]
        for prompt in prompts:
            end, _ = await run_turn(client, sid, prompt)
            assert end == "session.completed"
        [path] = record_files(home)
        before = read_record(path)

        big = "too big " + "x" * BIG
        end, events = await run_turn(client, sid, big)
        assert end == "session.error"
        [error] = [e["payload"] for e in events if e["type"] == "session.error"]
        assert error["kind"] == "storage"
        assert error["message"].startswith("history write failed: ")
        assert "File too large" in error["message"]
        notices = [
            e["payload"]["message"]["text"]
            for e in events
            if e["type"] == "session.message.appended"
            and e["payload"]["message"]["kind"] == "system"
        ]
        assert any(n.startswith("history write failed: ") for n in notices), notices

        # the daemon keeps serving: every request is answered, whatever the outcome
        assert (await client.call("system.ping"))["ok"] is True
        state = await client.call("session.get", {"session_id": sid})
        assert big not in [m["text"] for m in state["history"]]
        assert state["pending"] is False
        other = await new_session(client)
        end, _ = await run_turn(client, other, "a small turn on a new session")
        assert end in ("session.completed", "session.error")
        end, _ = await run_turn(client, sid, "a small turn on the same session")
        assert end in ("session.completed", "session.error")
        listing = await client.call("history.list")
        assert listing["total"] >= 1
        got = await client.call("history.get", {"id": before.meta.id})
        assert big not in [m["text"] for m in got["messages"]]
    finally:
        code = await close(client)
    assert code == 0

    # the record is valid: every line whole, no problem, the turns before the failure intact
    assert path.stat().st_size < LIMIT
    assert assert_all_lines_json(path) == b""
    after = read_record(path)
    assert after.problems == ()
    assert after.messages[: len(before.messages)] == before.messages
    assert [t.status for t in after.turns[:3]] == ["completed"] * 3
    assert all(big != m.text for m in after.messages)
    for other_path in record_files(home):
        assert read_record(other_path).problems == ()
