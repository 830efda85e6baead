"""History methods (PROTOCOL §6): list and read saved records; store errors as RPC errors."""

from __future__ import annotations

from typing import Any

from agentd.api.context import ApiContext
from agentd.core.recorder import HistoryTimeoutError
from agentd.protocol import errors
from agentd.protocol.errors import RpcError
from agentd.protocol.methods import HistoryGetParams, HistoryListParams
from agentd.protocol.params import parse_params
from agentd.protocol.results import HistoryListResult
from agentd.store import (
    HistoryNotFoundError,
    PathOutsideHistoryError,
    RecordLockedError,
    StoreError,
)


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


def register(ctx: ApiContext) -> None:
    conn = ctx.connection
    history = ctx.manager.runtime.history

    async def history_list(raw: Any) -> HistoryListResult:
        p = parse_params("history.list", HistoryListParams, raw)
        if history is None:
            return {"total": 0, "cursor": 0, "limit": 100, "sessions": [], "next_cursor": None}
        try:
            page = await history.run(lambda: history.store().list(p.limit, p.cursor))
        except StoreError as exc:
            raise store_error(exc) from None
        return {
            "total": page["total"],
            "cursor": page["cursor"],
            "limit": page["limit"],
            "sessions": page["sessions"],
            "next_cursor": page["next_cursor"],
        }

    async def history_get(raw: Any) -> Any:
        p = parse_params("history.get", HistoryGetParams, raw)
        if history is None:
            raise RpcError(
                errors.HISTORY_NOT_FOUND, "no saved chat history yet", "history_not_found"
            )
        try:
            return await history.run(
                lambda: history.store().get(id=p.id, last=p.last, rollout_path=p.rollout_path)
            )
        except StoreError as exc:
            raise store_error(exc) from None

    conn.register("history.list", history_list)
    conn.register("history.get", history_get)
