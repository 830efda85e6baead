"""What the method handlers work with: the connection and the daemon (which owns the core)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from agentd.core.manager import SessionManager
    from agentd.rpc.connection import Connection


class Lifecycle(Protocol):
    """The daemon as the API may drive it (implemented by ``agentd.server.Daemon``)."""

    @property
    def shutdown_requested(self) -> bool: ...

    async def shutdown(self, reason: str, *, announce: bool) -> None: ...

    def exit(self) -> None: ...

    def watch_parent(self, pid: int) -> None: ...

    def state_snapshot(self) -> dict[str, Any]: ...

    def provider_names(self) -> list[str]: ...

    def core(self) -> SessionManager:
        """The session manager, loaded on first use (it is kept off the start-up path)."""
        ...


@attrs.define(eq=False)
class ApiContext:
    connection: Connection
    lifecycle: Lifecycle
    server_version: str

    @property
    def manager(self) -> SessionManager:
        return self.lifecycle.core()
