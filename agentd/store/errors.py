"""Store exceptions.

Each carries a machine-readable ``reason`` so the API layer can map it to the PROTOCOL §2 error
code without matching message text; the messages themselves are the reference's exact strings
where the reference has one, because text-matching clients depend on them.
"""

from __future__ import annotations

from typing import ClassVar


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""

    reason: ClassVar[str] = "store_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class HistoryNotFoundError(StoreError):
    """No record matches, or the record cannot be read (``-32003``)."""

    reason: ClassVar[str] = "history_not_found"


class HistoryAmbiguousError(HistoryNotFoundError):
    """An id prefix matches more than one saved chat (give more characters)."""

    reason: ClassVar[str] = "history_ambiguous"


class HistoryUnreadableError(HistoryNotFoundError):
    """A record file for that id exists but holds no readable ``session_meta``."""

    reason: ClassVar[str] = "history_unreadable"


class PathOutsideHistoryError(StoreError):
    """A ``rollout_path`` resolved outside ``home/sessions`` (symlinks and ``..`` resolved)."""

    reason: ClassVar[str] = "path_outside_history"

    def __init__(self, path: str) -> None:
        super().__init__(f"rollout_path must be inside the history directory: {path}")
        self.path = path


class RecordLockedError(StoreError):
    """Another process holds the record's writer lock; appending would interleave lines."""

    reason: ClassVar[str] = "record_locked"

    def __init__(self, record_id: str) -> None:
        super().__init__(f"history record {record_id} is in use by another agentd process")
        self.record_id = record_id


class UnexpectedStoreError(StoreError):
    """A store job raised something no store code raises on purpose (a bug, or an OS surprise).

    It is still a storage failure: callers report it as one, never as a model error.
    """

    reason: ClassVar[str] = "store_failed"

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"history store failed: {type(error).__name__}")
        self.error = error


class StoreWriteError(StoreError):
    """An append or fsync failed (disk full, file too large, I/O error).

    ``errno`` is the OS error number; the record file was cut back to its last whole line.
    """

    reason: ClassVar[str] = "store_write_failed"

    def __init__(self, message: str, errno: int | None) -> None:
        super().__init__(message)
        self.errno = errno
