"""A rebuildable SQLite index of the record files, for fast ``history.list``.

The files are the truth; this index only remembers each file's summary with the file's size and
mtime at the time it was read. ``refresh`` re-reads exactly the files whose size or mtime
changed, adds new ones and drops vanished ones, so deleting or corrupting ``index.sqlite3``
loses nothing. WAL and a busy timeout let two agentd processes share it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import attrs

from agentd.store.paths import (
    FILE_MODE,
    INDEX_NAME,
    ensure_private_dir,
    is_record_name,
    sessions_dir,
)
from agentd.store.reader import log_problems, parse_bytes, read_bytes
from agentd.store.state import Summary
from agentd.store.timefmt import sort_key
from agentd.text import safe_text

logger = logging.getLogger("agentd.store")

SCHEMA_VERSION = 1
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_COLUMNS = (
    "id, title, provider, model, thinking_level, created_at, updated_at, message_count, "
    "path, open_router_provider"
)
_ORDER = "ORDER BY updated_key DESC, id ASC, path ASC"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    path TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    id_lower TEXT NOT NULL,
    title TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    thinking_level TEXT NOT NULL,
    open_router_provider TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_key REAL NOT NULL,
    message_count INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_order ON records (updated_key DESC, id, path);
CREATE INDEX IF NOT EXISTS records_id ON records (id_lower);
CREATE TABLE IF NOT EXISTS ignored (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
) WITHOUT ROWID;
"""
_UPSERT = (
    "INSERT OR REPLACE INTO records (path, id, id_lower, title, provider, model, thinking_level,"
    " open_router_provider, created_at, updated_at, updated_key, message_count, size, mtime_ns)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# The OFFSET walk runs on the covering order index alone; only the page's rows are then read
# from the table (a deep page costs ~1 ms instead of ~20 ms at 10,000 records).
_PAGE = (
    f"SELECT {_COLUMNS} FROM records WHERE path IN"
    f" (SELECT path FROM records {_ORDER} LIMIT ? OFFSET ?) {_ORDER}"
)
_T = TypeVar("_T")
_Row = tuple[str, str, str, str, str, str, str, int, str, "str | None"]


@attrs.frozen
class RefreshStats:
    """What a ``refresh`` did (for logs and the bench)."""

    scanned: int
    read: int
    removed: int
    seconds: float


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _CORRUPT_CODES


def _summary(row: _Row) -> Summary:
    return Summary(
        id=row[0],
        title=row[1],
        provider=row[2],
        model=row[3],
        thinking_level=row[4],
        created_at=row[5],
        updated_at=row[6],
        message_count=row[7],
        rollout_path=row[8],
        open_router_provider=row[9],
    )


def _params(summary: Summary, size: int, mtime_ns: int) -> tuple[object, ...]:
    # A file may hold any text JSON can escape (a lone surrogate from an older agentd or another
    # tool); SQLite takes UTF-8 only, so every string is made safe here.
    router = summary.open_router_provider
    return (
        safe_text(summary.rollout_path),
        safe_text(summary.id),
        safe_text(summary.id).lower(),
        safe_text(summary.title),
        safe_text(summary.provider),
        safe_text(summary.model),
        safe_text(summary.thinking_level),
        None if router is None else safe_text(router),
        safe_text(summary.created_at),
        safe_text(summary.updated_at),
        sort_key(summary.updated_at),
        summary.message_count,
        size,
        mtime_ns,
    )


def walk_records(root: Path) -> Iterator[os.DirEntry[str]]:
    """Every ``rollout-*.jsonl`` regular file under ``root``; symlinks are not followed, so
    nothing outside the history directory is ever indexed."""
    pending = [str(root)]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif is_record_name(entry.name) and entry.is_file(follow_symlinks=False):
                        yield entry
        except OSError:
            continue


def _stamp(size: int, mtime_ns: int) -> str:
    """One comparable value for a file's size and mtime (SQLite builds the same string)."""
    return f"{size} {mtime_ns}"


class HistoryIndex:
    """The listing index at ``home/index.sqlite3``. Thread-safe; shareable between processes."""

    def __init__(self, home: Path, *, busy_timeout: float = 5.0) -> None:
        self.home = home
        self.path = home / INDEX_NAME
        self._sessions = sessions_dir(home)
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._conn = self._open()

    # -- connection ---------------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise
            logger.warning("history index %s is corrupt (%s); rebuilding it", self.path, exc)
            self._remove_files()
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        ensure_private_dir(self.home)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE))
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            _use_wal(conn, self._busy_timeout)
            conn.execute("PRAGMA synchronous = NORMAL")  # rebuildable: durability not needed
            if self._version(conn) != SCHEMA_VERSION:
                conn.execute("BEGIN IMMEDIATE")
                if self._version(conn) != SCHEMA_VERSION:  # another process may have won
                    conn.execute("DROP TABLE IF EXISTS records")
                    conn.execute("DROP TABLE IF EXISTS ignored")
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            conn.execute("SELECT count(*) FROM records").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    @staticmethod
    def _version(conn: sqlite3.Connection) -> int:
        version: int = conn.execute("PRAGMA user_version").fetchone()[0]
        return version

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _run(self, action: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``action``; if the index turns out corrupt, rebuild it from the files and retry."""
        with self._lock:
            try:
                return action(self._conn)
            except sqlite3.DatabaseError as exc:
                if not _is_corrupt(exc):
                    raise
                logger.warning("history index %s is corrupt (%s); rebuilding it", self.path, exc)
                self._conn.close()
                self._remove_files()
                self._conn = self._connect()
                self.refresh()
                return action(self._conn)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- writing ------------------------------------------------------------------------------

    def upsert(self, summary: Summary, size: int, mtime_ns: int) -> None:
        """Record one file's summary. Best effort: a failure is logged, ``refresh`` repairs it."""
        try:
            self._run(lambda c: c.execute(_UPSERT, _params(summary, size, mtime_ns)))
        except Exception as exc:  # total: the journal's write already succeeded
            logger.warning("history index update failed for %s: %s", summary.rollout_path, exc)

    def refresh(self) -> RefreshStats:
        """Reconcile with the files: re-read changed ones, add new ones, drop vanished ones."""
        started = time.perf_counter()
        known = self._run(self._known)
        seen: set[str] = set()
        valid: list[tuple[object, ...]] = []
        ignored: list[tuple[str, int, int]] = []
        for entry in walk_records(self._sessions):
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            seen.add(entry.path)
            if known.get(entry.path) == _stamp(st.st_size, st.st_mtime_ns):
                continue
            try:
                result = parse_bytes(read_bytes(Path(entry.path)), keep_messages=False)
            except OSError:
                continue
            summary = result.state.summary(entry.path)
            if summary is None:
                ignored.append((entry.path, st.st_size, st.st_mtime_ns))
                continue
            log_problems(Path(entry.path), result.problems)
            valid.append(_params(summary, st.st_size, st.st_mtime_ns))
        gone = [(path,) for path in known.keys() - seen]

        def apply(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("DELETE FROM records WHERE path = ?", gone)
                conn.executemany("DELETE FROM ignored WHERE path = ?", gone)
                conn.executemany("DELETE FROM ignored WHERE path = ?", [(v[0],) for v in valid])
                conn.executemany(_UPSERT, valid)
                conn.executemany("DELETE FROM records WHERE path = ?", [(i[0],) for i in ignored])
                conn.executemany("INSERT OR REPLACE INTO ignored VALUES (?, ?, ?)", ignored)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

        if gone or valid or ignored:
            self._run(apply)
        return RefreshStats(
            scanned=len(seen),
            read=len(valid) + len(ignored),
            removed=len(gone),
            seconds=time.perf_counter() - started,
        )

    @staticmethod
    def _known(conn: sqlite3.Connection) -> dict[str, str]:
        stamp = "size || ' ' || mtime_ns"
        query = f"SELECT path, {stamp} FROM records UNION ALL SELECT path, {stamp} FROM ignored"
        return dict(conn.execute(query).fetchall())

    # -- queries ------------------------------------------------------------------------------

    def count(self) -> int:
        count: int = self._run(lambda c: c.execute("SELECT count(*) FROM records").fetchone()[0])
        return count

    def list(self, limit: int, cursor: int) -> tuple[int, list[Summary]]:
        """``(total, rows)``: rows ``[cursor, cursor+limit)`` by ``updatedAt`` desc, then id."""

        def query(conn: sqlite3.Connection) -> tuple[int, list[Summary]]:
            conn.execute("BEGIN")  # one snapshot for the count and the page
            try:
                total = conn.execute("SELECT count(*) FROM records").fetchone()[0]
                rows = conn.execute(_PAGE, (limit, cursor)).fetchall()
            finally:
                conn.execute("COMMIT")
            return total, [_summary(row) for row in rows]

        return self._run(query)

    def last(self) -> Summary | None:
        """The most recently updated record."""
        rows = self._run(
            lambda c: c.execute(f"SELECT {_COLUMNS} FROM records {_ORDER} LIMIT 1").fetchall()
        )
        return _summary(rows[0]) if rows else None

    def by_path(self, path: Path | str) -> Summary | None:
        rows = self._run(
            lambda c: c.execute(
                f"SELECT {_COLUMNS} FROM records WHERE path = ?", (str(path),)
            ).fetchall()
        )
        return _summary(rows[0]) if rows else None

    def count_prefix(self, text: str) -> int:
        """How many distinct ids start with ``text`` (0, 1 or 2 meaning "several")."""
        key = safe_text(text.strip().lower())
        if not key:
            return 0
        rows = self._run(
            lambda c: c.execute(
                "SELECT DISTINCT id_lower FROM records WHERE id_lower >= ? AND id_lower < ?"
                " LIMIT 2",
                (key, key + "\U0010ffff"),
            ).fetchall()
        )
        return sum(1 for (row,) in rows if row.startswith(key))

    def unreadable_named(self, text: str) -> str | None:
        """A record file that was skipped as unreadable and whose name ends with id ``text``."""
        key = safe_text(text.strip())
        if not key or "%" in key or "_" in key:
            return None
        rows = self._run(
            lambda c: c.execute(
                "SELECT path FROM ignored WHERE path LIKE ? LIMIT 1", (f"%-{key}%.jsonl",)
            ).fetchall()
        )
        return str(rows[0][0]) if rows else None

    def find_by_id_or_prefix(self, text: str) -> Summary | None:
        """Case-insensitive exact id, else a unique id prefix; ambiguous or none → ``None``.

        Several files with the same id (a copied record) count as one id: the newest wins.
        """
        key = safe_text(text.strip().lower())
        if not key:
            return None

        def query(conn: sqlite3.Connection) -> Summary | None:
            exact = conn.execute(
                f"SELECT {_COLUMNS} FROM records WHERE id_lower = ? {_ORDER} LIMIT 1", (key,)
            ).fetchall()
            if exact:
                return _summary(exact[0])
            ids = conn.execute(
                "SELECT DISTINCT id_lower FROM records WHERE id_lower >= ? AND id_lower < ?"
                " LIMIT 2",
                (key, key + "\U0010ffff"),
            ).fetchall()
            if len(ids) != 1 or not ids[0][0].startswith(key):
                return None
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM records WHERE id_lower = ? {_ORDER} LIMIT 1", ids[0]
            ).fetchall()
            return _summary(rows[0]) if rows else None

        return self._run(query)


def _use_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Switch the index to WAL once (the mode persists in the file).

    Changing the journal mode takes an exclusive lock and, unlike ordinary statements, can
    fail at once with "database is locked" while another process opens the same new index:
    retried for up to ``timeout`` seconds.
    """
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)
