"""The editor's ``mcpServers`` join the session's tools (a real stdio MCP server)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agentd.acp.mcp import mcp_servers, safe_name
from agentd.protocol.errors import RpcError
from tests.acp.conftest import SpawnAcp
from tests.acp.helpers import prompt_params, text_of

SERVER = Path(__file__).resolve().parents[2] / "fixtures" / "mcp" / "server.py"


async def test_an_editor_mcp_server_serves_the_turn(spawn_acp: SpawnAcp, workspace: Path) -> None:
    agent = await spawn_acp()
    assert (await agent.initialize())["agentCapabilities"]["mcpCapabilities"]["http"] is True
    servers = [
        {
            "name": "fx",
            "command": sys.executable,
            "args": [str(SERVER), "fx"],
            "env": [{"name": "MCP_MARKER", "value": str(workspace / "mcp.log")}],
        }
    ]
    result = await agent.result("session/new", {"cwd": str(workspace), "mcpServers": servers})
    session_id = result["sessionId"]
    response = await agent.call("session/prompt", prompt_params(session_id, "script:mcp_echo"))
    assert response["result"] == {"stopReason": "end_turn"}
    updates = agent.updates(session_id)
    call = next(u for u in updates if u["sessionUpdate"] == "tool_call")
    assert call["title"] == "mcp__fx__echo" and call["kind"] == "other"
    done = next(u for u in updates if u["sessionUpdate"] == "tool_call_update")
    assert done["status"] == "completed"
    assert "fx: hello" in text_of(updates, "agent_message_chunk")


def test_acp_entries_become_agentd_entries() -> None:
    entries = mcp_servers(
        [
            {"name": "My Docs", "command": "docs", "args": ["-v"], "env": []},
            {"type": "http", "name": "My Docs", "url": "https://x/mcp", "headers": []},
        ],
        "session/new",
    )
    assert entries == [
        {"name": "My_Docs", "command": "docs", "args": ["-v"], "env": {}},
        {"name": "My_Docs-2", "url": "https://x/mcp", "headers": {}},
    ]
    assert mcp_servers([], "session/new") is None
    assert safe_name("!!!", set()) == "server"


@pytest.mark.parametrize(
    "servers",
    [
        "x",
        [{"command": "x"}],
        [{"type": "sse", "name": "s", "url": "https://x", "headers": []}],
        [{"name": "s", "command": "x", "env": {"A": "1"}}],
    ],
)
def test_malformed_servers_are_invalid_params(servers: object) -> None:
    with pytest.raises(RpcError) as caught:
        mcp_servers(servers, "session/new")
    assert caught.value.code == -32602
