"""``HistoryStore``: the store as the API layer sees it.

It ties the layout, the journals and the index together and shapes ``history.list`` and
``history.get`` results exactly as the reference does (camelCase summaries, the same error
strings), with agentd's fixes: a real ``total``, a working ``next_cursor`` and ``rollout_path``
confined to the history directory.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentd.config import default_home
from agentd.store.errors import (
    HistoryAmbiguousError,
    HistoryNotFoundError,
    HistoryUnreadableError,
)
from agentd.store.index import HistoryIndex, RefreshStats
from agentd.store.journal import FsyncPolicy, Journal
from agentd.store.paths import confine, sessions_dir
from agentd.store.reader import RecordView, read_record
from agentd.store.records import Message, QueuedPrompt, SessionMeta
from agentd.store.state import Summary
from agentd.store.timefmt import now_iso

DEFAULT_LIMIT = 100
UNTITLED = "untitled chat"
_MAX_OFFSET = 2**62


def normalise_limit(limit: float | None) -> int:
    """The reference's rule: absent or 0 → 100, else ``max(1, floor(limit))``."""
    if limit is None or limit == 0:
        return DEFAULT_LIMIT
    if not math.isfinite(limit):
        raise ValueError("limit must be a finite number")
    return min(max(1, math.floor(limit)), _MAX_OFFSET)


def normalise_cursor(cursor: float | None) -> int:
    """The reference's rule: absent or 0 → 0, else ``max(0, floor(cursor))``."""
    if cursor is None or cursor == 0:
        return 0
    if not math.isfinite(cursor):
        raise ValueError("cursor must be a finite number")
    return min(max(0, math.floor(cursor)), _MAX_OFFSET)


def message_to_dict(message: Message, *, failed_turn: bool = False) -> dict[str, Any]:
    """The reference's ``{"role","text","images"?}`` plus agentd's tool keys and, for a message
    of a turn that ended in error, ``"failed_turn": true`` (it is not sent to the model)."""
    out: dict[str, Any] = {"role": message.role, "text": message.text}
    if message.images:
        out["images"] = [dict(image) for image in message.images]
    if message.tool_calls:
        out["tool_calls"] = [call.to_dict() for call in message.tool_calls]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if failed_turn:
        out["failed_turn"] = True
    return out


def queued_to_dict(prompt: QueuedPrompt) -> dict[str, Any]:
    """A queued prompt whose turn never started: ``{id, text, images?, enqueuedAt}``."""
    out: dict[str, Any] = {"id": prompt.id, "text": prompt.text}
    if prompt.images:
        out["images"] = [dict(image) for image in prompt.images]
    out["enqueuedAt"] = prompt.enqueued_at
    return out


def view_to_dict(view: RecordView) -> dict[str, Any]:
    """A ``history.get`` result: the summary fields plus ``messages``, and ``queued`` when
    prompts were accepted but never started (a crash or shutdown came first)."""
    result = view.summary().to_dict()
    failed = view.failed_turn_ids
    result["messages"] = [
        message_to_dict(message, failed_turn=turn is not None and turn in failed)
        for message, turn in zip(view.messages, view.message_turn_ids, strict=True)
    ]
    if view.unstarted_prompts:
        result["queued"] = [queued_to_dict(p) for p in view.unstarted_prompts]
    return result


class HistoryStore:
    """History records under ``home`` (default ``default_home()``). Blocking: call it from a
    worker thread in async code.

    Writes through any agentd process sharing the home reach the shared index at once. A full
    reconcile with the files (a ``stat`` per file: ~0.1 s at 10,000 records) runs on the first
    query and then at most every ``refresh_interval`` seconds (0 = every query), so edits made
    by other tools show up within that interval; between reconciles a query costs ~2 ms.
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        fsync: FsyncPolicy = "turn",
        refresh_interval: float = 10.0,
    ) -> None:
        self.home = Path(home if home is not None else default_home()).expanduser().resolve()
        self.sessions_dir = sessions_dir(self.home)
        self.fsync: FsyncPolicy = fsync
        self.refresh_interval = refresh_interval
        self.index = HistoryIndex(self.home)
        self._last_refresh: float | None = None

    def close(self) -> None:
        self.index.close()

    def refresh(self) -> RefreshStats:
        """Reconcile the index with the files now."""
        stats = self.index.refresh()
        self._last_refresh = time.monotonic()
        return stats

    def _maybe_refresh(self) -> None:
        if (
            self._last_refresh is None
            or time.monotonic() - self._last_refresh >= self.refresh_interval
        ):
            self.refresh()

    # -- writing ------------------------------------------------------------------------------

    def create_record(
        self,
        *,
        provider: str,
        model: str,
        thinking_level: str,
        title: str = UNTITLED,
        cwd: str | None = None,
        open_router_provider: str | None = None,
        record_id: str | None = None,
        created_at: str | None = None,
    ) -> Journal:
        """Start a new record file and return its open (locked) journal."""
        created = created_at or now_iso()
        meta = SessionMeta(
            id=record_id or str(uuid.uuid4()),
            title=title,
            provider=provider,
            model=model,
            thinking_level=thinking_level,
            created_at=created,
            updated_at=created,
            message_count=0,
            cwd=cwd,
            open_router_provider=open_router_provider,
        )
        return Journal.create(self.home, meta, fsync=self.fsync, index=self.index)

    def open_record(self, id_or_path: str | Path) -> Journal:
        """Open a saved record for appending (``resume_id``): an id, a unique id prefix, or a
        path inside the history directory. ``journal.view`` holds its contents."""
        text = str(id_or_path)
        if isinstance(id_or_path, Path) or "/" in text or text.endswith(".jsonl"):
            path = confine(self.home, id_or_path)
        else:
            path = self._path_for_id(text)
        return Journal.open(path, fsync=self.fsync, index=self.index)

    # -- reading ------------------------------------------------------------------------------

    def list(self, limit: float | None = None, cursor: float | None = None) -> dict[str, Any]:
        """A ``history.list`` result with a real ``total`` and a working ``next_cursor``."""
        page_limit = normalise_limit(limit)
        start = normalise_cursor(cursor)
        self._maybe_refresh()
        total, rows = self.index.list(page_limit, start)
        after = start + len(rows)
        return {
            "total": total,
            "cursor": start,
            "limit": page_limit,
            "sessions": [row.to_dict() for row in rows],
            "next_cursor": after if after < total else None,
        }

    def load(
        self, id: str | None = None, last: bool = False, rollout_path: str | Path | None = None
    ) -> RecordView:
        """The record ``history.get`` means; precedence ``last`` > ``rollout_path`` > ``id``."""
        if last:
            self._maybe_refresh()
            newest = self.index.last()
            if newest is None:
                raise HistoryNotFoundError("no saved chat history yet")
            return self._read_indexed(Path(newest.rollout_path), retry=lambda: self.index.last())
        if rollout_path:
            return read_record(confine(self.home, rollout_path))
        if id:  # like the reference, an empty string counts as absent
            path = self._path_for_id(id)
            return self._read_indexed(path, retry=lambda: self.index.find_by_id_or_prefix(id))
        raise HistoryNotFoundError("history.get requires one of: id, last, rollout_path")

    def get(
        self, id: str | None = None, last: bool = False, rollout_path: str | Path | None = None
    ) -> dict[str, Any]:
        """A ``history.get`` result: summary fields plus ``messages``."""
        return view_to_dict(self.load(id=id, last=last, rollout_path=rollout_path))

    def _path_for_id(self, record_id: str) -> Path:
        self._maybe_refresh()
        found = self.index.find_by_id_or_prefix(record_id)
        if found is None:
            # the reference's message for all three (text-matching clients rely on it); the
            # reason tells them apart: history_ambiguous, history_unreadable, history_not_found
            message = f"no saved chat matched id: {record_id}"
            if self.index.count_prefix(record_id) > 1:
                raise HistoryAmbiguousError(message)
            if self.index.unreadable_named(record_id) is not None:
                raise HistoryUnreadableError(message)
            raise HistoryNotFoundError(message)
        return Path(found.rollout_path)

    def _read_indexed(self, path: Path, *, retry: Callable[[], Summary | None]) -> RecordView:
        """Read a file the index named; if it vanished meanwhile, reconcile once and retry."""
        try:
            return read_record(path)
        except HistoryNotFoundError:
            self.refresh()
            again = retry()
            if again is None:
                raise
            return read_record(again.rollout_path)
