"""Reading a record file: tolerant like the reference's reader, but never silent.

Lines are split on ``\\n`` bytes only (text may hold U+2028, which ``str.splitlines`` would
split on). A final line without its newline, or an unparsable final line, is a torn write: it is
ignored and its offset reported so the journal can cut it off. Any other bad line is skipped and
reported as a ``Problem`` and logged to ``agentd.store``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import attrs

from agentd.store.errors import HistoryNotFoundError
from agentd.store.records import (
    Message,
    QueuedPrompt,
    RecordFormatError,
    SessionMeta,
    record_from_dict,
)
from agentd.store.state import RecordState, Summary, TurnInfo

logger = logging.getLogger("agentd.store")

ProblemKind = Literal["unparsable", "invalid_record", "torn_tail"]
_decode = json.JSONDecoder().decode  # skips json.loads's per-call encoding detection


@attrs.frozen
class Problem:
    """A line that was skipped: 1-based ``line``, byte ``offset`` of its start, and why."""

    line: int
    offset: int
    kind: ProblemKind
    detail: str


@attrs.frozen
class ParseResult:
    """The fold of a file's bytes plus where its last whole, valid line ends."""

    state: RecordState
    problems: tuple[Problem, ...]
    valid_size: int
    size: int


@attrs.frozen(eq=False)
class RecordView:
    """Everything a record file says. ``message_turn_ids[i]`` is the turn of ``messages[i]``."""

    path: Path
    meta: SessionMeta
    messages: tuple[Message, ...]
    message_turn_ids: tuple[str | None, ...]
    turns: tuple[TurnInfo, ...]
    problems: tuple[Problem, ...]
    size: int
    #: Prompts that were queued but whose turn never started (a crash or shutdown came first).
    unstarted_prompts: tuple[QueuedPrompt, ...] = ()
    #: The last compaction: its summary and how many messages (from the start) it replaced.
    compacted: tuple[str, int] | None = None

    @property
    def failed_turn_ids(self) -> frozenset[str]:
        return frozenset(t.turn_id for t in self.turns if t.status == "error")

    def in_failed_turn(self, position: int) -> bool:
        """True when ``messages[position]`` belongs to a turn that ended in error."""
        turn_id = self.message_turn_ids[position]
        return turn_id is not None and turn_id in self.failed_turn_ids

    def context_messages(self) -> list[Message]:
        """The messages a resumed session sends to the model: failed turns left out (§5), and
        after a compaction its summary (as an assistant message) then what came after it."""
        failed = self.failed_turn_ids
        start = 0
        head: list[Message] = []
        if self.compacted is not None:
            summary, start = self.compacted
            head = [Message(role="assistant", text=summary)]
        pairs = zip(self.messages[start:], self.message_turn_ids[start:], strict=True)
        return head + [m for m, turn in pairs if turn is None or turn not in failed]

    def summary(self) -> Summary:
        return Summary(
            id=self.meta.id,
            title=self.meta.title,
            provider=self.meta.provider,
            model=self.meta.model,
            thinking_level=self.meta.thinking_level,
            created_at=self.meta.created_at,
            updated_at=self.meta.updated_at,
            message_count=self.meta.message_count,
            rollout_path=str(self.path),
            open_router_provider=self.meta.open_router_provider,
        )


def parse_bytes(data: bytes, *, keep_messages: bool = True) -> ParseResult:
    """Fold a record file's bytes; never raises on content."""
    state = RecordState(keep_messages=keep_messages)
    problems: list[Problem] = []
    lines = data.split(b"\n")
    complete = len(lines) - 1  # the piece after the last newline is not a whole line
    offset = 0
    valid_size = 0
    for number, raw in enumerate(lines[:complete], start=1):
        end = offset + len(raw) + 1
        stripped = raw.strip()
        if stripped:
            try:
                parsed = _decode(stripped.decode("utf-8"))
            except (ValueError, RecursionError) as exc:
                is_last = number == complete and not lines[complete].strip()
                kind: ProblemKind = "torn_tail" if is_last else "unparsable"
                problems.append(Problem(number, offset, kind, _short(exc)))
                if is_last:
                    break
                valid_size = end
                offset = end
                continue
            try:
                state.apply(record_from_dict(parsed))
            except RecordFormatError as exc:
                problems.append(Problem(number, offset, "invalid_record", str(exc)))
        valid_size = end
        offset = end
    tail = lines[complete]
    if tail.strip():
        problems.append(Problem(complete + 1, offset, "torn_tail", "last line has no newline"))
    return ParseResult(state, tuple(problems), valid_size, len(data))


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


def log_problems(path: Path, problems: Sequence[Problem]) -> None:
    """Report skipped lines on ``agentd.store``, once per read."""
    for problem in problems:
        logger.warning(
            "history record %s: line %d (byte %d) skipped: %s (%s)",
            path,
            problem.line,
            problem.offset,
            problem.kind,
            problem.detail,
        )


def view_from(path: Path, result: ParseResult) -> RecordView | None:
    """The ``RecordView`` of a parse, or ``None`` when the file has no valid ``session_meta``."""
    meta = result.state.effective_meta()
    if meta is None:
        return None
    state = result.state
    messages, turn_ids = list(state.messages), list(state.message_turn_ids)
    for message, turn_id in state.unfinished_answers():  # a crash mid-stream
        # after the last message of its turn (its prompt), where the answer would have been
        at = max((i + 1 for i, t in enumerate(turn_ids) if t == turn_id), default=len(turn_ids))
        messages.insert(at, message)
        turn_ids.insert(at, turn_id)
    return RecordView(
        path=path,
        meta=meta,
        messages=tuple(messages),
        message_turn_ids=tuple(turn_ids),
        turns=tuple(state.turns.values()),
        problems=result.problems,
        size=result.size,
        unstarted_prompts=tuple(state.queued.values()),
        compacted=state.compacted,
    )


def read_bytes(path: Path) -> bytes:
    """The whole file; ``OSError`` as raised by the OS."""
    with open(path, "rb") as handle:
        return handle.read()


def read_record(path: Path | str) -> RecordView:
    """Read and fold one record file.

    Raises ``HistoryNotFoundError("failed to load chat: <path>")`` when the file cannot be read
    or has no valid ``session_meta`` (the reference ignores such files).
    """
    file_path = Path(path)
    try:
        data = read_bytes(file_path)
    except OSError as exc:
        raise HistoryNotFoundError(f"failed to load chat: {path}") from exc
    result = parse_bytes(data)
    view = view_from(file_path, result)
    if view is None:
        raise HistoryNotFoundError(f"failed to load chat: {path}")
    log_problems(file_path, result.problems)
    return view
