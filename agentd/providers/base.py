"""The provider interface: one model request in, an async stream of provider events out.

Providers know nothing of sessions, turns or the wire. The turn loop (``agentd.core``) builds a
``ModelRequest`` from plain data, iterates ``Provider.stream`` and reacts to the events. A provider
failure is raised as ``ProviderError`` carrying a machine-readable ``kind`` (PROTOCOL §5); a
cancellation (interrupt) is the ordinary ``asyncio.CancelledError`` and must never be turned into a
``ProviderError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal, Protocol

import attrs

ErrorKind = Literal[
    "auth", "rate_limited", "context_overflow", "upstream", "network", "timeout", "invalid_request"
]
ERROR_KINDS: tuple[ErrorKind, ...] = (
    "auth",
    "rate_limited",
    "context_overflow",
    "upstream",
    "network",
    "timeout",
    "invalid_request",
)


@attrs.frozen
class ToolSpec:
    """A tool as declared to the model."""

    name: str
    description: str
    input_schema: Mapping[str, Any]


@attrs.frozen
class ToolCall:
    """A tool call requested by the model (arguments already parsed; unparsable → ``{}``)."""

    call_id: str
    name: str
    arguments: Mapping[str, Any]


@attrs.frozen
class ChatMessage:
    """One model-facing message. ``tool`` messages answer the call named by ``tool_call_id``."""

    role: Literal["user", "assistant", "tool"]
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@attrs.frozen
class ModelRequest:
    """Everything a provider needs for one model round."""

    model: str
    system_prompt: str
    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...] = ()
    #: 1-based index of this model round within the turn (the scripted provider plays round N).
    round_index: int = 1
    turn_id: str = ""


@attrs.frozen
class TextDelta:
    text: str


@attrs.frozen
class ReasoningDelta:
    text: str


@attrs.frozen
class ToolCallRequested:
    call: ToolCall


@attrs.frozen
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


@attrs.frozen
class Done:
    finish_reason: Literal["stop", "tool_calls", "length"] = "stop"


ProviderEvent = TextDelta | ReasoningDelta | ToolCallRequested | Usage | Done


class ProviderError(Exception):
    """A model request failed; ``kind`` is one of ``ERROR_KINDS``."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message


class Provider(Protocol):
    """A model provider. ``stream`` yields events until ``Done`` or raises ``ProviderError``."""

    name: str

    def stream(self, request: ModelRequest) -> AsyncIterator[ProviderEvent]: ...
