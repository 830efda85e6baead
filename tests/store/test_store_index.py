"""The listing index: rebuildable from the files, notices other writers, shareable."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agentd.store import HistoryIndex, HistoryStore, Journal, Message, TurnEnd

from .store_helpers import make_record, run_python


def summaries(history: HistoryStore) -> list[dict[str, object]]:
    result = history.list(limit=1000)
    assert result["total"] == len(result["sessions"])
    return list(result["sessions"])


def three_records(store: HistoryStore) -> list[Path]:
    return [
        make_record(store, record_id=f"r{n}", updated_at=f"2026-01-0{n + 1}T00:00:00.000Z")
        for n in range(3)
    ]


def test_journal_keeps_the_index_current(store: HistoryStore) -> None:
    store.refresh_interval = 3600  # only the journal's own updates may explain what we see
    store.refresh()
    with store.create_record(provider="openai", model="m", thinking_level="OFF") as journal:
        journal.append(Message("user", "q"))
        assert summaries(store)[0]["messageCount"] == 1
        journal.append(Message("assistant", "a"))  # not a sync point: the index may lag...
        journal.append(TurnEnd("t", "2027-01-01T00:00:00.000Z", "completed"))
        row = summaries(store)[0]  # ...until the turn ends
        assert (row["messageCount"], row["updatedAt"]) == (2, "2027-01-01T00:00:00.000Z")
        journal.append(Message("assistant", "b"))
    assert summaries(store)[0]["messageCount"] == 3  # close flushes the rest
    assert store.refresh().read == 0  # and the index agrees with the file's size and mtime


@pytest.mark.parametrize("damage", ["delete", "garbage", "truncate", "zero"])
def test_index_is_rebuilt_from_the_files(
    home: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    history = HistoryStore(home, refresh_interval=0, fsync="never")
    three_records(history)
    before = summaries(history)
    history.close()
    index = home / "index.sqlite3"
    if damage == "delete":
        for extra in home.glob("index.sqlite3*"):
            extra.unlink()
    elif damage == "garbage":
        index.write_bytes(b"this is not a database" * 100)
    elif damage == "truncate":
        data = index.read_bytes()
        index.write_bytes(data[:100] + os.urandom(len(data) - 100))
    else:
        index.write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="agentd.store"):
        again = HistoryStore(home, refresh_interval=0)
        assert summaries(again) == before
    again.close()
    assert ("is corrupt" in caplog.text) == (damage in ("garbage", "truncate"))
    assert [r["id"] for r in before] == ["r2", "r1", "r0"]


def test_corruption_found_while_open_is_repaired(store: HistoryStore, home: Path) -> None:
    three_records(store)
    store.index._conn.close()  # simulate a damaged file under a live index
    (home / "index.sqlite3").write_bytes(b"garbage" * 1000)
    for extra in home.glob("index.sqlite3-*"):
        extra.unlink()
    store.index._conn = sqlite3.connect(home / "index.sqlite3", isolation_level=None)
    assert [r["id"] for r in summaries(store)] == ["r2", "r1", "r0"]


def test_refresh_notices_foreign_changes(store: HistoryStore, home: Path) -> None:
    paths = three_records(store)
    store.refresh()
    # another writer appends to r0 (a plain process, not through the store)
    line = b'{"type":"message","index":2,"role":"user","text":"foreign"}\n'
    meta = b'{"type":"meta_update","title":"edited","updatedAt":"2026-02-01T00:00:00.000Z"}\n'
    with paths[0].open("ab") as handle:
        handle.write(line + meta)
    paths[1].unlink()  # one file disappears
    copy = paths[2].parent / "rollout-20260105-000000000-copied.jsonl"
    shutil.copy(paths[2], copy)  # one appears (a copy: same id, other path)
    (paths[2].parent / "rollout-x.compact.events.jsonl").write_text('{"index":0}\n')  # no meta
    stats = store.refresh()
    assert (stats.read, stats.removed) == (3, 1)
    rows = summaries(store)
    assert [(r["id"], r["title"]) for r in rows] == [
        ("r0", "edited"),
        ("r2", "a chat"),
        ("r2", "a chat"),
    ]
    assert rows[0]["messageCount"] == 3
    assert store.refresh().read == 0  # the ignored sidecar is remembered, not re-read
    assert store.get(id="r2")["id"] == "r2"  # duplicate ids count as one id


def test_queries_refresh_on_their_own(home: Path) -> None:
    history = HistoryStore(home, refresh_interval=0)
    path = make_record(history, record_id="solo")
    with path.open("ab") as handle:
        handle.write(b'{"type":"message","index":2,"role":"user","text":"x"}\n')
    assert history.list()["sessions"][0]["messageCount"] == 3
    history.close()


def test_symlinks_are_not_indexed(store: HistoryStore, tmp_path: Path) -> None:
    path = make_record(store, record_id="inside")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(path, outside / "rollout-20260101-000000000-out.jsonl")
    (path.parent / "rollout-link.jsonl").symlink_to(
        outside / "rollout-20260101-000000000-out.jsonl"
    )
    (store.sessions_dir / "linkdir").symlink_to(outside, target_is_directory=True)
    store.refresh()
    assert [r["rolloutPath"] for r in summaries(store)] == [str(path)]


_OTHER_WRITER = """
import sys
from agentd.store import HistoryStore, Message, TurnEnd
history = HistoryStore(sys.argv[1], fsync="turn")
journal = history.open_record(sys.argv[2])
journal.append(Message("user", "from the other process"))
journal.append(TurnEnd("t9", "2030-01-01T00:00:00.000Z", "completed"))
journal.close()
with history.create_record(provider="openai", model="m", thinking_level="OFF", record_id="theirs"):
    pass
history.close()
"""


def test_two_processes_share_the_index(home: Path) -> None:
    history = HistoryStore(home, refresh_interval=3600)
    make_record(history, record_id="mine")
    history.refresh()
    result = run_python(_OTHER_WRITER, str(home), "mine")
    assert result.returncode == 0, result.stderr
    rows = summaries(history)  # no refresh: the other process updated the shared index
    assert [r["id"] for r in rows] == ["mine", "theirs"]
    assert (rows[0]["messageCount"], rows[0]["updatedAt"]) == (3, "2030-01-01T00:00:00.000Z")
    history.close()


def test_index_alone(home: Path) -> None:
    history = HistoryStore(home, fsync="never")
    path = make_record(history, record_id="AbC-1")
    history.close()
    index = HistoryIndex(home)
    assert index.count() == 1
    found = index.by_path(path)
    assert found is not None and found.id == "AbC-1"
    assert index.find_by_id_or_prefix("abc") == found
    assert index.last() == found
    assert index.find_by_id_or_prefix("   ") is None
    index.close()
    with Journal.open(path) as journal:
        assert journal.id == "AbC-1"


_MANY_WRITERS = """
import sys
from agentd.store import HistoryStore, Message
history = HistoryStore(sys.argv[1], fsync="never")
for n in range(40):
    with history.create_record(provider="p", model="m", thinking_level="t") as journal:
        journal.append(Message("user", f"{sys.argv[2]} {n}"))
print(history.list(limit=1)["total"])
"""


def test_concurrent_writers_wait_for_each_other(home: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _MANY_WRITERS, str(home), name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Traceback" not in err and "failed" not in err, err
    history = HistoryStore(home, refresh_interval=3600)
    assert history.list(limit=1)["total"] == 80  # every upsert landed, none was lost
    assert history.refresh().read == 0
    history.close()
