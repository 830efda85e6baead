"""Session methods (PROTOCOL §5): call the core, shape the result.

Params arrive parsed and domain errors are mapped by the dispatcher (``agentd.api.dispatch``);
results and state are shaped by the projection (``agentd.api.projection``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from agentd.api.context import ApiContext
from agentd.api.errors import store_error
from agentd.api.projection import compression_json, queue_item, session_state
from agentd.core.runtime import ApprovalDecision, Approver
from agentd.protocol.results import (
    ClearSessionResult,
    InterruptResult,
    QueueClearResult,
    QueueListResult,
    QueueRemoveResult,
    SendResult,
    SessionCompactResult,
    SessionCreateResult,
    SessionState,
    SteerResult,
    ToolsListResult,
)
from agentd.rpc.connection import ClientRequestError
from agentd.store import StoreError

if TYPE_CHECKING:
    from agentd.protocol.methods import (
        QueueRemoveParams,
        SessionCreateParams,
        SessionIdParams,
        SessionInterruptParams,
        SessionSendParams,
        SessionSteerParams,
        ToolsListParams,
    )

log = logging.getLogger("agentd.api")

#: Bound on waiting for a prompt to reach the disk before ``session.send`` answers anyway.
PROMPT_SAVE_TIMEOUT_S = 10.0
_DECISIONS: tuple[ApprovalDecision, ...] = ("allow", "allow_session", "deny")
T = TypeVar("T")


async def committed(work: Awaitable[T]) -> T:
    """Finish ``work`` even if the request is cancelled meanwhile.

    A request whose effect already happened (a prompt accepted, a session being cleared) cannot
    be taken back by ``$/cancelRequest``: answering ``-32800`` would tell the client it did not
    happen, and a client that retries would duplicate it. So the cancel is absorbed and the
    request answers with its result. ``work`` must be bounded itself.
    """
    task = asyncio.ensure_future(work)
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()


def make_approver(ctx: ApiContext, timeout: float) -> Approver:
    """Ask the client with ``session.tool.approve``; anything but a valid answer within
    ``timeout`` seconds denies."""

    async def approve(
        session_id: str, turn_id: str, call: Mapping[str, Any]
    ) -> tuple[ApprovalDecision, str | None]:
        try:
            answer = await ctx.connection.request(
                "session.tool.approve",
                {"session_id": session_id, "turn_id": turn_id, "call": dict(call)},
                timeout,
            )
        except TimeoutError:
            return "deny", f"no approval within {timeout:g} s"
        except ClientRequestError as exc:
            return "deny", f"the client answered with an error: {exc}"
        if not isinstance(answer, dict) or answer.get("decision") not in _DECISIONS:
            log.warning("invalid approval answer %r treated as deny", answer)
            return "deny", "invalid approval answer"
        note = answer.get("message")
        decision: ApprovalDecision = answer["decision"]
        return decision, note if isinstance(note, str) else None

    return approve


async def create(ctx: ApiContext, p: SessionCreateParams) -> SessionCreateResult:
    manager = ctx.manager
    options: dict[str, Any] = {
        "title": p.title,
        "cwd": p.cwd,
        "provider": p.provider,
        "model": p.model,
        "system_prompt": p.system_prompt,
        "approval_policy": p.approval_policy,
        "mcp_servers": p.mcp_servers,
    }
    if p.resume_id is None:
        session = manager.create(**options)
    else:
        try:
            session = await manager.create_resumed(p.resume_id, **options)
        except StoreError as exc:
            raise store_error(exc, path_field="resume_id") from None
    return {"session_id": session.id, "state": session_state(session)}


async def get(ctx: ApiContext, p: SessionIdParams) -> SessionState:
    return session_state(ctx.manager.get(p.session_id))


async def send(ctx: ApiContext, p: SessionSendParams) -> SendResult:
    session = ctx.manager.get(p.session_id)
    outcome = session.send(p.text, p.images, p.enqueue)
    # What send did synchronously (``preparing...``, a pre-flight failure) precedes the response,
    # as the reference; everything the turn does after that follows it: the session's events
    # are held until the connection has queued this response (released by ``call_soon``, which
    # runs after the handler's task step that hands the result to the outbox).
    release = session.hold()
    try:
        # answered only once the prompt is on disk: an answered prompt survives a crash; from
        # here on the prompt is accepted, so a cancel cannot undo it (``committed``)
        await committed(session.prompt_saved(outcome.turn_id, PROMPT_SAVE_TIMEOUT_S))
    finally:
        asyncio.get_running_loop().call_soon(release)
    return {
        "session_id": session.id,
        "turn_id": outcome.turn_id,
        "accepted": True,
        "queued": outcome.queued,
    }


async def steer(ctx: ApiContext, p: SessionSteerParams) -> SteerResult:
    return {"session_id": p.session_id, "accepted": ctx.manager.get(p.session_id).steer(p.text)}


async def interrupt(ctx: ApiContext, p: SessionInterruptParams) -> InterruptResult:
    interrupted = ctx.manager.get(p.session_id).interrupt(clear_queue=p.clear_queue)
    return {"session_id": p.session_id, "interrupted": interrupted}


async def queue_list(ctx: ApiContext, p: SessionIdParams) -> QueueListResult:
    queue = ctx.manager.get(p.session_id).queue
    return {"session_id": p.session_id, "queue": [queue_item(item) for item in queue]}


async def queue_clear(ctx: ApiContext, p: SessionIdParams) -> QueueClearResult:
    return {
        "session_id": p.session_id,
        "cleared_count": ctx.manager.get(p.session_id).queue_clear(),
    }


async def queue_remove(ctx: ApiContext, p: QueueRemoveParams) -> QueueRemoveResult:
    removed = ctx.manager.get(p.session_id).queue_remove(p.id)
    return {"session_id": p.session_id, "id": p.id, "removed": removed}


async def clear_session(ctx: ApiContext, p: SessionIdParams) -> ClearSessionResult:
    await committed(ctx.manager.get(p.session_id).clear())
    return {"session_id": p.session_id, "cleared": True}


async def compact(ctx: ApiContext, p: SessionIdParams) -> SessionCompactResult:
    """Summarise an idle session's context now (``compaction.*`` events; reason ``manual``)."""
    compression = await ctx.manager.get(p.session_id).compact_now()
    return {"session_id": p.session_id, "compression": compression_json(compression)}


async def tools_list(ctx: ApiContext, p: ToolsListParams) -> ToolsListResult:
    if p.session_id is None:
        return {"tools": ctx.manager.runtime.tools.specs()}
    tools = ctx.manager.get(p.session_id).tools
    await tools.ready()  # its MCP servers: started now if no turn has yet (bounded)
    return {"tools": tools.specs()}
