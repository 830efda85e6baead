"""Result shapes of the methods agentd serves, as ``TypedDict``s.

Results are built by agentd itself (never parsed from a client), so they need static checking,
not runtime validation: mypy checks every handler's keys against these, and they cost nothing at
start-up or on hot paths. Keys are the reference's, camelCase where the reference has it.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class PingResult(TypedDict):
    ok: bool
    time: str


class HandshakeResult(TypedDict):
    protocol_version: str
    server_name: str
    server_version: str
    capabilities: dict[str, Any]
    methods: list[str]


class ServerInfo(TypedDict):
    name: str
    version: str


class InitializeResult(TypedDict):
    serverInfo: ServerInfo
    capabilities: dict[str, Any]


class ShutdownResult(TypedDict):
    accepted: bool
    reason: NotRequired[str]


class QueueItemJson(TypedDict):
    id: str
    text: str
    images: list[dict[str, Any]]
    enqueuedAt: str


class TranscriptMessage(TypedDict):
    """One line of a session's visible transcript (``messages`` of ``session.get``)."""

    id: int
    kind: Literal["user", "assistant", "system"]
    text: str
    images: NotRequired[list[dict[str, Any]]]


class SessionState(TypedDict):
    """``session.get``: the reference's keys, then agentd's additions."""

    id: str
    createdAt: str
    updatedAt: str
    pending: bool
    statusLabel: str
    messages: list[TranscriptMessage]
    history: list[dict[str, Any]]
    queue: list[QueueItemJson]
    pendingSteerCount: int
    conversationProvider: str | None
    activeSessionId: str | None
    contextTokenEstimate: int
    contextTokenSource: str
    contextTokenProvider: str | None
    contextTokenBreakdown: dict[str, int]
    title: str | None
    cwd: str
    provider: str
    model: str
    activeTurnId: str | None
    #: The history record this session appends to (also under the reference's
    #: ``activeSessionId``); ``null`` until the first turn creates it, unless resumed.
    record_id: str | None


class SessionCreateResult(TypedDict):
    session_id: str
    state: SessionState


class SendResult(TypedDict):
    session_id: str
    turn_id: str
    accepted: bool
    queued: bool


class SteerResult(TypedDict):
    session_id: str
    accepted: bool


class InterruptResult(TypedDict):
    session_id: str
    interrupted: bool


class QueueListResult(TypedDict):
    session_id: str
    queue: list[QueueItemJson]


class QueueClearResult(TypedDict):
    session_id: str
    cleared_count: int


class QueueRemoveResult(TypedDict):
    session_id: str
    id: str
    removed: bool


class ClearSessionResult(TypedDict):
    session_id: str
    cleared: bool


class ToolsListResult(TypedDict):
    tools: list[dict[str, Any]]


class HistorySummary(TypedDict):
    """One saved record in ``history.list`` (and the head of ``history.get``)."""

    id: str
    title: str
    provider: str
    model: str
    thinkingLevel: str
    openRouterProvider: NotRequired[str]
    createdAt: str
    updatedAt: str
    messageCount: int
    rolloutPath: str


class HistoryRecord(HistorySummary):
    """``history.get``: the summary plus the record's messages (and unstarted queued prompts)."""

    messages: list[dict[str, Any]]
    queued: NotRequired[list[dict[str, Any]]]


class HistoryListResult(TypedDict):
    total: int
    cursor: int
    limit: int
    sessions: list[HistorySummary]
    next_cursor: int | None


class AuthState(TypedDict):
    enabledProviders: list[str]
    hasOpenAiToken: bool
    hasOpenRouterKey: bool
    hasAntigravityToken: bool
    antigravityProfile: str | None


class OnboardingState(TypedDict):
    completed: bool


class ModelState(TypedDict):
    selectedModel: str
    selectedThinking: str | None
    selectedOpenRouterProvider: str | None
    selectedProvider: str


class SessionsState(TypedDict):
    count: int
    ids: list[str]


class SkillsState(TypedDict):
    count: int
    directories: list[str]


class StateSnapshot(TypedDict):
    """``state.get`` (and the ``snapshot`` of ``state.changed``), as the reference §3."""

    auth: AuthState
    onboarding: OnboardingState
    model: ModelState
    sessions: SessionsState
    skills: SkillsState


class ModelOption(TypedDict):
    """A model in ``model.list``: the reference's ``ModelOption`` keys."""

    id: str
    provider: str
    label: str
    description: str
    supportedThinkingLevels: NotRequired[list[str]]
    defaultThinkingLevel: NotRequired[str]
    contextWindowTokens: NotRequired[int]


class ModelListResult(TypedDict):
    providers: list[str]
    models: list[ModelOption]
    selected_model: str
    selected_thinking: str | None
    selected_provider: str
    selected_openrouter_provider: str | None


class CompressionJson(TypedDict):
    """What a compaction did (the reference's ``compression``)."""

    requested: bool
    applied: bool
    reason: str
    estimated_tokens_before: int
    estimated_tokens_after: int
    model_context_window: int
    target_limit: int
    anchor_event_index_before: int
    anchor_event_index_after: int


class SessionCompactResult(TypedDict):
    session_id: str
    compression: CompressionJson


class ModelSelectResult(TypedDict):
    selected_model: str
    selected_provider: str
    selected_thinking: str | None
    selected_openrouter_provider: str | None
    compression: NotRequired[CompressionJson]


class AuthStatusResult(TypedDict):
    enabled_providers: list[str]
    has_openai_token: bool
    has_openrouter_key: bool
    has_antigravity_token: bool
    antigravity_profile: str | None
