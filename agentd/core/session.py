"""One conversation: its state, its queue and its (at most one) running turn.

Every state change of a session happens in a method of this class, on the event-loop thread, and
before any ``await``: that is what makes requests that arrive together take effect in arrival
order (see ``agentd.rpc.connection``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from agentd.clock import iso_now
from agentd.core.estimate import estimate
from agentd.core.images import normalise_images, with_placeholders
from agentd.core.recorder import SessionRecord, answer_every_tool_call, from_stored
from agentd.core.runtime import Runtime
from agentd.protocol import errors
from agentd.protocol.results import QueueItemJson, SendResult, SessionState
from agentd.providers.base import ChatMessage
from agentd.store import RecordView, StoreError

log = logging.getLogger("agentd.core")

if TYPE_CHECKING:
    from agentd.core.turn import Turn, TurnOutcome

#: Prompts waiting behind a running turn, per session.
MAX_QUEUE = 256
#: How long ``history.clear_session`` and shutdown wait for an interrupted turn to end.
TURN_END_TIMEOUT_S = 10.0


@attrs.define(eq=False)
class QueueItem:
    """A prompt sent while the session was busy; ``id`` becomes its turn's id."""

    id: str
    text: str
    images: list[dict[str, Any]]
    enqueued_at: str

    def to_json(self) -> QueueItemJson:
        return {
            "id": self.id,
            "text": self.text,
            "images": self.images,
            "enqueuedAt": self.enqueued_at,
        }


def history_json(message: ChatMessage) -> dict[str, Any]:
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


class Session:
    """State and commands of one session; the running ``Turn`` reports back through it."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        title: str | None,
        cwd: Path,
        provider: str,
        model: str,
        system_prompt: str,
        approval_policy: str,
    ) -> None:
        self.runtime = runtime
        self.id = str(uuid.uuid4())
        self.created_at = self.updated_at = iso_now()
        self.title = title
        self.cwd = cwd
        self.provider = provider
        self.model = model
        self.system_prompt = system_prompt
        self.approval_policy = approval_policy
        self.pending = False
        self.status_label = "ready"
        self.messages: list[dict[str, Any]] = []
        self.history: list[ChatMessage] = []
        self.queue: collections.deque[QueueItem] = collections.deque()
        self.steers: list[str] = []
        self.conversation_provider: str | None = None
        self.record = (
            SessionRecord(runtime.history, self.history_failed) if runtime.history else None
        )
        self.allowed_tools: set[str] = set()
        self.turn: Turn | None = None
        self._clearing = False
        #: Queued prompts' writes, until their ``session.send`` has waited for them.
        self._queued_saved: dict[str, asyncio.Future[Any]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    # -- events ----------------------------------------------------------------------------

    def emit(self, type_: str, payload: dict[str, Any]) -> None:
        self.runtime.bus.emit(type_, {"session_id": self.id, **payload})

    def touch(self) -> None:
        self.updated_at = iso_now()

    def set_status(self, label: str, turn_id: str | None = None) -> None:
        """Store and announce a status label (callers emit only on change)."""
        self.status_label = label
        payload: dict[str, Any] = {"pending": self.pending, "status_label": label}
        if turn_id is not None:
            payload["turn_id"] = turn_id
        self.emit("session.status", payload)

    def append_ui(self, kind: str, text: str, images: list[dict[str, Any]] | None = None) -> None:
        message: dict[str, Any] = {
            "id": self.runtime.next_ui_message_id(),
            "kind": kind,
            "text": text,
        }
        if images:
            message["images"] = images
        self.messages.append(message)
        self.touch()
        self.emit("session.message.appended", {"message": message})

    def context_breakdown(self, extra: list[ChatMessage] | None = None) -> dict[str, int]:
        history = self.history if not extra else [*self.history, *extra]
        tool_tokens = self.runtime.tool_tokens(self.provider)
        return estimate(self.system_prompt, history, tool_tokens, self.provider)

    def emit_estimate(self, extra: list[ChatMessage] | None = None) -> None:
        breakdown = self.context_breakdown(extra)
        self.emit(
            "session.context.estimate",
            {
                "provider": self.provider,
                "source": "history",
                "total_tokens_estimate": sum(breakdown.values()),
                "breakdown": breakdown,
            },
        )

    # -- queries ---------------------------------------------------------------------------

    def snapshot(self) -> SessionState:
        """The ``session.get`` result: the reference's camelCase keys plus agentd's own."""
        breakdown = self.context_breakdown()
        return {
            "id": self.id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "pending": self.pending,
            "statusLabel": self.status_label,
            "messages": list(self.messages),
            "history": [history_json(m) for m in self.history],
            "queue": [item.to_json() for item in self.queue],
            "pendingSteerCount": len(self.steers),
            "conversationProvider": self.conversation_provider,
            "activeSessionId": self.record.record_id if self.record else None,
            "contextTokenEstimate": sum(breakdown.values()),
            "contextTokenSource": "history",
            "contextTokenProvider": self.provider,
            "contextTokenBreakdown": breakdown,
            "title": self.title,
            "cwd": str(self.cwd),
            "provider": self.provider,
            "model": self.model,
            "activeTurnId": self.turn.id if self.turn is not None else None,
        }

    # -- commands --------------------------------------------------------------------------

    def send(self, text: str | None, images: Any, enqueue: bool) -> SendResult:
        prompt = (text or "").strip()
        rows = normalise_images(images)
        if not prompt and not rows:
            raise errors.invalid_state("session.send requires non-empty text or at least one image")
        if self.runtime.shutting_down:
            raise errors.invalid_state("agentd is shutting down")
        if self._clearing:
            raise errors.invalid_state("session is being cleared; send again once it is")
        turn_id = str(uuid.uuid4())
        if self.pending:
            if not enqueue:
                raise errors.session_busy()
            if len(self.queue) >= MAX_QUEUE:
                raise errors.overloaded(
                    f"the queue of session {self.id} is full ({MAX_QUEUE} prompts)",
                    retry_after_ms=1000,
                )
            item = QueueItem(turn_id, prompt, rows, iso_now())
            self.queue.append(item)
            if self.record is not None:
                self._queued_saved[turn_id] = self.record.queue(
                    item.id, item.text, item.images, item.enqueued_at
                )
            self.touch()
            self.emit(
                "session.status", {"pending": True, "status_label": f"queued ({len(self.queue)})"}
            )
            self._queue_changed()
            return {"session_id": self.id, "turn_id": turn_id, "accepted": True, "queued": True}
        self._start_turn(turn_id, prompt, rows)
        return {"session_id": self.id, "turn_id": turn_id, "accepted": True, "queued": False}

    async def prompt_saved(self, turn_id: str, timeout: float) -> None:
        """Wait (bounded) until the prompt ``turn_id`` (running or queued) is on disk."""
        saved: asyncio.Future[Any] | None = self._queued_saved.pop(turn_id, None)
        if saved is None and self.turn is not None and self.turn.id == turn_id:
            saved = self.turn.saved
        if saved is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(saved), timeout)
        except StoreError:
            pass  # the turn itself reports it with session.error
        except TimeoutError:
            log.warning("prompt of turn %s not on disk after %.0f s", turn_id, timeout)

    def steer(self, text: str) -> bool:
        if not self.pending or self.turn is None:
            return False
        self.steers.append(text)
        self.touch()
        return True

    def take_steers(self) -> list[str]:
        taken, self.steers = self.steers, []
        return taken

    def interrupt(self, clear_queue: bool = False) -> bool:
        if clear_queue:
            self.queue_clear()
        turn = self.turn
        if turn is None or turn.interrupting:
            return False
        turn.interrupting = True
        self.touch()
        self.set_status("interrupting...")
        turn.cancel()
        return True

    def queue_list(self) -> list[QueueItemJson]:
        return [item.to_json() for item in self.queue]

    def queue_clear(self) -> int:
        count = len(self.queue)
        self.queue.clear()
        self.touch()
        if count:
            self._queue_changed()
        return count

    def queue_remove(self, item_id: str) -> bool:
        for item in self.queue:
            if item.id == item_id:
                self.queue.remove(item)
                self.touch()
                self._queue_changed()
                return True
        return False

    async def clear(self) -> None:
        """Forget the conversation (memory only); a running turn is interrupted, awaited first.

        While it waits, new prompts are refused and nothing is drained from the queue, so no
        turn can start, or write, between the interrupt and the reset.
        """
        self._clearing = True
        try:
            self.queue_clear()
            if self.turn is not None:
                self.interrupt()
                await self.wait_idle(TURN_END_TIMEOUT_S)
            self.turn = None
            self.history = []
            self.messages = []
            self.steers = []
            self.conversation_provider = None
            self.pending = False
            self.status_label = "ready"
            self.allowed_tools.clear()
            self.touch()
            self._idle.set()
            if self.record is not None:  # the next turn starts a new record
                await self._wait_store(self.record.detach(), TURN_END_TIMEOUT_S)
        finally:
            self._clearing = False

    async def close(self, timeout: float) -> None:
        """Shutdown: drop the queue, interrupt the turn, wait (bounded) for it and its records."""
        self.queue_clear()
        self.interrupt()
        await self.wait_idle(timeout)
        if self.record is not None:
            await self.record.flush(timeout)
            await self._wait_store(self.record.detach(), timeout)

    def resume(self, view: RecordView, record: SessionRecord) -> None:
        """Continue a saved record: its context becomes this session's history (resume_id)."""
        self.record = record
        self.history = answer_every_tool_call([from_stored(m) for m in view.context_messages()])
        for message in view.messages:
            if message.role in ("user", "assistant") and message.text:
                self.messages.append(
                    {
                        "id": self.runtime.next_ui_message_id(),
                        "kind": message.role,
                        "text": message.text,
                    }
                )
        self.conversation_provider = view.meta.provider or None

    def history_failed(self, error: BaseException) -> None:
        detail = error.message if isinstance(error, StoreError) else "unexpected error"
        self.append_ui("system", f"history write failed: {detail}")

    @staticmethod
    async def _wait_store(job: asyncio.Future[None], timeout: float) -> None:
        """Wait (bounded) for a store job; its failure is reported by the record itself."""
        try:
            await asyncio.wait_for(asyncio.shield(job), timeout)
        except TimeoutError:
            log.warning("history store did not finish within %.0f s", timeout)
        except StoreError:
            pass

    async def wait_idle(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    # -- turn plumbing ---------------------------------------------------------------------

    def _queue_changed(self) -> None:
        self.emit("session.queue.changed", {"queue": self.queue_list()})

    def _start_turn(self, turn_id: str, prompt: str, images: list[dict[str, Any]]) -> None:
        from agentd.core.turn import Turn

        self.pending = True
        self.steers = []
        self._idle.clear()
        turn = Turn(self, turn_id, with_placeholders(prompt, len(images)), images)
        self.turn = turn
        self.touch()
        self.set_status("preparing...", turn_id)
        turn.start()

    def finish_turn(self, turn: Turn, outcome: TurnOutcome) -> None:
        """Called exactly once per turn: commit its messages, report ``ready``, drain the queue."""
        if turn is not self.turn:
            return
        if outcome.commit:
            self.history.extend(turn.messages)
            self.conversation_provider = self.provider
        self.turn = None
        late = len(self.steers)
        self.steers = []
        self.pending = False
        self.touch()
        self.set_status("ready")
        if late:
            self.append_ui(
                "system", f"{late} steer message(s) were queued too late and not applied."
            )
        if self.queue and not self.runtime.shutting_down and not self._clearing:
            item = self.queue.popleft()
            self._queue_changed()
            self._start_turn(item.id, item.text, item.images)
        else:
            self._idle.set()
