"""Client capabilities: with ``fs.readTextFile`` offered, ``read_file`` reads the editor's view
of a file (an unsaved buffer) through ``fs/read_text_file``; an error answer falls back to the
disk. Without it, agentd never calls ``fs/*`` (``test_prompt.py``'s tool call test)."""

from __future__ import annotations

from pathlib import Path

from tests.acp.conftest import SpawnAcp
from tests.acp.helpers import AcpProcess, prompt_params


async def _start(agent: AcpProcess, workspace: Path) -> str:
    await agent.result(
        "initialize",
        {"protocolVersion": 1, "clientCapabilities": {"fs": {"readTextFile": True}}},
    )
    return await agent.new_session(workspace)


def _tool_output(agent: AcpProcess, session_id: str) -> str:
    done = [u for u in agent.updates(session_id) if u["sessionUpdate"] == "tool_call_update"]
    text: str = done[-1]["content"][0]["content"]["text"]
    return text


async def test_read_file_reads_the_editor_buffer(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    session_id = await _start(agent, workspace)
    request = agent.request_message("session/prompt", prompt_params(session_id, "script:tool_call"))
    agent.send(request)
    asked = await agent.server_request("fs/read_text_file")
    assert asked["params"] == {"sessionId": session_id, "path": str(workspace / "README.md")}
    agent.send(agent.answer(asked, {"content": "unsaved line one\nunsaved line two\n"}))
    response = await agent.response(request["id"])
    assert response["result"] == {"stopReason": "end_turn"}
    output = _tool_output(agent, session_id)
    assert "L1: unsaved line one" in output and "L2: unsaved line two" in output
    assert "A readme for the tool call." not in output


async def test_an_error_answer_falls_back_to_the_disk(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    session_id = await _start(agent, workspace)
    request = agent.request_message("session/prompt", prompt_params(session_id, "script:tool_call"))
    agent.send(request)
    asked = await agent.server_request("fs/read_text_file")
    agent.send(
        {"jsonrpc": "2.0", "id": asked["id"], "error": {"code": -32002, "message": "not open"}}
    )
    response = await agent.response(request["id"])
    assert response["result"] == {"stopReason": "end_turn"}
    assert "A readme for the tool call." in _tool_output(agent, session_id)
