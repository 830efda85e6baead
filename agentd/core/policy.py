"""The approval policy: may this tool call run? (PROTOCOL §7)

``auto`` runs everything (the reference's behaviour); ``read_only`` refuses tools that change
files or run commands; ``ask`` asks the client through the runtime's approver, remembering
``allow_session`` answers per tool for the rest of the session. A refusal is a tool result the
model reads, not an error of the turn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentd.providers.base import ToolCall
from agentd.tools.base import ToolResult

if TYPE_CHECKING:
    from agentd.core.session import Session


def _denied(message: str) -> ToolResult:
    return ToolResult(ok=False, output={"status": "denied", "message": message}, error=message)


async def check_policy(session: Session, turn_id: str, call: ToolCall) -> ToolResult | None:
    """``None`` when the call may run, else the refusal to report in its place."""
    tool = session.runtime.tools.get(call.name)
    if tool is None or not tool.mutates or session.approval_policy == "auto":
        return None
    if session.approval_policy == "read_only":
        return _denied(f"tool {call.name} is not allowed: the session is read-only")
    if call.name in session.allowed_tools:
        return None
    approver = session.runtime.approver
    if approver is None:
        return _denied("tool call denied: no client is connected to approve tool calls")
    decision, note = await approver(
        session.id,
        turn_id,
        {"name": call.name, "input": dict(call.arguments), "callId": call.call_id},
    )
    if decision == "allow_session":
        session.allowed_tools.add(call.name)
    if decision in ("allow", "allow_session"):
        return None
    return _denied(f"tool call denied: {note}" if note else "tool call denied")
