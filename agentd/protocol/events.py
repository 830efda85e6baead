"""Payload shapes of the ``event`` notifications, as ``TypedDict``s (loaf-behaviour §4.2).

Built only by ``agentd.api.projection`` (mypy checks each builder against these) and exported to
the committed JSON Schema, so a change of any payload shows up as a schema change. Keys are the
reference's, camelCase where it has them.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from agentd.protocol.results import QueueItemJson, StateSnapshot, TranscriptMessage


class StatusPayload(TypedDict):
    session_id: str
    pending: bool
    status_label: str
    turn_id: NotRequired[str]


class MessageAppendedPayload(TypedDict):
    session_id: str
    message: TranscriptMessage


class ChunkSegment(TypedDict):
    kind: Literal["answer", "thought"]
    text: str


class Chunk(TypedDict):
    thoughts: list[str]
    answerText: str
    segments: list[ChunkSegment]


class ChunkPayload(TypedDict):
    session_id: str
    turn_id: str
    chunk: Chunk


class ToolCallJson(TypedDict):
    name: str
    input: dict[str, Any]
    providerToolName: str
    callId: str


class ToolCallStartedData(TypedDict):
    toolRound: int
    call: ToolCallJson


class ToolCallStartedPayload(TypedDict):
    session_id: str
    turn_id: str
    data: ToolCallStartedData


class ExecutedToolJson(TypedDict):
    name: str
    ok: bool
    input: dict[str, Any]
    result: Any
    error: NotRequired[str]


class ToolCallCompletedData(TypedDict):
    toolRound: int
    executed: ExecutedToolJson


class ToolCallCompletedPayload(TypedDict):
    session_id: str
    turn_id: str
    data: ToolCallCompletedData


class ToolResultsData(TypedDict):
    toolRound: int
    executed: list[ExecutedToolJson]


class ToolResultsPayload(TypedDict):
    session_id: str
    turn_id: str
    data: ToolResultsData


class UsagePayload(TypedDict):
    session_id: str
    turn_id: str
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int


class ContextBreakdown(TypedDict):
    pinned_tokens: int
    conversation_tokens: int
    tool_schema_tokens: int
    provider_overhead_tokens: int


class ContextEstimatePayload(TypedDict):
    session_id: str
    provider: str
    source: str
    total_tokens_estimate: int
    breakdown: dict[str, int]
    #: ``tiktoken``, ``provider`` or ``estimate`` (``source`` stays the reference's ``history``)
    token_source: str


class RetryPayload(TypedDict):
    session_id: str
    turn_id: str
    attempt: int
    max_attempts: int
    delay_ms: int
    reason: str
    kind: str
    message: str


class CompletedPayload(TypedDict):
    session_id: str
    turn_id: str
    answer_length: int


class InterruptedPayload(TypedDict):
    session_id: str
    turn_id: str
    partial_output: bool


class ErrorPayload(TypedDict):
    session_id: str
    turn_id: str
    message: str
    kind: str
    #: The HTTP status of a provider's refusal, when there was one.
    status: NotRequired[int]


class QueueChangedPayload(TypedDict):
    session_id: str
    queue: list[QueueItemJson]


class StateChangedPayload(TypedDict):
    reason: str
    session_id: NotRequired[str]
    snapshot: StateSnapshot


class CompactionStartedPayload(TypedDict):
    session_id: str
    turn_id: NotRequired[str]
    reason: str
    anchor_event_index_before: int
    event_count: int
    context_window_tokens: int


class CompactionAnchorPayload(TypedDict):
    session_id: str
    turn_id: NotRequired[str]
    reason: str
    anchor_event_index_before: int
    anchor_event_index_after: int
    delta_event_count: int


class CompactionMergedPayload(TypedDict):
    session_id: str
    turn_id: NotRequired[str]
    summary_updated_at: str
    anchor_event_index_after: int


class CompactionCompletedPayload(TypedDict):
    session_id: str
    turn_id: NotRequired[str]
    compressed: bool
    reason: str
    estimated_tokens_before: int
    estimated_tokens_after: int
    model_context_window: int
    target_limit: int
    high_watermark_limit: int
    anchor_event_index_before: int
    anchor_event_index_after: int


class CompactionFailedPayload(TypedDict):
    session_id: str
    turn_id: NotRequired[str]
    reason: str
    message: str


class McpStatusPayload(TypedDict):
    """``session.mcp.status``: an MCP server of the session starting, ready or failed."""

    session_id: str
    server: str
    status: Literal["starting", "ready", "failed"]
    reason: NotRequired[str]
    #: The qualified names of its tools (``ready`` only).
    tools: NotRequired[list[str]]


#: Every event type agentd emits, with its payload type (the schema is generated from this).
EVENTS: dict[str, type] = {
    "session.status": StatusPayload,
    "session.message.appended": MessageAppendedPayload,
    "session.stream.chunk": ChunkPayload,
    "session.tool.call.started": ToolCallStartedPayload,
    "session.tool.call.completed": ToolCallCompletedPayload,
    "session.tool.results": ToolResultsPayload,
    "session.usage": UsagePayload,
    "session.context.estimate": ContextEstimatePayload,
    "session.retry": RetryPayload,
    "session.completed": CompletedPayload,
    "session.interrupted": InterruptedPayload,
    "session.error": ErrorPayload,
    "session.queue.changed": QueueChangedPayload,
    "state.changed": StateChangedPayload,
    "compaction.started": CompactionStartedPayload,
    "compaction.anchor_selected": CompactionAnchorPayload,
    "compaction.summary_merged": CompactionMergedPayload,
    "compaction.completed": CompactionCompletedPayload,
    "compaction.failed": CompactionFailedPayload,
    "session.mcp.status": McpStatusPayload,
}
