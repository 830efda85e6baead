"""Domain errors → JSON-RPC errors (PROTOCOL §2): the one place codes are chosen.

The core raises ``CoreError``s, the store ``StoreError``s and the provider registry
``ProviderNotConfigured``; each keeps its message (the reference's strings) and its reason.
"""

from __future__ import annotations

from agentd.core.compaction import CompactionError
from agentd.core.errors import (
    CoreError,
    InvalidOption,
    Overloaded,
    ProviderUnavailable,
    SessionBusy,
    SessionNotFound,
)
from agentd.core.recorder import HistoryTimeoutError
from agentd.protocol import errors
from agentd.protocol.errors import RpcError
from agentd.providers.registry import ProviderNotConfigured
from agentd.store import (
    HistoryNotFoundError,
    PathOutsideHistoryError,
    RecordLockedError,
    StoreError,
)

_CODES: dict[type[CoreError], int] = {
    SessionNotFound: errors.SESSION_NOT_FOUND,
    SessionBusy: errors.SESSION_BUSY,
    ProviderUnavailable: errors.PROVIDER_UNAVAILABLE,
}


def core_error(exc: CoreError, method: str) -> RpcError:
    """The RPC error for a refusal of the core while serving ``method``."""
    if isinstance(exc, InvalidOption):
        return errors.invalid_params(method, exc.problem, exc.field)
    if isinstance(exc, Overloaded):
        return errors.overloaded(exc.message, retry_after_ms=exc.retry_after_ms)
    return RpcError(_CODES.get(type(exc), errors.INVALID_STATE), exc.message, exc.reason)


def store_error(exc: StoreError, path_field: str = "rollout_path") -> RpcError:
    """The RPC error for a store failure; messages are the store's (the reference's) own.

    ``path_field`` names the param that carried a path (``resume_id`` for ``session.create``).
    """
    if isinstance(exc, HistoryNotFoundError):
        return RpcError(errors.HISTORY_NOT_FOUND, exc.message, exc.reason)
    if isinstance(exc, PathOutsideHistoryError):
        message = exc.message.replace("rollout_path", path_field, 1)
        return RpcError(errors.INVALID_PARAMS, message, exc.reason, field=path_field)
    if isinstance(exc, RecordLockedError):
        return RpcError(errors.INVALID_STATE, exc.message, exc.reason)
    if isinstance(exc, HistoryTimeoutError):
        return RpcError(errors.OVERLOADED, exc.message, exc.reason, retry_after_ms=1000)
    return RpcError(errors.INTERNAL_ERROR, exc.message, exc.reason)


def to_rpc_error(exc: Exception, method: str) -> RpcError | None:
    """The RPC error for a domain error raised while serving ``method``; ``None``: a bug."""
    if isinstance(exc, CoreError):
        return core_error(exc, method)
    if isinstance(exc, StoreError):
        return store_error(exc)
    if isinstance(exc, ProviderNotConfigured):
        return errors.provider_unavailable(str(exc))
    if isinstance(exc, CompactionError):
        message = f"context compaction failed: {exc.message}"
        return RpcError(errors.INVALID_STATE, message, "compaction_failed", kind=exc.kind)
    return None
