"""The append-only journal of one record file.

Why it is built this way:
* every record is one ``os.write`` of a whole line on an ``O_APPEND`` fd, so a crash leaves at
  worst one torn last line, which ``open`` ignores and the next append cuts off;
* an exclusive ``flock`` held while the journal is open keeps a second agentd process from
  interleaving lines (it gets ``RecordLockedError``);
* a failed write is cut back to the previous size, so the file stays valid (``StoreWriteError``);
* fsync policy: ``always`` syncs every record, ``never`` none, ``turn`` the records the caller
  marks ``sync=True`` (by default the sync points: user prompts and turn ends, see
  ``is_sync_point``), so an accepted prompt is durable before the model is called;
* the index is told at sync points, meta updates and close, not per record: an upsert costs
  about three appends (bench/history.py), and a lagging row is repaired by ``refresh`` anyway.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
from datetime import UTC
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol

import attrs

from agentd.store.errors import HistoryNotFoundError, RecordLockedError, StoreWriteError
from agentd.store.paths import FILE_MODE, ensure_private_dir, fsync_dir, record_path
from agentd.store.reader import RecordView, log_problems, parse_bytes, view_from
from agentd.store.records import (
    Message,
    MetaUpdate,
    QueuedPrompt,
    Record,
    SessionMeta,
    TurnEnd,
    encode_line,
    redact_record,
)
from agentd.store.state import RecordState, Summary
from agentd.store.timefmt import parse_iso

logger = logging.getLogger("agentd.store")

FsyncPolicy = Literal["always", "turn", "never"]
FSYNC_POLICIES: tuple[FsyncPolicy, ...] = ("always", "turn", "never")


class IndexSink(Protocol):
    """What the journal tells the index after each append (``HistoryIndex`` implements it)."""

    def upsert(self, summary: Summary, size: int, mtime_ns: int) -> None: ...


def is_sync_point(record: Record) -> bool:
    """Records the ``turn`` policy makes durable at once: the meta, prompts, turn ends."""
    if isinstance(record, Message):
        return record.role == "user"
    return isinstance(record, SessionMeta | TurnEnd | QueuedPrompt)


def _check_policy(fsync: str) -> None:
    if fsync not in FSYNC_POLICIES:
        raise ValueError(f"fsync policy must be one of {', '.join(FSYNC_POLICIES)}")


def _lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    position = 0
    while chunk := os.pread(fd, 1 << 20, position):
        chunks.append(chunk)
        position += len(chunk)
    return b"".join(chunks)


def _id_of_locked(fd: int, path: Path) -> str:
    """The record id for the lock error: the meta line's id, else the file name's tail."""
    result = parse_bytes(os.pread(fd, 64 * 1024, 0), keep_messages=False)
    meta = result.state.meta
    return meta.id if meta else _id_from_name(path)


def _id_from_name(path: Path) -> str:
    parts = path.stem.split("-", 3)  # rollout, YYYYMMDD, HHMMSSmmm, <id>
    return parts[3] if len(parts) == 4 else path.stem


class Journal:
    """An open record file that accepts appends. Create with ``create`` or ``open``.

    One owner at a time (not thread-safe); ``close`` releases the lock.
    """

    def __init__(
        self,
        path: Path,
        fd: int,
        state: RecordState,
        view: RecordView,
        *,
        size: int,
        valid_size: int,
        fsync: FsyncPolicy,
        index: IndexSink | None,
    ) -> None:
        self.path = path
        self.view = view
        self.fsync_policy: FsyncPolicy = fsync
        self._fd: int | None = fd
        self._state = state
        self._size = size
        self._truncate_to: int | None = valid_size if valid_size < size else None
        self._index = index
        self._index_stale = False

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        home: Path,
        meta: SessionMeta,
        *,
        fsync: FsyncPolicy = "turn",
        index: IndexSink | None = None,
    ) -> Journal:
        """Create a new record file for ``meta`` (its file name comes from ``created_at``)."""
        _check_policy(fsync)
        created = parse_iso(meta.created_at)
        if created is None:
            raise ValueError(f"invalid createdAt: {meta.created_at!r}")
        path = record_path(home, meta.id, created.astimezone(UTC))
        new_dirs = ensure_private_dir(path.parent)
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, FILE_MODE)
        except OSError as exc:
            message = f"cannot create history record {meta.id}: {exc.strerror or exc}"
            raise StoreWriteError(message, exc.errno) from exc
        try:
            os.fchmod(fd, FILE_MODE)  # the umask may have narrowed it; never widened
            _lock(fd)
            state = RecordState(keep_messages=False)
            meta = attrs.evolve(meta, message_count=0, updated_at=meta.created_at)
            view = RecordView(path, meta, (), (), (), (), 0)
            journal = cls(path, fd, state, view, size=0, valid_size=0, fsync=fsync, index=index)
            journal._write_record(redact_record(meta), sync=fsync != "never")
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        if fsync != "never":
            for directory in [path.parent, *(d.parent for d in new_dirs)]:
                fsync_dir(directory)
        return journal

    @classmethod
    def open(
        cls,
        path: Path | str,
        *,
        fsync: FsyncPolicy = "turn",
        index: IndexSink | None = None,
    ) -> Journal:
        """Open an existing record to append to it (lock, parse, plan the torn-tail cut).

        ``journal.view`` holds what the file said, including ``problems``.
        """
        _check_policy(fsync)
        file_path = Path(path)
        try:
            fd = os.open(file_path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        except OSError as exc:
            raise HistoryNotFoundError(f"failed to load chat: {path}") from exc
        try:
            if not _lock(fd):
                raise RecordLockedError(_id_of_locked(fd, file_path))
            result = parse_bytes(_read_all(fd))
            view = view_from(file_path, result)
            if view is None:
                raise HistoryNotFoundError(f"failed to load chat: {path}")
        except BaseException:
            os.close(fd)
            raise
        log_problems(file_path, result.problems)
        state = result.state
        state.keep_messages = False
        state.messages, state.message_turn_ids = [], []
        return cls(
            file_path,
            fd,
            state,
            view,
            size=result.size,
            valid_size=result.valid_size,
            fsync=fsync,
            index=index,
        )

    # -- appending ----------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.view.meta.id

    @property
    def meta(self) -> SessionMeta:
        """The current effective meta (updates applied, live message count)."""
        meta = self._state.effective_meta()
        assert meta is not None
        return meta

    @property
    def closed(self) -> bool:
        return self._fd is None

    def summary(self) -> Summary:
        summary = self._state.summary(self.path)
        assert summary is not None
        return summary

    def append(self, record: Record, *, sync: bool | None = None) -> Record:
        """Append one record and return it as written (message ``index`` set, text redacted).

        ``sync=None`` means ``is_sync_point(record)``; it only matters under the ``turn``
        policy. Raises ``StoreWriteError`` (file left valid) or ``ValueError`` for a second
        ``session_meta``.
        """
        if isinstance(record, SessionMeta):
            raise ValueError("session_meta is written once, by Journal.create")
        if isinstance(record, Message):
            record = attrs.evolve(record, index=self._state.next_index)
        record = redact_record(record)
        wanted = is_sync_point(record) if sync is None else sync
        self._write_record(
            record, sync=self.fsync_policy == "always" or (self.fsync_policy == "turn" and wanted)
        )
        return record

    def sync(self) -> None:
        """fsync now, whatever the policy (e.g. before shutdown), and update the index."""
        fd = self._require_fd()
        self._fsync(fd)
        self._tell_index(fd)

    def close(self) -> None:
        """Release the lock. Idempotent. Does not fsync (policy ``never`` means never)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                self._tell_index(fd)
            finally:
                os.close(fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _require_fd(self) -> int:
        if self._fd is None:
            raise ValueError(f"history record {self.path} is closed")
        return self._fd

    def _write_record(self, record: Record, *, sync: bool) -> None:
        fd = self._require_fd()
        line = encode_line(record)
        if self._truncate_to is not None:
            self._cut(fd, self._truncate_to)
        start = self._size
        try:
            written = os.write(fd, line)
            while written < len(line):  # short write: the disk filled or a size limit was hit
                more = os.write(fd, line[written:])
                if more == 0:
                    raise OSError(errno.EIO, os.strerror(errno.EIO))
                written += more
        except OSError as exc:
            self._truncate_to = start
            self._cut_quietly(fd, start)
            raise StoreWriteError(
                f"failed to append to history record {self.id}: {exc.strerror or exc}",
                exc.errno,
            ) from exc
        self._size = start + len(line)
        self._state.apply(record)
        if sync:
            self._fsync(fd)
        self._index_stale = True
        if sync or is_sync_point(record) or isinstance(record, MetaUpdate):
            self._tell_index(fd)

    def _cut(self, fd: int, size: int) -> None:
        """Cut a torn tail or a failed write back to the last whole line."""
        try:
            os.ftruncate(fd, size)
        except OSError as exc:
            raise StoreWriteError(
                f"cannot repair history record {self.id}: {exc.strerror or exc}", exc.errno
            ) from exc
        logger.info("history record %s: cut back to %d bytes", self.path, size)
        self._size = size
        self._truncate_to = None

    def _cut_quietly(self, fd: int, size: int) -> None:
        try:
            self._cut(fd, size)
        except StoreWriteError:
            logger.warning("history record %s: repair deferred to the next append", self.path)

    def _fsync(self, fd: int) -> None:
        try:
            os.fsync(fd)
        except OSError as exc:
            raise StoreWriteError(
                f"failed to sync history record {self.id}: {exc.strerror or exc}", exc.errno
            ) from exc

    def _tell_index(self, fd: int) -> None:
        if self._index is None or not self._index_stale:
            return
        st = os.fstat(fd)
        self._index.upsert(self.summary(), st.st_size, st.st_mtime_ns)
        self._index_stale = False
