"""Folding records into what a record file means: effective meta, messages, turns.

The reader and the journal share this one fold, so the summary the journal puts into the index
is by construction the summary a later re-read of the file produces.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import attrs

from agentd.store.records import (
    Compaction,
    Message,
    MetaUpdate,
    PartialText,
    QueuedPrompt,
    Record,
    SessionMeta,
    TurnEnd,
    TurnStart,
)

TurnState = Literal["completed", "interrupted", "error", "incomplete"]


@attrs.frozen
class TurnInfo:
    """A turn as recorded. ``incomplete``: started but never ended (the process died)."""

    turn_id: str
    status: TurnState
    started_at: str | None = None
    ended_at: str | None = None
    error_kind: str | None = None
    message: str | None = None


@attrs.frozen
class Summary:
    """One line of ``history.list``; ``to_dict`` gives the reference's camelCase keys."""

    id: str
    title: str
    provider: str
    model: str
    thinking_level: str
    created_at: str
    updated_at: str
    message_count: int
    rollout_path: str
    open_router_provider: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "provider": self.provider,
            "model": self.model,
            "thinkingLevel": self.thinking_level,
        }
        if self.open_router_provider is not None:
            out["openRouterProvider"] = self.open_router_provider
        out["createdAt"] = self.created_at
        out["updatedAt"] = self.updated_at
        out["messageCount"] = self.message_count
        out["rolloutPath"] = self.rollout_path
        return out


_META_FIELDS = ("title", "provider", "model", "thinking_level", "open_router_provider")


class RecordState:
    """Mutable fold over a record file's records, in file order.

    Messages belong to their ``turn_id``, else to the turn open when they were written. With
    ``keep_messages=False`` only counts are kept (a long-lived journal needs no transcript).
    """

    def __init__(self, *, keep_messages: bool = True) -> None:
        self.keep_messages = keep_messages
        self.meta: SessionMeta | None = None
        self.messages: list[Message] = []
        self.message_turn_ids: list[str | None] = []
        self.message_count = 0
        self.next_index = 0
        self.updated_at: str | None = None
        self.turns: dict[str, TurnInfo] = {}
        self.open_turn: str | None = None
        #: Queued prompts whose turn never started, by id (a crash or shutdown left them).
        self.queued: dict[str, QueuedPrompt] = {}
        #: The last compaction's summary and the number of messages it replaced.
        self.compacted: tuple[str, int] | None = None
        #: Streamed text of each turn's current round, until its message supersedes it.
        self.partials: dict[str, list[str]] = {}

    def apply(self, record: Record) -> None:
        if isinstance(record, PartialText):
            if self.keep_messages:
                self.partials.setdefault(record.turn_id, []).append(record.text)
        elif isinstance(record, Message):
            self._apply_message(record)
        elif isinstance(record, TurnStart):
            self.queued.pop(record.turn_id, None)
            self.turns[record.turn_id] = TurnInfo(record.turn_id, "incomplete", record.at)
            self.open_turn = record.turn_id
            self.updated_at = record.at
        elif isinstance(record, TurnEnd):
            self.partials.pop(record.turn_id, None)
            started = self.turns.get(record.turn_id)
            self.turns[record.turn_id] = TurnInfo(
                record.turn_id,
                record.status,
                started.started_at if started else None,
                record.at,
                record.error_kind,
                record.message,
            )
            if self.open_turn == record.turn_id:
                self.open_turn = None
            self.updated_at = record.at
        elif isinstance(record, SessionMeta):
            self.meta = record  # the last valid session_meta wins, as in the reference
            self.updated_at = record.updated_at
        elif isinstance(record, MetaUpdate):
            self._apply_meta_update(record)
        elif isinstance(record, QueuedPrompt) and self.keep_messages:
            if record.dropped:
                self.queued.pop(record.id, None)
            elif record.id not in self.turns:  # its turn may have started first (no race left)
                self.queued[record.id] = record
        elif isinstance(record, Compaction) and self.keep_messages:
            self.compacted = (record.summary, len(self.messages))

    def _apply_message(self, message: Message) -> None:
        self.message_count += 1
        self.next_index = max(self.next_index, message.index + 1)
        if self.keep_messages:
            turn_id = message.turn_id or self.open_turn
            if message.role == "assistant" and turn_id is not None:
                self.partials.pop(turn_id, None)  # the round's message supersedes its batches
            self.messages.append(message)
            self.message_turn_ids.append(turn_id)

    def unfinished_answers(self) -> list[tuple[Message, str]]:
        """What unfinished turns had streamed: one assistant message per turn that never ended."""
        out = []
        for turn_id, pieces in self.partials.items():
            text = "".join(pieces).strip()
            info = self.turns.get(turn_id)
            if text and (info is None or info.status == "incomplete"):
                out.append((Message(role="assistant", text=text, turn_id=turn_id), turn_id))
        return out

    def _apply_meta_update(self, update: MetaUpdate) -> None:
        self.updated_at = update.updated_at
        if self.meta is None:
            return
        changes = {f: getattr(update, f) for f in _META_FIELDS if getattr(update, f) is not None}
        if changes:
            self.meta = attrs.evolve(self.meta, **changes)

    def effective_meta(self) -> SessionMeta | None:
        """The meta with updates applied, the latest activity time and the real message count."""
        if self.meta is None:
            return None
        return attrs.evolve(
            self.meta,
            updated_at=self.updated_at or self.meta.updated_at,
            message_count=self.message_count or self.meta.message_count,
        )

    def summary(self, rollout_path: Path | str) -> Summary | None:
        meta = self.effective_meta()
        if meta is None:
            return None
        return Summary(
            id=meta.id,
            title=meta.title,
            provider=meta.provider,
            model=meta.model,
            thinking_level=meta.thinking_level,
            created_at=meta.created_at,
            updated_at=meta.updated_at,
            message_count=meta.message_count,
            rollout_path=str(rollout_path),
            open_router_provider=meta.open_router_provider,
        )
