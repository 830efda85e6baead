"""The ACP front door's pure parts: prompt blocks → a turn's input, tool titles and kinds, and
that ``agentd serve`` never loads the ACP modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agentd.acp.content import prompt_content
from agentd.acp.projection import replay, tool_kind, tool_title
from agentd.protocol.errors import RpcError
from agentd.store.records import Message, ToolCall
from tests.acp.sdk import SchemaWatch


def test_text_resource_and_link_blocks_become_the_prompt_text() -> None:
    content = prompt_content(
        [
            {"type": "text", "text": "explain"},
            {"type": "resource", "resource": {"uri": "file:///w/a.py", "text": "x = 1"}},
            {"type": "resource_link", "uri": "file:///w/b%20c.py", "name": "b c.py"},
        ]
    )
    assert content.text.startswith("explain\n")
    assert '<context uri="file:///w/a.py">\nx = 1\n</context>' in content.text
    assert content.text.endswith("[b c.py](/w/b c.py)")
    assert content.images == []


def test_image_blocks_become_image_rows() -> None:
    content = prompt_content(
        [
            {"type": "image", "mimeType": "image/png", "data": "AAAA"},
            {"type": "image", "mimeType": "image/png", "uri": "file:///w/shot.png"},
        ]
    )
    assert content.images == [
        {"data_url": "data:image/png;base64,AAAA", "mime_type": "image/png"},
        {"path": "/w/shot.png", "mime_type": "image/png"},
    ]


@pytest.mark.parametrize(
    "blocks",
    [
        None,
        [],
        [{"type": "text"}],
        [{"type": "text", "text": "  "}],
        [{"type": "audio", "data": "", "mimeType": "audio/wav"}],
        [{"type": "image", "mimeType": "image/png"}],
        [{"type": "resource"}],
        ["text"],
    ],
)
def test_malformed_prompts_are_invalid_params(blocks: object) -> None:
    with pytest.raises(RpcError) as caught:
        prompt_content(blocks)
    assert caught.value.code == -32602


def test_tool_titles_and_kinds() -> None:
    assert tool_title("bash", {"command": "ls   -la\n"}) == "bash: ls -la"
    assert tool_title("apply_patch", {"input": "..."}) == "apply_patch"
    assert len(tool_title("bash", {"command": "x" * 500})) <= len("bash: ") + 120
    assert tool_kind("grep_files") == "search"
    assert tool_kind("mcp__server__tool") == "other"


def test_replay_marks_unanswered_calls_failed() -> None:
    messages = (
        Message("user", "go", turn_id="t1"),
        Message("assistant", "", tool_calls=(ToolCall("c1", "bash", '{"command": "ls"}'),)),
    )
    updates = list(replay(messages, Path("/w")))
    assert [u["sessionUpdate"] for u in updates] == [
        "user_message_chunk",
        "tool_call",
        "tool_call_update",
    ]
    assert updates[-1]["status"] == "failed"


def test_serve_does_not_import_the_acp_front_door() -> None:
    code = (
        "import sys, agentd.server, agentd.cli\n"
        "print(sorted(m for m in sys.modules if m.startswith('agentd.acp')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_schema_check_catches_what_it_checks() -> None:
    def update(**fields: object) -> dict[str, object]:
        return {
            "jsonrpc": "2.0",
            "method": "session/update",
            "params": {"sessionId": "s", "update": fields},
        }

    def problems(message: dict[str, object]) -> list[str]:
        watch = SchemaWatch(check_client=False)
        watch.sent({"jsonrpc": "2.0", "id": 1, "method": "session/prompt"})
        watch.read(message)
        return watch.problems

    good = update(sessionUpdate="tool_call", toolCallId="c", title="t", kind="read")
    assert problems(good) == []
    assert problems(update(sessionUpdate="tool_call", toolCallId="c", title="t", kind="nope"))
    assert problems(update(sessionUpdate="tool_call", toolCallId="c"))  # no title
    assert problems(update(sessionUpdate="agent_message_chunk", content={"type": "txt"}))
    assert problems(update(sessionUpdate="whatever"))
    # a misspelt optional field, and an invalid list item the lenient schema would drop
    assert problems(update(sessionUpdate="tool_call", toolCallId="c", title="t", rawinput={}))
    assert problems(
        update(sessionUpdate="tool_call", toolCallId="c", title="t", locations=[{"line": 1}])
    )
    assert problems({"jsonrpc": "2.0", "id": 1, "result": {"stopReason": "done"}})
    assert problems({"jsonrpc": "2.0", "id": 1, "result": {"stopReason": "end_turn"}}) == []


def test_turn_request_limit_is_read_from_config_toml() -> None:
    from agentd.tools.config import DEFAULT_MAX_TURN_REQUESTS, tool_config

    assert tool_config({}).max_turn_requests == DEFAULT_MAX_TURN_REQUESTS
    assert tool_config({"limits": {"max_turn_requests": 3}}).max_turn_requests == 3
    for bad in (0, -1, True, "3", 10**9):
        limits = {"limits": {"max_turn_requests": bad}}
        assert tool_config(limits).max_turn_requests == DEFAULT_MAX_TURN_REQUESTS
    assert tool_config({"limits": "x"}).max_turn_requests == DEFAULT_MAX_TURN_REQUESTS


def test_the_acp_front_door_does_not_import_the_sdk_or_pydantic() -> None:
    """The SDK is the tests' client and schema; the daemon keeps its start-up budget."""
    code = (
        "import sys, agentd.acp_server, agentd.acp.agent\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('acp', 'pydantic')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
