"""The session API's view of the core: typed core events and state → the reference's shapes.

Every payload this front door sends is built here, from the core's typed events
(``agentd.core.events``), with the shapes of ``agentd.protocol.events``; ``session.get``'s state
is built here too. Another front door (another agent protocol) projects the same events its own
way; the core stays the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from agentd.core.events import (
    CompactionCompleted,
    CompactionFailed,
    CompactionStarted,
    ContextEstimated,
    CoreEvent,
    ExecutedTool,
    McpStatusChanged,
    ModelSelected,
    PendingPrompt,
    QueueChanged,
    ReasoningStreamed,
    RetryScheduled,
    SessionCreated,
    StatusChanged,
    TextStreamed,
    ToolCallCompleted,
    ToolCallStarted,
    ToolResultsReported,
    TranscriptAppended,
    TranscriptEntry,
    TurnCompleted,
    TurnFailed,
    TurnInterrupted,
    UsageReported,
)
from agentd.protocol.events import (
    ChunkPayload,
    CompactionAnchorPayload,
    CompactionCompletedPayload,
    CompactionFailedPayload,
    CompactionMergedPayload,
    CompactionStartedPayload,
    CompletedPayload,
    ContextEstimatePayload,
    ErrorPayload,
    ExecutedToolJson,
    InterruptedPayload,
    McpStatusPayload,
    MessageAppendedPayload,
    QueueChangedPayload,
    RetryPayload,
    StateChangedPayload,
    StatusPayload,
    ToolCallCompletedPayload,
    ToolCallStartedPayload,
    ToolResultsPayload,
    UsagePayload,
)
from agentd.protocol.results import (
    CompressionJson,
    QueueItemJson,
    SessionState,
    TranscriptMessage,
)
from agentd.text import redact, redact_value

if TYPE_CHECKING:
    from agentd.core.session import Compression, Session
    from agentd.providers.base import ChatMessage

#: Sends one event notification: (type, timestamp, payload).
EventSender = Callable[[str, str, dict[str, Any]], None]


def queue_item(item: PendingPrompt) -> QueueItemJson:
    return {
        "id": item.id,
        "text": item.text,
        "images": [dict(image) for image in item.images],
        "enqueuedAt": item.enqueued_at,
    }


def transcript_entry(entry: TranscriptEntry) -> TranscriptMessage:
    message: TranscriptMessage = {"id": entry.id, "kind": entry.kind, "text": entry.text}
    if entry.images:
        message["images"] = [dict(image) for image in entry.images]
    return message


def history_message(message: ChatMessage) -> dict[str, Any]:
    """A model-facing message as ``session.get`` shows it."""
    out: dict[str, Any] = {"role": message.role, "text": message.text}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.call_id, "name": c.name, "arguments": dict(c.arguments)}
            for c in message.tool_calls
        ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def compression_json(compression: Compression) -> CompressionJson:
    limits = compression.limits
    return {
        "requested": compression.requested,
        "applied": compression.applied,
        "reason": compression.reason,
        "estimated_tokens_before": compression.tokens_before,
        "estimated_tokens_after": compression.tokens_after,
        "model_context_window": limits.window,
        "target_limit": limits.target,
        "anchor_event_index_before": 0,
        "anchor_event_index_after": 0,
    }


def session_state(session: Session) -> SessionState:
    """The ``session.get`` result: the reference's camelCase keys plus agentd's own."""
    breakdown = session.context_breakdown()
    record = session.record
    return {
        "id": session.id,
        "createdAt": session.created_at,
        "updatedAt": session.updated_at,
        "pending": session.pending,
        "statusLabel": session.status_label,
        "messages": [transcript_entry(e) for e in session.transcript],
        "history": [history_message(m) for m in session.conversation.messages],
        "queue": [queue_item(item) for item in session.queue],
        "pendingSteerCount": len(session.steers),
        "conversationProvider": session.conversation_provider,
        "activeSessionId": record.record_id if record else None,
        "contextTokenEstimate": sum(breakdown.values()),
        "contextTokenSource": session.conversation.source(),
        "contextTokenProvider": session.provider,
        "contextTokenBreakdown": breakdown,
        "title": session.title,
        "cwd": str(session.cwd),
        "provider": session.provider,
        "model": session.model,
        "activeTurnId": session.turn.id if session.turn is not None else None,
        "record_id": record.record_id if record else None,
    }


def _executed(item: ExecutedTool) -> ExecutedToolJson:
    call, result = item.call, item.result
    # tool output is what secrets leak through (a printed token, a key file read): redacted
    executed: ExecutedToolJson = {
        "name": call.name,
        "ok": result.ok,
        "input": dict(call.arguments),
        "result": redact_value(result.output),
    }
    if result.error is not None:
        executed["error"] = redact(result.error)
    return executed


class Projector:
    """Turns core events into the reference's event notifications and sends them.

    ``state`` builds the ``state.get`` snapshot that ``state.changed`` carries.
    """

    def __init__(self, send: EventSender, state: Callable[[], Any]) -> None:
        self._send = send
        self._state = state
        self._table: dict[type, Callable[[Any], tuple[str, Any]]] = {
            StatusChanged: self._status,
            TranscriptAppended: self._appended,
            TextStreamed: self._text,
            ReasoningStreamed: self._reasoning,
            ToolCallStarted: self._tool_started,
            ToolCallCompleted: self._tool_completed,
            ToolResultsReported: self._tool_results,
            UsageReported: self._usage,
            ContextEstimated: self._estimate,
            RetryScheduled: self._retry,
            TurnCompleted: self._completed,
            TurnInterrupted: self._interrupted,
            TurnFailed: self._failed,
            QueueChanged: self._queue,
            SessionCreated: self._created,
            ModelSelected: self._selected,
            CompactionStarted: self._compaction_started,
            CompactionCompleted: self._compaction_completed,
            CompactionFailed: self._compaction_failed,
            McpStatusChanged: self._mcp_status,
        }

    def __call__(self, event: CoreEvent, timestamp: str) -> None:
        type_: str
        payload: Any
        if type(event) is TextStreamed:  # most events are this one: no table lookup
            type_, payload = self._text(event)
        elif type(event) is CompactionCompleted:  # the reference sends three events here
            for extra in (self._compaction_anchor(event), self._compaction_merged(event)):
                self._send(extra[0], timestamp, cast(Any, extra[1]))
            type_, payload = self._compaction_completed(event)
        else:
            type_, payload = self._table[type(event)](event)
        self._send(type_, timestamp, payload)

    def project(self, event: CoreEvent) -> tuple[str, dict[str, Any]]:
        """The (type, payload) of ``event``; for tests and other listeners."""
        return self._table[type(event)](event)

    # -- one function per event --------------------------------------------------------------

    @staticmethod
    def _text(event: TextStreamed) -> tuple[str, ChunkPayload]:
        text = event.text
        return "session.stream.chunk", {
            "session_id": event.session_id,
            "turn_id": event.turn_id,
            "chunk": {
                "thoughts": [],
                "answerText": text,
                "segments": [{"kind": "answer", "text": text}],
            },
        }

    @staticmethod
    def _reasoning(event: ReasoningStreamed) -> tuple[str, ChunkPayload]:
        return "session.stream.chunk", {
            "session_id": event.session_id,
            "turn_id": event.turn_id,
            "chunk": {
                "thoughts": [event.so_far],
                "answerText": "",
                "segments": [{"kind": "thought", "text": event.text}],
            },
        }

    @staticmethod
    def _status(event: StatusChanged) -> tuple[str, StatusPayload]:
        payload: StatusPayload = {
            "session_id": event.session_id,
            "pending": event.pending,
            "status_label": event.label,
        }
        if event.turn_id is not None:
            payload["turn_id"] = event.turn_id
        return "session.status", payload

    @staticmethod
    def _appended(event: TranscriptAppended) -> tuple[str, MessageAppendedPayload]:
        return "session.message.appended", {
            "session_id": event.session_id,
            "message": transcript_entry(event.entry),
        }

    @staticmethod
    def _tool_started(event: ToolCallStarted) -> tuple[str, ToolCallStartedPayload]:
        call = event.call
        return "session.tool.call.started", {
            "session_id": event.session_id,
            "turn_id": event.turn_id,
            "data": {
                "toolRound": event.round_index,
                "call": {
                    "name": call.name,
                    "input": dict(call.arguments),
                    "providerToolName": call.name,
                    "callId": call.call_id,
                },
            },
        }

    @staticmethod
    def _tool_completed(event: ToolCallCompleted) -> tuple[str, ToolCallCompletedPayload]:
        executed = _executed(event.executed)
        return "session.tool.call.completed", {
            "session_id": event.session_id,
            "turn_id": event.turn_id,
            "data": {"toolRound": event.round_index, "executed": executed},
        }

    @staticmethod
    def _tool_results(event: ToolResultsReported) -> tuple[str, ToolResultsPayload]:
        executed = [_executed(item) for item in event.executed]
        return "session.tool.results", {
            "session_id": event.session_id,
            "turn_id": event.turn_id,
            "data": {"toolRound": event.round_index, "executed": executed},
        }

    @staticmethod
    def _usage(event: UsageReported) -> tuple[str, UsagePayload]:
        usage = event.usage
        return "session.usage", {
            "session_id": event.session_id,
            "turn_id": event.turn_id,
            "input_tokens": usage.input_tokens,
            "cached_input_tokens": usage.cached_input_tokens,
            "output_tokens": usage.output_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
        }

    @staticmethod
    def _estimate(event: ContextEstimated) -> tuple[str, ContextEstimatePayload]:
        return "session.context.estimate", {
            "session_id": event.session_id,
            "provider": event.provider,
            "source": event.source,
            "total_tokens_estimate": event.total,
            "breakdown": dict(event.breakdown),
            "token_source": event.token_source,
        }

    @staticmethod
    def _retry(event: RetryScheduled) -> tuple[str, RetryPayload]:
        return "session.retry", {
            "session_id": event.session_id,
            "turn_id": event.turn_id,
            "attempt": event.attempt,
            "max_attempts": event.max_attempts,
            "delay_ms": event.delay_ms,
            "reason": event.reason,
            "kind": event.kind,
            "message": event.message,
        }

    @staticmethod
    def _completed(event: TurnCompleted) -> tuple[str, CompletedPayload]:
        return "session.completed", {
            "session_id": event.session_id,
            "turn_id": event.turn_id,
            "answer_length": event.answer_length,
        }

    @staticmethod
    def _interrupted(event: TurnInterrupted) -> tuple[str, InterruptedPayload]:
        return "session.interrupted", {
            "session_id": event.session_id,
            "turn_id": event.turn_id,
            "partial_output": event.partial_output,
        }

    @staticmethod
    def _failed(event: TurnFailed) -> tuple[str, ErrorPayload]:
        payload: ErrorPayload = {
            "session_id": event.session_id,
            "turn_id": event.turn_id,
            "message": event.message,
            "kind": event.kind,
        }
        if event.status is not None:
            payload["status"] = event.status
        return "session.error", payload

    @staticmethod
    def _queue(event: QueueChanged) -> tuple[str, QueueChangedPayload]:
        return "session.queue.changed", {
            "session_id": event.session_id,
            "queue": [queue_item(item) for item in event.queue],
        }

    def _created(self, event: SessionCreated) -> tuple[str, StateChangedPayload]:
        return "state.changed", {
            "reason": "session_created",
            "session_id": event.session_id,
            "snapshot": self._state(),
        }

    def _selected(self, event: ModelSelected) -> tuple[str, StateChangedPayload]:
        payload: StateChangedPayload = {"reason": "model_selected", "snapshot": self._state()}
        if event.session_id is not None:
            payload["session_id"] = event.session_id
        return "state.changed", payload

    @staticmethod
    def _compaction_started(event: CompactionStarted) -> tuple[str, CompactionStartedPayload]:
        payload: CompactionStartedPayload = {
            "session_id": event.session_id,
            "reason": event.reason,
            "anchor_event_index_before": 0,
            "event_count": event.message_count,
            "context_window_tokens": event.context_window,
        }
        if event.turn_id is not None:
            payload["turn_id"] = event.turn_id
        return "compaction.started", payload

    @staticmethod
    def _compaction_anchor(event: CompactionCompleted) -> tuple[str, CompactionAnchorPayload]:
        payload: CompactionAnchorPayload = {
            "session_id": event.session_id,
            "reason": event.reason,
            "anchor_event_index_before": 0,
            "anchor_event_index_after": 0,
            "delta_event_count": event.message_count,
        }
        if event.turn_id is not None:
            payload["turn_id"] = event.turn_id
        return "compaction.anchor_selected", payload

    @staticmethod
    def _compaction_merged(event: CompactionCompleted) -> tuple[str, CompactionMergedPayload]:
        payload: CompactionMergedPayload = {
            "session_id": event.session_id,
            "summary_updated_at": event.at,
            "anchor_event_index_after": 0,
        }
        if event.turn_id is not None:
            payload["turn_id"] = event.turn_id
        return "compaction.summary_merged", payload

    @staticmethod
    def _compaction_completed(
        event: CompactionCompleted,
    ) -> tuple[str, CompactionCompletedPayload]:
        payload: CompactionCompletedPayload = {
            "session_id": event.session_id,
            "compressed": True,
            "reason": event.reason,
            "estimated_tokens_before": event.tokens_before,
            "estimated_tokens_after": event.tokens_after,
            "model_context_window": event.context_window,
            "target_limit": event.target,
            "high_watermark_limit": event.high_watermark,
            "anchor_event_index_before": 0,
            "anchor_event_index_after": 0,
        }
        if event.turn_id is not None:
            payload["turn_id"] = event.turn_id
        return "compaction.completed", payload

    @staticmethod
    def _compaction_failed(event: CompactionFailed) -> tuple[str, CompactionFailedPayload]:
        payload: CompactionFailedPayload = {
            "session_id": event.session_id,
            "reason": event.reason,
            "message": event.message,
        }
        if event.turn_id is not None:
            payload["turn_id"] = event.turn_id
        return "compaction.failed", payload

    @staticmethod
    def _mcp_status(event: McpStatusChanged) -> tuple[str, McpStatusPayload]:
        payload: McpStatusPayload = {
            "session_id": event.session_id,
            "server": event.server,
            "status": event.status,
        }
        if event.reason is not None:
            payload["reason"] = event.reason
        if event.status == "ready":
            payload["tools"] = list(event.tools)
        return "session.mcp.status", payload
