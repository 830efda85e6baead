"""What every session shares: the event bus, providers, tools and process-wide counters.

Kept apart from ``SessionManager`` so a ``Session`` and its ``Turn`` can reach shared services
without holding the manager (which owns them).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from agentd.core.estimate import tool_schema_tokens
from agentd.core.events import EventBus
from agentd.core.recorder import HistoryWriter
from agentd.providers.base import Provider, ToolSpec
from agentd.tools.registry import ToolRegistry

ApprovalDecision = Literal["allow", "allow_session", "deny"]
#: Asks the client whether a tool call may run: (session_id, turn_id, call) → (decision, message).
Approver = Callable[[str, str, Mapping[str, Any]], Awaitable[tuple[ApprovalDecision, str | None]]]

DEFAULT_SYSTEM_PROMPT = (
    "You are agentd, a careful coding agent. Use the tools to inspect the workspace before "
    "answering, keep answers short, and say what you changed."
)


@attrs.define(eq=False)
class Runtime:
    """Shared services for sessions and turns."""

    bus: EventBus
    providers: Mapping[str, Provider]
    tools: ToolRegistry
    default_provider: str
    default_models: Mapping[str, str]
    default_cwd: Path
    #: Every provider name agentd knows, configured or not (for clear errors).
    known_providers: tuple[str, ...] = ("scripted", "openai", "openrouter", "antigravity")
    approver: Approver | None = None
    #: Where turns are recorded; ``None`` keeps sessions in memory only (unit tests).
    history: HistoryWriter | None = None
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    shutting_down: bool = False
    _ui_ids: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))
    _declared: tuple[ToolSpec, ...] | None = None
    _tool_tokens: dict[str | None, int] = attrs.field(factory=dict)

    def declared_tools(self) -> tuple[ToolSpec, ...]:
        """The tool declarations sent to the model (built once: the built-in set is fixed)."""
        if self._declared is None:
            self._declared = tuple(
                ToolSpec(t["name"], t["description"], t["input_schema"]) for t in self.tools.specs()
            )
        return self._declared

    def tool_tokens(self, provider: str | None) -> int:
        if provider not in self._tool_tokens:
            self._tool_tokens[provider] = tool_schema_tokens(self.tools.specs(), provider)
        return self._tool_tokens[provider]

    def next_ui_message_id(self) -> int:
        """UI message ids are process-wide, shared by all sessions (as the reference)."""
        return next(self._ui_ids)
