"""``agentd acp``'s handshake and JSON-RPC hygiene, on the raw NDJSON wire."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.acp.conftest import SpawnAcp
from tests.acp.helpers import WAIT_S


async def test_initialize_answers_version_1_whatever_was_asked(spawn_acp: SpawnAcp) -> None:
    agent = await spawn_acp()
    for asked in (1, 99, 0):
        result = await agent.result(
            "initialize", {"protocolVersion": asked, "clientCapabilities": {}}
        )
        assert result["protocolVersion"] == 1
    capabilities = result["agentCapabilities"]
    assert capabilities["loadSession"] is True
    assert capabilities["promptCapabilities"] == {
        "image": True,
        "audio": False,
        "embeddedContext": True,
    }
    assert result["agentInfo"]["name"] == "agentd"
    assert result["authMethods"] == []


async def test_ids_are_echoed_exactly(spawn_acp: SpawnAcp) -> None:
    agent = await spawn_acp()
    for request_id in ("abc", 7, 0, "0"):
        agent.send({"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": {}})
        response = await agent.response(request_id)
        assert response["id"] == request_id and type(response["id"]) is type(request_id)


async def test_malformed_line_is_answered_and_the_agent_keeps_serving(
    spawn_acp: SpawnAcp,
) -> None:
    agent = await spawn_acp()
    agent.write_raw(b"{not json\n")
    error = await agent.wait_for(lambda m: "error" in m and m.get("id") is None)
    assert error["error"]["code"] == -32700
    assert (await agent.initialize())["protocolVersion"] == 1


async def test_unknown_and_extension_methods(spawn_acp: SpawnAcp) -> None:
    agent = await spawn_acp()
    for method in ("session/nope", "_agentd/ext"):
        response = await agent.call(method, {})
        assert response["error"]["code"] == -32601, response
    # notifications are never answered, known, unknown or extension ones
    agent.notify("_agentd/note", {"x": 1})
    agent.notify("session/nope", {})
    agent.notify("session/cancel", {"sessionId": "no-such-session"})
    marker = await agent.call("initialize", {"protocolVersion": 1})
    answered = [m for m in agent.transcript if "id" in m and "method" not in m]
    assert answered[-1] is marker
    assert len(answered) == 3  # the two unknown methods and the marker


async def test_session_errors(spawn_acp: SpawnAcp, tmp_path: Path) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    unknown = await agent.call(
        "session/prompt", {"sessionId": "nope", "prompt": [{"type": "text", "text": "hi"}]}
    )
    assert unknown["error"]["code"] == -32002
    relative = await agent.call("session/new", {"cwd": "relative/dir", "mcpServers": []})
    assert relative["error"]["code"] == -32602
    session_id = await agent.new_session(tmp_path)
    for prompt in ([], [{"type": "audio", "data": "", "mimeType": "audio/wav"}], "text"):
        bad = await agent.call("session/prompt", {"sessionId": session_id, "prompt": prompt})
        assert bad["error"]["code"] == -32602, bad
    auth = await agent.call("authenticate", {"methodId": "none"})
    assert auth["error"]["code"] == -32602


async def test_exits_at_stdin_eof(spawn_acp: SpawnAcp) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    assert await agent.close() == 0


async def test_exits_at_eof_during_a_running_prompt(spawn_acp: SpawnAcp, tmp_path: Path) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(tmp_path)
    agent.send(
        agent.request_message(
            "session/prompt",
            {"sessionId": session_id, "prompt": [{"type": "text", "text": "script:hang"}]},
        )
    )
    await asyncio.sleep(0)  # nothing to wait for: the exit must come whatever the turn does
    assert await asyncio.wait_for(agent.close(), WAIT_S * 2) == 0


async def test_sigterm_during_a_prompt_answers_cancelled_and_exits(
    spawn_acp: SpawnAcp, tmp_path: Path
) -> None:
    agent = await spawn_acp()
    await agent.initialize()
    session_id = await agent.new_session(tmp_path)
    request = agent.request_message(
        "session/prompt",
        {"sessionId": session_id, "prompt": [{"type": "text", "text": "script:stream_then_hang"}]},
    )
    agent.send(request)
    await agent.wait_for(lambda m: m.get("method") == "session/update")
    agent.process.terminate()
    response = await agent.response(request["id"])
    assert response["result"] == {"stopReason": "cancelled"}
    assert await agent.close() == 0
