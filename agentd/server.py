"""The daemon: wires stdio, the connection, the API and the core, and owns the process lifecycle.

stdin EOF, SIGTERM, SIGINT, the ``exit`` notification and the death of the ``processId`` given at
``initialize`` all lead to the same shutdown: running turns end as interrupted, the outbound queue
is flushed (bounded), and the process exits, within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Any

from agentd import __version__
from agentd.api import history as history_api
from agentd.api import session as session_api
from agentd.api import system as system_api
from agentd.api.context import ApiContext
from agentd.config import Settings
from agentd.core.events import EventBus
from agentd.core.manager import SessionManager
from agentd.core.recorder import HistoryWriter
from agentd.core.runtime import Runtime
from agentd.providers.scripted import ScriptedProvider
from agentd.rpc.connection import Connection
from agentd.rpc.sink import open_sink
from agentd.rpc.source import open_source
from agentd.tools.registry import default_registry

log = logging.getLogger("agentd")

#: Bound on waiting for interrupted turns at shutdown, and on flushing stdout.
TURN_STOP_TIMEOUT_S = 0.8
FLUSH_TIMEOUT_S = 1.0
PARENT_POLL_S = 1.0


def take_stdio() -> tuple[int, int]:
    """Serve from duplicates of fd 0/1; point fd 1 at stderr and fd 0 at /dev/null.

    A stray ``print`` from any library then lands on stderr instead of corrupting the protocol
    stream, and child processes cannot steal our stdin.
    """
    in_fd, out_fd = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return in_fd, out_fd


def build_runtime(settings: Settings, bus: EventBus) -> Runtime:
    providers: dict[str, Any] = {"scripted": ScriptedProvider(settings.script_dirs)}
    return Runtime(
        bus=bus,
        providers=providers,
        tools=default_registry(),
        default_provider="scripted",
        default_models={"scripted": "echo"},
        default_cwd=settings.cwd,
        history=HistoryWriter(settings.home, settings.fsync),
    )


class Daemon:
    """One agentd process serving one client over stdio."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bus = EventBus()
        self.manager = SessionManager(build_runtime(settings, self.bus))
        self._shutdown_done = False
        self._shutdown_lock = asyncio.Lock()
        self._exit = asyncio.Event()
        self.exit_code = 0
        self._shutdown_requested = False
        self._parent_watch: asyncio.Task[None] | None = None
        self._pidfd: int | None = None
        self._signal_tasks: set[asyncio.Task[None]] = set()

    # -- Lifecycle protocol (used by the API) ----------------------------------------------

    @property
    def shutdown_requested(self) -> bool:
        return self._shutdown_requested

    async def shutdown(self, reason: str, *, announce: bool) -> None:
        """Stop every turn and flush; idempotent. ``announce`` emits ``state.changed`` first."""
        self._shutdown_requested = True
        async with self._shutdown_lock:
            if self._shutdown_done:
                return
            self._shutdown_done = True
            if announce:
                self.bus.emit(
                    "state.changed", {"reason": reason, "snapshot": self.state_snapshot()}
                )
            await self.manager.shutdown(TURN_STOP_TIMEOUT_S)

    def exit(self) -> None:
        self.exit_code = 0 if self._shutdown_requested else 1
        self._exit.set()

    def watch_parent(self, pid: int) -> None:
        if self._parent_watch is not None or self._pidfd is not None:
            return
        loop = asyncio.get_running_loop()
        try:
            self._pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._parent_gone()
            return
        except (AttributeError, OSError):
            self._parent_watch = loop.create_task(self._poll_parent(pid))
            return
        loop.add_reader(self._pidfd, self._parent_gone)

    def state_snapshot(self) -> dict[str, Any]:
        runtime = self.manager.runtime
        return {
            "auth": {
                "enabledProviders": sorted(runtime.providers),
                "hasOpenAiToken": False,
                "hasOpenRouterKey": self.settings.openrouter_api_key is not None,
                "hasAntigravityToken": False,
                "antigravityProfile": None,
            },
            "onboarding": {"completed": True},
            "model": {
                "selectedModel": runtime.default_models.get(runtime.default_provider),
                "selectedThinking": None,
                "selectedOpenRouterProvider": None,
                "selectedProvider": runtime.default_provider,
            },
            "sessions": self.manager.snapshot(),
            "skills": {"count": 0, "directories": []},
        }

    # -- running ---------------------------------------------------------------------------

    async def run(self, in_fd: int, out_fd: int) -> int:
        reader = await open_source(in_fd)
        sink = await open_sink(out_fd)
        connection = Connection(
            reader,
            sink,
            framing=self.settings.framing,
            max_message_size=self.settings.max_message_size,
        )
        ctx = ApiContext(self.manager, connection, self, __version__)
        self.manager.runtime.approver = session_api.make_approver(ctx)
        system_api.register(ctx)
        session_api.register(ctx)
        history_api.register(ctx)
        unsubscribe = self.bus.subscribe(connection.send_event)
        loop = asyncio.get_running_loop()
        for signum, reason in ((signal.SIGTERM, "sigterm"), (signal.SIGINT, "sigint")):
            loop.add_signal_handler(signum, self._on_signal, reason)

        serving = loop.create_task(connection.serve(), name="agentd-serve")
        history = self.manager.runtime.history
        warming = loop.create_task(history.warm_up()) if history is not None else None
        exiting = loop.create_task(self._exit.wait(), name="agentd-exit")
        await asyncio.wait({serving, exiting}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done() and not self._exit.is_set():
            # stdin EOF: nobody reads events about our own shutdown any more (as the reference).
            unsubscribe()
            await self.shutdown("stdin_closed", announce=False)
        else:
            await self.shutdown("exit", announce=False)
        exiting.cancel()
        serving.cancel()
        if warming is not None:
            warming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await connection.cancel_inflight()
        await connection.outbox.aclose(FLUSH_TIMEOUT_S)
        self._stop_watching()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        return self.exit_code

    def _on_signal(self, reason: str) -> None:
        task = asyncio.get_running_loop().create_task(self._shutdown_and_exit(reason, code=0))
        self._signal_tasks.add(task)
        task.add_done_callback(self._signal_tasks.discard)

    async def _shutdown_and_exit(self, reason: str, *, code: int) -> None:
        await self.shutdown(reason, announce=True)
        self.exit_code = code
        self._exit.set()

    def _parent_gone(self) -> None:
        log.warning("parent process is gone; shutting down")
        self._stop_watching()
        self._on_signal("parent_exited")

    async def _poll_parent(self, pid: int) -> None:
        while True:
            await asyncio.sleep(PARENT_POLL_S)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                self._parent_watch = None
                self._parent_gone()
                return
            except PermissionError:
                continue

    def _stop_watching(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        if self._parent_watch is not None:
            self._parent_watch.cancel()
            self._parent_watch = None


def serve(settings: Settings) -> int:
    """Run the daemon on this process's stdin/stdout until it exits; returns the exit code."""
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, settings.log_level, logging.WARNING),
        format="agentd %(levelname)s %(name)s: %(message)s",
    )
    in_fd, out_fd = take_stdio()
    return asyncio.run(_serve(settings, in_fd, out_fd))


async def _serve(settings: Settings, in_fd: int, out_fd: int) -> int:
    return await Daemon(settings).run(in_fd, out_fd)
