"""What the method handlers work with: the connection and the daemon (which owns the core)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agentd.core.manager import SessionManager
    from agentd.protocol.results import StateSnapshot
    from agentd.providers.registry import ProviderRegistry
    from agentd.rpc.connection import Connection


class Lifecycle(Protocol):
    """The daemon as the API may drive it (implemented by ``agentd.server.Daemon``)."""

    @property
    def shutdown_requested(self) -> bool: ...

    async def shutdown(self, reason: str, *, announce: bool) -> None: ...

    def exit(self) -> None: ...

    def watch_parent(self, pid: int) -> None: ...

    def state_snapshot(self) -> StateSnapshot: ...

    @property
    def providers(self) -> ProviderRegistry:
        """The provider registry (configuration is read on first use)."""
        ...

    def core(self) -> SessionManager:
        """The session manager, loaded on first use (it is kept off the start-up path)."""
        ...


class ApiContext:
    """Handed to each API module's ``register`` (a plain class: it is built at start-up)."""

    def __init__(self, connection: Connection, lifecycle: Lifecycle, server_version: str) -> None:
        self.connection = connection
        self.lifecycle = lifecycle
        self.server_version = server_version

    @property
    def manager(self) -> SessionManager:
        return self.lifecycle.core()
