"""The approval policy: may this tool call run? (PROTOCOL §7)

``auto`` runs everything (the reference's behaviour); ``read_only`` refuses tools that change
files or run commands; ``ask`` asks the client through the approver, remembering
``allow_session`` answers per tool in ``allowed`` for the rest of the session. A refusal is a
tool result the model reads, not an error of the turn. Plain inputs in, a decision out: the
policy knows nothing of sessions or turns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableSet
from typing import Literal

from agentd.providers.base import ToolCall
from agentd.tools.base import ToolResult

ApprovalDecision = Literal["allow", "allow_session", "deny"]
#: Asks whoever drives the session whether ``call`` may run: → (decision, note).
AskApproval = Callable[[ToolCall], Awaitable[tuple[ApprovalDecision, str | None]]]


def _denied(message: str) -> ToolResult:
    return ToolResult(ok=False, output={"status": "denied", "message": message}, error=message)


async def check_policy(
    policy: str,
    call: ToolCall,
    *,
    mutates: bool,
    allowed: MutableSet[str],
    ask: AskApproval | None,
) -> ToolResult | None:
    """``None`` when the call may run, else the refusal to report in its place.

    ``mutates`` says whether the tool changes files or runs commands (unknown tools pass: the
    tool set reports them); ``ask`` is ``None`` when no client can approve.
    """
    if not mutates or policy == "auto":
        return None
    if policy == "read_only":
        return _denied(f"tool {call.name} is not allowed: the session is read-only")
    if call.name in allowed:
        return None
    if ask is None:
        return _denied("tool call denied: no client is connected to approve tool calls")
    decision, note = await ask(call)
    if decision == "allow_session":
        allowed.add(call.name)
    if decision in ("allow", "allow_session"):
        return None
    return _denied(f"tool call denied: {note}" if note else "tool call denied")
