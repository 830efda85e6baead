"""MCP servers in a session's tool set, against a real FastMCP server started as a subprocess."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from agentd.core.events import CoreEvent, McpStatusChanged
from agentd.core.toolset import SessionToolSet, ToolSet
from agentd.tools.base import ToolContext
from agentd.tools.mcp.config import McpConfigError, McpServerConfig, parse_list, parse_server
from agentd.tools.mcp.names import qualified_name
from agentd.tools.registry import default_registry

SERVER = Path(__file__).resolve().parents[2] / "fixtures" / "mcp" / "server.py"


def server(name: str, *args: str, **options: Any) -> McpServerConfig:
    config = parse_server(
        name, {"command": sys.executable, "args": [str(SERVER), name, *args], **options}
    )
    assert config is not None
    return config


class Harness:
    def __init__(self, workspace: Path, *configs: McpServerConfig) -> None:
        self.events: list[McpStatusChanged] = []
        self.tools = SessionToolSet(
            ToolSet(default_registry()),
            configs,
            {},
            session_id="s1",
            workspace=workspace,
            emit=self._emit,
        )
        self.context = ToolContext(workspace_root=workspace, call_id="c1")

    def _emit(self, event: CoreEvent) -> None:
        assert isinstance(event, McpStatusChanged)
        self.events.append(event)

    def statuses(self) -> list[tuple[str, str]]:
        return [(e.server, e.status) for e in self.events]

    async def run(self, name: str, **arguments: Any) -> Any:
        return await self.tools.run(name, arguments, self.context)


@pytest_asyncio.fixture
async def fx(tmp_path: Path) -> AsyncIterator[Harness]:
    marker = tmp_path / "marker"
    harness = Harness(tmp_path, server("fx", env={"MCP_MARKER": str(marker)}))
    await harness.tools.ready()
    yield harness
    await harness.tools.aclose()


async def test_list_and_declare(fx: Harness) -> None:
    assert fx.statuses() == [("fx", "starting"), ("fx", "ready")]
    names = {spec.name for spec in fx.tools.declared()}
    expected = {"add", "crash", "echo", "fail", "header", "picture", "slow"}
    assert {f"mcp__fx__{n}" for n in expected} <= names
    assert "apply_patch" in names and "bash" in names
    assert fx.events[-1].tools == tuple(sorted(f"mcp__fx__{n}" for n in expected))
    assert not fx.tools.mutates("mcp__fx__echo")  # readOnlyHint
    assert fx.tools.mutates("mcp__fx__add")
    listed = {row["name"]: row for row in fx.tools.specs()}
    assert listed["mcp__fx__add"]["input_schema"]["required"] == ["a", "b"]


async def test_call_text_and_structured(fx: Harness) -> None:
    result = await fx.run("mcp__fx__add", a=2, b=3, tags=["x"])
    assert result.ok
    assert result.output["structuredContent"] == {"sum": 5, "tags": ["x"]}


async def test_arguments_checked_before_the_call(fx: Harness) -> None:
    result = await fx.run("mcp__fx__add", a=2, b="3")
    assert result.output == {
        "status": "invalid_input",
        "message": "b: expected integer, got string",
    }
    result = await fx.run("mcp__fx__add", a=2, b=3, tags=[1])
    assert result.output["status"] == "invalid_input"


async def test_error_result(fx: Harness) -> None:
    result = await fx.run("mcp__fx__fail", reason="because")
    assert not result.ok
    assert "failed on purpose: because" in (result.error or "")


async def test_image_result(fx: Harness) -> None:
    result = await fx.run("mcp__fx__picture")
    assert result.ok
    assert result.output == {"content": [{"type": "image", "mimeType": "image/png", "bytes": 72}]}
    [image] = result.images
    assert image["mimeType"] == "image/png"
    assert image["dataUrl"].startswith("data:image/png;base64,iVBOR")


async def test_crash_mid_call(fx: Harness) -> None:
    result = await fx.run("mcp__fx__crash")
    assert not result.ok
    assert "closed the connection during the call" in (result.error or "")
    assert fx.statuses()[-1] == ("fx", "failed")
    again = await fx.run("mcp__fx__echo", text="hi")
    assert not again.ok and "not running" in (again.error or "")
    assert [s for s in fx.statuses() if s[1] == "failed"] == [("fx", "failed")]  # reported once
    assert (await fx.run("read_file", file_path="marker")).ok is False  # built-ins go on


async def test_interrupt_reaches_the_server(fx: Harness, tmp_path: Path) -> None:
    call = asyncio.ensure_future(fx.run("mcp__fx__slow", seconds=30))
    marker = tmp_path / "marker"
    deadline = time.monotonic() + 10
    while not (marker.exists() and "started" in marker.read_text()):
        assert time.monotonic() < deadline, "the slow call never started"
        await asyncio.sleep(0.05)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    while "cancelled" not in marker.read_text():
        assert time.monotonic() < deadline, "the server never saw the cancellation"
        await asyncio.sleep(0.05)
    assert (await fx.run("mcp__fx__echo", text="still")).output["content"][0]["text"] == "fx: still"


async def test_server_that_never_starts(tmp_path: Path) -> None:
    slow = server("stuck", "--hang-start", startup_timeout_sec=1)
    harness = Harness(tmp_path, slow, server("ok"))
    started = time.monotonic()
    await harness.tools.ready()
    assert time.monotonic() - started < 8
    assert ("stuck", "failed") in harness.statuses() and ("ok", "ready") in harness.statuses()
    [failed] = [e for e in harness.events if e.status == "failed"]
    assert failed.reason == "did not finish starting within 1 s"
    assert (await harness.run("mcp__ok__echo", text="x")).ok
    await harness.tools.aclose()


async def test_command_not_found(tmp_path: Path) -> None:
    config = parse_server("nope", {"command": str(tmp_path / "missing-binary")})
    assert config is not None
    harness = Harness(tmp_path, config)
    await harness.tools.ready()
    assert harness.statuses() == [("nope", "starting"), ("nope", "failed")]
    assert harness.events[-1].reason
    await harness.tools.aclose()


async def test_enabled_and_disabled_tools(tmp_path: Path) -> None:
    harness = Harness(tmp_path, server("fx", enabled_tools=["echo", "add"], disabled_tools=["add"]))
    await harness.tools.ready()
    assert harness.events[-1].tools == ("mcp__fx__echo",)
    await harness.tools.aclose()


def test_names_are_safe_and_unique() -> None:
    taken: set[str] = set()
    assert qualified_name("my server", "do.thing", taken) == "mcp__my_server__do_thing"
    second = qualified_name("my-server", "do thing", taken | {"mcp__my-server__do_thing"})
    assert second != "mcp__my-server__do_thing"
    long = qualified_name("s", "x" * 200, taken)
    assert len(long) == 64 and long.startswith("mcp__s__xxx")
    other = qualified_name("s", "x" * 199 + "y", taken)
    assert other != long and len(other) == 64


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ("x", "must be a list"),
        ([{"command": "x"}], "needs a 'name'"),
        ([{"name": "a b", "command": "x"}], "names use letters"),
        ([{"name": "a"}], "exactly one of 'command'"),
        ([{"name": "a", "command": "x", "url": "http://h"}], "exactly one of 'command'"),
        ([{"name": "a", "command": "x", "args": "y"}], "'args' must be a list"),
        ([{"name": "a", "command": "x", "bogus": 1}], "unknown key 'bogus'"),
        ([{"name": "a", "command": "x", "tool_timeout_sec": 0}], "tool_timeout_sec"),
        ([{"name": "a", "command": "x"}, {"name": "a", "command": "y"}], "given twice"),
    ],
)
def test_bad_server_entries(entries: Any, fragment: str) -> None:
    with pytest.raises(McpConfigError) as caught:
        parse_list(entries)
    assert fragment in str(caught.value)


async def test_a_streamable_http_server(tmp_path: Path) -> None:
    """A server configured by ``url``: the same tools over the SDK's streamable HTTP transport."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(SERVER),
        "web",
        "--http",
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(200):  # bounded: the server is listening within a few seconds
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
        url = f"http://127.0.0.1:{port}/mcp"
        config = parse_server("web", {"url": url, "headers": {"X-Agentd-Test": "token-1"}})
        assert config is not None
        harness = Harness(tmp_path, config)
        await harness.tools.ready()
        assert ("web", "ready") in harness.statuses()
        result = await harness.run("mcp__web__echo", text="over http")
        assert result.ok and "web: over http" in str(result.output)
        result = await harness.run("mcp__web__header", key="X-Agentd-Test")
        assert result.ok and "X-Agentd-Test=token-1" in str(result.output)  # headers sent
        await harness.tools.aclose()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)
