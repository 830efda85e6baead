"""Issue 10 item 5: a lone surrogate in a title or prompt must not lose the prompt or break
history for good. Text is made safe at the params edge; every store writer is total; an
unexpected store exception is a storage error, never "upstream"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentd.core.recorder import HistoryWriter
from agentd.store import HistoryStore, StoreError, UnexpectedStoreError, read_record
from agentd.store.state import Summary
from agentd.text import safe_text
from tests.history.conftest import close, record_files, spawn

from .helpers import ascii_call


@pytest.mark.parametrize("where", ["title", "prompt"])
async def test_lone_surrogate_title_keeps_prompt_and_history(
    where: str, home: Path, workspace: Path
) -> None:
    for round_ in range(2):  # the second daemon on the same home must still read it all
        client = await spawn(home, workspace)
        try:
            params = {"title": "t\ud800itle"} if where == "title" else {}
            created = await ascii_call(client, "session.create", params)
            session_id = created["session_id"]
            for n in range(2):  # the second prompt retitles the record (as in the report)
                sent = await ascii_call(
                    client, "session.send", {"session_id": session_id, "text": f"hi\udc80 {n}"}
                )
                events = await client.turn_events(sent["turn_id"], timeout=20)
                assert "session.completed" in [e["type"] for e in events]
            listed = await client.call("history.list", {})
            assert listed["total"] == round_ + 1
            for row in listed["sessions"]:
                got = await client.call("history.get", {"id": row["id"]})
                texts = [m["text"] for m in got["messages"] if m["role"] == "user"]
                assert texts == ["hi\ufffd 0", "hi\ufffd 1"]
        finally:
            assert await close(client) == 0
    for path in record_files(home):
        assert read_record(path).problems == ()


def test_index_takes_a_summary_with_surrogates(tmp_path: Path) -> None:
    """A file written by another tool may carry an escaped lone surrogate: it is indexed."""
    store = HistoryStore(tmp_path, refresh_interval=0)
    journal = store.create_record(provider="scripted", model="echo", thinking_level="")
    journal.close()
    path = journal.path
    lines = path.read_bytes().split(b"\n")
    meta = json.loads(lines[0])
    meta["title"] = "bad \ud800 title"
    lines[0] = json.dumps(meta).encode("ascii")
    path.write_bytes(b"\n".join(lines))
    page = store.list()
    assert page["total"] == 1
    assert page["sessions"][0]["title"] == "bad \ufffd title"
    summary = Summary("x\udfff", "t\ud800", "p", "m", "", "c", "u", 0, str(tmp_path / "nowhere"))
    store.index.upsert(summary, 1, 1)  # total: never raises
    store.close()


async def test_unexpected_store_exception_is_a_store_error(tmp_path: Path) -> None:
    writer = HistoryWriter(tmp_path)

    def broken() -> None:
        "\ud800".encode()

    with pytest.raises(UnexpectedStoreError) as caught:
        await writer.run(broken)
    assert isinstance(caught.value, StoreError)
    assert caught.value.reason == "store_failed"
    await writer.close(5)


def test_safe_text_properties() -> None:
    for text in ["", "ascii", "nul\x00kept", "\ud83d\ude00", "😀", "\udc80" * 3, "a\ud800\udc00"]:
        safe = safe_text(text)
        safe.encode("utf-8")  # always encodable
        assert len(safe) == len(text)
        assert "\x00" not in text or "\x00" in safe


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    return root
