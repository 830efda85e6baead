"""``session/load`` in a fresh process: the session id is the history record's, and the saved
conversation is replayed as ``session/update`` notifications before the response."""

from __future__ import annotations

from pathlib import Path

from tests.acp.conftest import SpawnAcp
from tests.acp.helpers import prompt_params, text_of


async def test_load_replays_in_a_fresh_process(spawn_acp: SpawnAcp, workspace: Path) -> None:
    first = await spawn_acp()
    await first.initialize()
    session_id = await first.new_session(workspace)
    await first.result("session/prompt", prompt_params(session_id, "hi script:hello_world"))
    await first.result("session/prompt", prompt_params(session_id, "read script:tool_call"))
    assert await first.close() == 0

    second = await spawn_acp()
    await second.initialize()
    response = await second.call(
        "session/load", {"sessionId": session_id, "cwd": str(workspace), "mcpServers": []}
    )
    assert response["result"]["modes"]["currentModeId"] == "ask"
    replayed = second.updates(session_id, before=second.index_of(response))
    assert second.updates(session_id) == replayed  # all of it before the response
    kinds = [u["sessionUpdate"] for u in replayed]
    assert kinds[0] == "user_message_chunk"
    assert "hi script:hello_world" in text_of(replayed, "user_message_chunk")
    assert "read script:tool_call" in text_of(replayed, "user_message_chunk")
    answers = text_of(replayed, "agent_message_chunk")
    assert "Hello, world!" in answers and "Here is what I found" in answers
    call = next(u for u in replayed if u["sessionUpdate"] == "tool_call")
    assert call["kind"] == "read"
    done = next(u for u in replayed if u["sessionUpdate"] == "tool_call_update")
    assert done["toolCallId"] == call["toolCallId"]
    assert done["status"] == "completed"

    # the loaded session continues, with its context
    follow = await second.call("session/prompt", prompt_params(session_id, "more script:echo"))
    assert follow["result"] == {"stopReason": "end_turn"}


async def test_load_of_an_empty_new_session(spawn_acp: SpawnAcp, workspace: Path) -> None:
    first = await spawn_acp()
    await first.initialize()
    session_id = await first.new_session(workspace)
    assert await first.close() == 0
    second = await spawn_acp()
    await second.initialize()
    result = await second.result(
        "session/load", {"sessionId": session_id, "cwd": str(workspace), "mcpServers": []}
    )
    assert "modes" in result
    assert second.updates(session_id) == []


async def test_load_of_an_unknown_session(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    response = await agent.call(
        "session/load", {"sessionId": "no-such-record", "cwd": str(workspace), "mcpServers": []}
    )
    assert response["error"]["code"] == -32002


async def test_load_of_a_session_open_in_this_process(spawn_acp: SpawnAcp, workspace: Path) -> None:
    """It is replayed from its record and stays the same live session."""
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    await agent.result("session/prompt", prompt_params(session_id, "hi script:hello_world"))
    before = len(agent.updates(session_id))
    load = {"sessionId": session_id, "cwd": str(workspace), "mcpServers": []}
    response = await agent.call("session/load", load)
    assert response["result"]["modes"]["currentModeId"] == "ask"
    replayed = agent.updates(session_id, before=agent.index_of(response))[before:]
    assert replayed[0] == {
        "sessionUpdate": "user_message_chunk",
        "content": {"type": "text", "text": "hi script:hello_world"},
    }
    assert text_of(replayed, "agent_message_chunk") == "Hello, world!"
    # the same session goes on, with its context
    follow = await agent.call("session/prompt", prompt_params(session_id, "script:echo"))
    assert follow["result"] == {"stopReason": "end_turn"}


async def test_load_of_an_open_session_with_a_running_prompt(
    spawn_acp: SpawnAcp, workspace: Path
) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    request = agent.request_message("session/prompt", prompt_params(session_id, "script:hang"))
    agent.send(request)
    load = {"sessionId": session_id, "cwd": str(workspace), "mcpServers": []}
    busy = await agent.call("session/load", load)
    assert busy["error"]["code"] == -32602
    assert busy["error"]["data"]["reason"] == "session_busy"
    agent.notify("session/cancel", {"sessionId": session_id})
    assert (await agent.response(request["id"]))["result"] == {"stopReason": "cancelled"}
