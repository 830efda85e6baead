"""``history.list`` / ``history.get`` and ``session.create {resume_id}`` through the daemon."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from agentd.client import AgentdClient, AgentdError
from agentd.store import HistoryStore, Message, TurnEnd, TurnStart, now_iso, read_record

from .conftest import close, new_session, record_files, run_turn, spawn

SUMMARY_KEYS = [
    "id",
    "title",
    "provider",
    "model",
    "thinkingLevel",
    "createdAt",
    "updatedAt",
    "messageCount",
    "rolloutPath",
]


def write_record(home: Path, record_id: str, prompt: str, **meta: Any) -> Path:
    """A closed record written with the store (no daemon running), one completed turn."""
    store = HistoryStore(home)
    try:
        params: dict[str, Any] = {
            "provider": "scripted",
            "model": "echo",
            "thinking_level": "",
            "title": prompt,
            **meta,
        }
        with store.create_record(record_id=record_id, **params) as journal:
            journal.append(TurnStart("t1", now_iso()))
            journal.append(Message("user", prompt, turn_id="t1"))
            journal.append(Message("assistant", f"answer to {prompt}", turn_id="t1"))
            journal.append(TurnEnd("t1", now_iso(), "completed"))
            return journal.path
    finally:
        store.close()


async def make_records(client: AgentdClient, count: int) -> list[str]:
    """``count`` records, one echo turn each, oldest first; returns their ids."""
    ids = []
    for n in range(count):
        sid = await new_session(client)
        end, _ = await run_turn(client, sid, f"record number {n}")
        assert end == "session.completed"
        ids.append((await client.call("session.get", {"session_id": sid}))["activeSessionId"])
    return ids


async def expect_error(client: AgentdClient, method: str, params: Any) -> AgentdError:
    with pytest.raises(AgentdError) as caught:
        await client.call(method, params)
    return caught.value


@pytest_asyncio.fixture
async def daemon(home: Path, workspace: Path) -> AsyncIterator[AgentdClient]:
    client = await spawn(home, workspace)
    try:
        yield client
    finally:
        code = await close(client)
    assert code == 0


async def test_list_pages_with_a_real_total_and_next_cursor(daemon: AgentdClient) -> None:
    ids = await make_records(daemon, 5)
    newest_first = ids[::-1]

    pages = []
    cursor: int | None = 0
    while cursor is not None:
        page = await daemon.call("history.list", {"limit": 2, "cursor": cursor})
        assert page["total"] == 5
        assert page["cursor"] == cursor
        assert page["limit"] == 2
        pages.append(page)
        cursor = page["next_cursor"]
    assert [p["next_cursor"] for p in pages] == [2, 4, None]
    assert [len(p["sessions"]) for p in pages] == [2, 2, 1]
    rows = [row for page in pages for row in page["sessions"]]
    assert [row["id"] for row in rows] == newest_first
    updated = [row["updatedAt"] for row in rows]
    assert updated == sorted(updated, reverse=True)

    for n, row in enumerate(rows):
        assert list(row) == SUMMARY_KEYS  # no openRouterProvider for a scripted record
        assert row["title"] == f"record number {4 - n}"
        assert (row["provider"], row["model"], row["thinkingLevel"]) == ("scripted", "echo", "")
        assert row["messageCount"] == 2
        assert row["createdAt"] <= row["updatedAt"]
        assert Path(row["rolloutPath"]).is_absolute() and Path(row["rolloutPath"]).is_file()

    async def listing(params: Any) -> tuple[int, int, list[str], int | None]:
        page = await daemon.call("history.list", params)
        assert page["total"] == 5
        return (
            page["limit"],
            page["cursor"],
            [r["id"] for r in page["sessions"]],
            page["next_cursor"],
        )

    assert await listing(None) == (100, 0, newest_first, None)
    assert await listing({}) == (100, 0, newest_first, None)
    assert await listing({"limit": 0}) == (100, 0, newest_first, None)
    assert await listing({"limit": -3}) == (1, 0, newest_first[:1], 1)
    assert await listing({"limit": 2.9}) == (2, 0, newest_first[:2], 2)
    assert await listing({"limit": 2, "cursor": 1.7}) == (2, 1, newest_first[1:3], 3)
    assert await listing({"limit": 2, "cursor": -4}) == (2, 0, newest_first[:2], 2)
    assert await listing({"cursor": 3}) == (100, 3, newest_first[3:], None)
    assert await listing({"cursor": 5}) == (100, 5, [], None)
    assert await listing({"cursor": 50, "limit": 3}) == (3, 50, [], None)


async def test_open_router_provider_only_for_openrouter_records(
    home: Path, workspace: Path
) -> None:
    write_record(home, "or-record", "via openrouter", provider="openrouter", model="m")
    write_record(home, "plain-record", "plain", open_router_provider=None)
    client = await spawn(home, workspace)
    try:
        rows = {r["id"]: r for r in (await client.call("history.list"))["sessions"]}
        got = await client.call("history.get", {"id": "or-record"})
    finally:
        assert await close(client) == 0
    assert "openRouterProvider" not in rows["or-record"]  # none was given
    assert list(rows["plain-record"]) == SUMMARY_KEYS

    write_record(
        home, "or-any", "via openrouter any", provider="openrouter", open_router_provider="any"
    )
    client = await spawn(home, workspace)
    try:
        rows = {r["id"]: r for r in (await client.call("history.list"))["sessions"]}
        got = await client.call("history.get", {"id": "or-any"})
    finally:
        assert await close(client) == 0
    keys = [*SUMMARY_KEYS[:5], "openRouterProvider", *SUMMARY_KEYS[5:]]
    assert list(rows["or-any"]) == keys
    assert rows["or-any"]["openRouterProvider"] == "any"
    assert list(got) == [*keys, "messages"]


async def test_get_precedence_prefixes_and_errors(home: Path, workspace: Path) -> None:
    write_record(home, "shared-prefix-aaaa", "first shared")
    write_record(home, "shared-prefix-bbbb", "second shared")
    client = await spawn(home, workspace)
    try:
        ids = await make_records(client, 3)
        rows = {r["id"]: r for r in (await client.call("history.list"))["sessions"]}
        oldest, middle, newest = (rows[i] for i in ids)

        async def get(params: Any) -> dict[str, Any]:
            result: dict[str, Any] = await client.call("history.get", params)
            assert list(result) == [*SUMMARY_KEYS, "messages"]
            return result

        # last > rollout_path > id
        everything = {"last": True, "rollout_path": oldest["rolloutPath"], "id": middle["id"]}
        assert (await get(everything))["id"] == newest["id"]
        both = {"rollout_path": oldest["rolloutPath"], "id": middle["id"]}
        assert (await get(both))["id"] == oldest["id"]
        assert (await get({"last": False, "id": middle["id"]}))["id"] == middle["id"]

        got = await get({"id": oldest["id"]})
        assert {k: got[k] for k in SUMMARY_KEYS} == oldest
        assert got["messages"] == [
            {"role": "user", "text": "record number 0"},
            {"role": "assistant", "text": "You said: record number 0"},
        ]
        assert (await get({"id": oldest["id"].upper()}))["id"] == oldest["id"]
        prefix = next(
            oldest["id"][:n]
            for n in range(4, 37)
            if sum(i.startswith(oldest["id"][:n]) for i in rows) == 1
        )
        assert (await get({"id": prefix}))["id"] == oldest["id"]
        assert (await get({"id": "shared-prefix-a"}))["id"] == "shared-prefix-aaaa"

        for unknown in ("shared-prefix", "nope", "SHARED-PREFIX-"):
            error = await expect_error(client, "history.get", {"id": unknown})
            assert (error.code, error.message) == (-32003, f"no saved chat matched id: {unknown}")
            # the reference's message for both; the reason says an ambiguous prefix apart
            assert error.reason == (
                "history_not_found" if unknown == "nope" else "history_ambiguous"
            )
        for nothing in (None, {}, {"id": ""}, {"last": False}, {"rollout_path": ""}):
            error = await expect_error(client, "history.get", nothing)
            assert error.code == -32003
            assert error.message == "history.get requires one of: id, last, rollout_path"
        missing = str(Path(oldest["rolloutPath"]).with_name("rollout-missing.jsonl"))
        error = await expect_error(client, "history.get", {"rollout_path": missing})
        assert (error.code, error.message) == (-32003, f"failed to load chat: {missing}")
        error = await expect_error(client, "session.create", {"resume_id": "nope"})
        assert (error.code, error.message) == (-32003, "no saved chat matched id: nope")
        assert (await client.call("state.get"))["sessions"]["count"] == 3
    finally:
        assert await close(client) == 0


async def test_get_last_on_an_empty_home(home: Path, workspace: Path) -> None:
    client = await spawn(home, workspace)
    try:
        error = await expect_error(client, "history.get", {"last": True})
        assert (error.code, error.message) == (-32003, "no saved chat history yet")
        assert await client.call("history.list") == {
            "total": 0,
            "cursor": 0,
            "limit": 100,
            "sessions": [],
            "next_cursor": None,
        }
    finally:
        assert await close(client) == 0


async def test_rollout_path_is_confined_to_the_history_directory(
    home: Path, workspace: Path, tmp_path: Path
) -> None:
    inside = write_record(home, "inside-record", "a record inside")
    outside_dir = tmp_path / "outside"
    outside_dir.mkdir()
    outside = outside_dir / inside.name
    shutil.copy(inside, outside)
    link = inside.parent / "rollout-link.jsonl"
    link.symlink_to(outside)
    dir_link = home / "sessions" / "linked-dir"
    dir_link.symlink_to(outside_dir, target_is_directory=True)
    client = await spawn(home, workspace)
    try:
        listing = await client.call("history.list")
        assert [r["id"] for r in listing["sessions"]] == ["inside-record"]  # links not followed
        got = await client.call("history.get", {"rollout_path": str(inside)})
        assert got["id"] == "inside-record"
        dotted = home / "sessions" / ".." / "sessions" / inside.relative_to(home / "sessions")
        assert (await client.call("history.get", {"rollout_path": str(dotted)}))["messages"]

        escapes = [
            str(outside),  # an absolute path outside
            str(home / "sessions" / ".." / ".." / "outside" / inside.name),  # ``..``
            str(home / "sessions" / ".." / "index.sqlite3"),
            str(link),  # a symlink inside pointing outside
            str(dir_link / inside.name),  # through a symlinked directory
            str(home / "sessions"),  # the directory itself
            "/etc/passwd",
        ]
        for path in escapes:
            error = await expect_error(client, "history.get", {"rollout_path": path})
            assert error.code == -32602, path
            assert error.reason == "path_outside_history", path
            assert error.message == f"rollout_path must be inside the history directory: {path}"
            error = await expect_error(client, "session.create", {"resume_id": path})
            assert error.reason == "path_outside_history", path
    finally:
        assert await close(client) == 0


async def test_failed_turns_stay_on_disk_but_leave_the_resumed_context(
    home: Path, workspace: Path
) -> None:
    client = await spawn(home, workspace)
    try:
        sid = await new_session(client)
        assert (await run_turn(client, sid, "use tools script:two_tools"))[0] == "session.completed"
        end, events = await run_turn(client, sid, "this one fails script:error_rate_limited")
        assert end == "session.error"
        [error] = [e["payload"] for e in events if e["type"] == "session.error"]
        assert error["kind"] == "rate_limited"
        assert (await run_turn(client, sid, "after the failure"))[0] == "session.completed"
        live = (await client.call("session.get", {"session_id": sid}))["history"]
        record_id = (await client.call("session.get", {"session_id": sid}))["activeSessionId"]
    finally:
        assert await close(client) == 0

    [path] = record_files(home)
    client = await spawn(home, workspace)
    try:
        got = await client.call("history.get", {"id": record_id})
        messages = got["messages"]
        assert got["messageCount"] == len(messages) == 8
        failed = [m for m in messages if m.get("failed_turn")]
        assert failed == [
            {
                "role": "user",
                "text": "this one fails script:error_rate_limited",
                "failed_turn": True,
            }
        ]
        calls = messages[1]["tool_calls"]
        assert [(c["id"], c["name"]) for c in calls] == [
            ("call_1_1", "bash"),
            ("call_1_2", "read_file"),
        ]
        assert [m.get("tool_call_id") for m in messages[2:4]] == ["call_1_1", "call_1_2"]

        result = await client.call("session.create", {"resume_id": record_id})
        state = result["state"]
        assert state["activeSessionId"] == record_id
        history = state["history"]
        assert history == live  # the resumed context is the one the live session had
        texts = [m["text"] for m in history]
        assert "this one fails script:error_rate_limited" not in texts
        assert [m["role"] for m in history] == [
            "user",
            "assistant",
            "tool",
            "tool",
            "assistant",
            "user",
            "assistant",
        ]
        assert history[1]["tool_calls"] == [
            {"id": "call_1_1", "name": "bash", "arguments": {"command": "echo one"}},
            {"id": "call_1_2", "name": "read_file", "arguments": {"file_path": "README.md"}},
        ]
        assert [h.get("tool_call_id") for h in history[2:4]] == ["call_1_1", "call_1_2"]
        assert '"stdout": "one\\n"' in history[2]["text"]

        resumed = result["session_id"]
        await client.events_until(lambda e: e["type"] == "state.changed")
        assert (await run_turn(client, resumed, "after the resume"))[0] == "session.completed"
    finally:
        assert await close(client) == 0
    assert record_files(home) == [path]
    after = read_record(path)
    assert after.problems == ()
    assert [m.text for m in after.messages[-2:]] == [
        "after the resume",
        "You said: after the resume",
    ]
    assert [t.status for t in after.turns] == ["completed", "error", "completed", "completed"]
