"""``session/new`` and ``session/prompt`` over real pipes: text, reasoning, tool calls, images,
and ``session/cancel`` mid-stream (the prompt answers ``cancelled``, nothing follows it)."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.acp.conftest import SpawnAcp
from tests.acp.helpers import AcpProcess, prompt_params, text_of

#: A 1×1 PNG.
PIXEL = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db40000000049454e44ae426082"
    )
).decode()


async def _prompt(agent: AcpProcess, session_id: str, text: str) -> tuple[dict, list[dict]]:
    """Run one prompt; returns its response and the updates sent before it."""
    response = await agent.call("session/prompt", prompt_params(session_id, text))
    return response, agent.updates(session_id, before=agent.index_of(response))


async def test_text_prompt_streams_message_chunks(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    response, updates = await _prompt(agent, session_id, "hi script:hello_world")
    assert response["result"] == {"stopReason": "end_turn"}
    assert text_of(updates, "agent_message_chunk") == "Hello, world!"
    assert {u["sessionUpdate"] for u in updates} == {"agent_message_chunk"}
    # every update of the prompt came before its response
    assert agent.updates(session_id) == updates


async def test_reasoning_streams_thought_chunks(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    response, updates = await _prompt(agent, session_id, "ponder script:reasoning")
    assert response["result"] == {"stopReason": "end_turn"}
    assert "Planning reply" in text_of(updates, "agent_thought_chunk")
    assert text_of(updates, "agent_message_chunk").startswith("I thought about it.")
    kinds = [u["sessionUpdate"] for u in updates]
    assert kinds.index("agent_thought_chunk") < kinds.index("agent_message_chunk")


async def test_tool_call_and_its_update(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    response, updates = await _prompt(agent, session_id, "read it script:tool_call")
    assert response["result"] == {"stopReason": "end_turn"}
    calls = [u for u in updates if u["sessionUpdate"] == "tool_call"]
    assert len(calls) == 1
    call = calls[0]
    assert call["kind"] == "read"
    assert call["status"] == "pending"
    assert call["title"] == "read_file: README.md"
    assert call["rawInput"] == {"file_path": "README.md"}
    assert call["locations"] == [{"path": str(workspace / "README.md")}]
    done = [u for u in updates if u["sessionUpdate"] == "tool_call_update"]
    assert [u["toolCallId"] for u in done] == [call["toolCallId"]]
    assert done[0]["status"] == "completed"
    assert "A readme for the tool call." in done[0]["content"][0]["content"]["text"]
    assert "Here is what I found" in text_of(updates, "agent_message_chunk")
    # the client did not offer fs/read_text_file (helpers' initialize): agentd never calls it
    assert not any(str(m.get("method", "")).startswith("fs/") for m in agent.transcript)
    # a second turn's call gets its own id (scripts reuse call ids from turn to turn)
    _, again = await _prompt(agent, session_id, "again script:tool_call")
    second = [u for u in again if u["sessionUpdate"] == "tool_call"]
    assert second[-1]["toolCallId"] != call["toolCallId"]


async def test_image_and_resource_blocks_reach_the_turn(
    spawn_acp: SpawnAcp, workspace: Path
) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    prompt = [
        {"type": "text", "text": "look script:count_images"},
        {"type": "image", "mimeType": "image/png", "data": PIXEL},
        {
            "type": "resource",
            "resource": {"uri": f"file://{workspace}/notes.txt", "text": "some notes"},
        },
        {"type": "resource_link", "uri": f"file://{workspace}/README.md", "name": "README.md"},
    ]
    response = await agent.call("session/prompt", {"sessionId": session_id, "prompt": prompt})
    assert response["result"] == {"stopReason": "end_turn"}
    updates = agent.updates(session_id)
    assert text_of(updates, "agent_message_chunk") == "I see 1 image(s)."


async def test_cancel_mid_stream_answers_cancelled_and_nothing_follows(
    spawn_acp: SpawnAcp, workspace: Path
) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    request = agent.request_message(
        "session/prompt", prompt_params(session_id, "go script:stream_then_hang")
    )
    agent.send(request)
    await agent.wait_for(lambda m: m.get("method") == "session/update")
    agent.notify("session/cancel", {"sessionId": session_id})
    response = await agent.response(request["id"])
    assert response["result"] == {"stopReason": "cancelled"}
    # a round trip after the response: no update of the cancelled prompt came in between
    marker = await agent.call("initialize", {"protocolVersion": 1})
    assert agent.updates(session_id) == agent.updates(session_id, agent.index_of(response))
    assert agent.index_of(marker) > agent.index_of(response)
    # the session takes the next prompt
    follow = await agent.call("session/prompt", prompt_params(session_id, "script:hello_world"))
    assert follow["result"] == {"stopReason": "end_turn"}


async def test_cancel_read_together_with_its_prompt(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    request = agent.request_message("session/prompt", prompt_params(session_id, "script:hang"))
    cancel = {"jsonrpc": "2.0", "method": "session/cancel", "params": {"sessionId": session_id}}
    agent.send(request, cancel)
    response = await agent.response(request["id"])
    assert response["result"] == {"stopReason": "cancelled"}


async def test_a_failed_turn_is_an_error_response(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(workspace)
    failed = await agent.call("session/prompt", prompt_params(session_id, "script:fail_invalid"))
    assert failed["error"]["code"] == -32603
    assert failed["error"]["data"]["kind"] == "invalid_request"
    assert "refused" in failed["error"]["message"]
    auth = await agent.call("session/prompt", prompt_params(session_id, "script:error_auth"))
    assert auth["error"]["code"] == -32000  # ACP's auth_required
    # the session still serves
    ok = await agent.call("session/prompt", prompt_params(session_id, "script:hello_world"))
    assert ok["result"] == {"stopReason": "end_turn"}
