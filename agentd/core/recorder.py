"""Writing sessions to the history journal without blocking the event loop.

All store work runs on ONE dedicated thread, so records are written in the order they were
submitted and the SQLite index is only touched from that thread. Submission is synchronous (it
happens where the state change happens, before any ``await``), so even a turn interrupted before
its task ever ran has its prompt and its end written, in order. Waiting is separate: ``send``
answers once the prompt is on disk, and a turn announces its end once the end is on disk.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from agentd.providers.base import (
    ChatMessage,
    ContentPart,
    ImagePart,
    ProviderData,
    TextPart,
    ToolCall,
)
from agentd.store import (
    Compaction,
    HistoryStore,
    Journal,
    Message,
    MetaUpdate,
    PartialText,
    QueuedPrompt,
    StoreError,
    TurnEnd,
    TurnStart,
    UnexpectedStoreError,
    now_iso,
)
from agentd.store import ToolCall as StoredToolCall
from agentd.store.journal import FsyncPolicy
from agentd.store.records import TurnStatus

log = logging.getLogger("agentd.core")

T = TypeVar("T")
TITLE_LIMIT = 80
#: Bound on any wait for the store thread from a request (a hung disk must not hang the client).
STORE_TIMEOUT_S = 30.0
WARM_UP_TIMEOUT_S = 600.0


class HistoryTimeoutError(StoreError):
    """The store thread did not finish a job in time (a slow or hung disk)."""

    reason: ClassVar[str] = "store_timeout"

    def __init__(self, timeout: float) -> None:
        super().__init__(f"the history store did not answer within {timeout:g} s")


def title_for(prompt: str) -> str:
    """The reference's rule: whitespace collapsed, at most 80 characters (77 + ``...``)."""
    text = " ".join(prompt.split())
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 3] + "..."


def to_stored(
    message: ChatMessage, turn_id: str | None, images: Sequence[dict[str, Any]] = ()
) -> Message:
    """The history record of a model-facing message: raw tool arguments and provider data
    are kept exactly, so a resumed conversation sends the model what it produced."""
    if not images and message.images:  # e.g. an MCP tool's screenshot: kept for a resume
        images = [
            {"path": part.label, "mimeType": part.mime_type, "dataUrl": part.data_url}
            for part in message.images
        ]
    return Message(
        role=message.role,
        text=message.text,
        images=tuple(images),
        tool_calls=tuple(
            StoredToolCall(
                c.call_id,
                c.name,
                c.arguments_text,
                c.provider_data.to_json() if c.provider_data is not None else None,
            )
            for c in message.tool_calls
        ),
        tool_call_id=message.tool_call_id,
        turn_id=turn_id,
        provider_data=message.provider_data.to_json() if message.provider_data else None,
    )


UNFINISHED_TOOL_RESULT = "tool call did not finish: agentd stopped before it returned"


def answer_every_tool_call(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """Give every assistant tool call a result (a crash mid-tool leaves calls unanswered, and
    model APIs reject a conversation with a dangling call)."""
    out: list[ChatMessage] = []
    open_calls: list[str] = []
    for message in messages:
        if message.role == "tool" and message.tool_call_id in open_calls:
            open_calls.remove(message.tool_call_id)
        elif open_calls:
            out.extend(
                ChatMessage("tool", UNFINISHED_TOOL_RESULT, tool_call_id=c) for c in open_calls
            )
            open_calls = []
        out.append(message)
        if message.role == "assistant":
            open_calls = [c.call_id for c in message.tool_calls]
    out.extend(ChatMessage("tool", UNFINISHED_TOOL_RESULT, tool_call_id=c) for c in open_calls)
    return out


def from_stored(message: Message) -> ChatMessage:
    """A stored message back as model context: images become image parts again."""
    calls = []
    for call in message.tool_calls:
        try:
            arguments = json.loads(call.arguments) if call.arguments else {}
        except ValueError:
            arguments = {}
        calls.append(
            ToolCall(
                call.id,
                call.name,
                arguments if isinstance(arguments, dict) else {},
                raw_arguments=call.arguments,
                provider_data=ProviderData.from_json(call.provider_data),
            )
        )
    content: list[ContentPart] = [TextPart(message.text)] if message.text else []
    for image in message.images:
        mime, data_url = image.get("mimeType"), image.get("dataUrl")
        if isinstance(mime, str) and isinstance(data_url, str):
            content.append(ImagePart(mime, data_url, str(image.get("path") or "")))
    return ChatMessage(
        message.role,
        tuple(content),
        tool_calls=tuple(calls),
        tool_call_id=message.tool_call_id,
        provider_data=ProviderData.from_json(message.provider_data),
    )


def _as_store_job(fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    try:
        return fn(*args)
    except StoreError:
        raise
    except Exception as exc:  # a failing disk is an operational error: its traceback is debug
        log.error("history store job failed: %s: %s", type(exc).__name__, exc)
        log.debug("history store job failed", exc_info=True)
        raise UnexpectedStoreError(exc) from exc


class HistoryWriter:
    """The daemon's one history store and the thread that owns it."""

    def __init__(self, home: Path, fsync: FsyncPolicy = "turn") -> None:
        self.home = home
        self.fsync = fsync
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="agentd-store")
        self._store: HistoryStore | None = None

    def store(self) -> HistoryStore:
        """The store; only call from the store thread (``run``/``submit``)."""
        if self._store is None:
            self._store = HistoryStore(self.home, fsync=self.fsync)
        return self._store

    def submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``fn(*args)`` on the store thread now; the future is never cancelled by waiters.

        Whatever ``fn`` raises reaches the waiter as a ``StoreError``: an unexpected exception
        (a bug, a ``UnicodeEncodeError``) is a storage failure, never a model or "upstream" one.
        """
        return asyncio.get_running_loop().run_in_executor(self._executor, _as_store_job, fn, args)

    async def run(
        self,
        fn: Callable[[], T],
        *,
        timeout: float = STORE_TIMEOUT_S,
        abandoned: Callable[[T], None] | None = None,
    ) -> T:
        """Run ``fn`` on the store thread and wait at most ``timeout`` (``HistoryTimeoutError``).

        A job cannot be taken back from the thread once queued: when the waiter gives up (timeout
        or cancellation), ``abandoned`` receives the result if the job still succeeds later, so
        it can release what nobody will use (an opened, locked journal).
        """
        job = self.submit(fn)
        try:
            return await asyncio.wait_for(asyncio.shield(job), timeout)
        except TimeoutError:
            self._on_abandoned(job, abandoned)
            raise HistoryTimeoutError(timeout) from None
        except asyncio.CancelledError:
            self._on_abandoned(job, abandoned)
            raise

    @staticmethod
    def _on_abandoned(job: asyncio.Future[T], abandoned: Callable[[T], None] | None) -> None:
        def release(done: asyncio.Future[T]) -> None:
            if abandoned is not None and not done.cancelled() and done.exception() is None:
                abandoned(done.result())
            elif not done.cancelled() and done.exception() is not None:
                log.warning("abandoned history job failed: %s", done.exception())

        job.add_done_callback(release)

    async def warm_up(self) -> None:
        """Open the store and reconcile its index in the background (the first list is fast)."""
        try:
            # a cold rebuild of a large history takes a while; nobody waits on this one
            await self.run(lambda: self.store().refresh(), timeout=WARM_UP_TIMEOUT_S)
        except Exception as exc:  # reported, not raised: listing retries on its own later
            log.warning("history index warm-up failed: %s", exc)

    async def close(self, timeout: float) -> None:
        def close_store() -> None:
            if self._store is not None:
                self._store.close()

        try:
            await self.run(close_store, timeout=timeout)
        except Exception:
            log.exception("closing the history store failed")
        self._executor.shutdown(wait=False)


class SessionRecord:
    """One session's history record: created at its first turn, or opened to resume."""

    def __init__(
        self,
        writer: HistoryWriter,
        on_error: Callable[[BaseException], None],
        journal: Journal | None = None,
    ) -> None:
        self.writer = writer
        self.journal = journal
        self._on_error = on_error
        self._failing = False
        self._pending: set[asyncio.Future[Any]] = set()

    @property
    def record_id(self) -> str | None:
        journal = self.journal  # set on the store thread: read it once
        return journal.id if journal is not None else None

    def _submit(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        future = self.writer.submit(fn, *args)
        self._pending.add(future)
        future.add_done_callback(self._settled)
        return future

    def _settled(self, future: asyncio.Future[Any]) -> None:
        """Every write failure is logged; the session is told once per run of failures."""
        self._pending.discard(future)
        error = None if future.cancelled() else future.exception()
        if error is None:
            self._failing = False
            return
        log.error("history write failed: %s", error)
        if not self._failing:
            self._failing = True
            self._on_error(error)

    def begin_turn(
        self,
        *,
        turn_id: str,
        prompt: str,
        images: Sequence[dict[str, Any]],
        title: str,
        provider: str,
        model: str,
        cwd: str,
    ) -> asyncio.Future[str | None]:
        """Write turn start and the prompt (fsync'd); resolves to the record id."""

        def begin() -> str | None:
            journal = self.journal
            if journal is None or journal.closed:
                journal = self.writer.store().create_record(
                    provider=provider, model=model, thinking_level="", title=title, cwd=cwd
                )
                self.journal = journal
            else:
                meta = journal.meta
                if (meta.title, meta.provider, meta.model) != (title, provider, model):
                    journal.append(
                        MetaUpdate(
                            updated_at=now_iso(), title=title, provider=provider, model=model
                        )
                    )
            journal.append(TurnStart(turn_id=turn_id, at=now_iso()))
            journal.append(to_stored(ChatMessage("user", prompt), turn_id, images), sync=True)
            return journal.id

        return self._submit(begin)

    def queue(
        self, prompt_id: str, text: str, images: Sequence[Mapping[str, Any]], enqueued_at: str
    ) -> asyncio.Future[None]:
        """Write a prompt accepted while busy (fsync'd): a crash cannot lose it."""

        def write() -> None:
            if self.journal is not None:
                self.journal.append(QueuedPrompt(prompt_id, text, enqueued_at, tuple(images)))

        return self._submit(write)

    def partial(self, turn_id: str, text: str) -> asyncio.Future[None]:
        """Journal a batch of streamed text (not fsync'd): a crash mid-answer keeps it."""

        def write() -> None:
            if self.journal is not None:
                self.journal.append(PartialText(turn_id, text))

        return self._submit(write)

    def drop_queued(self, prompts: Sequence[tuple[str, str]]) -> asyncio.Future[None]:
        """Mark queued prompts ``(id, enqueued_at)`` as removed by the client."""

        def write() -> None:
            if self.journal is not None:
                for prompt_id, enqueued_at in prompts:
                    self.journal.append(QueuedPrompt(prompt_id, "", enqueued_at, dropped=True))

        return self._submit(write)

    def append(self, message: ChatMessage, turn_id: str) -> asyncio.Future[None]:
        def write() -> None:
            if self.journal is not None:
                self.journal.append(to_stored(message, turn_id))

        return self._submit(write)

    def compaction(self, summary: str, reason: str, turn_id: str | None) -> asyncio.Future[None]:
        """Record that the context now starts from ``summary`` (fsync'd: a resume must not
        replay what was summarised)."""

        def write() -> None:
            if self.journal is not None:
                record = Compaction(summary=summary, reason=reason, at=now_iso(), turn_id=turn_id)
                self.journal.append(record, sync=True)

        return self._submit(write)

    def end_turn(
        self,
        turn_id: str,
        status: TurnStatus,
        kind: str | None = None,
        message: str | None = None,
    ) -> asyncio.Future[None]:
        def write() -> None:
            if self.journal is not None:
                self.journal.append(
                    TurnEnd(
                        turn_id=turn_id,
                        at=now_iso(),
                        status=status,
                        error_kind=kind,
                        message=message,
                    ),
                    sync=True,
                )

        return self._submit(write)

    def detach(self) -> asyncio.Future[None]:
        """Stop writing to the current record (``history.clear_session``): the file stays."""

        def close() -> None:  # on the store thread, after every write submitted before it
            journal, self.journal = self.journal, None
            if journal is not None:
                journal.close()

        return self._submit(close)

    async def flush(self, timeout: float) -> None:
        """Wait (bounded) for everything submitted so far."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout)
