"""A real HTTP/1.1 server on 127.0.0.1 that replays recorded-format transcripts.

stdlib asyncio streams only. It answers each request with the next queued ``Reply`` (chunked
transfer encoding for streams, as OpenAI sends them), records what it received, and notes when the
client closed the connection, which is how the tests see that an interrupt really hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections import deque
from pathlib import Path
from typing import Any, Literal

import attrs

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "providers" / "openai"
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests"}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@attrs.define
class Reply:
    """One scripted answer.

    ``after``: ``end`` finishes the body properly; ``reset`` sends a TCP RST after the body so
    far; ``close`` closes without the chunked terminator; ``stall`` sends nothing more and waits
    for the client to hang up.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = attrs.Factory(dict)
    content_type: str = "text/event-stream; charset=utf-8"
    #: Split the body into pieces of this many bytes (default: one piece per SSE event).
    chunk_size: int | None = None
    after: Literal["end", "reset", "close", "stall"] = "end"


@attrs.define
class Seen:
    """A request as the server received it, and when its connection was seen closed."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    connection: int
    closed_at: float | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def _pieces(body: bytes, size: int | None) -> list[bytes]:
    if size is not None:
        return [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    normal = body.replace(b"\r\n", b"\n")
    if normal != body:  # CRLF transcripts: split on the CRLF blank line
        parts = body.split(b"\r\n\r\n")
        return [p + b"\r\n\r\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    parts = body.split(b"\n\n")
    return [p + b"\n\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


class FakeServer:
    def __init__(self, api_key: str = "") -> None:
        self.api_key = api_key
        self.replies: deque[Reply] = deque()
        self.requests: list[Seen] = []
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/v1"

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            await self._server.wait_closed()

    async def wait_closed(self, seen: Seen, timeout: float = 5.0) -> float:
        """When the client hung up on ``seen``'s connection (monotonic seconds)."""
        deadline = time.monotonic() + timeout
        while seen.closed_at is None:
            assert time.monotonic() < deadline, "the client never closed the connection"
            await asyncio.sleep(0.005)
        return seen.closed_at

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        number = self.connections
        seen: Seen | None = None
        try:
            while True:
                seen = await self._read_request(reader, number)
                if seen is None:
                    return
                self.requests.append(seen)
                reply = self.replies.popleft() if self.replies else Reply(500, b"{}")
                if not await self._send(reply, reader, writer, seen):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if seen is not None and seen.closed_at is None:
                seen.closed_at = time.monotonic()
            writer.close()
            self._tasks.discard(task)

    async def _read_request(self, reader: asyncio.StreamReader, number: int) -> Seen | None:
        line = await reader.readline()
        if not line:
            return None
        method, path, _ = line.decode().split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Seen(method, path, headers, body, number)

    async def _send(
        self,
        reply: Reply,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        seen: Seen,
    ) -> bool:
        """Send ``reply``; return whether the connection stays usable for another request."""
        body = reply.body.replace(b"{API_KEY}", self.api_key.encode())
        head = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}",
            f"content-type: {reply.content_type}",
            *(f"{k}: {v}" for k, v in reply.headers.items()),
        ]
        streamed = reply.status < 400 and reply.content_type.startswith("text/event-stream")
        if not streamed:
            head.append(f"content-length: {len(body)}")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            await writer.drain()
            return True
        head.append("transfer-encoding: chunked")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        for piece in _pieces(body, reply.chunk_size):
            if piece:
                writer.write(b"%x\r\n%b\r\n" % (len(piece), piece))
                await writer.drain()
                await asyncio.sleep(0)
        if reply.after == "end":
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        if reply.after == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if reply.after == "close":
            return False
        # stall: send nothing more; note when the client hangs up (read returns EOF)
        with contextlib.suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(30):
                while await reader.read(1024):
                    pass
        seen.closed_at = time.monotonic()
        return False
