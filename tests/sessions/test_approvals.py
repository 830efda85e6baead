"""Tool approvals: ``approval_policy`` ask / read_only, answered by the client (PROTOCOL §7)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from agentd.client import AgentdClient

from .conftest import FIXTURE_SCRIPTS, first, new_session, terminal_events


@pytest_asyncio.fixture
async def strict(tmp_path: Path, workspace: Path) -> AsyncIterator[AgentdClient]:
    """A daemon whose approvals time out after half a second."""
    client = await AgentdClient.spawn(
        ["--scripts-dir", str(FIXTURE_SCRIPTS), "--approval-timeout", "0.5"],
        env={**os.environ, "AGENTD_HOME": str(tmp_path / "home")},
        cwd=str(workspace),
    )
    yield client
    assert await client.close() == 0


def approvals(client: AgentdClient) -> list[dict[str, Any]]:
    return [m for m in client.transcript if m.get("method") == "session.tool.approve"]


def cancels(client: AgentdClient) -> list[Any]:
    return [m["params"]["id"] for m in client.transcript if m.get("method") == "$/cancelRequest"]


async def test_ask_then_allow_runs_the_tool(daemon: AgentdClient) -> None:
    seen: list[Any] = []

    async def allow(method: str, params: Any) -> Any:
        seen.append((method, params))
        return {"decision": "allow"}

    daemon.request_handler = allow
    sid = await new_session(daemon, model="bash", approval_policy="ask")
    sent = await daemon.send(sid, "run it")
    events = await daemon.turn_events(sent["turn_id"])
    [(method, params)] = seen
    assert method == "session.tool.approve"
    assert params["session_id"] == sid and params["turn_id"] == sent["turn_id"]
    assert params["call"]["name"] == "bash"
    assert params["call"]["input"] == {"command": "echo hello from bash"}
    assert approvals(daemon)[0]["id"].startswith("agentd-")
    executed = first(events, "session.tool.call.completed")["payload"]["data"]["executed"]
    assert executed["ok"] is True and executed["result"]["stdout"].strip() == "hello from bash"


async def test_deny_is_a_tool_error_the_model_reads(daemon: AgentdClient) -> None:
    async def deny(method: str, params: Any) -> Any:
        return {"decision": "deny", "message": "not today"}

    daemon.request_handler = deny
    sid = await new_session(daemon, model="bash", approval_policy="ask")
    sent = await daemon.send(sid, "run it")
    events = await daemon.turn_events(sent["turn_id"])
    executed = first(events, "session.tool.call.completed")["payload"]["data"]["executed"]
    assert executed["ok"] is False
    assert executed["error"] == "tool call denied: not today"
    assert terminal_events(events)[0]["type"] == "session.completed"


async def test_allow_session_asks_once(daemon: AgentdClient) -> None:
    async def allow_session(method: str, params: Any) -> Any:
        return {"decision": "allow_session"}

    daemon.request_handler = allow_session
    sid = await new_session(daemon, model="multi_round", approval_policy="ask")
    sent = await daemon.send(sid, "two commands")
    events = await daemon.turn_events(sent["turn_id"])
    completed = [e for e in events if e["type"] == "session.tool.call.completed"]
    assert [c["payload"]["data"]["executed"]["ok"] for c in completed] == [True, True]
    assert len(approvals(daemon)) == 1


async def test_read_only_refuses_commands_but_reads_files(daemon: AgentdClient) -> None:
    sid = await new_session(daemon, model="two_tools", approval_policy="read_only")
    sent = await daemon.send(sid, "check")
    events = await daemon.turn_events(sent["turn_id"])
    executed = first(events, "session.tool.results")["payload"]["data"]["executed"]
    assert [(e["name"], e["ok"]) for e in executed] == [("bash", False), ("read_file", True)]
    assert "read-only" in executed[0]["error"]
    assert approvals(daemon) == []


async def test_interrupt_cancels_a_pending_approval(daemon: AgentdClient) -> None:
    asked = asyncio.Event()

    async def never(method: str, params: Any) -> Any:
        asked.set()
        await asyncio.sleep(3600)

    daemon.request_handler = never
    sid = await new_session(daemon, model="bash", approval_policy="ask")
    sent = await daemon.send(sid, "run it")
    await asyncio.wait_for(asked.wait(), 10)
    assert (await daemon.call("session.interrupt", {"session_id": sid}))["interrupted"]
    events = await daemon.turn_events(sent["turn_id"])
    assert terminal_events(events)[0]["type"] == "session.interrupted"
    assert cancels(daemon) == [approvals(daemon)[0]["id"]]


async def test_no_answer_in_time_denies(strict: AgentdClient) -> None:
    async def never(method: str, params: Any) -> Any:
        await asyncio.sleep(3600)

    strict.request_handler = never
    sid = await new_session(strict, model="bash", approval_policy="ask")
    sent = await strict.send(sid, "run it")
    events = await strict.turn_events(sent["turn_id"])
    executed = first(events, "session.tool.call.completed")["payload"]["data"]["executed"]
    assert executed["ok"] is False and "no approval within 0.5 s" in executed["error"]
    assert cancels(strict) == [approvals(strict)[0]["id"]]


async def test_an_invalid_answer_denies(daemon: AgentdClient) -> None:
    async def nonsense(method: str, params: Any) -> Any:
        return {"decision": "maybe"}

    daemon.request_handler = nonsense
    sid = await new_session(daemon, model="bash", approval_policy="ask")
    sent = await daemon.send(sid, "run it")
    events = await daemon.turn_events(sent["turn_id"])
    executed = first(events, "session.tool.call.completed")["payload"]["data"]["executed"]
    assert executed["ok"] is False and "invalid approval answer" in executed["error"]


async def test_an_interrupt_sent_with_the_approval_answer_still_interrupts(
    daemon: AgentdClient,
) -> None:
    """The interrupt and the answer arrive in the same loop step: the cancellation must win
    (``asyncio.wait_for`` on 3.11 could drop it and report the turn as completed)."""
    holder: dict[str, str] = {}

    async def answer_and_interrupt(method: str, params: Any) -> Any:
        daemon.start_request("session.interrupt", {"session_id": holder["sid"]})
        await asyncio.sleep(0)
        return {"decision": "deny", "message": "too late"}

    daemon.request_handler = answer_and_interrupt
    holder["sid"] = await new_session(daemon, model="bash", approval_policy="ask")
    sent = await daemon.send(holder["sid"], "run it")
    events = await daemon.turn_events(sent["turn_id"])
    assert [e["type"] for e in terminal_events(events)] == ["session.interrupted"]
