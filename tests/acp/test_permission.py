"""The ``ask`` policy (ACP's default mode) as ``session/request_permission``: allow, reject,
and cancel, which always wins: the prompt answers ``cancelled`` and the tool never runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.acp.conftest import SpawnAcp
from tests.acp.helpers import AcpProcess, Message, prompt_params, text_of


async def _ask(agent: AcpProcess, workspace: Path) -> tuple[str, Message, Message]:
    """Start a prompt whose tool call needs permission; returns (session, prompt, question)."""
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    request = agent.request_message(
        "session/prompt", prompt_params(session_id, "script:touch_marker")
    )
    agent.send(request)
    question = await agent.server_request("session/request_permission")
    return session_id, request, question


def _selected(option_id: str) -> dict[str, Any]:
    return {"outcome": {"outcome": "selected", "optionId": option_id}}


async def test_permission_request_shape(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    session_id, request, question = await _ask(agent, workspace)
    params = question["params"]
    assert params["sessionId"] == session_id
    assert {o["kind"] for o in params["options"]} == {"allow_once", "allow_always", "reject_once"}
    call = params["toolCall"]
    assert call["kind"] == "execute"
    assert call["title"] == "bash: touch marker.txt"
    # the tool_call was announced first, with the same id
    announced = [u for u in agent.updates(session_id) if u["sessionUpdate"] == "tool_call"]
    assert [u["toolCallId"] for u in announced] == [call["toolCallId"]]
    agent.send(agent.answer(question, _selected("reject_once")))
    await agent.response(request["id"])


@pytest.mark.parametrize("option", ["allow_once", "allow_always"])
async def test_allow_runs_the_tool(spawn_acp: SpawnAcp, workspace: Path, option: str) -> None:
    agent = await spawn_acp()
    session_id, request, question = await _ask(agent, workspace)
    agent.send(agent.answer(question, _selected(option)))
    response = await agent.response(request["id"])
    assert response["result"] == {"stopReason": "end_turn"}
    assert (workspace / "marker.txt").exists()
    updates = [u for u in agent.updates(session_id) if u["sessionUpdate"] == "tool_call_update"]
    assert [u["status"] for u in updates] == ["in_progress", "completed"]


async def test_reject_refuses_the_tool(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    session_id, request, question = await _ask(agent, workspace)
    agent.send(agent.answer(question, _selected("reject_once")))
    response = await agent.response(request["id"])
    assert response["result"] == {"stopReason": "end_turn"}  # the model is told and answers
    assert not (workspace / "marker.txt").exists()
    updates = [u for u in agent.updates(session_id) if u["sessionUpdate"] == "tool_call_update"]
    assert [u["status"] for u in updates] == ["failed"]
    assert "denied" in text_of(agent.updates(session_id), "agent_message_chunk")


async def test_cancel_during_permission_request(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    session_id, request, question = await _ask(agent, workspace)
    agent.notify("session/cancel", {"sessionId": session_id})
    # as ACP asks, the client then answers its pending permission request with `cancelled`
    agent.send(agent.answer(question, {"outcome": {"outcome": "cancelled"}}))
    response = await agent.response(request["id"])
    assert response["result"] == {"stopReason": "cancelled"}
    assert not (workspace / "marker.txt").exists()


async def test_cancel_wins_over_an_allow_read_with_it(spawn_acp: SpawnAcp, workspace: Path) -> None:
    """The cancel and an ``allow_once`` arrive in one read, in either order."""
    for order in ("cancel_first", "allow_first"):
        agent = await spawn_acp()
        session_id, request, question = await _ask(agent, workspace)
        cancel = {
            "jsonrpc": "2.0",
            "method": "session/cancel",
            "params": {"sessionId": session_id},
        }
        allow = agent.answer(question, _selected("allow_once"))
        agent.send(*((cancel, allow) if order == "cancel_first" else (allow, cancel)))
        response = await agent.response(request["id"])
        assert response["result"] == {"stopReason": "cancelled"}, order
        assert not (workspace / "marker.txt").exists(), order
        marker = await agent.call("initialize", {"protocolVersion": 1})
        assert agent.updates(session_id) == agent.updates(session_id, agent.index_of(response))
        assert agent.index_of(marker) > agent.index_of(response)
        assert await agent.close() == 0


async def test_auto_mode_does_not_ask(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    await agent.result("session/set_mode", {"sessionId": session_id, "modeId": "auto"})
    response = await agent.call("session/prompt", prompt_params(session_id, "script:touch_marker"))
    assert response["result"] == {"stopReason": "end_turn"}
    assert (workspace / "marker.txt").exists()
    assert not any(m.get("method") == "session/request_permission" for m in agent.transcript)
    modes = [u for u in agent.updates(session_id) if u["sessionUpdate"] == "current_mode_update"]
    assert modes == [{"sessionUpdate": "current_mode_update", "currentModeId": "auto"}]


async def test_apply_patch_shows_its_diff_before_it_runs(
    spawn_acp: SpawnAcp, workspace: Path
) -> None:
    (workspace / "README.md").write_text("alpha\nbeta\n", encoding="utf-8")
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    request = agent.request_message(
        "session/prompt", prompt_params(session_id, "script:patch_call")
    )
    agent.send(request)
    question = await agent.server_request("session/request_permission")
    call = question["params"]["toolCall"]
    assert call["kind"] == "edit"
    assert call["locations"] == [{"path": str(workspace / "README.md")}]
    assert call["content"] == [
        {
            "type": "diff",
            "path": str(workspace / "README.md"),
            "oldText": "alpha\nbeta",
            "newText": "alpha\ngamma",
        }
    ]
    announced = next(u for u in agent.updates(session_id) if u["sessionUpdate"] == "tool_call")
    assert announced["content"] == call["content"]
    agent.send(agent.answer(question, _selected("allow_once")))
    response = await agent.response(request["id"])
    assert response["result"] == {"stopReason": "end_turn"}
    assert (workspace / "README.md").read_text(encoding="utf-8") == "alpha\ngamma\n"
    done = [u for u in agent.updates(session_id) if u["sessionUpdate"] == "tool_call_update"]
    assert done[-1]["status"] == "completed"
    assert done[-1]["content"][0] == call["content"][0]  # the diff stays
    assert done[-1]["content"][1]["type"] == "content"
