"""The journal: layout, permissions, round trip, fsync policy, torn tails, locks, write errors."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agentd.store import (
    HistoryNotFoundError,
    HistoryStore,
    Journal,
    Message,
    MetaUpdate,
    RecordLockedError,
    SessionMeta,
    ToolCall,
    TurnEnd,
    TurnStart,
    default_home,
    is_sync_point,
    read_record,
)

from .store_helpers import make_record, run_python, write_turn


def lines_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line]


def test_layout_and_first_line(store: HistoryStore) -> None:
    path = make_record(store, record_id="rec-1", created_at="2026-01-02T03:04:05.678Z", turns=0)
    assert path == store.home / "sessions/2026/01/02/rollout-20260102-030405678-rec-1.jsonl"
    assert lines_of(path) == [
        {
            "type": "session_meta",
            "id": "rec-1",
            "title": "a chat",
            "provider": "openai",
            "model": "gpt-test",
            "thinkingLevel": "MEDIUM",
            "createdAt": "2026-01-02T03:04:05.678Z",
            "updatedAt": "2026-01-02T03:04:05.678Z",
            "messageCount": 0,
        }
    ]


def test_file_name_uses_the_utc_time_of_creation(store: HistoryStore) -> None:
    path = make_record(store, record_id="tz", created_at="2026-01-01T01:30:00.250+02:00")
    assert path.relative_to(store.sessions_dir) == Path(
        "2025/12/31/rollout-20251231-233000250-tz.jsonl"
    )


def test_default_file_name_uses_utc_now_and_a_uuid(store: HistoryStore) -> None:
    with store.create_record(provider="openai", model="m", thinking_level="OFF") as journal:
        name = journal.path.name
    assert re.fullmatch(r"rollout-\d{8}-\d{9}-[0-9a-f-]{36}\.jsonl", name)


def test_default_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AGENTD_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"
    monkeypatch.delenv("AGENTD_HOME")
    import platformdirs

    assert default_home() == Path(platformdirs.user_data_dir("agentd"))


def test_permissions_are_private_whatever_the_umask(home: Path) -> None:
    old = os.umask(0)
    try:
        history = HistoryStore(home)
        path = make_record(history)
        history.close()
    finally:
        os.umask(old)
    sessions = home / "sessions"
    for directory in (home, sessions, *path.relative_to(sessions).parents):
        target = sessions / directory if not directory.is_absolute() else directory
        assert stat.S_IMODE(target.stat().st_mode) == 0o700, target
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for index_file in home.glob("index.sqlite3*"):
        assert stat.S_IMODE(index_file.stat().st_mode) == 0o600, index_file


def test_round_trip_of_every_record_kind(store: HistoryStore) -> None:
    image = {
        "path": "a.png",
        "mimeType": "image/png",
        "dataUrl": "data:image/png;base64,AA==",
        "byteSize": 1,
    }
    with store.create_record(
        provider="openrouter",
        model="x/y",
        thinking_level="HIGH",
        cwd="/work",
        open_router_provider="any",
        created_at="2026-03-04T05:06:07.008Z",
    ) as journal:
        journal.append(TurnStart("t1", "2026-03-04T05:06:08.000Z"))
        journal.append(Message("user", 'look\n\u2028at this "image"', images=[image], turn_id="t1"))
        call = ToolCall("c1", "bash", '{"command": "ls"}')
        journal.append(Message("assistant", "", tool_calls=[call], turn_id="t1"))
        journal.append(Message("tool", "a.png\n", tool_call_id="c1", turn_id="t1"))
        journal.append(Message("assistant", "done", turn_id="t1"))
        journal.append(TurnEnd("t1", "2026-03-04T05:06:09.000Z", "completed"))
        journal.append(MetaUpdate("2026-03-04T05:06:10.000Z", title="renamed", model="x/z"))
        path = journal.path
    view = read_record(path)
    assert view.problems == ()
    assert [m.index for m in view.messages] == [0, 1, 2, 3]
    assert view.messages[0].images == (image,)
    assert view.messages[0].text == 'look\n\u2028at this "image"'
    assert view.messages[1].tool_calls == (call,)
    assert view.messages[2].tool_call_id == "c1"
    meta = view.meta
    assert (meta.title, meta.model, meta.provider, meta.cwd) == (
        "renamed",
        "x/z",
        "openrouter",
        "/work",
    )
    assert meta.updated_at == "2026-03-04T05:06:10.000Z"
    assert meta.message_count == 4
    assert [(t.turn_id, t.status) for t in view.turns] == [("t1", "completed")]
    assert view.summary().to_dict()["openRouterProvider"] == "any"
    assert path.read_bytes().count(b"\n") == 8  # U+2028 never splits a line


def test_failed_turn_messages_are_kept_but_marked(store: HistoryStore) -> None:
    with store.create_record(provider="openai", model="m", thinking_level="OFF") as journal:
        write_turn(journal, "t1", "q1", "a1", "2026-01-01T00:00:00.000Z")
        journal.append(TurnStart("t2", "2026-01-01T00:00:01.000Z"))
        journal.append(Message("user", "q2"))  # no turn_id: belongs to the open turn
        journal.append(TurnEnd("t2", "2026-01-01T00:00:02.000Z", "error", error_kind="auth"))
        journal.append(Message("user", "q3", turn_id="t3"))
        journal.append(TurnEnd("t3", "2026-01-01T00:00:03.000Z", "interrupted"))
        path = journal.path
    view = read_record(path)
    assert [m.text for m in view.messages] == ["q1", "a1", "q2", "q3"]
    assert view.failed_turn_ids == {"t2"}
    assert [view.in_failed_turn(i) for i in range(4)] == [False, False, True, False]
    assert [m.text for m in view.context_messages()] == ["q1", "a1", "q3"]
    assert view.turns[1].error_kind == "auth"
    result = store.get(id=view.meta.id)
    assert result["messages"][2] == {"role": "user", "text": "q2", "failed_turn": True}
    assert "failed_turn" not in result["messages"][3]


def test_unfinished_turn_is_incomplete_and_kept(store: HistoryStore) -> None:
    with store.create_record(provider="openai", model="m", thinking_level="OFF") as journal:
        journal.append(TurnStart("t1", "2026-01-01T00:00:00.000Z"))
        journal.append(Message("user", "q1"))
        path = journal.path
    view = read_record(path)
    assert [(t.turn_id, t.status) for t in view.turns] == [("t1", "incomplete")]
    assert [m.text for m in view.context_messages()] == ["q1"]


def test_open_continues_indexes_and_appends(store: HistoryStore) -> None:
    path = make_record(store, turns=2)
    with Journal.open(path) as journal:
        assert [m.text for m in journal.view.messages][-1] == "answer 1"
        written = journal.append(Message("user", "more"))
        assert isinstance(written, Message) and written.index == 4
        assert journal.meta.message_count == 5
    assert read_record(path).meta.message_count == 5


def test_fsync_policy(store: HistoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_record(store, turns=0)
    calls: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)

    def count(policy: str, record: object, sync: bool | None = None) -> int:
        calls.clear()
        with Journal.open(path, fsync=policy) as journal:  # type: ignore[arg-type]
            journal.append(record, sync=sync)  # type: ignore[arg-type]
        return len(calls)

    user = Message("user", "q")
    assistant = Message("assistant", "a")
    end = TurnEnd("t", "2026-01-01T00:00:00.000Z", "completed")
    assert (count("turn", user), count("turn", assistant), count("turn", end)) == (1, 0, 1)
    assert count("turn", assistant, sync=True) == 1
    assert count("turn", user, sync=False) == 0
    assert (count("always", assistant), count("never", user), count("never", end)) == (1, 0, 0)
    assert is_sync_point(user) and is_sync_point(end) and not is_sync_point(assistant)
    assert not is_sync_point(TurnStart("t", "x"))

    calls.clear()
    history = HistoryStore(store.home, fsync="turn")
    with history.create_record(provider="openai", model="m", thinking_level="OFF"):
        pass
    history.close()
    assert len(calls) >= 2  # the new file and its directory


def test_journal_rejects_a_second_meta_and_use_after_close(store: HistoryStore) -> None:
    journal = store.create_record(provider="openai", model="m", thinking_level="OFF")
    meta = journal.meta
    with pytest.raises(ValueError, match="session_meta"):
        journal.append(meta)
    journal.close()
    journal.close()
    with pytest.raises(ValueError, match="closed"):
        journal.append(Message("user", "late"))


def test_invalid_record_id_cannot_escape(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="invalid history record id"):
        store.create_record(provider="p", model="m", thinking_level="t", record_id="../../x")


def test_secrets_are_redacted_on_disk(store: HistoryStore) -> None:
    key = "sk-proj-" + "A1b2C3d4" * 5
    with store.create_record(
        provider="openai", model="m", thinking_level="OFF", title=f"use {key}"
    ) as journal:
        journal.append(Message("user", f"my key is {key}"))
        call = ToolCall(
            "c", "bash", '{"command": "curl -H \'Authorization: Bearer abcdef123456789\'"}'
        )
        journal.append(Message("assistant", "", tool_calls=[call]))
        journal.append(TurnEnd("t", "2026-01-01T00:00:00.000Z", "error", message=f"bad {key}"))
        path = journal.path
    raw = path.read_text()
    assert key not in raw and "abcdef123456789" not in raw
    assert raw.count("[REDACTED]") == 4


# -- torn and damaged files ------------------------------------------------------------------


def test_torn_last_line_is_ignored_then_cut_before_the_next_append(store: HistoryStore) -> None:
    path = make_record(store, turns=1)
    whole = path.read_bytes()
    with path.open("ab") as handle:
        handle.write(b'{"type":"message","index":2,"role":"user","text":"torn-mar')
    view = read_record(path)
    assert [m.text for m in view.messages] == ["question 0", "answer 0"]
    assert [p.kind for p in view.problems] == ["torn_tail"]
    with Journal.open(path) as journal:
        assert path.read_bytes().endswith(b"torn-mar")  # nothing changes until an append
        journal.append(Message("user", "after the crash"))
    data = path.read_bytes()
    assert data.startswith(whole) and data.endswith(b"\n")
    assert b"torn-mar" not in data
    assert read_record(path).problems == ()
    assert [m.text for m in read_record(path).messages][-1] == "after the crash"


def test_unparsable_last_line_with_newline_is_a_torn_tail(store: HistoryStore) -> None:
    path = make_record(store, turns=1)
    with path.open("ab") as handle:
        handle.write(b'{"type":"message","ind\n')
    assert [p.kind for p in read_record(path).problems] == ["torn_tail"]
    with Journal.open(path) as journal:
        journal.append(Message("user", "next"))
    assert read_record(path).problems == ()


def test_bad_middle_line_is_skipped_and_reported(
    store: HistoryStore, caplog: pytest.LogCaptureFixture
) -> None:
    path = make_record(store, turns=2)
    lines = path.read_bytes().split(b"\n")
    lines.insert(3, b"\x00garbage{")
    lines.insert(5, b'{"type":"message","role":"robot","text":"?"}')
    path.write_bytes(b"\n".join(lines))
    with caplog.at_level(logging.WARNING, logger="agentd.store"):
        view = read_record(path)
    assert [(p.line, p.kind) for p in view.problems] == [(4, "unparsable"), (6, "invalid_record")]
    assert [m.text for m in view.messages] == ["question 0", "answer 0", "question 1", "answer 1"]
    assert "line 4" in caplog.text and "line 6" in caplog.text
    with Journal.open(path) as journal:
        assert len(journal.view.problems) == 2
        journal.append(Message("user", "still appendable"))
    assert b"\x00garbage{" in path.read_bytes()  # reported, never silently dropped from disk
    assert read_record(path).messages[-1].text == "still appendable"


def test_file_without_meta_cannot_be_read(store: HistoryStore, home: Path) -> None:
    path = make_record(store)
    path.write_bytes(path.read_bytes().split(b"\n", 1)[1])
    with pytest.raises(HistoryNotFoundError, match=f"failed to load chat: {re.escape(str(path))}"):
        read_record(path)
    with pytest.raises(HistoryNotFoundError):
        Journal.open(path)


def test_reads_a_reference_written_file(tmp_path: Path) -> None:
    path = tmp_path / "rollout-20261128-200102065-abc.jsonl"
    meta = {
        "type": "session_meta",
        "id": "abc",
        "title": "hi",
        "provider": "openrouter",
        "model": "m",
        "thinkingLevel": "OFF",
        "openRouterProvider": "any",
        "createdAt": "2026-11-28T20:01:02.065Z",
        "updatedAt": "2026-11-28T20:01:09.000Z",
        "messageCount": 2,
    }
    rows = [
        meta,
        {"type": "message", "index": 0, "role": "user", "text": "hi"},
        {"type": "message", "index": 1, "role": "assistant", "text": "hello"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    view = read_record(path)
    assert view.meta == SessionMeta.from_dict(meta)
    assert [m.role for m in view.messages] == ["user", "assistant"]


# -- locking ---------------------------------------------------------------------------------

_TRY_OPEN = """
import sys
from agentd.store import Journal, RecordLockedError
try:
    Journal.open(sys.argv[1])
except RecordLockedError as exc:
    print(exc.reason, exc, sep="|")
else:
    print("opened")
"""


def test_second_process_gets_record_locked(store: HistoryStore) -> None:
    path = make_record(store, record_id="locked-1")
    with Journal.open(path):
        result = run_python(_TRY_OPEN, str(path))
        assert result.stdout.strip() == (
            "record_locked|history record locked-1 is in use by another agentd process"
        ), result.stderr
    assert run_python(_TRY_OPEN, str(path)).stdout.strip() == "opened"


def test_lock_held_by_another_process(store: HistoryStore) -> None:
    path = make_record(store, record_id="locked-2")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom agentd.store import Journal\n"
            "j = Journal.open(sys.argv[1]); print('held', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2])),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RecordLockedError) as caught:
            Journal.open(path)
        assert caught.value.reason == "record_locked"
        assert str(caught.value) == "history record locked-2 is in use by another agentd process"
        with pytest.raises(RecordLockedError):
            store.open_record("locked-2")
    finally:
        holder.communicate("", timeout=10)
    Journal.open(path).close()


def test_same_process_cannot_open_twice(store: HistoryStore) -> None:
    path = make_record(store)
    with Journal.open(path), pytest.raises(RecordLockedError):
        Journal.open(path)


# -- write errors ----------------------------------------------------------------------------

_FILL_DISK = """
import json, os, resource, signal, sys
from agentd.store import Journal, Message, StoreWriteError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so write() fails with EFBIG instead of killing us
path = sys.argv[1]
journal = Journal.open(path, fsync="always")
before = os.path.getsize(path)
resource.setrlimit(resource.RLIMIT_FSIZE, (before + 100, before + 100))
out = {"before": before}
try:
    journal.append(Message("user", "x" * 1000))
except StoreWriteError as exc:
    out.update(reason=exc.reason, errno=exc.errno, message=str(exc))
out["after_error"] = os.path.getsize(path)
journal.append(Message("user", "small"))
out["after_small"] = os.path.getsize(path)
journal.close()
print(json.dumps(out))
"""


def test_file_size_limit_raises_store_write_error_and_keeps_the_file_valid(
    store: HistoryStore,
) -> None:
    path = make_record(store, record_id="full-1")
    result = run_python(_FILL_DISK, str(path))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["reason"] == "store_write_failed"
    assert out["errno"] == errno.EFBIG
    assert out["message"].startswith("failed to append to history record full-1: ")
    assert out["after_error"] == out["before"]  # the partial line was cut back
    assert out["after_small"] > out["before"]
    view = read_record(path)
    assert view.problems == ()
    assert [m.text for m in view.messages] == ["question 0", "answer 0", "small"]
