"""Session and turn semantics in process: a real core on the scripted provider, no daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from agentd.api.errors import to_rpc_error
from agentd.api.projection import Projector, session_state
from agentd.core.errors import CoreError
from agentd.core.events import EventBus
from agentd.core.images import ImageError, load_image, normalise_images, with_placeholders
from agentd.core.manager import SessionManager
from agentd.core.recorder import UNFINISHED_TOOL_RESULT, answer_every_tool_call, title_for
from agentd.core.runtime import Runtime
from agentd.core.toolset import ToolSet
from agentd.core.turn import thought_title
from agentd.providers.base import ChatMessage, ToolCall
from agentd.providers.registry import ProviderConfig, ProviderRegistry
from agentd.tools.registry import default_registry

FIXTURE_SCRIPTS = Path(__file__).resolve().parents[2] / "fixtures" / "scripts"
Event = tuple[str, dict[str, Any]]


def make_manager(tmp_path: Path) -> tuple[SessionManager, list[Event]]:
    events: list[Event] = []
    bus = EventBus()
    projector = Projector(lambda type_, _ts, payload: events.append((type_, payload)), dict)
    bus.subscribe(projector)
    scripted = ProviderConfig(
        "scripted",
        "agentd.providers.scripted:ScriptedProvider",
        {"script_dirs": [FIXTURE_SCRIPTS]},
        "echo",
    )
    runtime = Runtime(
        bus=bus,
        providers=ProviderRegistry({"scripted": scripted}),
        tools=ToolSet(default_registry()),
        default_cwd=tmp_path,
    )
    return SessionManager(runtime), events


async def test_a_turn_commits_its_messages(tmp_path: Path) -> None:
    manager, events = make_manager(tmp_path)
    session = manager.create()
    result = session.send("hello", None, enqueue=False)
    assert session.pending and session.status_label == "preparing..."
    await asyncio.wait_for(session.wait_idle(10), 15)
    assert [(m.role, m.text) for m in session.history] == [
        ("user", "hello"),
        ("assistant", "You said: hello"),
    ]
    assert session_state(session)["activeTurnId"] is None
    ends = [p for t, p in events if t == "session.completed"]
    assert [p["turn_id"] for p in ends] == [result.turn_id]


async def test_busy_session_refuses_or_queues(tmp_path: Path) -> None:
    manager, _ = make_manager(tmp_path)
    session = manager.create(model="short_slow")
    session.send("one", None, enqueue=False)
    with pytest.raises(CoreError) as busy:
        session.send("two", None, enqueue=False)
    assert busy.value.reason == "session_busy"
    queued = session.send("two", None, enqueue=True)
    assert queued.queued is True and [q.text for q in session.queue] == ["two"]
    assert session.queue_remove(queued.turn_id) is True
    assert session.interrupt() is True and session.interrupt() is False
    await asyncio.wait_for(session.wait_idle(10), 15)
    assert not session.pending and session.status_label == "ready"


async def test_empty_prompt_is_invalid_state(tmp_path: Path) -> None:
    manager, _ = make_manager(tmp_path)
    with pytest.raises(CoreError) as error:
        manager.create().send("   ", [], enqueue=False)
    assert error.value.reason == "invalid_state"


async def test_unknown_session_and_bad_cwd(tmp_path: Path) -> None:
    manager, _ = make_manager(tmp_path)
    with pytest.raises(CoreError) as missing:
        manager.get("nope")
    assert to_rpc_error(missing.value, "session.get").code == -32001  # type: ignore[union-attr]
    with pytest.raises(CoreError) as cwd:
        manager.create(cwd=str(tmp_path / "missing"))
    mapped = to_rpc_error(cwd.value, "session.create")
    assert mapped is not None and mapped.data == {"reason": "invalid_params", "field": "cwd"}


async def test_clear_interrupts_and_forgets(tmp_path: Path) -> None:
    manager, events = make_manager(tmp_path)
    session = manager.create(model="hang")
    session.send("wait", None, enqueue=False)
    await asyncio.sleep(0.05)
    await asyncio.wait_for(session.clear(), 15)
    assert session.history == [] and session.transcript == [] and not session.pending
    assert [t for t, _ in events].count("session.interrupted") == 1


def test_every_tool_call_gets_an_answer() -> None:
    call = ToolCall("c1", "bash", {})
    other = ToolCall("c2", "read_file", {})
    messages = [
        ChatMessage("user", "go"),
        ChatMessage("assistant", "", tool_calls=(call, other)),
        ChatMessage("tool", "ok", tool_call_id="c1"),
        ChatMessage("user", "next"),
    ]
    repaired = answer_every_tool_call(messages)
    assert [(m.role, m.tool_call_id) for m in repaired] == [
        ("user", None),
        ("assistant", None),
        ("tool", "c1"),
        ("tool", "c2"),
        ("user", None),
    ]
    assert repaired[3].text == UNFINISHED_TOOL_RESULT
    assert answer_every_tool_call(repaired) == repaired  # nothing left to repair


def test_titles_and_thought_labels() -> None:
    assert title_for("  many   words\nhere ") == "many words here"
    assert title_for("x" * 100) == "x" * 77 + "..."
    assert thought_title("**Planning Reply**\n\nmore") == "planning reply"
    assert thought_title("First line\nsecond") == "first line"
    assert thought_title("   ") == "reasoning"


def test_images_rows_placeholders_and_errors(tmp_path: Path) -> None:
    rows = normalise_images([{"path": " a.png "}, {"dataUrl": "data:x"}])
    assert rows == [{"path": "a.png"}, {"path": "", "data_url": "data:x"}]
    assert normalise_images(None) == []
    for bad in ("not a list", [{"path": "a.png"}, "bad"], [{"path": ""}], {"path": "a"}):
        with pytest.raises(CoreError) as refused:
            normalise_images(bad)
        assert refused.value.reason == "invalid_params"
    assert with_placeholders("see [image 1]", 2) == "see [image 1] [Image 2]"
    assert with_placeholders("", 1) == "[Image 1]"
    with pytest.raises(ImageError, match="file not found"):
        load_image({"path": "missing.png"}, tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ImageError, match="unsupported image type"):
        load_image({"path": "notes.txt"}, tmp_path)
    with pytest.raises(ImageError, match="unsupported image mime type"):
        load_image({"path": "", "data_url": "data:text/plain;base64,eA=="}, tmp_path)
    with pytest.raises(ImageError, match="payload is empty"):
        load_image({"path": "", "data_url": "data:image/png;base64,"}, tmp_path)


async def test_store_waits_are_bounded_and_late_results_released(tmp_path: Path) -> None:
    import threading

    from agentd.core.recorder import HistoryTimeoutError, HistoryWriter

    writer = HistoryWriter(tmp_path)
    gate = threading.Event()
    released: list[str] = []

    def slow() -> str:
        gate.wait(10)
        return "journal"

    with pytest.raises(HistoryTimeoutError) as timeout:
        await writer.run(slow, timeout=0.05, abandoned=released.append)
    assert timeout.value.reason == "store_timeout"
    gate.set()
    assert await writer.run(lambda: "next") == "next"  # FIFO: the slow job finished first
    await asyncio.sleep(0)
    assert released == ["journal"]
    await writer.close(5)
