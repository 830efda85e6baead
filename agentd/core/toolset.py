"""The tools one session offers its model.

Every session holds a ``ToolSet``. Today it is the built-ins (one shared set: their declarations
and token cost are computed once); a session with MCP servers will get its own set layered over
them. The turn only talks to this: what to declare, whether a tool changes things, how to run it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentd.core.estimate import tool_schema_tokens
from agentd.providers.base import ToolSpec
from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.registry import ToolRegistry


class ToolSet:
    """Declarations (cached), mutation flags and execution of a set of tools."""

    def __init__(self, registry: ToolRegistry) -> None:
        self.registry = registry
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
            self._tokens[provider] = tool_schema_tokens(self.registry.specs(), provider)
        return self._tokens[provider]

    def mutates(self, name: str) -> bool:
        """True when the tool changes files or runs commands (unknown tools: false)."""
        tool = self.registry.get(name)
        return tool is not None and tool.mutates

    async def run(
        self, name: str, arguments: Mapping[str, Any], context: ToolContext
    ) -> ToolResult:
        """Run a tool; never raises except ``CancelledError`` (an interrupt)."""
        return await self.registry.run(name, dict(arguments), context)
