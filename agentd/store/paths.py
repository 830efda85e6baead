"""Where records live, and keeping them private and confined.

Layout (the reference's): ``home/sessions/YYYY/MM/DD/rollout-YYYYMMDD-HHMMSSmmm-<id>.jsonl``
with the UTC time of creation. Directories are 0700 and files 0600 because history holds
everything the user and the model said.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from agentd.store.errors import PathOutsideHistoryError

DIR_MODE = 0o700
FILE_MODE = 0o600
SESSIONS = "sessions"
INDEX_NAME = "index.sqlite3"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def sessions_dir(home: Path) -> Path:
    return home / SESSIONS


def check_record_id(record_id: str) -> str:
    """Ids become file names: allow only a safe alphabet so no id can escape its directory."""
    if not _SAFE_ID.fullmatch(record_id):
        raise ValueError(f"invalid history record id: {record_id!r}")
    return record_id


def record_path(home: Path, record_id: str, created: datetime) -> Path:
    """The file of a record created at ``created`` (UTC)."""
    day = sessions_dir(home) / f"{created:%Y}" / f"{created:%m}" / f"{created:%d}"
    stamp = f"{created:%Y%m%d-%H%M%S}{created.microsecond // 1000:03d}"
    return day / f"rollout-{stamp}-{check_record_id(record_id)}.jsonl"


def is_record_name(name: str) -> bool:
    """The scanner's filter (the reference's): ``rollout-*.jsonl``."""
    return name.startswith("rollout-") and name.endswith(".jsonl")


def ensure_private_dir(path: Path) -> list[Path]:
    """Create ``path`` and missing parents as 0700; return the directories created, outermost
    first, so the caller can fsync their parents."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    created: list[Path] = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(directory, DIR_MODE)  # mkdir's mode is filtered by the umask
        created.append(directory)
    return created


def fsync_dir(path: Path) -> None:
    """Make a directory entry (a new file or subdirectory) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def confine(home: Path, candidate: str | Path) -> Path:
    """Resolve ``candidate`` (symlinks, ``..``; relative to the cwd) and require it to lie inside
    ``home/sessions``; ``PathOutsideHistoryError`` otherwise."""
    root = sessions_dir(home).resolve()
    resolved = Path(candidate).expanduser().resolve()
    if resolved == root or not resolved.is_relative_to(root):
        raise PathOutsideHistoryError(str(candidate))
    return resolved
