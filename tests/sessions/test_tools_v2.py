"""apply_patch, MCP servers and the per-round bound through the real daemon (scripted model)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from agentd.client import AgentdClient, AgentdError, Event

from .conftest import FIXTURE_SCRIPTS, first, new_session, terminal_events

SERVER = Path(__file__).resolve().parents[2] / "fixtures" / "mcp" / "server.py"


def stdio_server(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "command": sys.executable, "args": [str(SERVER), name], **extra}


async def spawn(tmp_path: Path, workspace: Path, config: str = "") -> AgentdClient:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(config)
    return await AgentdClient.spawn(
        ["--scripts-dir", str(FIXTURE_SCRIPTS)],
        env={**os.environ, "AGENTD_HOME": str(home)},
        cwd=str(workspace),
    )


@pytest_asyncio.fixture
async def bounded(tmp_path: Path, workspace: Path) -> AsyncIterator[AgentdClient]:
    client = await spawn(tmp_path, workspace, "[tools]\nmax_calls_per_round = 10\n")
    yield client
    assert await client.close() == 0


@pytest_asyncio.fixture
async def configured(tmp_path: Path, workspace: Path) -> AsyncIterator[AgentdClient]:
    marker = tmp_path / "marker"
    config = (
        "[mcp_servers.fx]\n"
        f"command = {sys.executable!r}\n"
        f"args = [{str(SERVER)!r}, 'fx']\n"
        f"env = {{ MCP_MARKER = {str(marker)!r} }}\n"
        "[mcp_servers.broken]\n"
        "args = ['no command']\n"
    )
    client = await spawn(tmp_path, workspace, config)
    yield client
    assert await client.close() == 0


def mcp_statuses(events: list[Event]) -> list[tuple[str, str]]:
    return [
        (e["payload"]["server"], e["payload"]["status"])
        for e in events
        if e["type"] == "session.mcp.status"
    ]


async def test_apply_patch_through_the_daemon(daemon: AgentdClient, workspace: Path) -> None:
    sid = await new_session(daemon, model="patch_call")
    sent = await daemon.send(sid, "patch it")
    events = await daemon.turn_events(sent["turn_id"])
    executed = first(events, "session.tool.call.completed")["payload"]["data"]["executed"]
    assert executed["ok"] is True
    assert executed["result"] == "Success. Updated the following files:\nM README.md (+1 -1)"
    assert (workspace / "README.md").read_text() == "alpha\ngamma\n"
    listed = await daemon.call("tools.list")
    assert "apply_patch" in {tool["name"] for tool in listed["tools"]}


async def test_read_only_refuses_apply_patch(daemon: AgentdClient, workspace: Path) -> None:
    sid = await new_session(daemon, model="patch_call", approval_policy="read_only")
    events = await daemon.turn_events((await daemon.send(sid, "patch it"))["turn_id"])
    executed = first(events, "session.tool.call.completed")["payload"]["data"]["executed"]
    assert executed["ok"] is False and "read-only" in executed["error"]
    assert (workspace / "README.md").read_text() == "alpha\nbeta\n"


async def test_ask_shows_the_patch(daemon: AgentdClient, workspace: Path) -> None:
    asked: list[Any] = []

    async def deny(method: str, params: Any) -> Any:
        asked.append(params)
        return {"decision": "deny"}

    daemon.request_handler = deny
    sid = await new_session(daemon, model="patch_call", approval_policy="ask")
    await daemon.turn_events((await daemon.send(sid, "patch it"))["turn_id"])
    [params] = asked
    assert params["call"]["name"] == "apply_patch"
    assert "+gamma" in params["call"]["input"]["input"]
    assert (workspace / "README.md").read_text() == "alpha\nbeta\n"


async def test_fifty_calls_in_one_round_are_bounded(bounded: AgentdClient) -> None:
    sid = await new_session(bounded, model="fifty_calls")
    events = await bounded.turn_events((await bounded.send(sid, "read a lot"))["turn_id"])
    results = first(events, "session.tool.results")["payload"]["data"]["executed"]
    assert len(results) == 50
    assert all(r["ok"] for r in results[:10])
    assert not any(r["ok"] for r in results[10:])
    assert "at most 10 tool calls run per model round" in results[10]["error"]
    assert terminal_events(events)[0]["type"] == "session.completed"


async def test_mcp_from_config(configured: AgentdClient) -> None:
    sid = await new_session(configured, model="mcp_echo")
    started = time.monotonic()
    sent = await configured.send(sid, "use mcp")
    events = await configured.turn_events(sent["turn_id"])
    assert time.monotonic() - started < 20
    statuses = mcp_statuses(events)
    assert ("broken", "failed") in statuses
    assert statuses.index(("fx", "starting")) < statuses.index(("fx", "ready"))
    broken = first(events, "session.mcp.status", server="broken")["payload"]
    assert "exactly one of 'command'" in broken["reason"]
    executed = first(events, "session.tool.call.completed")["payload"]["data"]["executed"]
    assert executed["ok"] is True, executed
    assert executed["result"]["content"] == [{"type": "text", "text": "fx: hello"}]
    assert terminal_events(events)[0]["type"] == "session.completed"
    listed = await configured.call("tools.list", {"session_id": sid})
    names = {tool["name"] for tool in listed["tools"]}
    assert {"mcp__fx__echo", "mcp__fx__slow", "apply_patch"} <= names
    plain = await configured.call("tools.list")
    assert "mcp__fx__echo" not in {tool["name"] for tool in plain["tools"]}
    # a second turn reuses the running server: no new status events
    events = await configured.turn_events((await configured.send(sid, "again"))["turn_id"])
    assert mcp_statuses(events) == []


async def test_interrupt_during_a_long_mcp_call(configured: AgentdClient, tmp_path: Path) -> None:
    sid = await new_session(configured, model="mcp_slow")
    sent = await configured.send(sid, "go slow")
    await configured.events_until(lambda e: e["type"] == "session.tool.call.started")
    marker = tmp_path / "marker"
    deadline = time.monotonic() + 15
    while not (marker.exists() and "started" in marker.read_text()):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await configured.call("session.interrupt", {"session_id": sid})
    events = await configured.turn_events(sent["turn_id"])
    assert terminal_events(events)[0]["type"] == "session.interrupted"
    while "cancelled" not in marker.read_text():
        assert time.monotonic() < deadline, "the MCP server never saw the cancellation"
        await asyncio.sleep(0.05)


async def test_two_sessions_with_different_servers(daemon: AgentdClient) -> None:
    one = await new_session(daemon, model="echo", mcp_servers=[stdio_server("alpha")])
    two = await new_session(daemon, model="echo", mcp_servers=[stdio_server("beta")])
    first_list, second_list = await asyncio.gather(
        daemon.call("tools.list", {"session_id": one}),
        daemon.call("tools.list", {"session_id": two}),
    )
    names_one = {t["name"] for t in first_list["tools"]}
    names_two = {t["name"] for t in second_list["tools"]}
    assert "mcp__alpha__echo" in names_one and "mcp__beta__echo" not in names_one
    assert "mcp__beta__echo" in names_two and "mcp__alpha__echo" not in names_two


@pytest.mark.parametrize(
    ("servers", "fragment"),
    [
        ("nope", "must be a list"),
        ([{"name": "x"}], "exactly one of 'command'"),
        ([{"name": "x", "command": "y", "env": {"A": 1}}], "'env' must be a table of strings"),
    ],
)
async def test_bad_mcp_servers_param(daemon: AgentdClient, servers: Any, fragment: str) -> None:
    with pytest.raises(AgentdError) as caught:
        await daemon.call("session.create", {"mcp_servers": servers})
    assert caught.value.code == -32602
    assert fragment in caught.value.message
