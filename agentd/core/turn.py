"""A turn: the agent loop for one prompt.

model round → tool round → model round … until the model answers without tool calls. Steer
messages are injected at the top of every model request. An interrupt cancels the turn's task,
whatever it awaits (the provider's stream, a retry back-off, a tool's process group, an
approval), and the turn ends as ``interrupted`` with its partial output kept. Every turn ends with
exactly one of ``TurnCompleted``, ``TurnInterrupted``, ``TurnFailed``, then its owner reports
``ready``.

A turn knows its owner only through ``TurnHost``: a narrow protocol (the session implements it),
so the loop can be read, and tested, on its own. Each provider stream is consumed under
``contextlib.aclosing``: whatever way a round ends, the stream (an HTTP response) is closed before
the turn reports anything further.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import attrs

from agentd import memory
from agentd.core.compaction import CONTINUE_PROMPT, CompactionError
from agentd.core.conversation import Conversation, TurnDraft
from agentd.core.events import (
    CoreEvent,
    ExecutedTool,
    FlowGate,
    ReasoningStreamed,
    RetryScheduled,
    StopReason,
    TextStreamed,
    ToolCallCompleted,
    ToolCallStarted,
    ToolResultsReported,
    TurnCompleted,
    TurnFailed,
    TurnInterrupted,
    UsageReported,
)
from agentd.core.images import ImageError, load_image
from agentd.core.recorder import SessionRecord
from agentd.core.toolset import ToolSet
from agentd.providers.base import (
    ChatMessage,
    ContentPart,
    Done,
    FinishReason,
    ImagePart,
    MessageData,
    ModelRequest,
    Provider,
    ProviderData,
    ProviderError,
    ReasoningDelta,
    RequestOptions,
    RequestTrace,
    Retrying,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallRequested,
    Usage,
)
from agentd.store import StoreError
from agentd.store.records import TurnStatus
from agentd.text import all_finite, finite_copy
from agentd.tools.base import Command, CommandOutcome, ToolContext, ToolResult

log = logging.getLogger("agentd.core")

EMPTY_ANSWER = "(No response text returned)"
#: What a tool call reports when the turn was interrupted while its approval was pending.
APPROVAL_INTERRUPTED = "not run: the turn was interrupted while waiting for approval"
#: The answer recorded when a turn reached its limit of model requests.
TURN_LIMIT_NOTE = "(stopped: this turn reached its limit of {limit} model requests)"
#: What a tool call gets when its round was cut off at the model's output limit.
CUT_OFF_TOOL_RESULT = "tool call not run: the model's output was cut off at its length limit"
#: Bound on waiting for a turn's last history records before announcing its end.
RECORD_TIMEOUT_S = 10.0
#: Streamed text is journalled in batches of about this many characters, or this often.
PARTIAL_BATCH_CHARS = 4096
PARTIAL_BATCH_S = 0.5
#: Provider events handled before the turn yields to the event loop: a provider whose stream
#: is already buffered (or a fast local one) never awaits, and 50 such turns would otherwise
#: hold the loop for whole answers at a time (ping p99 500 ms, issue 10 item 14).
YIELD_EVERY = 32
_BOLD_TITLE = re.compile(r"^\s*\*\*(.+?)\*\*")


class TurnPhase(enum.Enum):
    """Where a turn is; ``ENDED`` once its terminal event is out."""

    CREATED = "created"
    SAVING_PROMPT = "saving_prompt"
    MODEL = "model"
    TOOLS = "tools"
    ENDING = "ending"
    ENDED = "ended"


@attrs.frozen
class TurnOutcome:
    """How a turn ended; ``commit`` says whether its messages join the model context."""

    status: TurnStatus
    commit: bool
    stop_reason: StopReason | None = None


class TurnHost(Protocol):
    """What a turn needs from its owner (implemented by ``Session``)."""

    @property
    def id(self) -> str: ...

    @property
    def cwd(self) -> Path: ...

    @property
    def model(self) -> str: ...

    @property
    def system_prompt(self) -> str: ...

    @property
    def status_label(self) -> str: ...

    @property
    def conversation(self) -> Conversation: ...

    @property
    def tools(self) -> ToolSet: ...

    @property
    def text_reader(self) -> Callable[[Path], Awaitable[str | None]] | None: ...

    @property
    def text_writer(self) -> Callable[[Path, str], Awaitable[bool]] | None: ...

    @property
    def command_runner(self) -> Callable[[Command], Awaitable[CommandOutcome | None]] | None: ...

    @property
    def max_turn_requests(self) -> int:
        """Model requests one turn may make (``[limits] max_turn_requests``)."""
        ...

    @property
    def record(self) -> SessionRecord | None: ...

    @property
    def request_options(self) -> RequestOptions: ...

    @property
    def flow(self) -> FlowGate:
        """Closed while the events cannot be carried out: streaming pauses."""
        ...

    def model_provider(self) -> Provider | None:
        """The session's provider, or ``None`` when it is not available."""
        ...

    def record_title(self, prompt: str) -> str: ...

    def record_provider(self) -> tuple[str, str]:
        """(provider, model) as written to history."""
        ...

    def emit(self, event: CoreEvent) -> None: ...

    def set_status(self, label: str, turn_id: str | None = None) -> None: ...

    def append_transcript(
        self, kind: str, text: str, images: Sequence[Mapping[str, Any]] = ()
    ) -> None: ...

    def emit_estimate(self, draft: TurnDraft | None = None) -> None: ...

    def take_steers(self) -> list[str]: ...

    async def approve(self, turn_id: str, call: ToolCall) -> ToolResult | None:
        """``None`` when the call may run, else the refusal to report instead."""
        ...

    def turn_finished(self, turn: Turn, outcome: TurnOutcome) -> None: ...

    async def prepare_context(self, turn_id: str) -> None:
        """Compact the context before the first request if it needs it."""
        ...

    async def recover_overflow(self, turn_id: str, draft: TurnDraft, error: str) -> None:
        """Compact the context and ``draft`` after the provider refused it as too long."""
        ...


def thought_title(reasoning: str) -> str:
    """The reference's ``thinking: <title>`` label: a leading ``**bold**``, else the first line."""
    match = _BOLD_TITLE.match(reasoning)
    title = match.group(1) if match else reasoning.strip().split("\n", 1)[0]
    return title.strip().lower() or "reasoning"


def finite_call(call: ToolCall) -> ToolCall:
    """A call whose arguments hold no NaN or infinity (a model's ``NaN`` parses in Python but
    is not JSON: no event, history line or ``session.get`` could carry it). They become null,
    which the tool's schema then refuses with a clear error; the raw text is kept as produced.
    """
    if all_finite(call.arguments):
        return call
    return attrs.evolve(call, arguments=finite_copy(call.arguments))


def tool_message_text(result: ToolResult) -> str:
    """What the model reads back for a tool call."""
    if result.ok:
        return (
            result.output
            if isinstance(result.output, str)
            else json.dumps(result.output, sort_keys=True)
        )
    return json.dumps({"error": result.error, "output": result.output}, sort_keys=True)


@attrs.define
class _Round:
    """What one model round produced."""

    text: str = ""
    calls: list[ToolCall] = attrs.Factory(list)
    data: ProviderData | None = None
    finish: FinishReason | None = None


class Turn:
    """One prompt's run; owned by its host, which it reports to."""

    def __init__(
        self, host: TurnHost, turn_id: str, prompt: str, images: Sequence[Mapping[str, Any]]
    ) -> None:
        self.host = host
        self.id = turn_id
        self.prompt = prompt
        self.raw_images = list(images)
        self.images: list[dict[str, Any]] = []
        self.interrupting = False
        self.phase = TurnPhase.CREATED
        #: Messages this turn adds to the model context (kept unless the turn fails).
        self.draft = TurnDraft(host.conversation.counter)
        #: The usage the provider reported for this turn's latest model request.
        self.last_usage: Usage | None = None
        self._task: asyncio.Task[None] | None = None
        loop = asyncio.get_running_loop()
        #: Resolves once the prompt is on disk (``session.send`` answers after it).
        self.saved: asyncio.Future[str | None] = loop.create_future()
        #: Resolves when the turn has ended (after its terminal event).
        self.outcome: asyncio.Future[TurnOutcome] = loop.create_future()
        self._round_text: list[str] = []
        #: The turn's one end record, once submitted (a second end is never written).
        self._end_written: asyncio.Future[None] | None = None
        self._end_submitted = False
        self._answered = False
        self._user_shown = False
        self._awaiting_approval = False
        #: Streamed text not yet journalled, and when the last batch was.
        self._unsaved: list[str] = []
        self._unsaved_chars = 0
        self._saved_at = 0.0
        #: The loop's clock, looked up once: ``asyncio.get_running_loop()`` costs a ``getpid``
        #: system call per call on Python 3.11, and ``_journal_partial`` runs per streamed piece.
        self._now = loop.time

    @property
    def messages(self) -> list[ChatMessage]:
        return self.draft.messages

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Pre-flight checks run now (their failure is reported before the send response)."""
        host = self.host
        try:
            self.images = [load_image(dict(row), host.cwd) for row in self.raw_images]
        except ImageError as exc:
            self._fail_preflight(f"inference error: {exc}", str(exc))
            return
        if host.model_provider() is None:
            provider, _ = host.record_provider()
            message = f"provider {provider} is not available"
            self._fail_preflight(message, message)
            return
        record = host.record
        if record is not None:
            provider, model = host.record_provider()
            self.phase = TurnPhase.SAVING_PROMPT
            self.saved = record.begin_turn(
                turn_id=self.id,
                prompt=self.prompt,
                images=self.images,
                title=host.record_title(self.prompt),
                provider=provider,
                model=model,
                cwd=str(host.cwd),
            )
        else:
            self.saved.set_result(None)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"turn-{self.id}")
        self._task.add_done_callback(self._on_task_done)

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _fail_preflight(self, notice: str, message: str) -> None:
        self.host.append_transcript("system", notice)
        self.saved.set_result(None)
        self._finish(TurnFailed(self.host.id, self.id, "invalid_request", message))

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        # A task cancelled before its first step never enters ``_run``: end it here. Its prompt
        # and end are still written (submitted in order; the shutdown flush waits for them).
        if self.phase is not TurnPhase.ENDED:
            if not self._end_submitted:
                self._record_end("interrupted")
            self._end_interrupted()

    def _record(self, message: ChatMessage) -> None:
        self.draft.append(message)
        record = self.host.record
        if record is not None:
            record.append(message, self.id)

    def _record_end(
        self, status: TurnStatus, kind: str | None = None, message: str | None = None
    ) -> asyncio.Future[None] | None:
        """Submit the turn's end record: the first call only (a turn ends exactly once)."""
        if self._end_submitted:
            return self._end_written
        self._end_submitted = True
        record = self.host.record
        if record is not None:
            self._end_written = record.end_turn(self.id, status, kind, message)
        return self._end_written

    async def _end(
        self, status: TurnStatus, kind: str | None = None, message: str | None = None
    ) -> None:
        """Write the turn's end and wait (bounded) until it is on disk.

        Once the end is submitted the outcome is decided: an interrupt that lands during the
        fsync is absorbed here (the turn still reports the status it wrote), so neither a
        second ``turn_end`` nor a second terminal event can follow.
        """
        self.phase = TurnPhase.ENDING
        written = self._record_end(status, kind, message)
        if written is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RECORD_TIMEOUT_S
        while not written.done():
            try:
                await asyncio.wait_for(asyncio.shield(written), max(0.0, deadline - loop.time()))
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
                continue
            except Exception:  # reported by the record's own error handling
                break
        if not written.done() or written.cancelled() or written.exception() is not None:
            log.warning("turn %s: its end may not be on disk", self.id)

    # -- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        host = self.host
        try:
            try:
                await asyncio.shield(self.saved)
            except StoreError as exc:
                self._show_prompt()
                message = f"history write failed: {exc.message}"
                await self._end("error", "storage", message)  # best effort: the disk may be full
                self._end_error("storage", message, notice=False)
                return
            self._show_prompt()
            await host.prepare_context(self.id)
            await host.tools.ready()  # a session's MCP servers start with its first turn
            round_index = 0
            recovered = False
            while True:
                round_index += 1
                if round_index > host.max_turn_requests:
                    note = TURN_LIMIT_NOTE.format(limit=host.max_turn_requests)
                    await self._complete(_Round(text=note), stop="max_turn_requests")
                    return
                self._inject_steers()
                try:
                    result = await self._model_round(round_index)
                except ProviderError as exc:
                    if exc.kind != "context_overflow" or recovered:
                        raise
                    recovered = True  # once per turn: compact, then continue from the summary
                    self._round_text = []
                    await host.recover_overflow(self.id, self.draft, exc.message)
                    self._record(ChatMessage("user", CONTINUE_PROMPT))
                    continue
                if result.calls and result.finish not in ("length", "content_filter"):
                    self._record(
                        ChatMessage(
                            "assistant",
                            result.text,
                            tool_calls=tuple(result.calls),
                            provider_data=result.data,
                        )
                    )
                    if result.text:
                        host.append_transcript("assistant", result.text)
                    self.phase = TurnPhase.TOOLS
                    await self._tool_round(round_index, result.calls)
                    continue
                await self._complete(result)
                return
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            self._keep_partial()
            await self._end("interrupted")
            self._end_interrupted()
        except ProviderError as exc:
            await self._end("error", exc.kind, exc.message)
            self._end_error(exc.kind, exc.message, status=exc.status)
        except CompactionError as exc:
            message = f"context compaction failed: {exc.message}"
            await self._end("error", exc.kind, message)
            self._end_error(exc.kind, message)
        except StoreError as exc:
            message = f"history write failed: {exc.message}"
            await self._end("error", "storage", message)
            self._end_error("storage", message)
        except Exception:
            log.exception("turn %s failed", self.id)
            await self._end("error", "upstream", "internal error")
            self._end_error("upstream", "internal error")

    async def _complete(self, result: _Round, stop: StopReason = "end_turn") -> None:
        """The model answered without (runnable) tool calls: the turn is done.

        ``length`` and ``content_filter`` end the turn too: the stop reason says why, and tool
        calls of a cut-off round are answered as not run, so the context stays valid. A turn
        at its request limit ends here too (``stop``), with a note as its answer, so the
        context ends with an assistant message as after any turn.
        """
        host = self.host
        answer = result.text or EMPTY_ANSWER
        self._record(
            ChatMessage(
                "assistant", answer, tool_calls=tuple(result.calls), provider_data=result.data
            )
        )
        for call in result.calls:
            self._record(ChatMessage("tool", CUT_OFF_TOOL_RESULT, tool_call_id=call.call_id))
        host.append_transcript("assistant", answer)
        if result.finish == "length":
            stop = "max_tokens"
        elif result.finish == "content_filter":
            stop = "refusal"
        host.emit_estimate(self.draft)
        await self._end("completed")
        self._finish(
            TurnCompleted(host.id, self.id, answer_length=len(answer), stop_reason=stop),
            stop_reason=stop,
        )

    def _show_prompt(self, *, announce: bool = True) -> None:
        """The prompt joins the transcript (it is already on disk, written by ``start``).

        ``announce`` adds the ``thinking...`` status; an interrupted turn that never reached
        the model shows its prompt without it.
        """
        host = self.host
        if self._user_shown:
            return
        self._user_shown = True
        if announce:
            host.set_status("thinking...", self.id)
        host.append_transcript("user", self.prompt, self.images)
        host.emit_estimate()
        parts: list[ContentPart] = [TextPart(self.prompt)]
        parts.extend(
            ImagePart(mime_type=i["mimeType"], data_url=i["dataUrl"], label=i["path"])
            for i in self.images
        )
        self.draft.append(ChatMessage("user", tuple(parts)))

    def _inject_steers(self) -> None:
        steers = self.host.take_steers()
        if not steers:
            return
        for text in steers:
            self._record(ChatMessage("user", text))
            self.host.append_transcript("user", text)
        self.host.set_status("steer applied; continuing...")

    async def _model_round(self, round_index: int) -> _Round:
        host = self.host
        provider = host.model_provider()
        if provider is None:
            raise ProviderError("invalid_request", "the session's provider is not available")
        self.phase = TurnPhase.MODEL
        request = ModelRequest(
            model=host.model,
            system_prompt=host.system_prompt,
            messages=host.conversation.request_messages(self.draft),
            tools=host.tools.declared(),
            options=host.request_options,
            trace=RequestTrace(session_id=host.id, turn_id=self.id, round_index=round_index),
        )
        self._round_text = []
        self._unsaved, self._unsaved_chars = [], 0
        self._saved_at = self._now()
        reasoning: list[str] = []
        result = _Round()
        flow = host.flow
        handled = 0
        async with contextlib.aclosing(provider.stream(request)) as stream:
            async for event in stream:
                if not flow.is_open:  # the client stopped reading: stop pulling the stream
                    await flow.wait()
                handled += 1
                if handled % YIELD_EVERY == 0:
                    await asyncio.sleep(0)  # fairness: other sessions and requests run too
                if isinstance(event, TextDelta):
                    if not event.text:
                        continue
                    if host.status_label != "drafting response...":
                        host.set_status("drafting response...")
                    self._round_text.append(event.text)
                    self._answered = True
                    host.emit(TextStreamed(host.id, self.id, event.text))
                    if host.record is not None:
                        self._journal_partial(event.text)
                elif isinstance(event, ReasoningDelta):
                    reasoning.append(event.text)
                    so_far = "".join(reasoning).strip()
                    label = f"thinking: {thought_title(so_far)}"
                    if host.status_label != label:
                        host.set_status(label)
                    host.emit(ReasoningStreamed(host.id, self.id, event.text, so_far))
                elif isinstance(event, ToolCallRequested):
                    result.calls.append(finite_call(event.call))
                elif isinstance(event, MessageData):
                    result.data = event.data
                elif isinstance(event, Usage):
                    self.last_usage = event
                    host.emit(UsageReported(host.id, self.id, event))
                elif isinstance(event, Retrying):
                    host.emit(
                        RetryScheduled(
                            host.id,
                            self.id,
                            event.attempt,
                            event.max_attempts,
                            event.delay_ms,
                            event.reason,
                            event.kind,
                            event.message,
                        )
                    )
                elif isinstance(event, Done):
                    # ``Done`` is last; a wire's trailing usage is still read (and counted)
                    result.finish = event.finish_reason
        if result.finish is None:
            raise ProviderError("upstream", "the model's stream ended without a finish reason")
        result.text = "".join(self._round_text).strip()
        self._round_text = []
        memory.note_freed(len(result.text))  # the streamed pieces, now joined and released
        return result

    def _journal_partial(self, text: str) -> None:
        """Batch streamed text into ``partial_text`` records (bounded: by size or by time)."""
        self._unsaved.append(text)
        self._unsaved_chars += len(text)
        now = self._now()
        if self._unsaved_chars < PARTIAL_BATCH_CHARS and now - self._saved_at < PARTIAL_BATCH_S:
            return
        record = self.host.record
        if record is not None:
            record.partial(self.id, "".join(self._unsaved))
        self._unsaved, self._unsaved_chars, self._saved_at = [], 0, now

    async def _tool_round(self, round_index: int, calls: list[ToolCall]) -> None:
        executed: list[ExecutedTool] = []
        limit = self.host.tools.max_calls_per_round
        for position, call in enumerate(calls):
            self._awaiting_approval = False
            try:
                result = await self._run_tool(round_index, call, position < limit)
            except asyncio.CancelledError:
                pending_approval = self._awaiting_approval
                aborted = ToolResult(
                    ok=False,
                    output={
                        "callId": call.call_id,
                        "tool": call.name,
                        "status": "error",
                        "aborted": True,
                        "exit_code": None,
                    },
                    # a call still waiting for the client's decision never started a process
                    error=APPROVAL_INTERRUPTED
                    if pending_approval
                    else "process aborted (no exit code)",
                )
                executed.append(self._report_tool(round_index, call, aborted))
                for skipped in calls[position + 1 :]:
                    self._record(
                        ChatMessage(
                            "tool",
                            "tool call skipped: the turn was interrupted",
                            tool_call_id=skipped.call_id,
                        )
                    )
                if position == len(calls) - 1:
                    self._emit_tool_results(round_index, executed)
                raise
            executed.append(self._report_tool(round_index, call, result))
        self._emit_tool_results(round_index, executed)
        self.host.emit_estimate(self.draft)

    async def _run_tool(self, round_index: int, call: ToolCall, allowed: bool) -> ToolResult:
        host = self.host
        host.emit(ToolCallStarted(host.id, self.id, round_index, call))
        if not allowed:
            return host.tools.over_limit(call.name)
        self._awaiting_approval = True
        refusal = await host.approve(self.id, call)  # an interrupt here leaves the flag set
        self._awaiting_approval = False
        if refusal is not None:
            return refusal
        context = ToolContext(
            workspace_root=host.cwd,
            call_id=call.call_id,
            read_text=host.text_reader,
            write_text=host.text_writer,
            run_command=host.command_runner,
        )
        return await host.tools.run(call.name, call.arguments, context)

    def _report_tool(self, round_index: int, call: ToolCall, result: ToolResult) -> ExecutedTool:
        executed = ExecutedTool(call, result)
        content: str | tuple[ContentPart, ...] = tool_message_text(result)
        if result.images:  # an MCP tool's screenshot goes to the model as an image
            content = (
                TextPart(tool_message_text(result)),
                *(ImagePart(mime_type=i["mimeType"], data_url=i["dataUrl"]) for i in result.images),
            )
        self._record(ChatMessage("tool", content, tool_call_id=call.call_id))
        self.host.emit(ToolCallCompleted(self.host.id, self.id, round_index, executed))
        return executed

    def _emit_tool_results(self, round_index: int, executed: list[ExecutedTool]) -> None:
        self.host.emit(ToolResultsReported(self.host.id, self.id, round_index, tuple(executed)))

    # -- endings ---------------------------------------------------------------------------

    def _keep_partial(self) -> None:
        """An interrupted round's streamed text becomes an assistant message."""
        partial = "".join(self._round_text).strip()
        self._round_text = []
        if partial:
            self._record(ChatMessage("assistant", partial))
            self.host.append_transcript("assistant", partial)
            self.host.emit_estimate(self.draft)

    def _end_interrupted(self) -> None:
        self._show_prompt(announce=False)  # interrupted before the model: the prompt stays
        kept = self._answered
        self.host.append_transcript(
            "system",
            "response interrupted by user. partial output kept."
            if kept
            else "response interrupted by user.",
        )
        self._finish(TurnInterrupted(self.host.id, self.id, partial_output=kept))

    def _end_error(
        self, kind: str, message: str, *, notice: bool = True, status: int | None = None
    ) -> None:
        if notice:
            self.host.append_transcript("system", f"inference error: {message}")
        self._finish(TurnFailed(self.host.id, self.id, kind, message, status))

    def _finish(
        self,
        event: TurnCompleted | TurnInterrupted | TurnFailed,
        *,
        stop_reason: StopReason | None = None,
    ) -> None:
        """Emit the one terminal event and hand the outcome to the host (exactly once)."""
        if self.phase is TurnPhase.ENDED:
            return
        self.phase = TurnPhase.ENDED
        status: TurnStatus
        if isinstance(event, TurnCompleted):
            status = "completed"
        elif isinstance(event, TurnInterrupted):
            status = "interrupted"
        else:
            status = "error"
        self.host.emit(event)
        outcome = TurnOutcome(status, commit=status != "error", stop_reason=stop_reason)
        self.host.turn_finished(self, outcome)
        if not self.outcome.done():
            self.outcome.set_result(outcome)
