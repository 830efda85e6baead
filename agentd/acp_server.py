"""``agentd acp``: the process that serves the Agent Client Protocol on stdin/stdout.

The same core as ``agentd serve`` (``build_manager``: providers, tools, history), behind the ACP
front door (``agentd.acp``) on the same connection code, with NDJSON framing forced (ACP is one
JSON object per line). As with ``serve``, ``initialize`` is answered before the core is loaded:
the session methods are trampolines that load it on first use, and it is loaded right after the
first answer anyway. stdin EOF or a signal ends the process: running turns are interrupted,
history is flushed and it exits promptly. The ACP modules are imported here only, so
``agentd serve`` never pays for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import TYPE_CHECKING, Any

from agentd.acp.handshake import SESSION_METHODS, Handshake
from agentd.config import Settings
from agentd.rpc.connection import Connection, Handler
from agentd.rpc.sink import open_sink
from agentd.rpc.source import open_source
from agentd.server import (
    FLUSH_TIMEOUT_S,
    TURN_STOP_TIMEOUT_S,
    build_manager,
    end_tool_processes,
    load_providers,
    prepare_process,
    run_loop,
)

if TYPE_CHECKING:
    from agentd.core.manager import SessionManager

log = logging.getLogger("agentd.acp")
_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class AcpServer:
    """One ``agentd acp`` process: the connection, and the core once it is needed."""

    def __init__(self, settings: Settings, connection: Connection) -> None:
        self.settings = settings
        self.connection = connection
        self.manager: SessionManager | None = None
        handshake = self.handshake = Handshake()
        connection.register("initialize", handshake.initialize)
        connection.register("authenticate", handshake.authenticate)
        for name in SESSION_METHODS:
            connection.register(name, self._trampoline(name))
        connection.after_first_response = self._schedule_core_load

    def load_core(self) -> SessionManager:
        """Build the core and install the session methods over the trampolines (once)."""
        if self.manager is None:
            from agentd.acp.agent import AcpAgent
            from agentd.core.events import EventBus

            settings, connection = self.settings, self.connection
            bus = EventBus()
            self.manager = build_manager(settings, bus, load_providers(settings))
            handshake = self.handshake
            AcpAgent(
                connection,
                self.manager,
                settings.approval_timeout_s,
                lambda: handshake.client_capabilities,
            ).install()
            # back-pressure reaches the provider: turns pause while stdout is backed up
            connection.outbox.on_pressure = lambda paused: bus.flow.set_open(not paused)
        return self.manager

    def _trampoline(self, name: str) -> Handler:
        async def load_then_call(raw: Any) -> Any:
            self.load_core()  # synchronous: requests keep their arrival order
            return await self.connection.methods[name](raw)

        return load_then_call

    def _schedule_core_load(self) -> None:
        asyncio.get_running_loop().call_soon(self.load_core)

    async def run(self) -> int:
        """Serve until stdin ends or a signal arrives; then stop turns and flush."""
        connection = self.connection
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in _SIGNALS:
            loop.add_signal_handler(signum, stop.set)
        serving = loop.create_task(connection.serve(), name="agentd-acp-serve")
        stopping = loop.create_task(stop.wait(), name="agentd-acp-stop")
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if self.manager is not None:
            await self.manager.shutdown(TURN_STOP_TIMEOUT_S)
        stopping.cancel()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await connection.cancel_inflight()
        await connection.outbox.aclose(FLUSH_TIMEOUT_S)
        for signum in _SIGNALS:
            loop.remove_signal_handler(signum)
        end_tool_processes()
        return 0


async def run_acp(settings: Settings, in_fd: int, out_fd: int) -> int:
    """Serve ACP on the given descriptors until stdin ends or a signal arrives."""
    reader = await open_source(in_fd)
    sink = await open_sink(out_fd)
    connection = Connection(
        reader, sink, framing="ndjson", max_message_size=settings.max_message_size
    )
    # ACP's name and shape for "the request with this id is no longer wanted"
    # (``CancelRequestNotification`` in its schema)
    connection.cancel_notice = lambda id_: ("$/cancel_request", {"requestId": id_})
    return await AcpServer(settings, connection).run()


def serve_acp(settings: Settings) -> int:
    """Run ``agentd acp`` on this process's stdin/stdout; returns the exit code."""
    in_fd, out_fd = prepare_process(settings)
    return run_loop(run_acp(settings, in_fd, out_fd))
