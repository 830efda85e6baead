"""The tool interface and registry.

Tools know nothing of sessions: they take parsed arguments and a ``ToolContext`` (the workspace
root and limits) and return a ``ToolResult``. An interrupt cancels the awaiting task; a tool that
started processes must kill them (the whole process group) before letting ``CancelledError``
propagate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import attrs

from agentd.tools.process import ProcessResult


@attrs.frozen
class Command:
    """A command a tool wants run, for a ``ToolContext.run_command`` port."""

    argv: tuple[str, ...]
    cwd: Path
    #: Variables to add to the runner's own environment (never agentd's secrets).
    env: Mapping[str, str]
    timeout_s: float
    #: The tool call it runs for (a runner may show the command in that call).
    call_id: str = ""


@attrs.frozen
class CommandOutcome:
    """How a command run by a port ended; ``terminal_id`` names the client's terminal."""

    result: ProcessResult
    terminal_id: str | None = None


@attrs.frozen
class ToolContext:
    """Where and how a tool call runs."""

    workspace_root: Path
    call_id: str = ""
    #: Upper bound for any single tool call, in seconds (tools may use a smaller own default).
    max_timeout_s: float = 1200.0
    #: Reads a file as the client sees it (an editor's unsaved buffer, over ACP's
    #: ``fs/read_text_file``); ``None`` from it, or no reader, means: read the disk.
    read_text: Callable[[Path], Awaitable[str | None]] | None = None
    #: Writes a file through the client (the editor's buffer updates, and it saves);
    #: ``False`` from it, or no writer, means: write the disk.
    write_text: Callable[[Path, str], Awaitable[bool]] | None = None
    #: Runs a command elsewhere (an editor's terminal, over ACP's ``terminal/*``); ``None``
    #: from it, or no runner, means: run it here, as a child process.
    run_command: Callable[[Command], Awaitable[CommandOutcome | None]] | None = None


@attrs.frozen
class ToolResult:
    """A tool's outcome: ``output`` is JSON-serialisable; ``error`` is set when ``ok`` is false."""

    ok: bool
    output: Any
    error: str | None = None
    #: Images for the model (``{mimeType, dataUrl}``), e.g. an MCP tool's screenshot.
    images: tuple[Mapping[str, str], ...] = ()


class Tool(Protocol):
    """A built-in tool."""

    name: str
    description: str
    input_schema: Mapping[str, Any]
    #: True when the tool changes files or runs commands (refused under ``read_only``).
    mutates: bool

    async def run(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult: ...


# Optional attributes a tool may have (read with ``getattr``):
#: ``validation_schema``: what arguments are checked against, when it accepts more forms than
#: ``input_schema`` declares (``apply_patch`` also takes OpenAI's native patch operation).
#: ``native_type``: the provider-native tool type it may be declared as (``apply_patch``).
