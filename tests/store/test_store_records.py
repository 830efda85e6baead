"""Record encoding and redaction."""

from __future__ import annotations

import json

import pytest

from agentd.store import (
    Message,
    MetaUpdate,
    Record,
    SessionMeta,
    ToolCall,
    TurnEnd,
    TurnStart,
    encode_line,
    record_from_dict,
    redact,
)
from agentd.store.records import RecordFormatError

RECORDS: list[Record] = [
    SessionMeta(
        "id1", "t", "openai", "m", "OFF", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"
    ),
    SessionMeta(
        "id2", "t", "openrouter", "m", "LOW", "c", "u", 3, cwd="/w", open_router_provider="any"
    ),
    Message("user", "hi", images=[{"path": "p", "byteSize": 1}], turn_id="t1", index=0),
    Message("assistant", "", tool_calls=[ToolCall("c1", "bash", "{}")], index=1),
    Message("tool", "out", tool_call_id="c1", index=2),
    TurnStart("t1", "2026-01-01T00:00:00.000Z"),
    TurnEnd("t1", "2026-01-01T00:00:00.000Z", "error", error_kind="auth", message="no key"),
    TurnEnd("t2", "2026-01-01T00:00:00.000Z", "interrupted"),
    MetaUpdate(
        "2026-01-01T00:00:00.000Z", title="x", provider="p", model="m", thinking_level="HIGH"
    ),
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_round_trip(record: Record) -> None:
    line = encode_line(record)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert record_from_dict(json.loads(line)) == record


def test_optional_keys_are_omitted() -> None:
    assert json.loads(encode_line(Message("user", "hi", index=0))) == {
        "type": "message",
        "index": 0,
        "role": "user",
        "text": "hi",
    }
    assert list(json.loads(encode_line(RECORDS[1]))) == [
        "type",
        "id",
        "title",
        "provider",
        "model",
        "thinkingLevel",
        "openRouterProvider",
        "createdAt",
        "updatedAt",
        "messageCount",
        "cwd",
    ]


def test_lone_surrogates_and_separators_stay_on_one_line() -> None:
    text = "a\ud800b\u2028c\u2029d\ne"
    line = encode_line(Message("user", text, index=0))
    assert line.count(b"\n") == 1
    decoded = record_from_dict(json.loads(line))
    assert isinstance(decoded, Message) and decoded.text == text


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"type": "nope"},
        {"type": "message", "role": "system", "text": "x"},
        {"type": "message", "role": "user", "text": 5},
        {"type": "message", "role": "user", "text": "x", "index": True},
        {"type": "message", "role": "user", "text": "x", "images": ["a"]},
        {"type": "message", "role": "user", "text": "x", "tool_calls": [1]},
        {
            "type": "session_meta",
            "id": " ",
            "title": "",
            "provider": "",
            "model": "",
            "thinkingLevel": "",
            "createdAt": "",
        },
        {"type": "turn_end", "turn_id": "t", "at": "x", "status": "done"},
        {"type": "meta_update"},
    ],
)
def test_invalid_records_are_rejected(data: object) -> None:
    with pytest.raises(RecordFormatError):
        record_from_dict(data)


def test_tool_call_arguments_object_is_tolerated() -> None:
    call = ToolCall.from_dict({"id": "c", "name": "n", "arguments": {"a": 1}})
    assert json.loads(call.arguments) == {"a": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-" + "a" * 48, "key sk-[REDACTED]"),
        ("sk-proj-abc_DEF-123456789012345678", "sk-[REDACTED]"),
        ("sk-or-v1-" + "0f" * 32, "sk-or-[REDACTED]"),
        ("Authorization: Bearer eyJhbGciOi.J9abc-def", "Authorization: Bearer [REDACTED]"),
        ("k=AIza" + "B" * 35, "k=AIza[REDACTED]"),
        ("line1\nsk-" + "x" * 30 + " tail", "line1\nsk-[REDACTED] tail"),
    ],
)
def test_redact_scrubs_keys(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "pip install scikit-learn sk-learn",
        "risk-assessment-of-the-whole-thing-here",
        "data:image/png;base64,QUJDAIza" + "C" * 35,
        "AIza" + "D" * 36,
        "the Bearer of bad news",
        "task-0123456789012345678901234",
    ],
)
def test_redact_leaves_ordinary_text(text: str) -> None:
    assert redact(text) == text
