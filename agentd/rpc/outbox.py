"""The bounded, non-blocking outbound queue.

Goals: a write never stalls the event loop; a client that stops reading cannot make agentd's memory
grow without bound; no message is dropped. When stdout is writable, a message is encoded and handed
to the transport at once (the fast path). When the transport is backed up, messages wait here in
order, and an event that the codec says may merge (a stream chunk of the same turn, for the
session API) is merged into the queued event right before it, so streaming turns add no entries
while the client is slow. The outbox knows no payload shapes: the ``EventCodec`` given by the
front door decides what merges, what a queued event weighs and how to encode one fast. Nothing
is dropped. While the backlog is over the hard limit, the connection stops reading stdin, which
pushes the back-pressure to the client instead of buffering its requests.

Snapshot events (the codec's ``superseding`` types: ``state.changed`` for the session API) are
superseded rather than piled up: while one is still unwritten (in this loop step's batch, or
queued behind a slow reader) and no other event has been sent after it, a later one of the same
type takes its place, payload and timestamp. Responses may lie between them; other events may
not, so events keep their order. A client that reads as fast as agentd writes sees every one;
n pipelined ``session.create`` cost one snapshot per write instead of n snapshots of growing size.

Event ``seq`` numbers are given when an event is encoded (or, for a snapshot waiting in the
batch, when it takes its place there), so merged and superseded events leave no gaps.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Hashable
from typing import Any, Protocol

from agentd import memory
from agentd.rpc.sink import HIGH_WATER, ByteSink
from agentd.wire import dumps, encode_lsp, encode_ndjson

log = logging.getLogger("agentd.rpc")

BATCH_BYTES = 256 * 1024
#: Queued bytes above which streaming turns are paused (the hard limit stops reading stdin).
PAUSE_BYTES = 4 * 1024 * 1024


class EventMerger(Protocol):
    """Consecutive mergeable events, combined; ``size`` is their share of the byte budget."""

    size: int

    def add(self, payload: dict[str, Any]) -> None: ...

    def payload(self) -> dict[str, Any]: ...


class EventCodec(Protocol):
    """What the outbox asks of whoever owns the event payloads (the API's projection)."""

    def merge_key(self, type_: str, payload: dict[str, Any]) -> Hashable | None:
        """Events with equal non-``None`` keys may merge while queued; ``None``: never."""
        ...

    def merger(self, payload: dict[str, Any]) -> EventMerger: ...

    def size(self, type_: str, payload: dict[str, Any]) -> int: ...

    def body(self, type_: str, timestamp: str, payload: dict[str, Any], seq: int) -> bytes | None:
        """A fast-path encoding of the whole message, or ``None`` for the generic encoder."""
        ...

    @property
    def superseding(self) -> frozenset[str]:
        """Event types whose unwritten event a later one of the same type replaces (snapshots),
        as long as no other event was sent in between."""
        ...


class PlainEvents:
    """The codec for payloads nobody describes: nothing merges, everything is kept."""

    superseding: frozenset[str] = frozenset()

    @staticmethod
    def merge_key(type_: str, payload: dict[str, Any]) -> Hashable | None:
        return None

    @staticmethod
    def merger(payload: dict[str, Any]) -> EventMerger:  # pragma: no cover - never merges
        raise NotImplementedError

    @staticmethod
    def size(type_: str, payload: dict[str, Any]) -> int:
        return 512

    @staticmethod
    def body(type_: str, timestamp: str, payload: dict[str, Any], seq: int) -> bytes | None:
        return None


class _QueuedEvent:
    __slots__ = ("key", "merger", "payload", "queued", "seq", "size", "timestamp", "type")

    def __init__(
        self, type_: str, timestamp: str, payload: dict[str, Any], size: int, key: Hashable | None
    ) -> None:
        self.type = type_
        self.timestamp = timestamp
        self.payload = payload
        self.size = size
        self.key = key
        self.merger: EventMerger | None = None
        #: In the back-pressure queue (its ``size`` counts), else waiting in the batch.
        self.queued = True
        #: Given when it took its place in the batch; 0: given when it is encoded.
        self.seq = 0


class Outbox:
    """Orders, encodes and writes outbound messages; see the module docstring."""

    def __init__(
        self,
        sink: ByteSink,
        frame: Callable[[bytes], bytes],
        *,
        hard_limit: int = 32 * 1024 * 1024,
        codec: EventCodec | None = None,
    ) -> None:
        self._sink = sink
        self.codec: EventCodec = codec or PlainEvents()
        self._superseding = self.codec.superseding
        self.frame = frame
        self._queue: collections.deque[bytes | _QueuedEvent] = collections.deque()
        self._queued_bytes = 0
        self._hard_limit = hard_limit
        self._seq = 0
        self._flusher: asyncio.Task[None] | None = None
        self._relieved = asyncio.Event()
        self._relieved.set()
        #: Backlog above which producers are asked to pause (``on_pressure(True)``).
        self.pause_limit = min(PAUSE_BYTES, hard_limit)
        self._paused = False
        #: Told when the backlog crosses ``pause_limit`` (the server closes the core's gate).
        self.on_pressure: Callable[[bool], None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        #: Frames written in this loop iteration; flushed together (one syscall, not one each).
        self._batch: list[bytes] = []
        #: Snapshot events waiting unencoded in the batch (at these places, empty there), as
        #: long as a later one may supersede them.
        self._waiting: list[tuple[int, _QueuedEvent]] = []
        #: The unwritten snapshot event a later one of its type would supersede.
        self._supersedable: _QueuedEvent | None = None
        #: The sink's vectored write, where it has one (pipes; tests' sinks may not).
        self._writelines: Callable[[list[bytes]], None] | None = getattr(sink, "writelines", None)
        #: Set while the connection handles a read: it calls ``write_batch`` when done, so the
        #: batch needs no ``call_soon`` of its own.
        self.holding = False

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
        pending = self._supersedable
        if pending is not None:
            if pending.type == type_:
                self._supersede(pending, timestamp, payload)
                return
            self._supersedable = None  # another event comes after it: it must stay as it is
        snapshot = type_ in self._superseding
        if not self._queue and not self._backed_up():
            if not snapshot:
                self._write_soon(self._encode_event(type_, timestamp, payload))
                return
            item = _QueuedEvent(type_, timestamp, payload, 0, None)
            item.queued = False
            self._seq += 1
            item.seq = self._seq
            self._supersedable = item
            self._waiting.append((len(self._batch), item))
            self._write_soon(b"")  # its place in the batch; encoded when the batch is written
            return
        codec = self.codec
        key = codec.merge_key(type_, payload)
        if key is not None and self._queue:
            last = self._queue[-1]
            if isinstance(last, _QueuedEvent) and last.type == type_ and last.key == key:
                if last.merger is None:
                    last.merger = codec.merger(last.payload)
                before = last.merger.size
                last.merger.add(payload)
                last.size += last.merger.size - before
                self._queued_bytes += last.merger.size - before
                self._update_relief()
                return
        size = codec.size(type_, payload)
        item = _QueuedEvent(type_, timestamp, payload, size, key)
        if snapshot:
            self._supersedable = item
        self._push(item, size)

    def _supersede(self, item: _QueuedEvent, timestamp: str, payload: dict[str, Any]) -> None:
        """``item``, not written yet, now stands for a later event of its type."""
        if item.queued:
            size = self.codec.size(item.type, payload)
            self._queued_bytes += size - item.size
            item.size = size
            self._update_relief()
        item.timestamp = timestamp
        item.payload = payload

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

    def write_batch(self) -> None:
        """Write the frames produced so far in this loop step now (else at its end)."""
        self._flush_batch()

    def _write_soon(self, frame: bytes) -> None:
        if not self._batch and not self.holding:
            asyncio.get_running_loop().call_soon(self._flush_batch)
        self._batch.append(frame)

    def _flush_batch(self) -> None:
        batch = self._batch
        if self._waiting:
            self._flush_with_snapshot()
        elif batch:
            data = b"".join(batch) if len(batch) > 1 else batch[0]
            batch.clear()
            self._sink.write(data)

    def _flush_with_snapshot(self) -> None:
        """Write the batch with the snapshot event waiting in it encoded in its place."""
        batch, waiting = self._batch, self._waiting
        pending = self._supersedable
        if pending is not None and not pending.queued:
            self._supersedable = None  # written now: nothing supersedes it any more
        frames: list[bytes] = []
        start = 0
        for index, item in waiting:
            frames += batch[start:index]
            frames += self._encode_waiting(item)
            start = index + 1
        frames += batch[start:]
        waiting.clear()
        batch.clear()
        if self._writelines is not None and len(frames) <= 64:
            # a snapshot lists every session (~39 KB at 1,000): handed over in pieces, one
            # vectored write, instead of copied twice more (framed, then joined)
            self._writelines(frames)
        else:
            self._sink.write(b"".join(frames))

    def _encode_waiting(self, item: _QueuedEvent) -> tuple[bytes, bytes]:
        """A snapshot event that waited in the batch, with the ``seq`` it was given there: its
        frame's head and body, or body and end, not joined."""
        body = self.codec.body(item.type, item.timestamp, item.payload, item.seq)
        if body is None:
            return self._encode_event(item.type, item.timestamp, item.payload, item.seq), b""
        if self.frame is encode_lsp:
            return b"Content-Length: %d\r\n\r\n" % len(body), body
        if self.frame is encode_ndjson:
            return body, b"\n"
        return self.frame(body), b""  # pragma: no cover - the two framings above are all

    def _backed_up(self) -> bool:
        return self._sink.buffered() >= HIGH_WATER

    def _encode_event(
        self, type_: str, timestamp: str, payload: dict[str, Any], seq: int = 0
    ) -> bytes:
        if not seq:
            self._seq += 1
            seq = self._seq
        body = self.codec.body(type_, timestamp, payload, seq)
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
                        "seq": seq,
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
        paused = self._queued_bytes > self.pause_limit
        if paused != self._paused:
            self._paused = paused
            if self.on_pressure is not None:
                self.on_pressure(paused)

    async def _flush_queue(self) -> None:
        self._flush_batch()  # frames from before the back-up go first
        written = 0
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
                        if item is self._supersedable:
                            self._supersedable = None
                        self._queued_bytes -= item.size
                        payload = item.payload if item.merger is None else item.merger.payload()
                        data = self._encode_event(item.type, item.timestamp, payload)
                    else:
                        self._queued_bytes -= len(item)
                        data = item
                    batch.append(data)
                    batch_bytes += len(data)
                self._sink.write(b"".join(batch))
                written += batch_bytes
                self._update_relief()
        except Exception:  # pragma: no cover - a bug here must not kill the daemon silently
            log.exception("outbound writer failed")
        finally:
            self._queued_bytes = max(self._queued_bytes, 0)
            self._update_relief()
            if not self._queue:
                self._idle.set()
            memory.note_freed(written)  # the backlog's pieces and frames are gone
