"""What the core tells the world: typed events, and the bus that carries them.

The core emits these domain events and knows nothing of any wire: each front door projects them
into its own protocol's payloads (``agentd.api.projection`` builds the reference's shapes). A
second protocol over the same sessions is another projection, not a fork of the core.

Dispatch is synchronous and in emission order, so a listener (the connection's outbox, the CLI, a
test) sees exactly the order in which the core changed state. Listeners must not block.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias

import attrs

from agentd.clock import iso_now
from agentd.providers.base import ToolCall, Usage
from agentd.tools.base import ToolResult

log = logging.getLogger("agentd.core")

#: How a completed turn stopped: the model finished, hit its output limit, or refused.
StopReason = Literal["end_turn", "max_tokens", "refusal", "max_turn_requests"]


@attrs.frozen(slots=True)
class TranscriptEntry:
    """One line of a session's visible transcript (the reference's UI message)."""

    id: int
    kind: Literal["user", "assistant", "system"]
    text: str
    #: Loaded image rows (``{path, mimeType, dataUrl, byteSize}``) of a user prompt.
    images: tuple[Mapping[str, Any], ...] = ()


@attrs.frozen(slots=True)
class PendingPrompt:
    """A prompt sent while the session was busy; ``id`` becomes its turn's id."""

    id: str
    text: str
    images: tuple[Mapping[str, Any], ...]
    enqueued_at: str


@attrs.frozen(slots=True)
class ExecutedTool:
    """A tool call and what came of it."""

    call: ToolCall
    result: ToolResult


@attrs.frozen(slots=True)
class StatusChanged:
    session_id: str
    pending: bool
    label: str
    turn_id: str | None = None


@attrs.frozen(slots=True)
class TranscriptAppended:
    session_id: str
    entry: TranscriptEntry


# The two streaming events are built once per streamed piece, the hottest path of the daemon:
# they are plain slotted classes (treat them as immutable), since a frozen attrs class costs
# 0.4 µs more to build (``bench/micro.py``).
@attrs.define(slots=True)
class TextStreamed:
    session_id: str
    turn_id: str
    text: str


@attrs.define(slots=True)
class ReasoningStreamed:
    session_id: str
    turn_id: str
    text: str
    #: The round's reasoning so far (stripped), for clients that show it whole.
    so_far: str


@attrs.frozen(slots=True)
class ToolCallStarted:
    session_id: str
    turn_id: str
    round_index: int
    call: ToolCall


@attrs.frozen(slots=True)
class ToolCallCompleted:
    session_id: str
    turn_id: str
    round_index: int
    executed: ExecutedTool


@attrs.frozen(slots=True)
class ToolResultsReported:
    """Every call of a tool round has ended (or the round was interrupted)."""

    session_id: str
    turn_id: str
    round_index: int
    executed: tuple[ExecutedTool, ...]


@attrs.frozen(slots=True)
class UsageReported:
    session_id: str
    turn_id: str
    usage: Usage


@attrs.frozen(slots=True)
class ContextEstimated:
    session_id: str
    provider: str
    breakdown: Mapping[str, int]
    source: str = "history"
    #: How the figure was counted: ``tiktoken``, ``provider`` (its reported usage) or
    #: ``estimate`` (the reference's heuristic).
    token_source: str = "estimate"

    @property
    def total(self) -> int:
        return sum(self.breakdown.values())


@attrs.frozen(slots=True)
class RetryScheduled:
    session_id: str
    turn_id: str
    attempt: int
    max_attempts: int
    delay_ms: int
    reason: str
    kind: str = "upstream"
    message: str = ""


@attrs.frozen(slots=True)
class TurnCompleted:
    session_id: str
    turn_id: str
    answer_length: int
    stop_reason: StopReason = "end_turn"


@attrs.frozen(slots=True)
class TurnInterrupted:
    session_id: str
    turn_id: str
    partial_output: bool


@attrs.frozen(slots=True)
class TurnFailed:
    session_id: str
    turn_id: str
    kind: str
    message: str
    #: The HTTP status of a provider's refusal, when there was one.
    status: int | None = None


@attrs.frozen(slots=True)
class QueueChanged:
    session_id: str
    queue: tuple[PendingPrompt, ...]


CompactionReason = Literal["auto", "manual", "provider_switch"]


@attrs.frozen(slots=True)
class CompactionStarted:
    session_id: str
    turn_id: str | None
    reason: CompactionReason
    #: Messages in the context being summarised.
    message_count: int
    context_window: int


@attrs.frozen(slots=True)
class CompactionCompleted:
    session_id: str
    turn_id: str | None
    reason: CompactionReason
    message_count: int
    tokens_before: int
    tokens_after: int
    context_window: int
    target: int
    high_watermark: int
    at: str


@attrs.frozen(slots=True)
class CompactionFailed:
    session_id: str
    turn_id: str | None
    reason: CompactionReason
    message: str


@attrs.frozen(slots=True)
class SessionCreated:
    session_id: str


@attrs.frozen(slots=True)
class ModelSelected:
    """``model.select`` changed the daemon's selection, or one session's (``session_id``)."""

    session_id: str | None = None


McpStatus = Literal["starting", "ready", "failed"]


@attrs.frozen(slots=True)
class McpStatusChanged:
    """An MCP server of a session is starting, ready (with its tools' names) or failed."""

    session_id: str
    server: str
    status: McpStatus
    reason: str | None = None
    tools: tuple[str, ...] = ()


CoreEvent: TypeAlias = (
    StatusChanged
    | TranscriptAppended
    | TextStreamed
    | ReasoningStreamed
    | ToolCallStarted
    | ToolCallCompleted
    | ToolResultsReported
    | UsageReported
    | ContextEstimated
    | RetryScheduled
    | TurnCompleted
    | TurnInterrupted
    | TurnFailed
    | QueueChanged
    | SessionCreated
    | ModelSelected
    | CompactionStarted
    | CompactionCompleted
    | CompactionFailed
    | McpStatusChanged
)
#: The events that end a turn: exactly one per turn.
TURN_ENDS = (TurnCompleted, TurnInterrupted, TurnFailed)

Listener = Callable[[CoreEvent, str], None]


class FlowGate:
    """Back-pressure from whoever carries the events out, without the core knowing who.

    The front door closes the gate while its outbound queue is over its limit (a client that
    stopped reading) and opens it when the queue drained. A streaming turn checks ``is_open``
    between provider events (one attribute read) and only awaits ``wait`` while closed: it then
    stops pulling from its provider stream, so an HTTP stream pushes back over TCP instead of
    the daemon buffering the answer.
    """

    __slots__ = ("_opened", "is_open")

    def __init__(self) -> None:
        self.is_open = True
        self._opened: asyncio.Event | None = None

    def set_open(self, is_open: bool) -> None:
        if is_open == self.is_open:
            return
        self.is_open = is_open
        if self._opened is not None:
            if is_open:
                self._opened.set()
            else:
                self._opened.clear()

    async def wait(self) -> None:
        """Return once the gate is open (at once when it is)."""
        if self.is_open:
            return
        if self._opened is None:
            self._opened = asyncio.Event()
        await self._opened.wait()


class EventBus:
    """Fan-out of ``(event, timestamp)`` to subscribers."""

    def __init__(self) -> None:
        #: Replaced, never mutated: ``emit`` iterates it while listeners may (un)subscribe.
        self._listeners: tuple[Listener, ...] = ()
        #: Closed by the front door while its listeners cannot keep up (see ``FlowGate``).
        self.flow = FlowGate()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; the returned function removes it again."""
        self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            self._listeners = tuple(x for x in self._listeners if x is not listener)

        return unsubscribe

    def emit(self, event: CoreEvent) -> None:
        timestamp = iso_now()
        for listener in self._listeners:
            try:
                listener(event, timestamp)
            except Exception:
                log.exception("event listener failed on %s", type(event).__name__)
