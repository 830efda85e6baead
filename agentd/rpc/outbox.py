"""The bounded, non-blocking outbound queue.

Goals: a write never stalls the event loop; a client that stops reading cannot make agentd's memory
grow without bound; no message is dropped. When stdout is writable, a message is encoded and handed
to the transport at once (the fast path). When the transport is backed up, messages wait here in
order, and a ``session.stream.chunk`` event is merged into a queued chunk event of the same turn
right before it, so streaming turns add no entries while the client is slow. Everything else is
kept. While the backlog is over the hard limit, the connection stops reading stdin, which pushes
the back-pressure to the client instead of buffering its requests.

Event ``seq`` numbers are given when an event is encoded, so merged events leave no gaps.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from agentd.rpc.sink import HIGH_WATER, ByteSink
from agentd.wire import dumps

log = logging.getLogger("agentd.rpc")

CHUNK_EVENT = "session.stream.chunk"
BATCH_BYTES = 256 * 1024


_CHUNK_HEAD = (
    b'{"jsonrpc":"2.0","method":"event","params":{"type":"session.stream.chunk","timestamp":'
)


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


class _QueuedEvent:
    __slots__ = ("payload", "size", "timestamp", "type")

    def __init__(self, type_: str, timestamp: str, payload: dict[str, Any], size: int) -> None:
        self.type = type_
        self.timestamp = timestamp
        self.payload = payload
        self.size = size


def _chunk_size(payload: dict[str, Any]) -> int:
    chunk = payload.get("chunk") or {}
    return 160 + 2 * len(chunk.get("answerText", "")) + 2 * sum(map(len, chunk.get("thoughts", ())))


def merge_chunks(into: dict[str, Any], more: dict[str, Any]) -> None:
    """Append chunk payload ``more`` to ``into`` (same session and turn): nothing is lost."""
    a, b = into["chunk"], more["chunk"]
    a["answerText"] = a.get("answerText", "") + b.get("answerText", "")
    # ``thoughts`` holds the reasoning so far (as the reference), so the later one wins
    a["thoughts"] = b.get("thoughts") or a.get("thoughts", [])
    segments: list[dict[str, str]] = list(a.get("segments", ()))
    for seg in b.get("segments", ()):
        if segments and segments[-1]["kind"] == seg["kind"]:
            segments[-1] = {"kind": seg["kind"], "text": segments[-1]["text"] + seg["text"]}
        else:
            segments.append(dict(seg))
    a["segments"] = segments


class Outbox:
    """Orders, encodes and writes outbound messages; see the module docstring."""

    def __init__(
        self,
        sink: ByteSink,
        frame: Callable[[bytes], bytes],
        *,
        hard_limit: int = 32 * 1024 * 1024,
    ) -> None:
        self._sink = sink
        self.frame = frame
        self._queue: collections.deque[bytes | _QueuedEvent] = collections.deque()
        self._queued_bytes = 0
        self._hard_limit = hard_limit
        self._seq = 0
        self._flusher: asyncio.Task[None] | None = None
        self._relieved = asyncio.Event()
        self._relieved.set()
        self._idle = asyncio.Event()
        self._idle.set()
        #: Frames written in this loop iteration; flushed together (one syscall, not one each).
        self._batch: list[bytes] = []
        self._chunks = ChunkEncoder()

    # -- producers -------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        """Queue a response, request or non-event notification."""
        body = self.frame(dumps(message))
        if not self._queue and not self._backed_up():
            self._write_soon(body)
            return
        self._push(body, len(body))

    def send_event(self, type_: str, timestamp: str, payload: dict[str, Any]) -> None:
        """Queue an ``event`` notification; its ``seq`` is assigned when it is encoded."""
        if not self._queue and not self._backed_up():
            self._write_soon(self._encode_event(type_, timestamp, payload))
            return
        if type_ == CHUNK_EVENT and self._queue:
            last = self._queue[-1]
            if (
                isinstance(last, _QueuedEvent)
                and last.type == CHUNK_EVENT
                and last.payload.get("session_id") == payload.get("session_id")
                and last.payload.get("turn_id") == payload.get("turn_id")
            ):
                before = last.size
                merge_chunks(last.payload, payload)
                last.size = _chunk_size(last.payload)
                self._queued_bytes += last.size - before
                self._update_relief()
                return
        size = _chunk_size(payload) if type_ == CHUNK_EVENT else 512
        self._push(_QueuedEvent(type_, timestamp, payload, size), size)

    # -- state -----------------------------------------------------------------------------

    @property
    def over_limit(self) -> bool:
        return self._queued_bytes > self._hard_limit

    async def wait_relieved(self) -> None:
        """Wait until the backlog is back under the hard limit (the reader pauses meanwhile)."""
        await self._relieved.wait()

    async def flush(self, timeout: float) -> None:
        """Wait (bounded) until everything queued has been handed to the sink."""
        self._flush_batch()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    async def aclose(self, timeout: float) -> None:
        await self.flush(timeout)
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self._sink.aclose(timeout)

    # -- internals -------------------------------------------------------------------------

    def _write_soon(self, frame: bytes) -> None:
        if not self._batch:
            asyncio.get_running_loop().call_soon(self._flush_batch)
        self._batch.append(frame)

    def _flush_batch(self) -> None:
        if self._batch:
            data = b"".join(self._batch) if len(self._batch) > 1 else self._batch[0]
            self._batch.clear()
            self._sink.write(data)

    def _backed_up(self) -> bool:
        return self._sink.buffered() >= HIGH_WATER

    def _encode_event(self, type_: str, timestamp: str, payload: dict[str, Any]) -> bytes:
        self._seq += 1
        if type_ == CHUNK_EVENT:
            body = self._chunks.body(timestamp, payload, self._seq)
            if body is not None:
                return self.frame(body)
        return self.frame(
            dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "event",
                    "params": {
                        "type": type_,
                        "timestamp": timestamp,
                        "payload": payload,
                        "seq": self._seq,
                    },
                }
            )
        )

    def _push(self, item: bytes | _QueuedEvent, size: int) -> None:
        self._queue.append(item)
        self._queued_bytes += size
        self._idle.clear()
        self._update_relief()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_queue())

    def _update_relief(self) -> None:
        if self.over_limit:
            self._relieved.clear()
        else:
            self._relieved.set()

    async def _flush_queue(self) -> None:
        self._flush_batch()  # frames from before the back-up go first
        try:
            while self._queue:
                await self._sink.drain()
                if self._sink.closed:
                    self._queue.clear()
                    self._queued_bytes = 0
                    break
                batch: list[bytes] = []
                batch_bytes = 0
                while self._queue and batch_bytes < BATCH_BYTES:
                    item = self._queue.popleft()
                    if isinstance(item, _QueuedEvent):
                        self._queued_bytes -= item.size
                        data = self._encode_event(item.type, item.timestamp, item.payload)
                    else:
                        self._queued_bytes -= len(item)
                        data = item
                    batch.append(data)
                    batch_bytes += len(data)
                self._sink.write(b"".join(batch))
                self._update_relief()
        except Exception:  # pragma: no cover - a bug here must not kill the daemon silently
            log.exception("outbound writer failed")
        finally:
            self._queued_bytes = max(self._queued_bytes, 0)
            self._update_relief()
            if not self._queue:
                self._idle.set()
