"""``agentd acp`` driven by the official ACP Python SDK's client side, every message checked
against the SDK's schema (``tests/acp/sdk.py``).

Together these cover the conformance kit's mandatory v1 checks that apply to an agent:
transport (NDJSON over stdio, exit at stdin EOF), JSON-RPC (ids, unknown methods, errors),
initialize (version negotiation, capabilities), schema-valid updates, sessions (new, load in a
fresh process, unknown ids), prompt (stop reasons, streaming before the response), cancel,
client capabilities (``fs/*`` only when advertised) and extension methods.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Protocol

import pytest
import pytest_asyncio
from acp import RequestError, schema

from tests.acp.sdk import WAIT_S, RecordingClient, SdkAgent, spawn_sdk_agent


class Start(Protocol):
    async def __call__(self, client: RecordingClient | None = None) -> SdkAgent: ...


@pytest_asyncio.fixture
async def start(tmp_path: Path, workspace: Path) -> AsyncIterator[Start]:
    """Start SDK-driven agents sharing one home; each is closed (and checked) at the end."""
    count = 0
    async with AsyncExitStack() as stack:

        async def _start(client: RecordingClient | None = None) -> SdkAgent:
            nonlocal count
            count += 1
            log = tmp_path / f"sdk-stderr-{count}.log"
            return await stack.enter_async_context(
                spawn_sdk_agent(tmp_path / "home", workspace, log, client)
            )

        yield _start


async def _session(agent: SdkAgent, workspace: Path, **capabilities: bool) -> str:
    await agent.initialize(**capabilities)
    return (await agent.new_session(workspace)).session_id


async def test_initialize_negotiates_version_1(start: Start) -> None:
    agent = await start()
    for asked in (1, 2, 99):
        result = await agent.conn.initialize(protocol_version=asked)
        assert result.protocol_version == 1
    assert result.agent_capabilities is not None
    assert result.agent_capabilities.load_session is True
    prompts = result.agent_capabilities.prompt_capabilities
    assert prompts is not None and prompts.image and prompts.embedded_context
    assert result.agent_info is not None and result.agent_info.name == "agentd"


async def test_prompt_streams_before_its_response(start: Start, workspace: Path) -> None:
    agent = await start()
    session_id = await _session(agent, workspace)
    response = await agent.prompt(session_id, "hi script:hello_world")
    assert response.stop_reason == "end_turn"
    assert agent.client.text(session_id) == "Hello, world!"
    # every update of the prompt came before the response (the SDK's wait covers handlers
    # in flight; the raw order is checked on the wire)
    received = agent.watch.received
    answer = max(i for i, m in enumerate(received) if "result" in m and "stopReason" in m["result"])
    assert all(i < answer for i, m in enumerate(received) if m.get("method") == "session/update")


async def test_tool_call_updates_without_fs(start: Start, workspace: Path) -> None:
    agent = await start()
    session_id = await _session(agent, workspace)  # no fs capability advertised
    response = await agent.prompt(session_id, "script:tool_call")
    assert response.stop_reason == "end_turn"
    (call,) = agent.client.of(session_id, schema.ToolCallStart)
    assert call.kind == "read" and call.status == "pending"
    assert call.locations == [schema.ToolCallLocation(path=str(workspace / "README.md"))]
    (done,) = agent.client.of(session_id, schema.ToolCallProgress)
    assert done.tool_call_id == call.tool_call_id and done.status == "completed"
    assert agent.client.reads == [] and agent.client.writes == []
    assert not any(str(m.get("method", "")).startswith("fs/") for m in agent.watch.received)


async def test_reasoning_becomes_thought_chunks(start: Start, workspace: Path) -> None:
    agent = await start()
    session_id = await _session(agent, workspace)
    assert (await agent.prompt(session_id, "script:reasoning")).stop_reason == "end_turn"
    assert "Planning reply" in agent.client.text(session_id, schema.AgentThoughtChunk)


async def test_cancel_mid_stream(start: Start, workspace: Path) -> None:
    agent = await start()
    session_id = await _session(agent, workspace)
    prompt = asyncio.ensure_future(agent.prompt(session_id, "script:stream_then_hang"))
    await asyncio.wait_for(agent.client.updated.wait(), WAIT_S)
    await agent.conn.cancel(session_id=session_id)
    response = await asyncio.wait_for(prompt, WAIT_S)
    assert response.stop_reason == "cancelled"
    seen = len(agent.client.updates)
    await agent.conn.initialize(protocol_version=1)  # a round trip: nothing more came
    assert len(agent.client.updates) == seen
    assert (await agent.prompt(session_id, "script:hello_world")).stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("option", "runs"), [("allow_once", True), ("allow_always", True), ("reject_once", False)]
)
async def test_permission(start: Start, workspace: Path, option: str, runs: bool) -> None:
    client = RecordingClient(permission=option)
    agent = await start(client)
    session_id = await _session(agent, workspace)
    response = await agent.prompt(session_id, "script:touch_marker")
    assert response.stop_reason == "end_turn"
    assert (workspace / "marker.txt").exists() is runs
    (asked,) = client.permission_requests
    assert asked.session_id == session_id
    assert asked.tool_call.kind == "execute"
    assert {o.kind for o in asked.options} == {"allow_once", "allow_always", "reject_once"}
    statuses = [u.status for u in client.of(session_id, schema.ToolCallProgress)]
    assert statuses == (["in_progress", "completed"] if runs else ["failed"])


async def test_cancel_while_permission_is_pending(start: Start, workspace: Path) -> None:
    client = RecordingClient(permission=None)  # answers `cancelled`, as ACP asks after a cancel
    client.hold_permission = asyncio.get_running_loop().create_future()
    agent = await start(client)
    session_id = await _session(agent, workspace)
    prompt = asyncio.ensure_future(agent.prompt(session_id, "script:touch_marker"))
    await asyncio.wait_for(client.asked.wait(), WAIT_S)
    await agent.conn.cancel(session_id=session_id)
    client.hold_permission.set_result(None)
    assert (await asyncio.wait_for(prompt, WAIT_S)).stop_reason == "cancelled"
    assert not (workspace / "marker.txt").exists()


async def test_load_in_a_fresh_process(start: Start, workspace: Path, tmp_path: Path) -> None:
    async with spawn_sdk_agent(tmp_path / "home", workspace, tmp_path / "first.log") as first:
        session_id = await _session(first, workspace)
        await first.prompt(session_id, "hi script:hello_world")
        await first.prompt(session_id, "script:tool_call")
    # the first process has exited (stdin closed): its record is free to load

    client = RecordingClient()
    second = await start(client)
    await second.initialize()
    loaded = await second.conn.load_session(cwd=str(workspace), session_id=session_id)
    assert loaded.modes is not None and loaded.modes.current_mode_id == "ask"
    kinds = client.kinds(session_id)
    assert kinds[0] == "user_message_chunk"
    assert {"agent_message_chunk", "tool_call", "tool_call_update"} <= set(kinds)
    assert "hi script:hello_world" in client.text(session_id, schema.UserMessageChunk)
    assert (await second.prompt(session_id, "script:echo")).stop_reason == "end_turn"


async def test_session_errors(start: Start, workspace: Path) -> None:
    agent = await start()
    await agent.initialize()
    with pytest.raises(RequestError) as unknown:
        await agent.prompt("no-such-session", "hi")
    assert unknown.value.code == -32002
    with pytest.raises(RequestError) as missing:
        await agent.conn.load_session(cwd=str(workspace), session_id="no-such-record")
    assert missing.value.code == -32002
    with pytest.raises(RequestError) as relative:
        await agent.conn.new_session(cwd="relative/dir", mcp_servers=[])
    assert relative.value.code == -32602


async def test_fs_read_when_advertised(start: Start, workspace: Path) -> None:
    readme = str(workspace / "README.md")
    client = RecordingClient(files={readme: "unsaved buffer text\n"})
    agent = await start(client)
    session_id = await _session(agent, workspace, read=True)
    assert (await agent.prompt(session_id, "script:tool_call")).stop_reason == "end_turn"
    assert client.reads == [readme]
    (done,) = client.of(session_id, schema.ToolCallProgress)
    assert done.content is not None
    assert "L1: unsaved buffer text" in done.content[0].content.text


async def test_extension_and_unknown_methods(start: Start) -> None:
    agent = await start()
    await agent.initialize()
    with pytest.raises(RequestError) as ext:
        await agent.conn.ext_method("agentd/nothing", {})
    assert ext.value.code == -32601
    await agent.conn.ext_notification("agentd/note", {"x": 1})  # never answered
    with pytest.raises(RequestError) as unknown:
        await agent.conn._conn.send_request("session/nope", {})
    assert unknown.value.code == -32601
    await agent.conn.initialize(protocol_version=1)
    answered = [m for m in agent.watch.received if "method" not in m]
    assert len(answered) == 4  # the two initializes and the two errors: no answer to the note


async def test_set_mode(start: Start, workspace: Path) -> None:
    agent = await start()
    session_id = await _session(agent, workspace)
    await agent.conn.set_session_mode(session_id=session_id, mode_id="auto")
    assert (await agent.prompt(session_id, "script:touch_marker")).stop_reason == "end_turn"
    assert agent.client.permission_requests == []
    assert (workspace / "marker.txt").exists()
    with pytest.raises(RequestError) as bad:
        await agent.conn.set_session_mode(session_id=session_id, mode_id="nope")
    assert bad.value.code == -32602


async def test_max_turn_requests(start: Start, workspace: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text("[limits]\nmax_turn_requests = 2\n", encoding="utf-8")
    agent = await start()
    session_id = await _session(agent, workspace)
    await agent.conn.set_session_mode(session_id=session_id, mode_id="auto")
    # multi_round asks for three model requests (two tool rounds, then the answer)
    response = await agent.prompt(session_id, "script:multi_round")
    assert response.stop_reason == "max_turn_requests"
    done = agent.client.of(session_id, schema.ToolCallProgress)
    assert [u.status for u in done] == ["completed", "completed"]
    assert "All" not in agent.client.text(session_id)  # the third request was never made
    # the session goes on: the limit is per turn
    assert (await agent.prompt(session_id, "script:hello_world")).stop_reason == "end_turn"


def _option(options: list[Any] | None, option_id: str) -> Any:
    assert options is not None
    return next(o.root if hasattr(o, "root") else o for o in options if o.id == option_id)


async def test_model_is_a_config_option(start: Start, workspace: Path) -> None:
    agent = await start()
    await agent.initialize()
    new = await agent.new_session(workspace)
    session_id = new.session_id
    model = _option(new.config_options, "model")
    assert model.category == "model" and model.type == "select"
    assert model.current_value == "scripted/echo"
    values = {o.value for o in model.options}
    assert {"scripted/echo", "scripted/hello_world"} <= values
    mode = _option(new.config_options, "mode")
    assert mode.category == "mode" and mode.current_value == "ask"

    answer = await agent.conn.set_config_option(
        config_id="model", session_id=session_id, value="scripted/hello_world"
    )
    assert _option(answer.config_options, "model").current_value == "scripted/hello_world"
    # the scripted provider's model names the script: a plain prompt now plays hello_world
    assert (await agent.prompt(session_id, "hi")).stop_reason == "end_turn"
    assert agent.client.text(session_id) == "Hello, world!"

    answer = await agent.conn.set_config_option(
        config_id="mode", session_id=session_id, value="read_only"
    )
    assert _option(answer.config_options, "mode").current_value == "read_only"
    modes = agent.client.of(session_id, schema.CurrentModeUpdate)
    assert [m.current_mode_id for m in modes] == ["read_only"]

    for config_id, value in (("model", "scripted/no-such-script"), ("nope", "x")):
        with pytest.raises(RequestError) as bad:
            await agent.conn.set_config_option(
                config_id=config_id, session_id=session_id, value=value
            )
        assert bad.value.code == -32602


async def test_set_mode_keeps_the_config_options_in_sync(start: Start, workspace: Path) -> None:
    agent = await start()
    session_id = await _session(agent, workspace)
    await agent.conn.set_session_mode(session_id=session_id, mode_id="read_only")
    # a round trip: the updates sent with the answer have been handled
    await agent.conn.initialize(protocol_version=1)
    (update,) = agent.client.of(session_id, schema.ConfigOptionUpdate)
    assert _option(update.config_options, "mode").current_value == "read_only"


async def test_loaded_session_keeps_its_model(
    start: Start, workspace: Path, tmp_path: Path
) -> None:
    async with spawn_sdk_agent(tmp_path / "home", workspace, tmp_path / "first.log") as first:
        session_id = await _session(first, workspace)
        await first.conn.set_config_option(
            config_id="model", session_id=session_id, value="scripted/hello_world"
        )
        await first.prompt(session_id, "hi")
    second = await start()
    await second.initialize()
    loaded = await second.conn.load_session(cwd=str(workspace), session_id=session_id)
    assert _option(loaded.config_options, "model").current_value == "scripted/hello_world"


async def test_apply_patch_reads_and_writes_through_the_editor(
    start: Start, workspace: Path
) -> None:
    readme = workspace / "README.md"
    readme.write_text("alpha\nbeta\n", encoding="utf-8")
    # the editor shows an unsaved change above the patched lines
    client = RecordingClient(files={str(readme): "unsaved\nalpha\nbeta\n"})
    agent = await start(client)
    session_id = await _session(agent, workspace, read=True, write=True)
    assert (await agent.prompt(session_id, "script:patch_call")).stop_reason == "end_turn"
    assert client.reads == [str(readme)]
    assert client.writes == [(str(readme), "unsaved\nalpha\ngamma\n")]
    assert readme.read_text(encoding="utf-8") == "unsaved\nalpha\ngamma\n"  # the editor saved
    (done,) = client.of(session_id, schema.ToolCallProgress)[-1:]
    assert done.status == "completed"


async def test_apply_patch_writes_the_disk_without_fs_write(start: Start, workspace: Path) -> None:
    readme = workspace / "README.md"
    readme.write_text("alpha\nbeta\n", encoding="utf-8")
    client = RecordingClient(files={str(readme): "alpha\nbeta\n"})
    agent = await start(client)
    session_id = await _session(agent, workspace, read=True)  # reads offered, writes not
    assert (await agent.prompt(session_id, "script:patch_call")).stop_reason == "end_turn"
    assert client.reads == [str(readme)] and client.writes == []
    assert readme.read_text(encoding="utf-8") == "alpha\ngamma\n"
    assert not any(m.get("method") == "fs/write_text_file" for m in agent.watch.received)


async def test_bash_runs_in_the_editor_terminal(start: Start, workspace: Path) -> None:
    agent = await start()
    session_id = await _session(agent, workspace, terminal=True)
    await agent.conn.set_session_mode(session_id=session_id, mode_id="auto")
    assert (await agent.prompt(session_id, "script:multi_round")).stop_reason == "end_turn"
    client = agent.client
    assert [m for m, _ in client.terminal_calls] == [
        "create", "wait_for_exit", "output", "release",
        "create", "wait_for_exit", "output", "release",
    ]  # fmt: skip
    assert client.terminals == {}  # every terminal was released
    updates = client.of(session_id, schema.ToolCallProgress)
    shown = [u for u in updates if u.status == "in_progress"]
    assert [u.content[0].terminal_id for u in shown] == ["term-1", "term-2"]
    done = [u for u in updates if u.status == "completed"]
    assert [u.content[0].terminal_id for u in done] == ["term-1", "term-2"]
    assert [u.raw_output["stdout"] for u in done] == ["1\n", "2\n"]
    assert done[-1].raw_output["exit_code"] == 0


async def test_cancel_kills_and_releases_the_terminal(start: Start, workspace: Path) -> None:
    agent = await start()
    session_id = await _session(agent, workspace, terminal=True)
    await agent.conn.set_session_mode(session_id=session_id, mode_id="auto")
    client = agent.client
    prompt = asyncio.ensure_future(agent.prompt(session_id, "script:tool_hang"))  # sleep 30
    for _ in range(200):  # bounded: until the command runs in the client's terminal
        if ("wait_for_exit", "term-1") in client.terminal_calls:
            break
        await asyncio.wait_for(client.updated.wait(), WAIT_S)
        client.updated.clear()
    assert ("wait_for_exit", "term-1") in client.terminal_calls
    await agent.conn.cancel(session_id=session_id)
    assert (await asyncio.wait_for(prompt, WAIT_S)).stop_reason == "cancelled"
    await agent.conn.initialize(protocol_version=1)  # a round trip after the clean-up
    assert ("kill", "term-1") in client.terminal_calls
    assert ("release", "term-1") in client.terminal_calls
    assert not any(t.running for t in client.all_terminals)


async def test_no_terminal_unless_advertised(start: Start, workspace: Path) -> None:
    agent = await start()
    session_id = await _session(agent, workspace)
    await agent.conn.set_session_mode(session_id=session_id, mode_id="auto")
    assert (await agent.prompt(session_id, "script:multi_round")).stop_reason == "end_turn"
    assert agent.client.terminal_calls == []
    done = [u for u in agent.client.of(session_id, schema.ToolCallProgress)]
    assert [u.raw_output["stdout"] for u in done] == ["1\n", "2\n"]
    assert not any(str(m.get("method", "")).startswith("terminal/") for m in agent.watch.received)


async def test_a_command_past_its_timeout_is_killed_in_the_terminal(
    start: Start, workspace: Path
) -> None:
    agent = await start()
    session_id = await _session(agent, workspace, terminal=True)
    await agent.conn.set_session_mode(session_id=session_id, mode_id="auto")
    assert (await agent.prompt(session_id, "script:sleep_timeout")).stop_reason == "end_turn"
    client = agent.client
    assert [m for m, _ in client.terminal_calls] == [
        "create", "wait_for_exit", "kill", "output", "release"
    ]  # fmt: skip
    (done,) = [u for u in client.of(session_id, schema.ToolCallProgress) if u.status == "failed"]
    assert done.raw_output["timed_out"] is True
    assert done.raw_output["signal"] == "SIGKILL"
    assert not any(t.running for t in client.all_terminals)
