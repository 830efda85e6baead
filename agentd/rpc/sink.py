"""Where outbound bytes go: a non-blocking asyncio pipe transport, or a plain file.

The connection only needs four operations, so it does not care whether stdout is a pipe, a socket,
a terminal or a regular file (``agentd > log.txt``), which asyncio's pipe transport refuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from typing import Protocol

#: Bytes the transport may hold before writers wait (and chunk events start to merge).
HIGH_WATER = 1 << 20


class ByteSink(Protocol):
    def write(self, data: bytes) -> None: ...
    def buffered(self) -> int: ...
    async def drain(self) -> None: ...
    async def aclose(self, timeout: float) -> None: ...
    @property
    def closed(self) -> bool: ...


class _FlowControl(asyncio.Protocol):
    """Tracks pause/resume of a write transport so ``drain`` can wait without polling."""

    def __init__(self) -> None:
        self._resume = asyncio.Event()
        self._resume.set()
        self.lost = asyncio.Event()

    def pause_writing(self) -> None:
        self._resume.clear()

    def resume_writing(self) -> None:
        self._resume.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost.set()
        self._resume.set()

    async def wait_writable(self) -> None:
        await self._resume.wait()


class PipeSink:
    """Writes through an asyncio write transport: ``write`` never blocks the event loop."""

    def __init__(self, transport: asyncio.WriteTransport, flow: _FlowControl) -> None:
        self._transport = transport
        self._flow = flow

    def write(self, data: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, pieces: list[bytes]) -> None:
        """One vectored write on uvloop (no join); the standard loop joins them."""
        if not self._transport.is_closing():
            self._transport.writelines(pieces)

    def buffered(self) -> int:
        return self._transport.get_write_buffer_size()

    async def drain(self) -> None:
        await self._flow.wait_writable()

    @property
    def closed(self) -> bool:
        return self._flow.lost.is_set() or self._transport.is_closing()

    async def aclose(self, timeout: float) -> None:
        self._transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._flow.lost.wait(), timeout)


class FileSink:
    """Blocking writes to a regular file: they do not stall on a reader, so this is safe."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._closed = False

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self._closed:
            try:
                written = os.write(self._fd, view)
            except OSError:
                self._closed = True
                return
            view = view[written:]

    def buffered(self) -> int:
        return 0

    async def drain(self) -> None:
        return None

    @property
    def closed(self) -> bool:
        return self._closed

    async def aclose(self, timeout: float) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(OSError):
                os.close(self._fd)


async def open_sink(fd: int) -> ByteSink:
    """Wrap ``fd`` (owned by the sink from now on) in the right sink for its file type."""
    if stat.S_ISREG(os.fstat(fd).st_mode):
        return FileSink(fd)
    loop = asyncio.get_running_loop()
    flow = _FlowControl()
    pipe = os.fdopen(fd, "wb", buffering=0)
    transport, _ = await loop.connect_write_pipe(lambda: flow, pipe)
    transport.set_write_buffer_limits(high=HIGH_WATER)
    return PipeSink(transport, flow)
