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
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import attrs

from agentd.clock import iso_now
from agentd.core.compaction import (
    OVERFLOW_NOTE,
    CompactionError,
    Limits,
    limits_for,
    summarise,
    summary_message,
)
from agentd.core.conversation import Conversation, TurnDraft
from agentd.core.errors import InvalidState, Overloaded, SessionBusy
from agentd.core.estimate import counter_for
from agentd.core.events import (
    CompactionCompleted,
    CompactionFailed,
    CompactionReason,
    CompactionStarted,
    ContextEstimated,
    CoreEvent,
    PendingPrompt,
    QueueChanged,
    StatusChanged,
    TranscriptAppended,
    TranscriptEntry,
)
from agentd.core.images import normalise_images, with_placeholders
from agentd.core.policy import ApprovalDecision, check_policy
from agentd.core.recorder import SessionRecord, answer_every_tool_call, from_stored, title_for
from agentd.core.runtime import Runtime
from agentd.core.toolset import SessionToolSet, ToolSet
from agentd.core.turn import Turn, TurnOutcome
from agentd.providers.base import ChatMessage, Provider, RequestOptions, ToolCall
from agentd.providers.models import reasoning_effort
from agentd.store import RecordView, StoreError
from agentd.tools.base import Command, CommandOutcome, ToolResult
from agentd.tools.mcp.config import McpServerConfig

log = logging.getLogger("agentd.core")

#: Prompts waiting behind a running turn, per session.
MAX_QUEUE = 256
#: How long ``history.clear_session`` and shutdown wait for an interrupted turn to end.
TURN_END_TIMEOUT_S = 10.0
#: Bound on holding a session's events back for a response (a missed release cannot stall it).
HOLD_LIMIT_S = 30.0


@attrs.frozen
class Compression:
    """What a compaction did (the reference's ``compression`` result)."""

    requested: bool
    applied: bool
    reason: str  # none | auto | manual | provider_switch
    tokens_before: int
    tokens_after: int
    limits: Limits


class SendOutcome(NamedTuple):
    """What ``Session.send`` did with a prompt."""

    turn_id: str
    queued: bool


class Session:
    """State and commands of one session; the running ``Turn`` reports back through it.

    ``Session`` is the ``TurnHost`` of its turns: the turn reads the session's settings and
    context and reports through the few methods of that protocol.
    """

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
        thinking: str | None = None,
        pinned: bool = False,
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
        self.thinking: str | None = None
        self.request_options = RequestOptions()
        #: Chosen for this session (``session.create`` or ``model.select {session_id}``): a
        #: daemon-wide ``model.select`` leaves it alone.
        self.pinned = pinned
        self._apply_thinking(thinking)
        runtime.warm_tokens(model)
        #: Emit a core event (the bus's own method: this is on the streaming path).
        self.emit: Callable[[CoreEvent], None] = runtime.bus.emit
        self.flow = runtime.bus.flow
        #: Events held back while a response is on its way (see ``hold``).
        self._holds = 0
        self._held: list[CoreEvent] = []
        self.pending = False
        self.status_label = "ready"
        self.transcript: list[TranscriptEntry] = []
        self.conversation = Conversation()
        self.tools: ToolSet = runtime.tools
        self.queue: collections.deque[PendingPrompt] = collections.deque()
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

    def use_mcp_servers(self, servers: Sequence[McpServerConfig]) -> None:
        """Give the session its MCP servers: ``config.toml``'s, overridden by ``servers``."""
        config = self.runtime.tool_config
        chosen = {**config.mcp_servers, **{server.name: server for server in servers}}
        errors = {k: v for k, v in config.mcp_errors.items() if k not in chosen}
        if chosen or errors:
            self.tools = SessionToolSet(
                self.runtime.tools,
                list(chosen.values()),
                errors,
                session_id=self.id,
                workspace=self.cwd,
                emit=self.emit,
            )

    @property
    def text_reader(self) -> Callable[[Path], Awaitable[str | None]] | None:
        """How this session's tools read files as the client sees them (``None``: the disk)."""
        reader = self.runtime.file_reader
        if reader is None:
            return None
        session_id = self.id
        return lambda path: reader(session_id, path)

    @property
    def text_writer(self) -> Callable[[Path, str], Awaitable[bool]] | None:
        """How this session's tools write files through the client (``None``: the disk)."""
        writer = self.runtime.file_writer
        if writer is None:
            return None
        session_id = self.id
        return lambda path, text: writer(session_id, path, text)

    @property
    def command_runner(self) -> Callable[[Command], Awaitable[CommandOutcome | None]] | None:
        """Where this session's tools run commands (``None``: here, as child processes)."""
        runner = self.runtime.command_runner
        if runner is None:
            return None
        session_id = self.id
        return lambda command: runner(session_id, command)

    @property
    def max_turn_requests(self) -> int:
        return self.runtime.tool_config.max_turn_requests

    @property
    def history(self) -> Sequence[ChatMessage]:
        """The committed model context."""
        return self.conversation.messages

    # -- events ----------------------------------------------------------------------------

    def touch(self) -> None:
        self.updated_at = iso_now()

    def set_status(self, label: str, turn_id: str | None = None) -> None:
        """Store and announce a status label (callers emit only on change)."""
        self.status_label = label
        self.emit(StatusChanged(self.id, self.pending, label, turn_id))

    def append_transcript(
        self, kind: str, text: str, images: Sequence[Mapping[str, Any]] = ()
    ) -> None:
        entry = TranscriptEntry(
            id=self.runtime.next_ui_message_id(),
            kind=kind,  # type: ignore[arg-type]
            text=text,
            images=tuple(images),
        )
        self.transcript.append(entry)
        self.touch()
        self.emit(TranscriptAppended(self.id, entry))

    def context_breakdown(self, draft: TurnDraft | None = None) -> dict[str, int]:
        self.conversation.use_counter(counter_for(self.model))
        return self.conversation.breakdown(
            self.system_prompt, self.tools.schema_tokens(self.provider), self.provider, draft
        )

    def emit_estimate(self, draft: TurnDraft | None = None) -> None:
        breakdown = self.context_breakdown(draft)
        source = self.conversation.source()
        self.emit(ContextEstimated(self.id, self.provider, breakdown, token_source=source))

    def hold(self) -> Callable[[], None]:
        """Hold this session's events back until the returned ``release`` is called.

        The API holds them from the moment a request took effect until its response is written,
        so a response always precedes the events its request caused once it started (a turn
        that fails at once cannot report before ``session.send`` has answered). Holds nest;
        each is released once, at the latest after ``HOLD_LIMIT_S``.
        """
        if self._holds == 0:
            self.emit = self._held.append
        self._holds += 1
        released = False
        timer = asyncio.get_running_loop().call_later(HOLD_LIMIT_S, lambda: release())

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            timer.cancel()
            self._holds -= 1
            if self._holds == 0:
                emit = self.emit = self.runtime.bus.emit
                held, self._held = self._held, []
                for event in held:
                    emit(event)

        return release

    # -- what a turn asks of its host --------------------------------------------------------

    def model_provider(self) -> Provider | None:
        providers = self.runtime.providers
        return providers.get(self.provider) if providers.is_configured(self.provider) else None

    def record_title(self, prompt: str) -> str:
        return self.title or title_for(prompt)

    def record_provider(self) -> tuple[str, str]:
        return self.provider, self.model

    def take_steers(self) -> list[str]:
        taken, self.steers = self.steers, []
        return taken

    async def approve(self, turn_id: str, call: ToolCall) -> ToolResult | None:
        approver = self.runtime.approver

        async def ask(call: ToolCall) -> tuple[ApprovalDecision, str | None]:
            assert approver is not None
            return await approver(
                self.id,
                turn_id,
                {"name": call.name, "input": dict(call.arguments), "callId": call.call_id},
            )

        return await check_policy(
            self.approval_policy,
            call,
            mutates=self.tools.mutates(call.name),
            allowed=self.allowed_tools,
            ask=ask if approver is not None else None,
        )

    # -- compaction --------------------------------------------------------------------------

    def context_total(self, draft: TurnDraft | None = None) -> int:
        return sum(self.context_breakdown(draft).values())

    async def prepare_context(self, turn_id: str) -> None:
        """Before a turn's first request: compact when another provider held the conversation
        or the context is over its model's high watermark (``CompactionError`` if it fails)."""
        if not len(self.conversation):
            return
        switched = self.conversation_provider not in (None, self.provider)
        if switched:
            await self.compact("provider_switch", turn_id=turn_id)
        elif self.context_total() > limits_for(self.model).high_watermark:
            await self.compact("auto", turn_id=turn_id)
        else:
            return
        self.set_status("thinking...", turn_id)

    async def recover_overflow(self, turn_id: str, draft: TurnDraft, error: str) -> None:
        """The provider refused the context as too long: summarise it with the running turn's
        messages, which the summary replaces (the turn then continues from it)."""
        note = f"{OVERFLOW_NOTE} (turn {turn_id}; the error was: {error})"
        await self.compact("auto", turn_id=turn_id, draft=draft, note=note)
        self.append_transcript(
            "system", "context overflow: the conversation was compressed; continuing."
        )

    async def compact(
        self,
        reason: CompactionReason,
        *,
        turn_id: str | None = None,
        draft: TurnDraft | None = None,
        note: str | None = None,
    ) -> Compression:
        """Summarise the context (and ``draft``'s messages) with the session's provider and
        start the context over from the summary; recorded in history, announced with the
        ``compaction.*`` events. ``CompactionError`` when the summariser fails."""
        limits = limits_for(self.model)
        messages = self.conversation.request_messages(draft)
        before = self.context_total(draft)
        if not messages:
            return Compression(True, False, "none", before, before, limits)
        previous = self.conversation_provider
        self.emit(CompactionStarted(self.id, turn_id, reason, len(messages), limits.window))
        self.set_status("compressing context...", turn_id)
        provider = self.model_provider()
        try:
            if provider is None:
                raise CompactionError(f"provider {self.provider} is not available")
            summary = await summarise(provider, self.model, messages, session_id=self.id, note=note)
        except CompactionError as exc:
            self.emit(CompactionFailed(self.id, turn_id, reason, exc.message))
            raise
        message = summary_message(summary)
        self.conversation.replace([message])
        if draft is not None:
            draft.reset()
        self.conversation_provider = self.provider
        if self.record is not None:
            self.record.compaction(message.text, reason, turn_id)
        after = self.context_total(draft)
        self.emit(
            CompactionCompleted(
                self.id,
                turn_id,
                reason,
                len(messages),
                before,
                after,
                limits.window,
                limits.target,
                limits.high_watermark,
                iso_now(),
            )
        )
        if reason == "provider_switch":
            notice = (
                f"provider switched: {previous} -> {self.provider}. "
                f"context compressed ({before:,} -> {after:,} est. tokens)."
            )
        elif reason == "manual":
            notice = f"context compression complete: {before:,} -> {after:,} est. tokens."
        else:
            notice = (
                f"context compression (auto): {before:,} -> {after:,} est. tokens "
                f"(limit {limits.high_watermark:,} / window {limits.window:,})."
            )
        self.append_transcript("system", notice)
        self.emit_estimate(draft)
        return Compression(True, True, reason, before, after, limits)

    async def compact_now(self, reason: CompactionReason = "manual") -> Compression:
        """``session.compact`` (and ``model.select {compress_immediately}``): compact an idle
        session; prompts sent meanwhile are queued behind it."""
        if self.pending:
            raise SessionBusy()
        if self._clearing or self.runtime.shutting_down:
            raise InvalidState("session is being cleared or agentd is shutting down")
        if not len(self.conversation):
            total = self.context_total()
            return Compression(True, False, "none", total, total, limits_for(self.model))
        self.pending = True
        self._idle.clear()
        try:
            return await self.compact(reason)
        finally:
            self.pending = False
            self.set_status("ready")
            self._drain_queue()

    # -- commands --------------------------------------------------------------------------

    def select(
        self, provider: str, model: str, thinking: str | None, *, pinned: bool = True
    ) -> None:
        """Use ``provider``/``model`` from the next model request on (a running turn's next
        round included, as the reference's global selection does)."""
        if (provider, model) != (self.provider, self.model):
            self.conversation.forget_provider_count()
            self.runtime.warm_tokens(model)
        self.provider = provider
        self.model = model
        self.pinned = self.pinned or pinned
        self._apply_thinking(thinking)
        self.touch()

    def _apply_thinking(self, thinking: str | None) -> None:
        self.thinking = thinking
        effort = reasoning_effort(thinking)
        self.request_options = RequestOptions(
            reasoning_effort=effort, reasoning_summary="auto" if effort else None
        )

    def send(self, text: str | None, images: Any, enqueue: bool) -> SendOutcome:
        prompt = (text or "").strip()
        rows = normalise_images(images)
        if not prompt and not rows:
            raise InvalidState("session.send requires non-empty text or at least one image")
        if self.runtime.shutting_down:
            raise InvalidState("agentd is shutting down")
        if self._clearing:
            raise InvalidState("session is being cleared; send again once it is")
        turn_id = str(uuid.uuid4())
        if self.pending:
            if not enqueue:
                raise SessionBusy()
            if len(self.queue) >= MAX_QUEUE:
                raise Overloaded(
                    f"the queue of session {self.id} is full ({MAX_QUEUE} prompts)",
                    retry_after_ms=1000,
                )
            item = PendingPrompt(turn_id, prompt, tuple(rows), iso_now())
            self.queue.append(item)
            if self.record is not None:
                self._queued_saved[turn_id] = self.record.queue(
                    item.id, item.text, item.images, item.enqueued_at
                )
            self.touch()
            self.emit(StatusChanged(self.id, True, f"queued ({len(self.queue)})"))
            self._queue_changed()
            return SendOutcome(turn_id, queued=True)
        self._start_turn(turn_id, prompt, rows)
        return SendOutcome(turn_id, queued=False)

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

    def interrupt(self, clear_queue: bool = False) -> bool:
        if clear_queue:
            self.queue_clear(drop=True)
        turn = self.turn
        if turn is None or turn.interrupting:
            return False
        turn.interrupting = True
        self.touch()
        self.set_status("interrupting...")
        turn.cancel()
        return True

    def queue_clear(self, *, drop: bool = True) -> int:
        """Empty the queue; ``drop`` records the removal, so a resume does not offer them again
        (a shutdown keeps them on disk: they are offered back by the next resume)."""
        count = len(self.queue)
        if drop and count and self.record is not None:
            self.record.drop_queued([(item.id, item.enqueued_at) for item in self.queue])
        self.queue.clear()
        self.touch()
        if count:
            self._queue_changed()
        return count

    def queue_remove(self, item_id: str) -> bool:
        for item in self.queue:
            if item.id == item_id:
                self.queue.remove(item)
                if self.record is not None:
                    self.record.drop_queued([(item.id, item.enqueued_at)])
                self.touch()
                self._queue_changed()
                return True
        return False

    def clear(self) -> Awaitable[None]:
        """Forget the conversation (memory only); a running turn is interrupted, awaited first.

        The refusal of new prompts, the queue's removal and the interrupt happen now, when
        called (arrival order), even if the caller only awaits the result later. While it
        waits, nothing is drained from the queue, so no turn can start, or write, between the
        interrupt and the reset.
        """
        self._clearing = True
        try:
            self.queue_clear()
            if self.turn is not None:
                self.interrupt()
        except BaseException:
            self._clearing = False
            raise
        return self._finish_clear()

    async def _finish_clear(self) -> None:
        try:
            if self.turn is not None:
                await self.wait_idle(TURN_END_TIMEOUT_S)
            self.turn = None
            self.conversation.replace(())
            self.transcript = []
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
        """Shutdown: drop the queue, interrupt the turn, wait (bounded) for it and its records.

        The queued prompts stay on disk, unstarted: a resumed session offers them back.
        """
        self.queue_clear(drop=False)
        self.interrupt()
        await self.wait_idle(timeout)
        await self.tools.aclose()  # the session's MCP servers end with it
        if self.record is not None:
            await self.record.flush(timeout)
            await self._wait_store(self.record.detach(), timeout)

    def resume(self, view: RecordView, record: SessionRecord) -> None:
        """Continue a saved record: its context becomes this session's (resume_id)."""
        self.record = record
        self.conversation.replace(
            answer_every_tool_call([from_stored(m) for m in view.context_messages()])
        )
        for message in view.messages:
            if message.role in ("user", "assistant") and message.text:
                self.transcript.append(
                    TranscriptEntry(
                        id=self.runtime.next_ui_message_id(),
                        kind=message.role,
                        text=message.text,
                    )
                )
        self.conversation_provider = view.meta.provider or None
        # Prompts accepted but never started (a crash or shutdown came first) are offered back
        # in the queue; they start behind the next turn, never by themselves.
        for prompt in view.unstarted_prompts[:MAX_QUEUE]:
            self.queue.append(
                PendingPrompt(prompt.id, prompt.text, tuple(prompt.images), prompt.enqueued_at)
            )

    def history_failed(self, error: BaseException) -> None:
        detail = error.message if isinstance(error, StoreError) else "unexpected error"
        self.append_transcript("system", f"history write failed: {detail}")

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
        self.emit(QueueChanged(self.id, tuple(self.queue)))

    def _start_turn(self, turn_id: str, prompt: str, images: Sequence[Mapping[str, Any]]) -> None:
        self.pending = True
        self.steers = []
        self._idle.clear()
        turn = Turn(self, turn_id, with_placeholders(prompt, len(images)), images)
        self.turn = turn
        self.touch()
        self.set_status("preparing...", turn_id)
        turn.start()

    def turn_finished(self, turn: Turn, outcome: TurnOutcome) -> None:
        """Called exactly once per turn: commit its messages, report ``ready``, drain the queue."""
        if turn is not self.turn:
            return
        if outcome.commit:
            usage = turn.last_usage if outcome.status == "completed" else None
            reported = usage.input_tokens + usage.output_tokens if usage else None
            self.conversation.commit(turn.draft, provider_tokens=reported or None)
            self.conversation_provider = self.provider
        self.turn = None
        late = len(self.steers)
        self.steers = []
        self.pending = False
        self.touch()
        self.set_status("ready")
        if late:
            self.append_transcript(
                "system", f"{late} steer message(s) were queued too late and not applied."
            )
        self._drain_queue()

    def _drain_queue(self) -> None:
        """Start the next queued prompt, or become idle."""
        if self.queue and not self.runtime.shutting_down and not self._clearing:
            item = self.queue.popleft()
            self._queue_changed()
            self._start_turn(item.id, item.text, item.images)
        else:
            self._idle.set()
