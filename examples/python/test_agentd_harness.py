"""A pytest harness for a program that embeds agentd: a real daemon per test, offline.

The scripted provider answers deterministically (``script:NAME`` in a prompt picks a script),
so tests can check what a client sees — streamed text, tool rounds, interrupts — without a
model or a network. Run: ``pytest examples/python`` (needs pytest and pytest-asyncio).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from agentd.client import AgentdClient, Event

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def agentd(tmp_path: Path) -> AsyncIterator[AgentdClient]:
    """A daemon with its own history directory and workspace; closed (and checked) after."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "README.md").write_text("# my project\n")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AGENTD_HOME"] = str(tmp_path / "home")
    client = await AgentdClient.spawn(env=env, cwd=str(workspace))
    yield client
    assert await client.close() == 0


def answer(events: list[Event]) -> str:
    return "".join(
        e["payload"]["chunk"]["answerText"] for e in events if e["type"] == "session.stream.chunk"
    )


def types(events: list[Event]) -> list[str]:
    return [e["type"] for e in events]


async def test_a_turn_streams_the_answer(agentd: AgentdClient) -> None:
    session = await agentd.create_session()
    turn = await agentd.send(session, "hello")
    events = await agentd.turn_events(turn["turn_id"])
    assert answer(events) == "You said: hello"
    assert types(events)[-2:] == ["session.completed", "session.status"]


async def test_a_tool_round_reads_the_workspace(agentd: AgentdClient) -> None:
    session = await agentd.create_session()
    turn = await agentd.send(session, "script:tool_call what is this?")
    events = await agentd.turn_events(turn["turn_id"])
    started = [e for e in events if e["type"] == "session.tool.call.started"]
    assert started[0]["payload"]["data"]["call"]["name"] == "read_file"
    assert "# my project" in answer(events)
    state = await agentd.call("session.get", {"session_id": session})
    assert [m["kind"] for m in state["messages"]] == ["user", "assistant", "assistant"]


async def test_an_interrupt_ends_the_turn(agentd: AgentdClient) -> None:
    session = await agentd.create_session()
    turn = await agentd.send(session, "script:hang")
    await agentd.events_until(lambda e: e["payload"].get("status_label") == "thinking...")
    assert (await agentd.call("session.interrupt", {"session_id": session}))["interrupted"]
    events = await agentd.turn_events(turn["turn_id"])
    assert "session.interrupted" in types(events)


async def test_the_conversation_is_saved(agentd: AgentdClient) -> None:
    session = await agentd.create_session(title="saved")
    turn = await agentd.send(session, "remember me")
    await agentd.turn_events(turn["turn_id"])
    record_id = (await agentd.call("session.get", {"session_id": session}))["record_id"]
    record = await agentd.call("history.get", {"id": record_id})
    assert [m["text"] for m in record["messages"]] == ["remember me", "You said: remember me"]
