"""Structural checks of what ``agentd acp`` sends, after the ACP v1 schema's shapes.

The official SDK (and its generated schema types) cannot be installed here, so the fields the
schema requires of each message agentd sends are checked by hand, on every message of every
test (``AcpProcess`` calls ``problems`` for each line it reads).
"""

from __future__ import annotations

from typing import Any

TOOL_KINDS = {
    "read", "edit", "delete", "move", "search", "execute", "think", "fetch", "switch_mode", "other"
}  # fmt: skip
STATUSES = {"pending", "in_progress", "completed", "failed"}
STOP_REASONS = {"end_turn", "max_tokens", "max_turn_requests", "refusal", "cancelled"}
PERMISSION_KINDS = {"allow_once", "allow_always", "reject_once", "reject_always"}
CONTENT_TYPES = {"text", "image", "audio", "resource", "resource_link"}


def _content_block(block: Any) -> list[str]:
    if not isinstance(block, dict) or block.get("type") not in CONTENT_TYPES:
        return [f"not a content block: {block!r}"]
    if block["type"] == "text" and not isinstance(block.get("text"), str):
        return [f"text block without text: {block!r}"]
    return []


def _tool_fields(update: dict[str, Any], *, full: bool) -> list[str]:
    found: list[str] = []
    if not isinstance(update.get("toolCallId"), str) or not update["toolCallId"]:
        found.append(f"no toolCallId: {update!r}")
    if full and not isinstance(update.get("title"), str):
        found.append(f"tool_call without title: {update!r}")
    if "kind" in update and update["kind"] not in TOOL_KINDS:
        found.append(f"bad kind: {update['kind']!r}")
    if "status" in update and update["status"] not in STATUSES:
        found.append(f"bad status: {update['status']!r}")
    for item in update.get("content") or []:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "content":
            found += _content_block(item.get("content"))
        elif kind == "diff":
            if not isinstance(item.get("path"), str) or not isinstance(item.get("newText"), str):
                found.append(f"bad diff: {item!r}")
        elif kind != "terminal":
            found.append(f"bad tool call content: {item!r}")
    for location in update.get("locations") or []:
        if not isinstance(location, dict) or not isinstance(location.get("path"), str):
            found.append(f"bad location: {location!r}")
    return found


def update_problems(update: Any) -> list[str]:
    if not isinstance(update, dict):
        return [f"update is not an object: {update!r}"]
    kind = update.get("sessionUpdate")
    if kind in ("agent_message_chunk", "agent_thought_chunk", "user_message_chunk"):
        return _content_block(update.get("content"))
    if kind == "tool_call":
        return _tool_fields(update, full=True)
    if kind == "tool_call_update":
        return _tool_fields(update, full=False)
    if kind == "current_mode_update":
        return [] if isinstance(update.get("currentModeId"), str) else [f"bad: {update!r}"]
    return [f"unknown sessionUpdate: {kind!r}"]


def problems(message: dict[str, Any]) -> list[str]:
    """What in one message agentd sent breaks the ACP v1 schema (empty: nothing)."""
    if message.get("jsonrpc") != "2.0":
        return [f"not JSON-RPC 2.0: {message!r}"]
    method = message.get("method")
    params = message.get("params")
    if method == "session/update":
        if not isinstance(params, dict) or not isinstance(params.get("sessionId"), str):
            return [f"session/update without sessionId: {message!r}"]
        return update_problems(params.get("update"))
    if method == "session/request_permission":
        found = _tool_fields(params.get("toolCall") or {}, full=False)
        for option in params.get("options") or [None]:
            if not (
                isinstance(option, dict)
                and isinstance(option.get("optionId"), str)
                and isinstance(option.get("name"), str)
                and option.get("kind") in PERMISSION_KINDS
            ):
                found.append(f"bad permission option: {option!r}")
        return found
    if method == "fs/read_text_file":
        if not isinstance(params.get("sessionId"), str) or not isinstance(params.get("path"), str):
            return [f"bad fs/read_text_file: {message!r}"]
        return [] if params["path"].startswith("/") else [f"relative path: {message!r}"]
    if method is not None:
        return [] if method == "$/cancel_request" else [f"unexpected method {method!r}"]
    result = message.get("result")
    if isinstance(result, dict) and result.get("stopReason", "end_turn") not in STOP_REASONS:
        return [f"bad stopReason: {result!r}"]
    if "error" in message:
        error = message["error"]
        if not isinstance(error.get("code"), int) or not isinstance(error.get("message"), str):
            return [f"bad error: {message!r}"]
    return []
