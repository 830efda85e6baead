"""The chunk-event fast path encodes exactly what the generic encoder does."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentd.api.chunks import ChunkEncoder, merge_chunks
from agentd.wire import dumps


def generic(timestamp: str, payload: dict[str, Any], seq: int) -> bytes:
    params = {
        "type": "session.stream.chunk",
        "timestamp": timestamp,
        "payload": payload,
        "seq": seq,
    }
    return dumps({"jsonrpc": "2.0", "method": "event", "params": params})


def answer(text: str, session_id: str = "s1", turn_id: str = "t1") -> dict[str, Any]:
    return {
        "session_id": session_id,
        "turn_id": turn_id,
        "chunk": {
            "thoughts": [],
            "answerText": text,
            "segments": [{"kind": "answer", "text": text}],
        },
    }


def answer_chunk_body(timestamp: str, payload: dict[str, Any], seq: int) -> bytes | None:
    return ChunkEncoder().body(timestamp, payload, seq)


ENCODER = ChunkEncoder()  # shared across examples: its caches must never serve stale parts


@given(
    st.text(),
    st.sampled_from(["s1", "s2", "sé"]),
    st.sampled_from(["t1", "t2"]),
    st.sampled_from(["2026-11-28T21:05:20.123Z", "2026-11-28T21:05:20.124Z"]),
    st.integers(min_value=1, max_value=2**40),
)
def test_fast_path_matches_the_generic_encoder(
    text: str, session_id: str, turn_id: str, timestamp: str, seq: int
) -> None:
    payload = answer(text, session_id, turn_id)
    fast = ENCODER.body(timestamp, payload, seq)
    assert fast is not None
    slow = generic(timestamp, payload, seq)
    assert fast == slow
    assert json.loads(fast) == json.loads(slow)


@pytest.mark.parametrize("text", ["line\u2028sep", 'quote " and \\', "\ud800 lone", "é中😀"])
def test_awkward_text(text: str) -> None:
    fast = answer_chunk_body("t", answer(text), 7)
    assert fast is not None
    assert json.loads(fast)["params"]["payload"]["chunk"]["answerText"] == text
    assert b"\xe2\x80\xa8" not in fast  # U+2028 never raw (NDJSON readers split on it)


def test_other_shapes_use_the_generic_encoder() -> None:
    thought = answer("x")
    thought["chunk"]["thoughts"] = ["so far"]
    assert answer_chunk_body("t", thought, 1) is None
    merged = answer("a")
    merge_chunks(merged, answer("b"))
    assert answer_chunk_body("t", merged, 1) is not None  # still one answer segment
    mixed = answer("a")
    mixed["chunk"]["segments"] = [{"kind": "thought", "text": "a"}]
    assert answer_chunk_body("t", mixed, 1) is None
