"""Core events and saved records → ACP ``session/update`` payloads.

The ACP counterpart of ``agentd.api.projection``: the same typed core events, projected into
ACP's updates. Only what an editor shows is sent (message and thought chunks, tool calls and
their status); status labels, usage and queue events have no ACP shape and are dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from agentd.acp.diffs import patch_view
from agentd.acp.shapes import SessionUpdate, ToolCallFields, ToolCallLocation, ToolKind
from agentd.core.events import (
    CoreEvent,
    ReasoningStreamed,
    TextStreamed,
    ToolCallCompleted,
    ToolCallStarted,
)
from agentd.core.turn import tool_message_text
from agentd.providers.base import ToolCall
from agentd.store.records import Message
from agentd.text import redact, redact_value

_KINDS: dict[str, ToolKind] = {
    "read_file": "read",
    "list_dir": "read",
    "grep_files": "search",
    "bash": "execute",
    "apply_patch": "edit",
}
#: The argument that names what a tool works on, per built-in tool (for titles and locations).
_SUBJECT = {
    "read_file": "file_path",
    "list_dir": "dir_path",
    "grep_files": "pattern",
    "bash": "command",
}
TITLE_LIMIT = 120


def tool_call_id(turn_id: str | None, call_id: str) -> str:
    """Unique in a session: providers (and scripts) reuse call ids from turn to turn, and an
    editor would then update an old turn's call."""
    return f"{call_id}@{turn_id[:8]}" if turn_id else call_id


def tool_kind(name: str) -> ToolKind:
    return _KINDS.get(name, "other")


def tool_title(name: str, arguments: Mapping[str, Any]) -> str:
    subject = arguments.get(_SUBJECT.get(name, ""))
    if not isinstance(subject, str) or not subject.strip():
        return name
    subject = " ".join(subject.split())
    if len(subject) > TITLE_LIMIT:
        subject = subject[: TITLE_LIMIT - 1] + "…"
    return f"{name}: {subject}"


def tool_locations(name: str, arguments: Mapping[str, Any], cwd: Path) -> list[ToolCallLocation]:
    """Files the call touches, absolute, so the editor can follow along."""
    key = {"read_file": "file_path", "list_dir": "dir_path"}.get(name)
    value = arguments.get(key) if key else None
    if not isinstance(value, str) or not value:
        return []
    path = Path(value)
    return [{"path": str(path if path.is_absolute() else cwd / path)}]


def started(turn_id: str, call: ToolCall, cwd: Path) -> ToolCallFields:
    """A ``tool_call`` (pending: it may still wait for approval)."""
    arguments = dict(call.arguments)
    fields: ToolCallFields = {
        "toolCallId": tool_call_id(turn_id, call.call_id),
        "title": tool_title(call.name, arguments),
        "kind": tool_kind(call.name),
        "status": "pending",
        "rawInput": arguments,
    }
    locations = tool_locations(call.name, arguments, cwd)
    if call.name == "apply_patch":
        diffs, locations = patch_view(arguments, cwd)
        if diffs:
            fields["content"] = diffs
    if locations:
        fields["locations"] = locations
    return fields


def _text_content(text: str) -> list[Any]:
    return [{"type": "content", "content": {"type": "text", "text": text}}] if text else []


def message_chunk(kind: str, text: str) -> SessionUpdate:
    return {"sessionUpdate": kind, "content": {"type": "text", "text": text}}


def project(event: CoreEvent, cwd: Path) -> SessionUpdate | None:
    """The update for one core event, or ``None`` when ACP has no shape for it."""
    if type(event) is TextStreamed:
        return message_chunk("agent_message_chunk", event.text)
    if type(event) is ReasoningStreamed:
        return message_chunk("agent_thought_chunk", event.text)
    if type(event) is ToolCallStarted:
        return {"sessionUpdate": "tool_call", **started(event.turn_id, event.call, cwd)}
    if type(event) is ToolCallCompleted:
        call, result = event.executed.call, event.executed.result
        # tool output is what secrets leak through: redacted, as on the native front door
        content = _text_content(redact(tool_message_text(result)))
        if call.name == "apply_patch" and result.ok:
            # an update's content replaces the call's: keep the diffs the editor shows
            content = patch_view(call.arguments, cwd)[0] + content
        terminal = result.output.get("terminal_id") if isinstance(result.output, dict) else None
        if isinstance(terminal, str):
            # and the terminal the command ran in (editors keep showing a released one)
            content = [{"type": "terminal", "terminalId": terminal}, *content]
        return {
            "sessionUpdate": "tool_call_update",
            "toolCallId": tool_call_id(event.turn_id, call.call_id),
            "status": "completed" if result.ok else "failed",
            "content": content,
            "rawOutput": redact_value(result.output),
        }
    return None


def replay(messages: tuple[Message, ...], cwd: Path) -> Iterator[SessionUpdate]:
    """A saved conversation as the updates a client would have seen (``session/load``).

    Tool calls are shown with their final status: completed when a result was saved, failed
    when the turn ended without one.
    """
    open_calls: dict[str, SessionUpdate] = {}
    for message in messages:
        if message.role == "user" and message.text:
            yield message_chunk("user_message_chunk", message.text)
        elif message.role == "assistant":
            if message.text:
                yield message_chunk("agent_message_chunk", message.text)
            for stored in message.tool_calls:
                arguments = _arguments(stored.arguments)
                call = ToolCall(stored.id, stored.name, arguments)
                update: SessionUpdate = {
                    "sessionUpdate": "tool_call",
                    **started(message.turn_id or "", call, cwd),
                }
                open_calls[stored.id] = update
                yield update
        elif message.role == "tool" and message.tool_call_id in open_calls:
            update = open_calls.pop(message.tool_call_id)
            yield {
                "sessionUpdate": "tool_call_update",
                "toolCallId": update["toolCallId"],
                "status": "completed",
                "content": _text_content(redact(message.text)),
            }
    for update in open_calls.values():
        yield {
            "sessionUpdate": "tool_call_update",
            "toolCallId": update["toolCallId"],
            "status": "failed",
        }


def _arguments(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
