"""What every session shares: the event bus, providers, tools and process-wide counters.

Kept apart from ``SessionManager`` so a ``Session`` and its ``Turn`` can reach shared services
without holding the manager (which owns them). The runtime owns the providers: ``aclose`` at
shutdown releases them.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from agentd import tokens
from agentd.core.events import EventBus
from agentd.core.policy import ApprovalDecision
from agentd.core.recorder import HistoryWriter
from agentd.core.toolset import ToolSet
from agentd.providers.registry import ProviderRegistry
from agentd.tools.base import Command, CommandOutcome
from agentd.tools.config import ToolConfig

#: Asks the client whether a tool call may run: (session_id, turn_id, call) → (decision, message).
Approver = Callable[[str, str, Mapping[str, Any]], Awaitable[tuple[ApprovalDecision, str | None]]]
#: Reads a file as the client sees it: (session_id, path) → its text, or ``None`` for the disk.
FileReader = Callable[[str, Path], Awaitable[str | None]]
#: Writes a file through the client: (session_id, path, text) → whether it did (else: the disk).
FileWriter = Callable[[str, Path, str], Awaitable[bool]]
#: Runs a tool's command in the client (a terminal): (session_id, command) → its outcome, or
#: ``None`` to run it here.
CommandRunner = Callable[[str, Command], Awaitable[CommandOutcome | None]]

DEFAULT_SYSTEM_PROMPT = (
    "You are agentd, a careful coding agent. Use the tools to inspect the workspace before "
    "answering, keep answers short, and say what you changed."
)

__all__ = ["DEFAULT_SYSTEM_PROMPT", "ApprovalDecision", "Approver", "ModelSelection", "Runtime"]


@attrs.frozen
class ModelSelection:
    """A provider, model and thinking level chosen with ``model.select``."""

    provider: str
    model: str
    thinking: str | None = None


@attrs.define(eq=False)
class Runtime:
    """Shared services for sessions and turns."""

    bus: EventBus
    providers: ProviderRegistry
    #: The built-in tools every session starts with.
    tools: ToolSet
    default_cwd: Path
    approver: Approver | None = None
    #: Set by a front door whose client can show files (ACP's ``fs/read_text_file``).
    file_reader: FileReader | None = None
    #: Set by a front door whose client can write files (ACP's ``fs/write_text_file``).
    file_writer: FileWriter | None = None
    #: Set by a front door whose client runs commands (ACP's ``terminal/*``).
    command_runner: CommandRunner | None = None
    #: Where turns are recorded; ``None`` keeps sessions in memory only (unit tests).
    history: HistoryWriter | None = None
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    #: ``config.toml``'s tool settings: the per-round bound, MCP servers for every session.
    tool_config: ToolConfig = attrs.Factory(ToolConfig)
    shutting_down: bool = False
    #: The daemon-wide choice of ``model.select`` (``None``: the configured defaults).
    selection: ModelSelection | None = None
    _ui_ids: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1))
    _warming: set[str] = attrs.field(factory=set)

    def warm_tokens(self, model: str) -> None:
        """Load ``model``'s token encoding in a worker thread, once, if it has one (counts are
        estimated until it is loaded; the event loop never waits for the ~0.3 s load)."""
        if model in self._warming or tokens.encoding_for(model) is None or tokens.is_ready(model):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._warming.add(model)
        loop.run_in_executor(None, tokens.source_for, model)

    def next_ui_message_id(self) -> int:
        """UI message ids are process-wide, shared by all sessions (as the reference)."""
        return next(self._ui_ids)

    async def aclose(self) -> None:
        """Release the providers (their HTTP clients)."""
        await self.providers.aclose()
