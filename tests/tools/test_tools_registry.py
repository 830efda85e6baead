"""ToolRegistry: lookup, specs, and the failure shapes every tool call can end in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.errors import InvalidToolInput, ToolError
from agentd.tools.registry import ToolRegistry, default_registry


class _Tool:
    """A configurable test tool: echoes its arguments or fails as told."""

    description = "test tool"
    input_schema: Mapping[str, Any] = {
        "type": "object",
        "properties": {"text": {"type": "string"}, "count": {"type": "integer"}},
        "required": ["text"],
        "additionalProperties": False,
    }
    mutates = False

    def __init__(self, name: str, failure: BaseException | None = None) -> None:
        self.name = name
        self.failure = failure
        self.seen: list[Mapping[str, Any]] = []

    async def run(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        self.seen.append(arguments)
        if self.failure is not None:
            raise self.failure
        return ToolResult(ok=True, output=dict(arguments))


class _SlowTool(_Tool):
    async def run(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        await asyncio.sleep(30)
        return ToolResult(ok=True, output=None)


async def test_unknown_tool_is_not_found(context: ToolContext) -> None:
    result = await ToolRegistry().run("nope", {}, context)
    assert result == ToolResult(
        ok=False,
        output={"callId": "call_1", "tool": "nope", "status": "not_found"},
        error="unknown tool: nope",
    )


async def test_valid_call_reaches_the_tool(context: ToolContext) -> None:
    registry = ToolRegistry()
    registry.register(_Tool("t"))
    result = await registry.run("t", {"text": "hi", "count": 2}, context)
    assert result == ToolResult(ok=True, output={"text": "hi", "count": 2})


async def test_null_optional_argument_is_dropped(context: ToolContext) -> None:
    registry = ToolRegistry()
    registry.register(_Tool("t"))
    result = await registry.run("t", {"text": "hi", "count": None}, context)
    assert result.output == {"text": "hi"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "missing required argument: text"),
        ({"text": 5}, "text: expected string, got integer"),
        ({"text": "a", "count": "2"}, "count: expected integer, got string"),
        ({"text": "a", "count": True}, "count: expected integer, got boolean"),
        ({"text": "a", "extra": 1}, "unknown argument: extra"),
        (["text"], "arguments must be an object, got array"),
        ({"text": None}, "text: expected string, got null"),
    ],
)
async def test_invalid_input(context: ToolContext, arguments: Any, message: str) -> None:
    tool = _Tool("t")
    registry = ToolRegistry()
    registry.register(tool)
    result = await registry.run("t", arguments, context)
    assert result == ToolResult(
        ok=False, output={"status": "invalid_input", "message": message}, error=message
    )
    assert tool.seen == []


async def test_invalid_input_raised_by_the_tool(context: ToolContext) -> None:
    registry = ToolRegistry()
    registry.register(_Tool("t", InvalidToolInput("count must be positive")))
    result = await registry.run("t", {"text": "a"}, context)
    assert result.output == {"status": "invalid_input", "message": "count must be positive"}
    assert result.error == "count must be positive"


async def test_tool_error_is_a_plain_message(context: ToolContext) -> None:
    registry = ToolRegistry()
    registry.register(_Tool("t", ToolError("file not found: x")))
    result = await registry.run("t", {"text": "a"}, context)
    assert result == ToolResult(ok=False, output="file not found: x", error="file not found: x")


async def test_unexpected_exception_is_logged_not_raised(
    context: ToolContext, caplog: pytest.LogCaptureFixture
) -> None:
    registry = ToolRegistry()
    registry.register(_Tool("t", RuntimeError("boom")))
    with caplog.at_level(logging.ERROR, logger="agentd.tools"):
        result = await registry.run("t", {"text": "a"}, context)
    assert result == ToolResult(
        ok=False, output={"callId": "call_1", "tool": "t", "status": "error"}, error="boom"
    )
    assert "Traceback" not in (result.error or "")
    [record] = [r for r in caplog.records if r.name == "agentd.tools"]
    assert record.exc_info is not None


async def test_cancellation_propagates(context: ToolContext) -> None:
    registry = ToolRegistry()
    registry.register(_SlowTool("slow"))
    task = asyncio.create_task(registry.run("slow", {"text": "a"}, context))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)


def test_register_twice_is_refused() -> None:
    registry = ToolRegistry()
    registry.register(_Tool("t"))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(_Tool("t"))


def test_names_get_and_specs_are_sorted() -> None:
    registry = ToolRegistry()
    for name in ("b", "a"):
        registry.register(_Tool(name))
    assert registry.names() == ["a", "b"]
    assert registry.get("a") is not None
    assert registry.get("zz") is None
    assert [spec["name"] for spec in registry.specs()] == ["a", "b"]
    assert set(registry.specs()[0]) == {"name", "description", "input_schema"}


def test_default_registry_holds_the_builtins() -> None:
    registry = default_registry()
    assert registry.names() == ["apply_patch", "bash", "grep_files", "list_dir", "read_file"]
    mutating = {name for name in registry.names() if registry.get(name).mutates}  # type: ignore[union-attr]
    assert mutating == {"apply_patch", "bash"}
    for spec in registry.specs():
        schema = spec["input_schema"]
        assert schema["type"] == "object"
        assert set(schema["required"]) <= set(schema["properties"])
