"""The provider interface: one model request in, an async stream of provider events out.

Providers know nothing of sessions, turns or the wire. The turn loop (``agentd.core``) builds a
``ModelRequest`` from plain data, consumes ``Provider.stream`` under ``contextlib.aclosing`` (so
an HTTP response is closed before the turn reports its end, whatever way it ends) and reacts to
the events. ``Done`` is the last event a stream yields; a ``Usage`` that a wire sends after its
finish reason is still delivered (the turn counts usage until the stream ends).

A provider failure is raised as ``ProviderError`` carrying a machine-readable ``kind`` (PROTOCOL
§5), whether it may be retried and how long the server asked to wait; a cancellation (interrupt)
is the ordinary ``asyncio.CancelledError`` and is never turned into a ``ProviderError``.

The message model is wide enough for real models: content parts (text, images), tool calls that
keep the raw argument text next to the parsed form, and an opaque per-provider field
(``ProviderData``: OpenAI reasoning items, Gemini thought signatures) that the core stores in
history and hands back on later rounds without looking inside.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, Literal, Protocol, TypeAlias

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
#: Kinds worth another attempt when nothing says otherwise (a server hiccup, not a bad request).
RETRYABLE_KINDS: frozenset[ErrorKind] = frozenset(
    {"rate_limited", "upstream", "network", "timeout"}
)

FinishReason = Literal["stop", "tool_calls", "length", "content_filter"]
Role = Literal["user", "assistant", "tool"]


@attrs.frozen
class ProviderData:
    """State a provider must get back on later rounds, opaque to everyone else.

    ``provider`` names the provider that produced it: another provider ignores it (a
    conversation can switch providers). ``data`` is JSON-serialisable and stored in history.
    """

    provider: str
    data: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "data": dict(self.data)}

    @classmethod
    def from_json(cls, raw: object) -> ProviderData | None:
        """The stored form back, or ``None`` for anything that is not one (never raises)."""
        if not isinstance(raw, Mapping):
            return None
        provider, data = raw.get("provider"), raw.get("data")
        if not isinstance(provider, str) or not isinstance(data, Mapping):
            return None
        return cls(provider, data)


@attrs.frozen
class TextPart:
    text: str


@attrs.frozen
class ImagePart:
    """An image given with a prompt: ``data_url`` is ``data:<mime>;base64,<payload>``."""

    mime_type: str
    data_url: str
    #: Where it came from (a file path or a generated label); for people, not for the model.
    label: str = ""


ContentPart: TypeAlias = TextPart | ImagePart


def _content(value: str | tuple[ContentPart, ...] | list[ContentPart]) -> tuple[ContentPart, ...]:
    """``ChatMessage("user", "hi")`` stays the short form of one text part."""
    if isinstance(value, str):
        return (TextPart(value),) if value else ()
    return tuple(value)


@attrs.frozen
class ToolSpec:
    """A tool as declared to the model.

    ``kind`` is ``function`` for a JSON-Schema function tool (every provider), or ``native`` for a
    tool a provider knows by type (``native_type``, e.g. OpenAI's ``apply_patch``); a provider
    that lacks the native form declares it as a function.
    """

    name: str
    description: str
    input_schema: Mapping[str, Any]
    kind: Literal["function", "native"] = "function"
    native_type: str | None = None


@attrs.frozen
class ToolCall:
    """A tool call requested by the model.

    ``arguments`` is the parsed object (unparsable or not an object → ``{}``); ``raw_arguments``
    is the text exactly as the model produced it, which is what history stores and what goes back
    to the model. ``provider_data`` rides along (a Gemini thought signature sits on its call).
    """

    call_id: str
    name: str
    arguments: Mapping[str, Any]
    raw_arguments: str | None = None
    provider_data: ProviderData | None = None

    @property
    def arguments_text(self) -> str:
        """The raw text when there is one, else the parsed form encoded."""
        if self.raw_arguments is not None:
            return self.raw_arguments
        import json

        return json.dumps(dict(self.arguments))


@attrs.frozen
class ChatMessage:
    """One model-facing message. ``tool`` messages answer the call named by ``tool_call_id``.

    ``content`` is a tuple of parts (a plain string is one text part); ``text`` joins the text
    parts. ``provider_data`` is set on assistant messages whose provider needs it back.
    """

    role: Role
    content: tuple[ContentPart, ...] = attrs.field(converter=_content)
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    provider_data: ProviderData | None = None

    @property
    def text(self) -> str:
        parts = self.content
        if len(parts) == 1 and isinstance(parts[0], TextPart):
            return parts[0].text
        return "".join(p.text for p in parts if isinstance(p, TextPart))

    @property
    def images(self) -> tuple[ImagePart, ...]:
        return tuple(p for p in self.content if isinstance(p, ImagePart))


@attrs.frozen
class RequestOptions:
    """Per-request knobs every provider maps to its own wire (or ignores when it has none)."""

    #: ``minimal`` | ``low`` | ``medium`` | ``high`` (providers without reasoning ignore it).
    reasoning_effort: str | None = None
    #: Whether to ask for a reasoning summary (``auto`` | ``concise`` | ``detailed``).
    reasoning_summary: str | None = None
    max_output_tokens: int | None = None
    temperature: float | None = None


@attrs.frozen
class RequestTrace:
    """Where a request sits: for logs, idempotency and cache keys (and the scripted provider,
    which plays round N of its script for the N-th request of a turn)."""

    session_id: str = ""
    turn_id: str = ""
    #: 1-based index of this model round within the turn.
    round_index: int = 1


@attrs.frozen
class ModelRequest:
    """Everything a provider needs for one model round."""

    model: str
    system_prompt: str
    messages: tuple[ChatMessage, ...]
    tools: tuple[ToolSpec, ...] = ()
    options: RequestOptions = RequestOptions()
    trace: RequestTrace = RequestTrace()


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
class MessageData:
    """Opaque provider data for the assistant message of this round (reasoning items, …)."""

    data: ProviderData


@attrs.frozen
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0


@attrs.frozen
class Retrying:
    """The retry wrapper is about to wait ``delay_ms`` before attempt ``attempt``."""

    attempt: int
    max_attempts: int
    delay_ms: int
    #: ``kind: message`` of the failure being retried.
    reason: str
    kind: ErrorKind = "upstream"
    message: str = ""


@attrs.frozen
class Done:
    """The last event of a stream: why the model stopped."""

    finish_reason: FinishReason = "stop"


ProviderEvent: TypeAlias = (
    TextDelta | ReasoningDelta | ToolCallRequested | MessageData | Usage | Retrying | Done
)
#: A provider's answer to one request: an async generator, so ``aclose`` ends it early (and
#: closes the HTTP response behind it).
ProviderStream: TypeAlias = AsyncGenerator[ProviderEvent, None]
#: Events that show the model has started answering: no retry after one of them.
CONTENT_EVENTS = (TextDelta, ReasoningDelta, ToolCallRequested)


class ProviderError(Exception):
    """A model request failed; ``kind`` is one of ``ERROR_KINDS``.

    ``retryable`` defaults by kind; ``retry_after`` is the server's requested wait in seconds;
    ``status`` the HTTP status when the server refused the request.
    """

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        retryable: bool | None = None,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.retryable = kind in RETRYABLE_KINDS if retryable is None else retryable
        self.retry_after = retry_after
        #: The HTTP status of the refusal, when there was one.
        self.status = status


class Provider(Protocol):
    """A model provider.

    ``stream`` returns an async generator that yields events until ``Done`` or raises
    ``ProviderError``. ``aclose`` releases what the provider holds
    (an HTTP client); the runtime that built it calls it once, at shutdown.
    """

    name: str

    def stream(self, request: ModelRequest) -> ProviderStream: ...

    async def list_models(self) -> list[str]:
        """The model ids the provider offers (its server's list; may raise ProviderError)."""
        ...

    async def aclose(self) -> None: ...
