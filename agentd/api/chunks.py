"""How the reference's ``session.stream.chunk`` events are encoded and merged.

The outbox (``agentd.rpc.outbox``) knows nothing of payloads; this codec tells it which events
may be merged while the client reads slowly (consecutive chunks of the same turn), how big a
queued one is, and how to encode the common answer-text chunk without the generic encoder.

Merging keeps the pieces and joins them once, when the merged event is finally encoded: a slow
reader behind a 100 MB answer costs linear time, not quadratic.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from agentd.api.state import EncodedIds
from agentd.wire import dumps

CHUNK_EVENT = "session.stream.chunk"
STATE_EVENT = "state.changed"
#: Stands in for the pre-encoded session ids while the rest of a snapshot is encoded: a bare
#: number after ``"ids":`` cannot occur inside an encoded string (its quotes are escaped).
_IDS_MARK = 2**160 + 7
_IDS_MARKED = b'"ids":%d' % _IDS_MARK
_CHUNK_HEAD = (
    b'{"jsonrpc":"2.0","method":"event","params":{"type":"session.stream.chunk","timestamp":'
)
#: Size charged for a queued event that is not a chunk (its encoded size is not known yet).
OTHER_EVENT_SIZE = 512


class ChunkEncoder:
    """Builds the body of a plain answer-text chunk event without the generic encoder.

    Chunk events are most of what agentd writes and their shape is fixed: the text is encoded
    once and spliced into both places it appears, and the encoded timestamp and session/turn ids
    are reused while they repeat (they do, for a whole streaming turn). Any other shape gives
    ``None`` and the caller uses the generic encoder; both decode to the same JSON.
    """

    def __init__(self) -> None:
        self._timestamp = ("", b"")
        self._ids: tuple[object, object, bytes] = (None, None, b"")

    def body(self, timestamp: str, payload: dict[str, Any], seq: int) -> bytes | None:
        chunk = payload.get("chunk")
        if len(payload) != 3 or not isinstance(chunk, dict) or len(chunk) != 3:
            return None
        if chunk["thoughts"]:
            return None
        segments = chunk["segments"]
        text = chunk["answerText"]
        if len(segments) != 1 or segments[0] != {"kind": "answer", "text": text}:
            return None
        if self._timestamp[0] != timestamp:
            self._timestamp = (timestamp, dumps(timestamp))
        session_id, turn_id = payload["session_id"], payload["turn_id"]
        if self._ids[0] != session_id or self._ids[1] != turn_id:
            ids = b"".join(
                (
                    b',"payload":{"session_id":',
                    dumps(session_id),
                    b',"turn_id":',
                    dumps(turn_id),
                    b',"chunk":{"thoughts":[],"answerText":',
                )
            )
            self._ids = (session_id, turn_id, ids)
        encoded = dumps(text)
        return b"".join(
            (
                _CHUNK_HEAD,
                self._timestamp[1],
                self._ids[2],
                encoded,
                b',"segments":[{"kind":"answer","text":',
                encoded,
                b'}]}},"seq":',
                str(seq).encode(),
                b"}}",
            )
        )


def chunk_size(payload: dict[str, Any]) -> int:
    """A queued chunk's share of the outbox's byte budget (text counted for both places)."""
    chunk = payload.get("chunk") or {}
    return 160 + 2 * len(chunk.get("answerText", "")) + 2 * sum(map(len, chunk.get("thoughts", ())))


def merge_chunks(into: dict[str, Any], more: dict[str, Any]) -> None:
    """Append chunk payload ``more`` to ``into`` (same session and turn): nothing is lost."""
    merger = ChunkMerger(into)
    merger.add(more)
    into["chunk"] = merger.payload()["chunk"]


class ChunkMerger:
    """Consecutive chunk payloads of one turn, kept as pieces until ``payload`` joins them."""

    __slots__ = ("_answer", "_base", "_segments", "_thoughts", "size")

    def __init__(self, first: dict[str, Any]) -> None:
        chunk = first["chunk"]
        self._base = first
        self._answer: list[str] = [chunk.get("answerText", "")]
        # ``thoughts`` holds the reasoning so far (as the reference), so the later one wins
        self._thoughts: list[str] = list(chunk.get("thoughts", ()))
        #: Runs of segments of one kind: (kind, pieces).
        self._segments: list[tuple[str, list[str]]] = []
        self._add_segments(chunk.get("segments", ()))
        self.size = chunk_size(first)

    def add(self, more: dict[str, Any]) -> None:
        chunk = more["chunk"]
        answer = chunk.get("answerText", "")
        self._answer.append(answer)
        thoughts = chunk.get("thoughts")
        if thoughts:
            self.size += 2 * (sum(map(len, thoughts)) - sum(map(len, self._thoughts)))
            self._thoughts = list(thoughts)
        self._add_segments(chunk.get("segments", ()))
        self.size += 2 * len(answer)

    def _add_segments(self, segments: Any) -> None:
        for seg in segments:
            if self._segments and self._segments[-1][0] == seg["kind"]:
                self._segments[-1][1].append(seg["text"])
            else:
                self._segments.append((seg["kind"], [seg["text"]]))

    def payload(self) -> dict[str, Any]:
        merged = dict(self._base)
        merged["chunk"] = {
            "thoughts": list(self._thoughts),
            "answerText": "".join(self._answer),
            "segments": [{"kind": kind, "text": "".join(texts)} for kind, texts in self._segments],
        }
        return merged


class ReferenceEventCodec:
    """The session API's answers to the outbox's questions about event payloads.

    ``state.changed`` snapshots supersede each other while unwritten (docs/protocol.md): each
    carries the whole state, so the latest is all a client that has not read yet needs, and n
    pipelined ``session.create`` then cost one id list, not n lists of growing length.
    """

    superseding: frozenset[str] = frozenset((STATE_EVENT,))

    def __init__(self) -> None:
        self._chunk_body = ChunkEncoder().body

    @staticmethod
    def merge_key(type_: str, payload: dict[str, Any]) -> Hashable | None:
        """Chunks of the same session and turn merge; nothing else ever does."""
        if type_ != CHUNK_EVENT:
            return None
        return (payload.get("session_id"), payload.get("turn_id"))

    @staticmethod
    def merger(payload: dict[str, Any]) -> ChunkMerger:
        return ChunkMerger(payload)

    @staticmethod
    def size(type_: str, payload: dict[str, Any]) -> int:
        if type_ == CHUNK_EVENT:
            return chunk_size(payload)
        if type_ == STATE_EVENT:  # its snapshot lists every session: ~39 KB at 1,000 sessions
            ids = (payload.get("snapshot") or {}).get("sessions", {}).get("ids")
            if isinstance(ids, EncodedIds):
                return OTHER_EVENT_SIZE + ids.size
        return OTHER_EVENT_SIZE

    def body(self, type_: str, timestamp: str, payload: dict[str, Any], seq: int) -> bytes | None:
        if type_ == CHUNK_EVENT:
            return self._chunk_body(timestamp, payload, seq)
        if type_ == STATE_EVENT:
            return state_body(timestamp, payload, seq)
        return None


def state_body(timestamp: str, payload: dict[str, Any], seq: int) -> bytes | None:
    """A ``state.changed`` event with its snapshot's session ids spliced in pre-encoded
    (``EncodedIds``), or ``None`` for the generic encoder; both decode to the same JSON."""
    snapshot = payload.get("snapshot")
    sessions = snapshot.get("sessions") if isinstance(snapshot, dict) else None
    ids = sessions.get("ids") if isinstance(sessions, dict) else None
    if not isinstance(ids, EncodedIds):
        return None
    assert isinstance(snapshot, dict) and isinstance(sessions, dict)
    marked = {**payload, "snapshot": {**snapshot, "sessions": {**sessions, "ids": _IDS_MARK}}}
    params = {"type": STATE_EVENT, "timestamp": timestamp, "payload": marked, "seq": seq}
    body = dumps({"jsonrpc": "2.0", "method": "event", "params": params})
    head, found, tail = body.partition(_IDS_MARKED)
    if not found:  # pragma: no cover - the mark is always there
        return None
    return ids.join_into(head + b'"ids":', tail)
