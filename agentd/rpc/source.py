"""Where inbound bytes come from: an asyncio pipe reader, or a thread for regular files.

asyncio's read pipes need a pollable descriptor: pipes, sockets and terminals. ``agentd <
requests.txt`` gives a regular file and ``agentd < /dev/null`` a device that epoll refuses; both
are read in a daemon thread instead.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading

READ_SIZE = 1 << 16


def pollable(fd: int) -> bool:
    """Pipes, sockets and terminals: what asyncio's read pipes accept."""
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)


async def open_intake(fd: int, protocol: asyncio.Protocol) -> None:
    """Read the pollable ``fd`` (owned by the transport from now on) with ``protocol``: each
    read is handed to it in one callback, without waking a task."""
    pipe = os.fdopen(fd, "rb", buffering=0)
    await asyncio.get_running_loop().connect_read_pipe(lambda: protocol, pipe)


async def open_source(fd: int) -> asyncio.StreamReader:
    """A ``StreamReader`` over ``fd`` (owned by the reader from now on)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_SIZE * 4, loop=loop)
    if not pollable(fd):
        # regular files and devices such as /dev/null cannot be polled: read them in a thread
        _start_file_thread(fd, reader, loop)
        return reader
    pipe = os.fdopen(fd, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), pipe)
    return reader


def _start_file_thread(
    fd: int, reader: asyncio.StreamReader, loop: asyncio.AbstractEventLoop
) -> None:
    def pump() -> None:
        try:
            while True:
                data = os.read(fd, READ_SIZE)
                if not data:
                    break
                loop.call_soon_threadsafe(reader.feed_data, data)
        except OSError:
            pass
        finally:
            loop.call_soon_threadsafe(reader.feed_eof)

    threading.Thread(target=pump, name="agentd-stdin", daemon=True).start()
