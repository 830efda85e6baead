"""Params types of the methods agentd serves (wire names are snake_case as the reference)."""

from __future__ import annotations

from typing import Any, Literal

import attrs


@attrs.frozen
class NoParams:
    """For methods that take nothing (params are ignored, as the reference)."""


@attrs.frozen
class HandshakeParams:
    protocol_version: str | None = None
    strict: bool = False
    client_name: str | None = None
    client_version: str | None = None


@attrs.frozen
class InitializeParams:
    process_id: int | None = attrs.field(default=None, metadata={"wire": "processId"})
    client_info: dict[str, Any] | None = attrs.field(default=None, metadata={"wire": "clientInfo"})
    capabilities: dict[str, Any] | None = None


@attrs.frozen
class ShutdownParams:
    reason: str | None = None


@attrs.frozen
class SessionCreateParams:
    title: str | None = None
    cwd: str | None = None
    provider: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    approval_policy: Literal["auto", "ask", "read_only"] | None = None
    resume_id: str | None = None
    #: MCP servers of this session, a list of ``{name, command, args?, env?, cwd?, ...}`` or
    #: ``{name, url}`` (checked by the core: a bad entry is ``-32602`` naming it).
    mcp_servers: Any = None


@attrs.frozen
class SessionIdParams:
    session_id: str


@attrs.frozen
class SessionSendParams:
    session_id: str
    text: str | None = None
    images: Any = None
    enqueue: bool = False


@attrs.frozen
class SessionSteerParams:
    session_id: str
    text: str


@attrs.frozen
class SessionInterruptParams:
    session_id: str
    clear_queue: bool = False


@attrs.frozen
class QueueRemoveParams:
    session_id: str
    id: str


@attrs.frozen
class HistoryListParams:
    limit: float | None = None
    cursor: float | None = None


@attrs.frozen
class HistoryGetParams:
    id: str | None = None
    last: bool = False
    rollout_path: str | None = None


@attrs.frozen
class CancelParams:
    id: Any = None


@attrs.frozen
class ModelListParams:
    provider: str | None = None
    #: Ask the servers again instead of using the cached lists.
    refresh: bool = False


@attrs.frozen
class ModelSelectParams:
    model_id: str
    provider: str
    #: Not validated (as the reference): an unsupported level becomes the model's default.
    thinking_level: str | None = None
    openrouter_provider: str | None = None
    session_id: str | None = None
    compress_immediately: bool = False


@attrs.frozen
class ToolsListParams:
    """``tools.list``: with a ``session_id``, that session's tools (its MCP servers started)."""

    session_id: str | None = None
