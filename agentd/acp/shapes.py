"""The ACP v1 wire shapes agentd sends, as typed dicts (checked by mypy, cheap at start-up).

The official SDK (``agent-client-protocol``, imported as ``acp``) has pydantic models of the
whole schema, but importing it costs pydantic at start-up (``agentd acp`` answers
``initialize`` before the core is even loaded), so the runtime writes the few shapes it sends
as typed dicts, and the tests check every message on the wire against the SDK's models,
strictly (``tests/acp/sdk.py``).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

#: The only ACP major version; any version a client asks for is answered with this one.
PROTOCOL_VERSION = 1

#: ACP's error codes beyond JSON-RPC's own.
AUTH_REQUIRED = -32000
RESOURCE_NOT_FOUND = -32002

StopReason = Literal["end_turn", "max_tokens", "max_turn_requests", "refusal", "cancelled"]
ToolKind = Literal["read", "edit", "delete", "move", "search", "execute", "think", "fetch", "other"]
ToolCallStatus = Literal["pending", "in_progress", "completed", "failed"]
PermissionKind = Literal["allow_once", "allow_always", "reject_once", "reject_always"]


class TextContent(TypedDict):
    type: Literal["text"]
    text: str


class ToolCallContent(TypedDict):
    """A tool call's content item (``type: content`` wrapping a content block)."""

    type: Literal["content"]
    content: TextContent


class ToolCallLocation(TypedDict):
    path: str
    line: NotRequired[int]


class ToolCallFields(TypedDict, total=False):
    """The fields shared by ``tool_call`` and ``tool_call_update`` (all but the id optional)."""

    toolCallId: str
    title: str
    kind: ToolKind
    status: ToolCallStatus
    #: ``content`` items (``ToolCallContent``) or ``diff`` items.
    content: list[Any]
    locations: list[ToolCallLocation]
    rawInput: dict[str, Any]
    rawOutput: Any


class PermissionOption(TypedDict):
    optionId: str
    name: str
    kind: PermissionKind


class SessionMode(TypedDict):
    id: str
    name: str
    description: str


class SessionModeState(TypedDict):
    currentModeId: str
    availableModes: list[SessionMode]


class ConfigSelectOption(TypedDict):
    value: str
    name: str
    description: NotRequired[str]


class ConfigOption(TypedDict):
    """A ``select`` session config option (``configOptions``)."""

    type: Literal["select"]
    id: str
    name: str
    category: Literal["mode", "model", "model_config", "thought_level"]
    currentValue: str
    options: list[ConfigSelectOption]


#: One ``session/update`` payload (``update``): ``sessionUpdate`` says which kind.
SessionUpdate = dict[str, Any]

PERMISSION_OPTIONS: list[PermissionOption] = [
    {"optionId": "allow_once", "name": "Allow once", "kind": "allow_once"},
    {"optionId": "allow_always", "name": "Always allow this tool", "kind": "allow_always"},
    {"optionId": "reject_once", "name": "Reject", "kind": "reject_once"},
]

#: The approval policies of agentd, offered as ACP session modes.
MODES: list[SessionMode] = [
    {
        "id": "ask",
        "name": "Ask",
        "description": "Ask before tools that change files or run commands",
    },
    {"id": "auto", "name": "Auto", "description": "Run every tool call without asking"},
    {
        "id": "read_only",
        "name": "Read only",
        "description": "Refuse tools that change files or run commands",
    },
]
DEFAULT_MODE = "ask"
