"""History methods (PROTOCOL §6): list and read saved records on the store thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from agentd.api.context import ApiContext
from agentd.protocol import errors
from agentd.protocol.errors import RpcError
from agentd.protocol.results import HistoryListResult, HistoryRecord

if TYPE_CHECKING:
    from agentd.protocol.methods import HistoryGetParams, HistoryListParams


async def history_list(ctx: ApiContext, p: HistoryListParams) -> HistoryListResult:
    history = ctx.manager.runtime.history
    if history is None:
        return {"total": 0, "cursor": 0, "limit": 100, "sessions": [], "next_cursor": None}
    page = await history.run(lambda: history.store().list(p.limit, p.cursor))
    return {
        "total": page["total"],
        "cursor": page["cursor"],
        "limit": page["limit"],
        "sessions": page["sessions"],
        "next_cursor": page["next_cursor"],
    }


async def history_get(ctx: ApiContext, p: HistoryGetParams) -> HistoryRecord:
    history = ctx.manager.runtime.history
    if history is None:
        raise RpcError(errors.HISTORY_NOT_FOUND, "no saved chat history yet", "history_not_found")
    record = await history.run(
        lambda: history.store().get(id=p.id, last=p.last, rollout_path=p.rollout_path)
    )
    return cast(HistoryRecord, record)
