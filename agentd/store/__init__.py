"""History persistence: an append-only JSONL journal per record and a rebuildable index.

Knows nothing of sessions: plain records in, plain views and dicts out (ARCHITECTURE.md).
"""

from agentd.config import default_home
from agentd.store.errors import (
    HistoryNotFoundError,
    PathOutsideHistoryError,
    RecordLockedError,
    StoreError,
    StoreWriteError,
    UnexpectedStoreError,
)
from agentd.store.history import (
    HistoryStore,
    message_to_dict,
    normalise_cursor,
    normalise_limit,
    view_to_dict,
)
from agentd.store.index import HistoryIndex, RefreshStats
from agentd.store.journal import FSYNC_POLICIES, FsyncPolicy, IndexSink, Journal, is_sync_point
from agentd.store.reader import Problem, RecordView, read_record
from agentd.store.records import (
    Compaction,
    Message,
    MetaUpdate,
    PartialText,
    QueuedPrompt,
    Record,
    SessionMeta,
    ToolCall,
    TurnEnd,
    TurnStart,
    encode_line,
    record_from_dict,
)
from agentd.store.redact import redact
from agentd.store.state import Summary, TurnInfo
from agentd.store.timefmt import now_iso

__all__ = [
    "FSYNC_POLICIES",
    "Compaction",
    "FsyncPolicy",
    "HistoryIndex",
    "HistoryNotFoundError",
    "HistoryStore",
    "IndexSink",
    "Journal",
    "Message",
    "MetaUpdate",
    "PartialText",
    "PathOutsideHistoryError",
    "Problem",
    "QueuedPrompt",
    "Record",
    "RecordLockedError",
    "RecordView",
    "RefreshStats",
    "SessionMeta",
    "StoreError",
    "StoreWriteError",
    "Summary",
    "ToolCall",
    "TurnEnd",
    "TurnInfo",
    "TurnStart",
    "UnexpectedStoreError",
    "default_home",
    "encode_line",
    "is_sync_point",
    "message_to_dict",
    "normalise_cursor",
    "normalise_limit",
    "now_iso",
    "read_record",
    "record_from_dict",
    "redact",
    "view_to_dict",
]
