"""The pre-encoded session ids of ``state.changed`` snapshots (issue 12: n creates in O(n))."""

from __future__ import annotations

import json
import uuid
from typing import Any

from agentd.api.chunks import ReferenceEventCodec
from agentd.api.state import _IdsCache
from agentd.wire import dumps


def generic(type_: str, timestamp: str, payload: dict[str, Any], seq: int) -> bytes:
    params = {"type": type_, "timestamp": timestamp, "payload": payload, "seq": seq}
    return dumps({"jsonrpc": "2.0", "method": "event", "params": params})


def test_ids_are_extended_and_rebuilt_after_a_removal() -> None:
    cache = _IdsCache()
    sessions: dict[str, Any] = {}
    assert cache.ids(sessions) == [] and cache.ids(sessions).json == b"[]"
    for step in range(5):
        for _ in range(step):
            sessions[str(uuid.uuid4())] = None
        ids = cache.ids(sessions)
        assert ids == list(sessions) and json.loads(ids.json) == list(sessions)
    del sessions[next(iter(sessions))]  # a failed resume removes its entry
    sessions["x"] = None
    ids = cache.ids(sessions)
    assert ids == list(sessions) and json.loads(ids.json) == list(sessions)
    other: dict[str, Any] = {"y": None}
    assert cache.ids(other).json == b'["y"]'


def test_state_changed_is_the_generic_encoding_byte_for_byte() -> None:
    cache = _IdsCache()
    sessions = {str(uuid.uuid4()): None for _ in range(3)}
    hostile = 'quote " and "ids":1461501637330902918203684832716283019655932542983 \u2028 \ud800'
    payload = {
        "reason": "session_created",
        "session_id": "s",
        "snapshot": {
            "model": {"selectedModel": hostile},
            "sessions": {"count": 3, "ids": cache.ids(sessions)},
            "skills": {"count": 0, "directories": []},
        },
    }
    fast = ReferenceEventCodec().body("state.changed", "2026-01-01T00:00:00Z", payload, 7)
    assert fast == generic("state.changed", "2026-01-01T00:00:00Z", payload, 7)
    plain = {"reason": "x", "snapshot": {"sessions": {"count": 0, "ids": []}}}
    assert ReferenceEventCodec().body("state.changed", "t", plain, 1) is None
