"""The table of tools a session may call, and the one place tool failures are shaped.

``ToolRegistry.run`` is what the agent loop calls: it validates arguments against the tool's
schema and turns every failure into a ``ToolResult`` with the reference's shapes, so a bad call
from the model becomes a message the model can read rather than an exception in the turn.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from typing import Any

from agentd.tools.base import Tool, ToolContext, ToolResult
from agentd.tools.bash import BashTool
from agentd.tools.errors import InvalidToolInput, ToolError
from agentd.tools.grep_files import GrepFilesTool
from agentd.tools.list_dir import ListDirTool
from agentd.tools.patch.tool import ApplyPatchTool
from agentd.tools.read_file import ReadFileTool
from agentd.tools.schema import Checker, compile_checker, load

logger = logging.getLogger("agentd.tools")


class ToolRegistry:
    """Tools by name."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}
        self._checkers: dict[str, Checker] = {}

    def register(self, tool: Tool) -> None:
        """Add ``tool``; a second tool with the same name is a programming error."""
        if tool.name in self._tools:
            raise ValueError(f"tool already registered: {tool.name}")
        self._tools[tool.name] = tool
        self._checkers.pop(tool.name, None)

    async def _checker(self, tool: Tool) -> Checker:
        """The tool's compiled schema checker (the validator is imported on first use)."""
        checker = self._checkers.get(tool.name)
        if checker is None:
            await asyncio.to_thread(load)
            schema = getattr(tool, "validation_schema", None) or tool.input_schema
            checker = self._checkers[tool.name] = compile_checker(schema)
        return checker

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def specs(self) -> list[dict[str, Any]]:
        """The declarations sent to the model and returned by ``tools.list``, sorted by name."""
        return [
            {
                "name": tool.name,
                "description": tool.description,
                "input_schema": copy.deepcopy(dict(tool.input_schema)),
            }
            for tool in (self._tools[name] for name in self.names())
        ]

    async def run(self, name: str, arguments: Any, context: ToolContext) -> ToolResult:
        """Run tool ``name``; never raises except ``CancelledError`` (an interrupt)."""
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult(
                ok=False,
                output={"callId": context.call_id, "tool": name, "status": "not_found"},
                error=f"unknown tool: {name}",
            )
        try:
            checked: Mapping[str, Any] = (await self._checker(tool))(arguments)
            return await tool.run(checked, context)
        except asyncio.CancelledError:
            raise
        except InvalidToolInput as exc:
            return ToolResult(
                ok=False,
                output={"status": "invalid_input", "message": exc.message},
                error=exc.message,
            )
        except ToolError as exc:
            return ToolResult(ok=False, output=exc.message, error=exc.message)
        except Exception as exc:
            logger.exception("tool %s failed (call %s)", name, context.call_id)
            return ToolResult(
                ok=False,
                output={"callId": context.call_id, "tool": name, "status": "error"},
                error=str(exc) or type(exc).__name__,
            )


def default_registry() -> ToolRegistry:
    """A registry holding every built-in tool."""
    registry = ToolRegistry()
    for tool in (ApplyPatchTool(), BashTool(), GrepFilesTool(), ListDirTool(), ReadFileTool()):
        registry.register(tool)
    return registry
