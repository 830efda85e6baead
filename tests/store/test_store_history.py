"""The facade: history.list pagination, history.get lookup rules, errors and confinement."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from agentd.store import (
    HistoryNotFoundError,
    HistoryStore,
    PathOutsideHistoryError,
    StoreError,
    normalise_cursor,
    normalise_limit,
)

from .store_helpers import make_record

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


@pytest.fixture
def five(store: HistoryStore) -> list[Path]:
    """Five records updated on days 1..5; r1 and r1b tie on updatedAt (id breaks the tie)."""
    days = {"r1": 1, "r1b": 1, "r2": 2, "r3": 3, "r4": 4}
    return [
        make_record(store, record_id=rid, updated_at=f"2026-01-0{day}T00:00:00.000Z")
        for rid, day in days.items()
    ]


def ids(result: dict[str, Any]) -> list[str]:
    return [row["id"] for row in result["sessions"]]


def test_list_shape_and_order(store: HistoryStore, five: list[Path]) -> None:
    result = store.list()
    assert list(result) == ["total", "cursor", "limit", "sessions", "next_cursor"]
    assert (result["total"], result["cursor"], result["limit"], result["next_cursor"]) == (
        5,
        0,
        100,
        None,
    )
    assert ids(result) == ["r4", "r3", "r2", "r1", "r1b"]
    first = result["sessions"][0]
    assert list(first) == SUMMARY_KEYS
    assert first["rolloutPath"] == str(five[-1]) and os.path.isabs(first["rolloutPath"])
    assert first["messageCount"] == 2


@pytest.mark.parametrize(
    ("limit", "cursor", "expect_limit", "expect_cursor", "expect_ids", "next_cursor"),
    [
        (None, None, 100, 0, ["r4", "r3", "r2", "r1", "r1b"], None),
        (0, 0, 100, 0, ["r4", "r3", "r2", "r1", "r1b"], None),
        (-5, None, 1, 0, ["r4"], 1),
        (1.7, None, 1, 0, ["r4"], 1),
        (2, None, 2, 0, ["r4", "r3"], 2),
        (2, 2, 2, 2, ["r2", "r1"], 4),
        (2, 4, 2, 4, ["r1b"], None),
        (2, 3.9, 2, 3, ["r1", "r1b"], None),
        (2, -3, 2, 0, ["r4", "r3"], 2),
        (10, 5, 10, 5, [], None),
        (10, 99, 10, 99, [], None),
        (1e30, 1e30, 2**62, 2**62, [], None),
    ],
)
def test_pagination(
    store: HistoryStore,
    five: list[Path],
    limit: float | None,
    cursor: float | None,
    expect_limit: int,
    expect_cursor: int,
    expect_ids: list[str],
    next_cursor: int | None,
) -> None:
    result = store.list(limit, cursor)
    assert result["total"] == 5  # the real total, whatever the page
    assert (result["limit"], result["cursor"]) == (expect_limit, expect_cursor)
    assert ids(result) == expect_ids
    assert result["next_cursor"] == next_cursor


def test_paging_through_everything(store: HistoryStore, five: list[Path]) -> None:
    seen: list[str] = []
    cursor: int | None = 0
    while cursor is not None:
        page = store.list(limit=2, cursor=cursor)
        seen += ids(page)
        cursor = page["next_cursor"]
    assert seen == ["r4", "r3", "r2", "r1", "r1b"]


def test_normalisation_rejects_non_finite() -> None:
    assert (normalise_limit(None), normalise_limit(0), normalise_limit(0.5)) == (100, 100, 1)
    assert (normalise_cursor(None), normalise_cursor(-0.5), normalise_cursor(2.5)) == (0, 0, 2)
    with pytest.raises(ValueError):
        normalise_limit(float("nan"))
    with pytest.raises(ValueError):
        normalise_cursor(float("inf"))


def test_empty_history(store: HistoryStore) -> None:
    assert store.list() == {
        "total": 0,
        "cursor": 0,
        "limit": 100,
        "sessions": [],
        "next_cursor": None,
    }
    with pytest.raises(HistoryNotFoundError, match=r"^no saved chat history yet$") as caught:
        store.get(last=True)
    assert caught.value.reason == "history_not_found"


def test_get_requires_something(store: HistoryStore, five: list[Path]) -> None:
    message = r"^history\.get requires one of: id, last, rollout_path$"
    with pytest.raises(HistoryNotFoundError, match=message):
        store.get()
    with pytest.raises(HistoryNotFoundError, match=message):
        store.get(id="", rollout_path="")


def test_get_precedence_last_then_path_then_id(store: HistoryStore, five: list[Path]) -> None:
    assert store.get(last=True, rollout_path=str(five[0]), id="r2")["id"] == "r4"
    assert store.get(rollout_path=str(five[0]), id="r2")["id"] == "r1"
    assert store.get(id="r2")["id"] == "r2"
    result = store.get(last=True)
    assert list(result) == [*SUMMARY_KEYS, "messages"]
    assert result["messages"] == [
        {"role": "user", "text": "question 0"},
        {"role": "assistant", "text": "answer 0"},
    ]


def test_id_lookup(store: HistoryStore) -> None:
    for rid in ("abc12345-one", "abd99999-two", "Zed-Case", "abc", "abcd-longer"):
        make_record(store, record_id=rid)
    assert store.get(id="abc12")["id"] == "abc12345-one"  # unique prefix
    assert store.get(id="ABD9")["id"] == "abd99999-two"  # case-insensitive prefix
    assert store.get(id="zed-case")["id"] == "Zed-Case"  # case-insensitive exact id
    assert store.get(id="abc")["id"] == "abc"  # exact beats ambiguous prefix
    for bad in ("ab", "abc1234567", "nothing", "   "):
        with pytest.raises(HistoryNotFoundError) as caught:
            store.get(id=bad)
        assert str(caught.value) == f"no saved chat matched id: {bad}"
    assert store.open_record("zed").id == "Zed-Case"


def test_rollout_path_confinement(store: HistoryStore, home: Path, tmp_path: Path) -> None:
    inside = make_record(store, record_id="in")
    outside = tmp_path / "outside"
    outside.mkdir()
    stray = outside / "rollout-20260101-000000000-out.jsonl"
    stray.write_bytes(inside.read_bytes())
    link = inside.parent / "rollout-20260101-000000000-link.jsonl"
    link.symlink_to(stray)
    (store.sessions_dir / "dirlink").symlink_to(outside, target_is_directory=True)
    dotdot = store.sessions_dir / "2026" / ".." / ".." / "index.sqlite3"
    escapes = [
        str(dotdot),
        str(store.sessions_dir / ".." / ".." / "outside" / stray.name),
        str(link),
        str(store.sessions_dir / "dirlink" / stray.name),
        str(stray),
        "/etc/passwd",
        str(store.sessions_dir),
        str(home),
    ]
    for path in escapes:
        with pytest.raises(PathOutsideHistoryError) as caught:
            store.get(rollout_path=path)
        assert caught.value.reason == "path_outside_history"
        assert isinstance(caught.value, StoreError)
        with pytest.raises(PathOutsideHistoryError):
            store.open_record(path)
    missing = str(inside.parent / "rollout-20260101-000000000-none.jsonl")
    with pytest.raises(HistoryNotFoundError) as not_found:
        store.get(rollout_path=missing)
    assert str(not_found.value) == f"failed to load chat: {missing}"
    assert store.get(rollout_path=str(inside))["id"] == "in"
    roundabout = store.sessions_dir / "2026" / ".." / str(inside.relative_to(store.sessions_dir))
    assert store.get(rollout_path=str(roundabout))["rolloutPath"] == str(inside)


def test_relative_rollout_path_is_resolved_from_the_cwd(
    store: HistoryStore, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inside = make_record(store, record_id="rel")
    monkeypatch.chdir(home)
    assert store.get(rollout_path=str(inside.relative_to(home)))["id"] == "rel"
    with pytest.raises(PathOutsideHistoryError):
        store.get(rollout_path="index.sqlite3")


def test_invalid_file_inside_fails_to_load(store: HistoryStore) -> None:
    inside = make_record(store)
    sidecar = inside.parent / "rollout-x.compact.events.jsonl"
    sidecar.write_text('{"index":0,"type":"user_msg"}\n')
    with pytest.raises(HistoryNotFoundError, match=r"^failed to load chat: "):
        store.get(rollout_path=str(sidecar))
    assert store.list()["total"] == 1


def test_vanished_file_is_noticed(home: Path) -> None:
    history = HistoryStore(home, refresh_interval=3600)
    make_record(history, record_id="old", updated_at="2026-01-01T00:00:00.000Z")
    gone = make_record(history, record_id="new", updated_at="2026-01-02T00:00:00.000Z")
    history.refresh()
    gone.unlink()
    assert history.get(last=True)["id"] == "old"
    with pytest.raises(HistoryNotFoundError, match="no saved chat matched id: new"):
        history.get(id="new")
    history.close()


def test_resume_through_open_record(store: HistoryStore) -> None:
    path = make_record(store, record_id="resume-me", turns=2)
    with store.open_record("resume") as journal:
        assert journal.path == path
        assert [m.text for m in journal.view.context_messages()][-1] == "answer 1"
    with store.open_record(path) as journal:
        assert journal.id == "resume-me"
    with pytest.raises(HistoryNotFoundError, match="no saved chat matched id: nope"):
        store.open_record("nope")
