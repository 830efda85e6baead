"""The record types of a history file and their JSON-line form.

One JSON object per line. The first line and the ``message`` lines use the reference's keys
(``session_meta`` camelCase, ``message`` with ``index/role/text/images``) so its users recognise
the files; the turn and tool records are agentd's additions. Decoding is strict about types and
lenient about extra keys, and raises ``RecordFormatError`` for the reader to report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal, TypeAlias

import attrs

from agentd.store.redact import redact

Role = Literal["user", "assistant", "tool"]
TurnStatus = Literal["completed", "interrupted", "error"]
ROLES: tuple[Role, ...] = ("user", "assistant", "tool")
TURN_STATUSES: tuple[TurnStatus, ...] = ("completed", "interrupted", "error")


class RecordFormatError(ValueError):
    """A line is valid JSON but not a valid record."""


def _str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise RecordFormatError(f"{key!r} must be a string")
    return value


def _opt_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise RecordFormatError(f"{key!r} must be a string")


def _int(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordFormatError(f"{key!r} must be an integer")
    return value


def _put(out: dict[str, Any], key: str, value: object) -> None:
    """Add an optional key only when it has a value (the files omit absent keys)."""
    if value is not None:
        out[key] = value


@attrs.frozen
class SessionMeta:
    """First line of every record file; ``updated_at``/``message_count`` as of its writing."""

    TYPE: ClassVar[str] = "session_meta"

    id: str
    title: str
    provider: str
    model: str
    thinking_level: str
    created_at: str
    updated_at: str
    message_count: int = 0
    cwd: str | None = None
    open_router_provider: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.TYPE,
            "id": self.id,
            "title": self.title,
            "provider": self.provider,
            "model": self.model,
            "thinkingLevel": self.thinking_level,
        }
        _put(out, "openRouterProvider", self.open_router_provider)
        out["createdAt"] = self.created_at
        out["updatedAt"] = self.updated_at
        out["messageCount"] = self.message_count
        _put(out, "cwd", self.cwd)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionMeta:
        record_id = _str(data, "id").strip()
        if not record_id:
            raise RecordFormatError("'id' must not be empty")
        created_at = _str(data, "createdAt")
        updated_at = _opt_str(data, "updatedAt") or created_at
        return cls(
            id=record_id,
            title=_str(data, "title"),
            provider=_str(data, "provider"),
            model=_str(data, "model"),
            thinking_level=_str(data, "thinkingLevel"),
            created_at=created_at,
            updated_at=updated_at,
            message_count=_int(data, "messageCount", 0),
            cwd=_opt_str(data, "cwd"),
            open_router_provider=_opt_str(data, "openRouterProvider"),
        )


def _opt_mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None or isinstance(value, Mapping):
        return value
    raise RecordFormatError(f"{key!r} must be an object")


@attrs.frozen
class ToolCall:
    """A tool call the model asked for; ``arguments`` is the JSON text exactly as produced.

    ``provider_data`` is a provider's opaque state for this call (a Gemini thought signature),
    stored as given and handed back on resume.
    """

    id: str
    name: str
    arguments: str
    provider_data: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "name": self.name, "arguments": self.arguments}
        _put(out, "provider_data", self.provider_data)
        return out

    @classmethod
    def from_dict(cls, data: object) -> ToolCall:
        if not isinstance(data, Mapping):
            raise RecordFormatError("a tool call must be an object")
        arguments = data.get("arguments", "")
        if not isinstance(arguments, str):  # tolerate a decoded object written by another tool
            arguments = json.dumps(arguments, ensure_ascii=False)
        return cls(
            id=_str(data, "id"),
            name=_str(data, "name"),
            arguments=arguments,
            provider_data=_opt_mapping(data, "provider_data"),
        )


def _image_tuple(images: Iterable[Mapping[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    return tuple(images)


def _call_tuple(calls: Iterable[ToolCall]) -> tuple[ToolCall, ...]:
    return tuple(calls)


@attrs.frozen
class Message:
    """One conversation message. ``index`` is assigned by ``Journal.append``.

    ``images`` are opaque objects (the reference's ``{path, mimeType, dataUrl, byteSize}``);
    ``tool_calls`` sit on assistant messages and ``tool_call_id`` on the ``tool`` result.
    """

    TYPE: ClassVar[str] = "message"

    role: Role
    text: str
    images: tuple[Mapping[str, Any], ...] = attrs.field(default=(), converter=_image_tuple)
    tool_calls: tuple[ToolCall, ...] = attrs.field(default=(), converter=_call_tuple)
    tool_call_id: str | None = None
    turn_id: str | None = None
    index: int = -1
    #: A provider's opaque state for this message (OpenAI reasoning items), stored as given.
    provider_data: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.TYPE,
            "index": self.index,
            "role": self.role,
            "text": self.text,
        }
        if self.images:
            out["images"] = [dict(image) for image in self.images]
        if self.tool_calls:
            out["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        _put(out, "tool_call_id", self.tool_call_id)
        _put(out, "turn_id", self.turn_id)
        _put(out, "provider_data", self.provider_data)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        role = data.get("role")
        if role not in ROLES:
            raise RecordFormatError(f"'role' must be one of {', '.join(ROLES)}")
        images = data.get("images") or ()
        if images and (
            not isinstance(images, list) or not all(isinstance(i, dict) for i in images)
        ):
            raise RecordFormatError("'images' must be a list of objects")
        calls = data.get("tool_calls") or ()
        if calls and not isinstance(calls, list):
            raise RecordFormatError("'tool_calls' must be a list")
        return cls(
            role=role,
            text=_str(data, "text"),
            images=images,
            tool_calls=[ToolCall.from_dict(call) for call in calls] if calls else (),
            tool_call_id=_opt_str(data, "tool_call_id"),
            turn_id=_opt_str(data, "turn_id"),
            index=_int(data, "index", -1),
            provider_data=_opt_mapping(data, "provider_data"),
        )


@attrs.frozen
class TurnStart:
    """A turn began at ``at``; messages until its end belong to it."""

    TYPE: ClassVar[str] = "turn_start"

    turn_id: str
    at: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.TYPE, "turn_id": self.turn_id, "at": self.at}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TurnStart:
        return cls(turn_id=_str(data, "turn_id"), at=_str(data, "at"))


@attrs.frozen
class TurnEnd:
    """A turn ended; messages of an ``error`` turn stay on disk but leave the model context."""

    TYPE: ClassVar[str] = "turn_end"

    turn_id: str
    at: str
    status: TurnStatus
    error_kind: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": self.TYPE,
            "turn_id": self.turn_id,
            "at": self.at,
            "status": self.status,
        }
        _put(out, "error_kind", self.error_kind)
        _put(out, "message", self.message)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TurnEnd:
        status = data.get("status")
        if status not in TURN_STATUSES:
            raise RecordFormatError(f"'status' must be one of {', '.join(TURN_STATUSES)}")
        return cls(
            turn_id=_str(data, "turn_id"),
            at=_str(data, "at"),
            status=status,
            error_kind=_opt_str(data, "error_kind"),
            message=_opt_str(data, "message"),
        )


@attrs.frozen
class MetaUpdate:
    """Later changes to the summary fields; the reader applies the last value of each key."""

    TYPE: ClassVar[str] = "meta_update"

    updated_at: str
    title: str | None = None
    provider: str | None = None
    model: str | None = None
    thinking_level: str | None = None
    open_router_provider: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.TYPE}
        _put(out, "title", self.title)
        _put(out, "provider", self.provider)
        _put(out, "model", self.model)
        _put(out, "thinkingLevel", self.thinking_level)
        _put(out, "openRouterProvider", self.open_router_provider)
        out["updatedAt"] = self.updated_at
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetaUpdate:
        return cls(
            updated_at=_str(data, "updatedAt"),
            title=_opt_str(data, "title"),
            provider=_opt_str(data, "provider"),
            model=_opt_str(data, "model"),
            thinking_level=_opt_str(data, "thinkingLevel"),
            open_router_provider=_opt_str(data, "openRouterProvider"),
        )


@attrs.frozen
class QueuedPrompt:
    """A prompt accepted while the session was busy. It is written when it is accepted, so a
    crash cannot lose it; its turn later records it again as a ``message`` (turn ``id``).

    ``dropped``: the client removed it from the queue (``session.queue.remove``/``clear``), so
    a resumed session does not offer it again. Older readers ignore the extra key.
    """

    TYPE: ClassVar[str] = "queued_prompt"

    id: str
    text: str
    enqueued_at: str
    images: tuple[Mapping[str, Any], ...] = attrs.field(default=(), converter=_image_tuple)
    dropped: bool = False

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.TYPE, "id": self.id, "text": self.text}
        if self.images:
            out["images"] = [dict(i) for i in self.images]
        out["enqueuedAt"] = self.enqueued_at
        if self.dropped:
            out["dropped"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueuedPrompt:
        images = data.get("images") or ()
        if not isinstance(images, list | tuple):
            raise RecordFormatError("images must be a list")
        return cls(
            id=_str(data, "id"),
            text=_str(data, "text"),
            enqueued_at=_str(data, "enqueuedAt"),
            images=tuple(i for i in images if isinstance(i, dict)),
            dropped=data.get("dropped") is True,
        )


@attrs.frozen
class Compaction:
    """The context was compacted: from here on the model context starts from ``summary``.

    Appended like every record (the file is never rewritten): a reader keeps every message for
    the transcript and resumes the model context from the last compaction's summary plus the
    messages written after it.
    """

    TYPE: ClassVar[str] = "compaction"

    summary: str
    reason: str
    at: str
    turn_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.TYPE, "summary": self.summary, "reason": self.reason}
        _put(out, "turn_id", self.turn_id)
        out["at"] = self.at
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Compaction:
        return cls(
            summary=_str(data, "summary"),
            reason=_str(data, "reason"),
            at=_str(data, "at"),
            turn_id=_opt_str(data, "turn_id"),
        )


@attrs.frozen
class PartialText:
    """A batch of text the model streamed in a turn's current round, written while it streams.

    If the process dies mid-round, the turn's unfinished answer is these batches joined (the
    reader shows it as an assistant message); once the round's message is written they are
    superseded and ignored.
    """

    TYPE: ClassVar[str] = "partial_text"

    turn_id: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.TYPE, "turn_id": self.turn_id, "text": self.text}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartialText:
        return cls(turn_id=_str(data, "turn_id"), text=_str(data, "text"))


Record: TypeAlias = (
    SessionMeta
    | Message
    | TurnStart
    | TurnEnd
    | MetaUpdate
    | QueuedPrompt
    | Compaction
    | PartialText
)

_DECODERS: dict[str, Any] = {
    cls.TYPE: cls.from_dict
    for cls in (
        SessionMeta,
        Message,
        TurnStart,
        TurnEnd,
        MetaUpdate,
        QueuedPrompt,
        Compaction,
        PartialText,
    )
}


def record_from_dict(data: object) -> Record:
    """Decode one parsed JSON line; ``RecordFormatError`` when it is not a known record."""
    if not isinstance(data, dict):
        raise RecordFormatError("a record must be a JSON object")
    decoder = _DECODERS.get(data.get("type"))  # type: ignore[arg-type]
    if decoder is None:
        raise RecordFormatError(f"unknown record type {data.get('type')!r}")
    record: Record = decoder(data)
    return record


def encode_line(record: Record) -> bytes:
    """The record as one UTF-8 line ending in ``\\n``, compact like ``JSON.stringify``.

    A lone surrogate (possible in text that came through JSON) becomes its ``\\uXXXX`` escape,
    which is valid JSON and decodes back to the same string.
    """
    text = json.dumps(record.to_dict(), ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8", "backslashreplace")


def redact_record(record: Record) -> Record:
    """Scrub key-shaped strings from every free-text field before the record is written."""
    if isinstance(record, Message):
        text = redact(record.text)
        calls = tuple(attrs.evolve(c, arguments=redact(c.arguments)) for c in record.tool_calls)
        if text is record.text and calls == record.tool_calls:
            return record
        return attrs.evolve(record, text=text, tool_calls=calls)
    if isinstance(record, SessionMeta | MetaUpdate) and record.title is not None:
        return attrs.evolve(record, title=redact(record.title))
    if isinstance(record, Compaction):
        summary = redact(record.summary)
        return record if summary is record.summary else attrs.evolve(record, summary=summary)
    if isinstance(record, TurnEnd) and record.message is not None:
        return attrs.evolve(record, message=redact(record.message))
    if isinstance(record, QueuedPrompt | PartialText):
        return attrs.evolve(record, text=redact(record.text))
    return record
