"""Session methods (PROTOCOL §5): validate params, call the core, shape the result."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from agentd.api.context import ApiContext
from agentd.api.history import store_error
from agentd.core.runtime import ApprovalDecision, Approver
from agentd.protocol.methods import (
    QueueRemoveParams,
    SessionCreateParams,
    SessionIdParams,
    SessionInterruptParams,
    SessionSendParams,
    SessionSteerParams,
)
from agentd.protocol.params import parse_params
from agentd.protocol.results import (
    ClearSessionResult,
    InterruptResult,
    QueueClearResult,
    QueueListResult,
    QueueRemoveResult,
    SendResult,
    SessionCreateResult,
    SessionState,
    SteerResult,
    ToolsListResult,
)
from agentd.rpc.connection import ClientRequestError
from agentd.store import StoreError

log = logging.getLogger("agentd.api")

#: Bound on waiting for a prompt to reach the disk before ``session.send`` answers anyway.
PROMPT_SAVE_TIMEOUT_S = 10.0
_DECISIONS: tuple[ApprovalDecision, ...] = ("allow", "allow_session", "deny")


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


def register(ctx: ApiContext) -> None:
    conn = ctx.connection
    manager = ctx.manager

    async def create(raw: Any) -> SessionCreateResult:
        p = parse_params("session.create", SessionCreateParams, raw)
        options = {
            "title": p.title,
            "cwd": p.cwd,
            "provider": p.provider,
            "model": p.model,
            "system_prompt": p.system_prompt,
            "approval_policy": p.approval_policy,
        }
        if p.resume_id is None:
            session = manager.create(**options)
        else:
            try:
                session = await manager.create_resumed(p.resume_id, **options)
            except StoreError as exc:
                raise store_error(exc, path_field="resume_id") from None
        manager.runtime.bus.emit(
            "state.changed",
            {
                "reason": "session_created",
                "session_id": session.id,
                "snapshot": ctx.lifecycle.state_snapshot(),
            },
        )
        return {"session_id": session.id, "state": session.snapshot()}

    async def get(raw: Any) -> SessionState:
        p = parse_params("session.get", SessionIdParams, raw)
        return manager.get(p.session_id).snapshot()

    async def send(raw: Any) -> SendResult:
        p = parse_params("session.send", SessionSendParams, raw)
        session = manager.get(p.session_id)
        result = session.send(p.text, p.images, p.enqueue)
        # answered only once the prompt is on disk: an answered prompt survives a crash
        await session.prompt_saved(result["turn_id"], PROMPT_SAVE_TIMEOUT_S)
        return result

    async def steer(raw: Any) -> SteerResult:
        p = parse_params("session.steer", SessionSteerParams, raw)
        return {"session_id": p.session_id, "accepted": manager.get(p.session_id).steer(p.text)}

    async def interrupt(raw: Any) -> InterruptResult:
        p = parse_params("session.interrupt", SessionInterruptParams, raw)
        interrupted = manager.get(p.session_id).interrupt(clear_queue=p.clear_queue)
        return {"session_id": p.session_id, "interrupted": interrupted}

    async def queue_list(raw: Any) -> QueueListResult:
        p = parse_params("session.queue.list", SessionIdParams, raw)
        return {"session_id": p.session_id, "queue": manager.get(p.session_id).queue_list()}

    async def queue_clear(raw: Any) -> QueueClearResult:
        p = parse_params("session.queue.clear", SessionIdParams, raw)
        return {
            "session_id": p.session_id,
            "cleared_count": manager.get(p.session_id).queue_clear(),
        }

    async def queue_remove(raw: Any) -> QueueRemoveResult:
        p = parse_params("session.queue.remove", QueueRemoveParams, raw)
        removed = manager.get(p.session_id).queue_remove(p.id)
        return {"session_id": p.session_id, "id": p.id, "removed": removed}

    async def clear_session(raw: Any) -> ClearSessionResult:
        p = parse_params("history.clear_session", SessionIdParams, raw)
        await manager.get(p.session_id).clear()
        return {"session_id": p.session_id, "cleared": True}

    async def tools_list(raw: Any) -> ToolsListResult:
        return {"tools": manager.runtime.tools.specs()}

    conn.register("session.create", create)
    conn.register("session.get", get)
    conn.register("session.send", send)
    conn.register("session.steer", steer)
    conn.register("session.interrupt", interrupt)
    conn.register("session.queue.list", queue_list)
    conn.register("session.queue.clear", queue_clear)
    conn.register("session.queue.remove", queue_remove)
    conn.register("history.clear_session", clear_session)
    conn.register("tools.list", tools_list)
