"""An in-memory ``ByteSink`` for the rpc tests: keeps every write; the backlog is the test's."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class ListSink:
    """A ByteSink that keeps every write. ``backlog`` is the bytes the client has not read yet
    (0: never backed up); clearing ``writable`` makes ``drain`` wait."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.backlog = 0
        self.writable = asyncio.Event()
        self.writable.set()

    def write(self, data: bytes) -> None:
        self.data += data

    def buffered(self) -> int:
        return self.backlog

    async def drain(self) -> None:
        await self.writable.wait()

    async def aclose(self, timeout: float) -> None:
        return None

    @property
    def closed(self) -> bool:
        return False

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in bytes(self.data).splitlines()]
