"""A turn: the agent loop for one prompt.

model round → tool round → model round … until the model answers without tool calls. Steer
messages are injected at the top of every model request. An interrupt cancels the turn's task,
whatever it awaits (the provider's stream, a retry sleep, a tool's process group, an approval),
and the turn ends as ``interrupted`` with its partial output kept. Every turn ends with exactly
one of ``session.completed``, ``session.interrupted``, ``session.error``, then ``ready``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any

import attrs

from agentd.core.images import ImageError, load_image
from agentd.core.policy import check_policy
from agentd.core.recorder import title_for
from agentd.providers.base import (
    ChatMessage,
    Done,
    ModelRequest,
    ProviderError,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    Usage,
)
from agentd.store import StoreError
from agentd.store.records import TurnStatus
from agentd.tools.base import ToolContext, ToolResult

if TYPE_CHECKING:
    from agentd.core.session import Session

log = logging.getLogger("agentd.core")

EMPTY_ANSWER = "(No response text returned)"
#: Bound on waiting for a turn's last history records before announcing its end.
RECORD_TIMEOUT_S = 10.0
_BOLD_TITLE = re.compile(r"^\s*\*\*(.+?)\*\*")


@attrs.frozen
class TurnOutcome:
    """How a turn ended; ``commit`` says whether its messages join the model context."""

    status: str  # completed | interrupted | error
    commit: bool


def thought_title(reasoning: str) -> str:
    """The reference's ``thinking: <title>`` label: a leading ``**bold**``, else the first line."""
    match = _BOLD_TITLE.match(reasoning)
    title = match.group(1) if match else reasoning.strip().split("\n", 1)[0]
    return title.strip().lower() or "reasoning"


def tool_message_text(result: ToolResult) -> str:
    """What the model reads back for a tool call."""
    if result.ok:
        return (
            result.output
            if isinstance(result.output, str)
            else json.dumps(result.output, sort_keys=True)
        )
    return json.dumps({"error": result.error, "output": result.output}, sort_keys=True)


class Turn:
    """One prompt's run; owned by its ``Session``, which it reports to."""

    def __init__(
        self, session: Session, turn_id: str, prompt: str, images: list[dict[str, Any]]
    ) -> None:
        self.session = session
        self.id = turn_id
        self.prompt = prompt
        self.raw_images = images
        self.images: list[dict[str, Any]] = []
        self.interrupting = False
        #: Messages this turn adds to the model context (kept unless the turn fails).
        self.messages: list[ChatMessage] = []
        self._task: asyncio.Task[None] | None = None
        #: Resolves once the prompt is on disk (``session.send`` answers after it).
        self.saved: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._finished = False
        self._round_text: list[str] = []
        self._answered = False
        self._user_shown = False

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Pre-flight checks run now (their failure is reported before the send response)."""
        session = self.session
        try:
            self.images = [load_image(row, session.cwd) for row in self.raw_images]
        except ImageError as exc:
            self._fail_preflight(f"inference error: {exc}", str(exc))
            return
        if session.runtime.providers.get(session.provider) is None:
            message = f"provider {session.provider} is not available"
            self._fail_preflight(message, message)
            return
        if session.record is not None:
            self.saved = session.record.begin_turn(
                turn_id=self.id,
                prompt=self.prompt,
                images=self.images,
                title=session.title or title_for(self.prompt),
                provider=session.provider,
                model=session.model,
                cwd=str(session.cwd),
            )
        else:
            self.saved.set_result(None)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"turn-{self.id}")
        self._task.add_done_callback(self._on_task_done)

    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def _fail_preflight(self, notice: str, message: str) -> None:
        self.session.append_ui("system", notice)
        self.saved.set_result(None)
        self._finish("error", message=message, kind="invalid_request")

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        # A task cancelled before its first step never enters ``_run``: end it here. Its prompt
        # and end are still written (submitted in order; the shutdown flush waits for them).
        if not self._finished:
            self._record_end("interrupted")
            self._end_interrupted()

    def _record(self, message: ChatMessage) -> None:
        self.messages.append(message)
        if self.session.record is not None:
            self.session.record.append(message, self.id)

    def _record_end(
        self, status: TurnStatus, kind: str | None = None, message: str | None = None
    ) -> asyncio.Future[None] | None:
        record = self.session.record
        return None if record is None else record.end_turn(self.id, status, kind, message)

    async def _end(
        self, status: TurnStatus, kind: str | None = None, message: str | None = None
    ) -> None:
        """Write the turn's end and wait (bounded) until it is on disk."""
        written = self._record_end(status, kind, message)
        if written is not None:
            try:
                await asyncio.wait_for(asyncio.shield(written), RECORD_TIMEOUT_S)
            except Exception:  # reported by the record's own error handling
                log.warning("turn %s: its end may not be on disk", self.id)

    # -- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        session = self.session
        try:
            try:
                await asyncio.shield(self.saved)
            except StoreError as exc:
                self._show_prompt()
                message = f"history write failed: {exc.message}"
                await self._end("error", "storage", message)  # best effort: the disk may be full
                self._end_error("storage", message, notice=False)
                return
            await asyncio.sleep(0)  # let the ``session.send`` response go out first
            self._show_prompt()
            round_index = 0
            while True:
                round_index += 1
                self._inject_steers()
                text, calls = await self._model_round(round_index)
                if calls:
                    self._record(ChatMessage("assistant", text, tool_calls=tuple(calls)))
                    if text:
                        session.append_ui("assistant", text)
                    await self._tool_round(round_index, calls)
                    continue
                answer = text or EMPTY_ANSWER
                self._record(ChatMessage("assistant", answer))
                session.append_ui("assistant", answer)
                session.emit_estimate(self.messages)
                await self._end("completed")
                self._finish("completed", answer_length=len(answer))
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
            self._end_error(exc.kind, exc.message)
        except Exception:
            log.exception("turn %s failed", self.id)
            await self._end("error", "upstream", "internal error")
            self._end_error("upstream", "internal error")

    def _show_prompt(self, *, announce: bool = True) -> None:
        """The prompt joins the transcript (it is already on disk, written by ``start``).

        ``announce`` adds the ``thinking...`` status; an interrupted turn that never reached
        the model shows its prompt without it.
        """
        session = self.session
        if self._user_shown:
            return
        self._user_shown = True
        if announce:
            session.set_status("thinking...", self.id)
        session.append_ui("user", self.prompt, self.images or None)
        session.emit_estimate()
        self.messages.append(ChatMessage("user", self.prompt))

    def _inject_steers(self) -> None:
        steers = self.session.take_steers()
        if not steers:
            return
        for text in steers:
            self._record(ChatMessage("user", text))
            self.session.append_ui("user", text)
        self.session.set_status("steer applied; continuing...")

    async def _model_round(self, round_index: int) -> tuple[str, list[ToolCall]]:
        session = self.session
        provider = session.runtime.providers[session.provider]
        request = ModelRequest(
            model=session.model,
            system_prompt=session.system_prompt,
            messages=(*session.history, *self.messages),
            tools=session.runtime.declared_tools(),
            round_index=round_index,
            turn_id=self.id,
        )
        self._round_text = []
        reasoning: list[str] = []
        calls: list[ToolCall] = []
        async for event in provider.stream(request):
            if isinstance(event, TextDelta):
                if not event.text:
                    continue
                if session.status_label != "drafting response...":
                    session.set_status("drafting response...")
                self._round_text.append(event.text)
                self._answered = True
                session.emit(
                    "session.stream.chunk",
                    {
                        "turn_id": self.id,
                        "chunk": {
                            "thoughts": [],
                            "answerText": event.text,
                            "segments": [{"kind": "answer", "text": event.text}],
                        },
                    },
                )
            elif isinstance(event, ReasoningDelta):
                reasoning.append(event.text)
                so_far = "".join(reasoning).strip()
                label = f"thinking: {thought_title(so_far)}"
                if session.status_label != label:
                    session.set_status(label)
                session.emit(
                    "session.stream.chunk",
                    {
                        "turn_id": self.id,
                        "chunk": {
                            "thoughts": [so_far],
                            "answerText": "",
                            "segments": [{"kind": "thought", "text": event.text}],
                        },
                    },
                )
            elif isinstance(event, ToolCallRequested):
                calls.append(event.call)
            elif isinstance(event, Usage):
                session.emit(
                    "session.usage",
                    {
                        "turn_id": self.id,
                        "input_tokens": event.input_tokens,
                        "cached_input_tokens": event.cached_input_tokens,
                        "output_tokens": event.output_tokens,
                        "reasoning_tokens": event.reasoning_tokens,
                    },
                )
            elif isinstance(event, Done):
                break
        text = "".join(self._round_text).strip()
        self._round_text = []
        return text, calls

    async def _tool_round(self, round_index: int, calls: list[ToolCall]) -> None:
        executed: list[dict[str, Any]] = []
        for position, call in enumerate(calls):
            try:
                result = await self._run_tool(round_index, call)
            except asyncio.CancelledError:
                aborted = ToolResult(
                    ok=False,
                    output={
                        "callId": call.call_id,
                        "tool": call.name,
                        "status": "error",
                        "aborted": True,
                        "exit_code": None,
                    },
                    error="process aborted (no exit code)",
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
        self.session.emit_estimate(self.messages)

    async def _run_tool(self, round_index: int, call: ToolCall) -> ToolResult:
        session = self.session
        session.emit(
            "session.tool.call.started",
            {
                "turn_id": self.id,
                "data": {
                    "toolRound": round_index,
                    "call": {
                        "name": call.name,
                        "input": dict(call.arguments),
                        "providerToolName": call.name,
                        "callId": call.call_id,
                    },
                },
            },
        )
        refusal = await check_policy(session, self.id, call)
        if refusal is not None:
            return refusal
        context = ToolContext(workspace_root=session.cwd, call_id=call.call_id)
        return await session.runtime.tools.run(call.name, dict(call.arguments), context)

    def _report_tool(self, round_index: int, call: ToolCall, result: ToolResult) -> dict[str, Any]:
        executed: dict[str, Any] = {
            "name": call.name,
            "ok": result.ok,
            "input": dict(call.arguments),
            "result": result.output,
        }
        if result.error is not None:
            executed["error"] = result.error
        self._record(ChatMessage("tool", tool_message_text(result), tool_call_id=call.call_id))
        self.session.emit(
            "session.tool.call.completed",
            {"turn_id": self.id, "data": {"toolRound": round_index, "executed": executed}},
        )
        return executed

    def _emit_tool_results(self, round_index: int, executed: list[dict[str, Any]]) -> None:
        self.session.emit(
            "session.tool.results",
            {"turn_id": self.id, "data": {"toolRound": round_index, "executed": executed}},
        )

    # -- endings ---------------------------------------------------------------------------

    def _keep_partial(self) -> None:
        """An interrupted round's streamed text becomes an assistant message."""
        partial = "".join(self._round_text).strip()
        self._round_text = []
        if partial:
            self._record(ChatMessage("assistant", partial))
            self.session.append_ui("assistant", partial)
            self.session.emit_estimate(self.messages)

    def _end_interrupted(self) -> None:
        session = self.session
        self._show_prompt(announce=False)  # interrupted before the model: the prompt stays
        kept = self._answered
        session.append_ui(
            "system",
            "response interrupted by user. partial output kept."
            if kept
            else "response interrupted by user.",
        )
        self._finish("interrupted", partial_output=kept)

    def _end_error(self, kind: str, message: str, *, notice: bool = True) -> None:
        if notice:
            self.session.append_ui("system", f"inference error: {message}")
        self._finish("error", message=message, kind=kind)

    def _finish(self, status: str, **fields: Any) -> None:
        if self._finished:
            return
        self._finished = True
        session = self.session
        if status == "completed":
            session.emit(
                "session.completed", {"turn_id": self.id, "answer_length": fields["answer_length"]}
            )
        elif status == "interrupted":
            session.emit(
                "session.interrupted",
                {"turn_id": self.id, "partial_output": fields["partial_output"]},
            )
        else:
            session.emit(
                "session.error",
                {"turn_id": self.id, "message": fields["message"], "kind": fields["kind"]},
            )
        session.finish_turn(self, TurnOutcome(status, commit=status != "error"))
