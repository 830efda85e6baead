"""What the method handlers work with: the core, the connection and the daemon's lifecycle."""

from __future__ import annotations

from typing import Any, Protocol

import attrs

from agentd.core.manager import SessionManager
from agentd.rpc.connection import Connection


class Lifecycle(Protocol):
    """The daemon's process lifecycle, as the API may drive it (implemented by the server)."""

    @property
    def shutdown_requested(self) -> bool: ...

    async def shutdown(self, reason: str, *, announce: bool) -> None: ...

    def exit(self) -> None: ...

    def watch_parent(self, pid: int) -> None: ...

    def state_snapshot(self) -> dict[str, Any]: ...


@attrs.define(eq=False)
class ApiContext:
    manager: SessionManager
    connection: Connection
    lifecycle: Lifecycle
    server_version: str
