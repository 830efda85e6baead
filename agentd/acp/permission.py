"""The ``ask`` approval policy as ACP's ``session/request_permission``.

The question shows the same tool call the editor was told about (title, kind, locations, an
``apply_patch``'s diffs) with allow-once / allow-always / reject options. A cancel always
wins: a prompt cancelled while the question is open denies the call, also when the client's
answer (``selected`` or ``cancelled``) was read in the same breath as the cancel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from agentd.acp import projection
from agentd.acp.shapes import PERMISSION_OPTIONS, SessionUpdate
from agentd.acp.state import AcpSession, ActivePrompt
from agentd.core.policy import ApprovalDecision
from agentd.providers.base import ToolCall
from agentd.rpc.connection import ClientRequestError, Connection

_DECISIONS: dict[str, ApprovalDecision] = {
    "allow_once": "allow",
    "allow_always": "allow_session",
    "reject_once": "deny",
}


class Permissions:
    """Asks the client about tool calls of the sessions in ``by_core`` (core id → session)."""

    def __init__(
        self,
        connection: Connection,
        timeout_s: float,
        by_core: Mapping[str, AcpSession],
        send: Callable[[AcpSession, SessionUpdate], None],
    ) -> None:
        self.connection = connection
        self.timeout_s = timeout_s
        self.by_core = by_core
        self.send = send

    async def approve(
        self, session_id: str, turn_id: str, call: Mapping[str, Any]
    ) -> tuple[ApprovalDecision, str | None]:
        """The runtime's approver: (decision, why) for one tool call."""
        state = self.by_core.get(session_id)
        active = state.prompt if state is not None else None
        if state is None or active is None or active.cancelled:
            return "deny", "the prompt was cancelled"
        arguments = call.get("input")
        asked = ToolCall(
            str(call.get("callId", "")),
            str(call.get("name", "")),
            dict(arguments) if isinstance(arguments, Mapping) else {},
        )
        tool_call = projection.started(turn_id, asked, state.core.cwd)
        request = {"sessionId": state.acp_id, "toolCall": tool_call, "options": PERMISSION_OPTIONS}
        try:
            answer = await self.connection.request(
                "session/request_permission", request, self.timeout_s
            )
        except TimeoutError:
            return "deny", f"no permission within {self.timeout_s:g} s"
        except ClientRequestError as exc:
            return "deny", f"the client answered with an error: {exc}"
        if _cancelled(active):  # a cancel read together with the answer still wins
            return "deny", "the prompt was cancelled"
        decision = _decision(answer)
        if decision is None:
            return "deny", "the permission request was cancelled or not understood"
        if decision != "deny":
            update = {
                "sessionUpdate": "tool_call_update",
                "toolCallId": tool_call["toolCallId"],
                "status": "in_progress",
            }
            self.send(state, update)
        return decision, None


def _cancelled(active: ActivePrompt) -> bool:
    """Read after an ``await`` (a plain attribute test would be narrowed away by mypy)."""
    return active.cancelled


def _decision(answer: Any) -> ApprovalDecision | None:
    outcome = answer.get("outcome") if isinstance(answer, dict) else None
    if not isinstance(outcome, dict) or outcome.get("outcome") != "selected":
        return None
    return _DECISIONS.get(str(outcome.get("optionId")))
