"""The tools one session offers its model.

Every session holds a ``ToolSet``. Sessions without MCP servers share one set of the built-ins
(their declarations and token cost are computed once). A session with MCP servers gets a
``SessionToolSet`` layered over the shared one: its servers start on the first turn (``ready``),
in parallel, each bounded by its start-up timeout, and their tools join the set; the session
closes them (``aclose``). The turn only talks to this: what to declare, whether a tool changes
things, how to run it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentd.core.estimate import tool_schema_tokens
from agentd.core.events import CoreEvent, McpStatusChanged
from agentd.providers.base import ToolSpec
from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.config import DEFAULT_MAX_CALLS_PER_ROUND
from agentd.tools.mcp.config import McpServerConfig
from agentd.tools.mcp.names import qualified_name
from agentd.tools.registry import ToolRegistry

if TYPE_CHECKING:
    from agentd.tools.mcp.client import McpConnection

log = logging.getLogger("agentd.core")


class ToolSet:
    """Declarations (cached), mutation flags and execution of a set of tools."""

    def __init__(
        self, registry: ToolRegistry, max_calls_per_round: int = DEFAULT_MAX_CALLS_PER_ROUND
    ) -> None:
        self.registry = registry
        self.max_calls_per_round = max_calls_per_round
        self._declared: tuple[ToolSpec, ...] | None = None
        self._tokens: dict[str | None, int] = {}

    def specs(self) -> list[dict[str, Any]]:
        """``tools.list``'s rows: name, description, input schema, sorted by name."""
        return self.registry.specs()

    def declared(self) -> tuple[ToolSpec, ...]:
        """The declarations sent to the model (built once: the set is fixed)."""
        if self._declared is None:
            self._declared = tuple(self._spec(t) for t in self.registry.specs())
        return self._declared

    def _spec(self, row: Mapping[str, Any]) -> ToolSpec:
        """A native tool (``apply_patch``) is declared as such; providers without it fall back."""
        tool = self.registry.get(row["name"])
        native = getattr(tool, "native_type", None)
        if isinstance(native, str):
            return ToolSpec(row["name"], row["description"], row["input_schema"], "native", native)
        return ToolSpec(row["name"], row["description"], row["input_schema"])

    def schema_tokens(self, provider: str | None) -> int:
        """What the declarations cost in the context of ``provider`` (computed once each)."""
        if provider not in self._tokens:
            self._tokens[provider] = tool_schema_tokens(self.specs(), provider)
        return self._tokens[provider]

    def mutates(self, name: str) -> bool:
        """True when the tool changes files or runs commands (unknown tools: false)."""
        tool = self.registry.get(name)
        return tool is not None and tool.mutates

    def over_limit(self, name: str) -> ToolResult:
        """What a call beyond ``max_calls_per_round`` gets instead of running."""
        limit = self.max_calls_per_round
        message = (
            f"tool call not run: at most {limit} tool calls run per model round; "
            "make the remaining calls in your next response"
        )
        return ToolResult(
            ok=False, output={"tool": name, "status": "limit", "message": message}, error=message
        )

    async def ready(self) -> None:
        """Wait until the set's tools are known (the built-ins always are)."""

    async def aclose(self) -> None:
        """Release what the set started (the built-ins start nothing)."""

    async def run(
        self, name: str, arguments: Mapping[str, Any], context: ToolContext
    ) -> ToolResult:
        """Run a tool; never raises except ``CancelledError`` (an interrupt)."""
        return await self.registry.run(name, dict(arguments), context)


class SessionToolSet(ToolSet):
    """The shared built-ins plus one session's MCP servers' tools."""

    def __init__(
        self,
        base: ToolSet,
        servers: Sequence[McpServerConfig],
        errors: Mapping[str, str],
        *,
        session_id: str,
        workspace: Path,
        emit: Callable[[CoreEvent], None],
    ) -> None:
        super().__init__(ToolRegistry(), base.max_calls_per_round)
        self.base = base
        self.servers = list(servers)
        self.errors = dict(errors)
        self.session_id = session_id
        self.workspace = workspace
        self.emit = emit
        self.connections: list[McpConnection] = []
        self._started: asyncio.Task[None] | None = None
        self._closed = False

    def specs(self) -> list[dict[str, Any]]:
        return sorted([*self.base.specs(), *self.registry.specs()], key=lambda t: t["name"])

    def declared(self) -> tuple[ToolSpec, ...]:
        if self._declared is None:
            mcp = tuple(self._spec(t) for t in self.registry.specs())
            self._declared = tuple(
                sorted([*self.base.declared(), *mcp], key=lambda spec: spec.name)
            )
        return self._declared

    def mutates(self, name: str) -> bool:
        tool = self.registry.get(name)
        return tool.mutates if tool is not None else self.base.mutates(name)

    async def run(
        self, name: str, arguments: Mapping[str, Any], context: ToolContext
    ) -> ToolResult:
        if self.registry.get(name) is not None:
            return await self.registry.run(name, dict(arguments), context)
        return await self.base.run(name, arguments, context)

    async def ready(self) -> None:
        """Start every server (once, in parallel); returns when each is ready or has failed.

        An interrupt stops the wait, not the start-up: the next turn waits for the rest.
        """
        if self._closed:
            return
        if self._started is None:
            self._started = asyncio.get_running_loop().create_task(
                self._start_all(), name=f"mcp-start-{self.session_id}"
            )
        await asyncio.shield(self._started)

    def _status(self, server: str, status: str, reason: str | None = None, tools: Any = ()) -> None:
        self.emit(McpStatusChanged(self.session_id, server, status, reason, tuple(tools)))  # type: ignore[arg-type]

    async def _start_all(self) -> None:
        for name, reason in self.errors.items():
            self._status(name, "failed", reason)
        if not self.servers:
            return
        try:
            from agentd.tools.mcp.client import McpConnection
        except ImportError as exc:  # the optional extra is not installed
            for config in self.servers:
                self._status(config.name, "failed", f"the mcp package is not installed ({exc})")
            return
        for config in self.servers:
            self._status(config.name, "starting")
        connections = [McpConnection(config, self.workspace) for config in self.servers]
        self.connections = connections
        results = await asyncio.gather(
            *(connection.start() for connection in connections), return_exceptions=True
        )
        taken = set(self.base.registry.names())
        from agentd.tools.mcp.tool import McpTool

        for connection, result in zip(connections, results, strict=True):
            name = connection.config.name
            if isinstance(result, BaseException):
                self._status(name, "failed", str(result) or type(result).__name__)
                continue
            added: list[str] = []
            for remote in result:
                if not connection.config.offers(remote.name):
                    continue
                tool = McpTool(qualified_name(name, remote.name, taken), connection, remote)
                self.registry.register(tool)
                added.append(tool.name)
            connection.on_failure = lambda reason, name=name: self._status(name, "failed", reason)
            self._status(name, "ready", None, sorted(added))
        self._declared = None
        self._tokens.clear()

    async def aclose(self) -> None:
        """Stop the servers (each bounded); later ``ready`` calls start nothing."""
        self._closed = True
        if self._started is not None and not self._started.done():
            self._started.cancel()
        await asyncio.gather(
            *(connection.aclose() for connection in self.connections), return_exceptions=True
        )
