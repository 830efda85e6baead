"""Issue 10 item 3 (fixed on main; this proves it without timing): merging queued chunks keeps
the pieces and joins them once, when the merged event is encoded, so merging n chunks costs
O(total size), not O(n * size)."""

from __future__ import annotations

from agentd.api.chunks import ChunkMerger


def _chunk(text: str) -> dict[str, object]:
    return {
        "session_id": "s",
        "turn_id": "t",
        "chunk": {
            "thoughts": [],
            "answerText": text,
            "segments": [{"kind": "answer", "text": text}],
        },
    }


def test_merger_keeps_pieces_and_joins_once() -> None:
    pieces = [f"piece {n} " * 8 for n in range(10_000)]
    merger = ChunkMerger(_chunk(pieces[0]))
    for piece in pieces[1:]:
        merger.add(_chunk(piece))
    held = merger._answer
    assert len(held) == len(pieces)
    assert all(a is b for a, b in zip(held, pieces, strict=True))  # no copy, no re-join
    assert len(merger._segments) == 1 and len(merger._segments[0][1]) == len(pieces)
    text = "".join(pieces)
    payload = merger.payload()
    assert payload["chunk"]["answerText"] == text
    assert payload["chunk"]["segments"] == [{"kind": "answer", "text": text}]


def test_queued_chunks_share_the_turns_text_instead_of_copying_it() -> None:
    """Issue 10 item 13, "nothing is stored twice": the text a turn streams (which it keeps
    for its answer) and the chunk queued for a slow client are the same string objects, from
    the core event through the projection into the outbox's merger."""
    from agentd.api.projection import Projector
    from agentd.core.events import TextStreamed

    projector = Projector(lambda *_: None, lambda: {})
    texts = [f"delta {n} " * 50 for n in range(3)]
    payloads = [projector.project(TextStreamed("s", "t", text))[1] for text in texts]
    for text, payload in zip(texts, payloads, strict=True):
        assert payload["chunk"]["answerText"] is text
        assert payload["chunk"]["segments"][0]["text"] is text
    merger = ChunkMerger(payloads[0])
    for payload in payloads[1:]:
        merger.add(payload)
    assert all(a is b for a, b in zip(merger._answer, texts, strict=True))
    assert all(a is b for a, b in zip(merger._segments[0][1], texts, strict=True))
