"""The daemon: wires stdio, the connection, the API and the core, and owns the process lifecycle.

Start-up is kept short: only the transport and the system methods are imported before the first
message is answered. The core (sessions, providers, tools, history) is loaded right after the first
response, or earlier by the first request that needs it; until then its methods are registered
as trampolines, so method lookup and arrival order are the same either way.

stdin EOF, SIGTERM, SIGINT, SIGHUP (the terminal or the editor went away), the ``exit``
notification, the death of the ``processId`` given at ``initialize`` and, by default, the death of
the parent process (``AGENTD_WATCH_PARENT=0`` turns that off) all lead to the same shutdown:
running turns end as interrupted, history is flushed, the outbound queue is flushed (bounded), and
the process exits, within about a second. Tool processes never outlive the daemon
(``agentd.tools.lifeline``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from agentd import __version__
from agentd.api.chunks import ReferenceEventCodec
from agentd.api.context import ApiContext
from agentd.api.dispatch import install
from agentd.api.methods import core_method_names
from agentd.api.state import state_snapshot
from agentd.api.system import fast_handshake
from agentd.config import Settings
from agentd.rpc.connection import Connection, Handler
from agentd.rpc.sink import open_sink
from agentd.rpc.source import open_intake, open_source, pollable

if TYPE_CHECKING:
    from agentd.core.events import EventBus
    from agentd.core.manager import SessionManager
    from agentd.protocol.results import StateSnapshot
    from agentd.providers.registry import ProviderRegistry

log = logging.getLogger("agentd")

#: Bound on waiting for interrupted turns at shutdown, and on flushing stdout.
TURN_STOP_TIMEOUT_S = 0.8
FLUSH_TIMEOUT_S = 1.0
PARENT_POLL_S = 1.0
#: Methods whose handlers never await: answered as they are read, without a task each.
INSTANT_METHODS = ("system.ping", "state.get", "rpc.handshake")


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


def build_manager(settings: Settings, bus: EventBus, providers: ProviderRegistry) -> SessionManager:
    """The core: providers, tools, history and the session manager."""
    from agentd.config import default_home
    from agentd.core.manager import SessionManager
    from agentd.core.recorder import HistoryWriter
    from agentd.core.runtime import Runtime
    from agentd.core.toolset import ToolSet
    from agentd.tools.config import load_tool_config
    from agentd.tools.registry import default_registry

    tool_config = load_tool_config(settings.home or default_home())
    runtime = Runtime(
        bus=bus,
        providers=providers,
        tools=ToolSet(default_registry(), tool_config.max_calls_per_round),
        tool_config=tool_config,
        default_cwd=settings.cwd,
        history=HistoryWriter(settings.home or default_home(), settings.fsync),
    )
    return SessionManager(runtime)


def load_providers(settings: Settings) -> ProviderRegistry:
    """The registry from the environment and ``$AGENTD_HOME/config.toml`` (a bad file is
    reported on stderr and ignored: agentd still serves, on what the environment configures)."""
    from agentd.config import ConfigError, default_home, load_config
    from agentd.providers.setup import registry_from_settings

    try:
        config = load_config(settings.home or default_home())
    except ConfigError as exc:
        log.error("ignoring the configuration file: %s", exc)
        config = {}
    return registry_from_settings(settings, config)


class Daemon:
    """One agentd process serving one client over stdio."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._providers: ProviderRegistry | None = None
        self._manager: SessionManager | None = None
        self._ctx: ApiContext | None = None
        self._shutdown_done = False
        self._shutdown_lock = asyncio.Lock()
        self._exit = asyncio.Event()
        self.exit_code = 0
        self._shutdown_requested = False
        #: Watched processes (the client's ``processId``, our parent): pid → pidfd or poll task.
        self._watches: dict[int, int | asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Detaches the connection from the core's events (set when the core is loaded).
        self._unsubscribe: Callable[[], None] = lambda: None

    # -- Lifecycle protocol (used by the API) ----------------------------------------------

    @property
    def shutdown_requested(self) -> bool:
        return self._shutdown_requested

    def core(self) -> SessionManager:
        if self._manager is None:
            self._load_core()
        assert self._manager is not None
        return self._manager

    @property
    def providers(self) -> ProviderRegistry:
        """The provider registry, built on first use: it reads ``config.toml``, which costs
        tens of milliseconds that the first answer should not pay."""
        if self._providers is None:
            self._providers = load_providers(self.settings)
        return self._providers

    async def shutdown(self, reason: str, *, announce: bool) -> None:
        """Stop every turn and flush; idempotent. ``announce`` emits ``state.changed`` first."""
        self._shutdown_requested = True
        async with self._shutdown_lock:
            if self._shutdown_done:
                return
            self._shutdown_done = True
            if announce and self._ctx is not None:
                payload: dict[str, Any] = {"reason": reason, "snapshot": self.state_snapshot()}
                self._ctx.connection.send_event("state.changed", _now(), payload)
            if self._manager is not None:
                await self._manager.shutdown(TURN_STOP_TIMEOUT_S)

    def exit(self) -> None:
        self.exit_code = 0 if self._shutdown_requested else 1
        self._exit.set()

    def watch_parent(self, pid: int) -> None:
        """Shut down when process ``pid`` dies (pidfd where available, else a 1 s poll)."""
        if pid in self._watches:
            return
        loop = asyncio.get_running_loop()
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._parent_gone()
            return
        except (AttributeError, OSError):
            self._watches[pid] = loop.create_task(self._poll_parent(pid))
            return
        self._watches[pid] = pidfd
        loop.add_reader(pidfd, self._parent_gone)

    def state_snapshot(self) -> StateSnapshot:
        return state_snapshot(self.providers, self._manager)

    # -- running ---------------------------------------------------------------------------

    async def run(self, in_fd: int, out_fd: int) -> int:
        # pipes are read with a protocol; files and devices by a thread into a StreamReader
        reader = None if pollable(in_fd) else await open_source(in_fd)
        sink = await open_sink(out_fd)
        connection = Connection(
            reader,
            sink,
            framing=self.settings.framing,
            max_message_size=self.settings.max_message_size,
            event_codec=ReferenceEventCodec(),
        )
        self._ctx = ApiContext(connection, self, __version__)
        install(self._ctx, "system")
        handshake = connection.methods["rpc.handshake"]
        connection.register("rpc.handshake", fast_handshake(self._ctx, handshake))
        for name in core_method_names():
            connection.register(name, self._trampoline(name))
        connection.instant_methods.update(INSTANT_METHODS)
        connection.after_first_response = self._schedule_core_load
        loop = asyncio.get_running_loop()
        for signum, reason in _SIGNALS:
            loop.add_signal_handler(signum, self._on_signal, reason)
        self._watch_own_parent()
        if reader is None:  # requests are served from here on: signals are handled first
            await open_intake(in_fd, connection.intake())

        serving = loop.create_task(connection.serve(), name="agentd-serve")
        exiting = loop.create_task(self._exit.wait(), name="agentd-exit")
        await asyncio.wait({serving, exiting}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done() and not self._exit.is_set():
            # stdin EOF: nobody reads events about our own shutdown any more (as the reference).
            self._unsubscribe()
            await self.shutdown("stdin_closed", announce=False)
        else:
            await self.shutdown("exit", announce=False)
        exiting.cancel()
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        for task in self._tasks:
            task.cancel()
        await connection.cancel_inflight()
        await connection.outbox.aclose(FLUSH_TIMEOUT_S)
        self._stop_watching()
        for signum, _ in _SIGNALS:
            loop.remove_signal_handler(signum)
        end_tool_processes()
        return self.exit_code

    def _watch_own_parent(self) -> None:
        """An orphaned daemon (its parent died without closing our stdin) shuts down."""
        if os.environ.get("AGENTD_WATCH_PARENT", "1") == "0":
            return
        parent = os.getppid()
        if parent > 1:
            self.watch_parent(parent)

    # -- the core, loaded lazily -------------------------------------------------------------

    def _trampoline(self, name: str) -> Handler:
        async def load_then_call(raw: Any) -> Any:
            self.core()  # synchronous: effects keep their arrival order
            assert self._ctx is not None
            return await self._ctx.connection.methods[name](raw)

        return load_then_call

    def _schedule_core_load(self) -> None:
        asyncio.get_running_loop().call_soon(self.core)

    def _load_core(self) -> None:
        from agentd.api.projection import Projector
        from agentd.api.session import make_approver
        from agentd.core.events import EventBus

        assert self._ctx is not None
        connection = self._ctx.connection
        bus = EventBus()
        self._manager = build_manager(self.settings, bus, self.providers)
        self._manager.runtime.approver = make_approver(self._ctx, self.settings.approval_timeout_s)
        install(self._ctx, "session")
        install(self._ctx, "history")
        install(self._ctx, "model")
        projector = Projector(connection.send_event, self.state_snapshot)
        self._unsubscribe = bus.subscribe(projector)
        # back-pressure reaches the provider: turns pause while stdout is backed up
        connection.outbox.on_pressure = lambda paused: bus.flow.set_open(not paused)
        history = self._manager.runtime.history
        if history is not None:
            self._own(history.warm_up())
        self._own(self._warm_provider())

    async def _warm_provider(self) -> None:
        """Import the default provider's code in a worker thread (never fatal)."""
        providers = self.providers
        try:
            await asyncio.to_thread(providers.warm, providers.default_provider)
        except Exception:
            log.exception("warming provider %s failed", providers.default_provider)

    def _own(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- exits -------------------------------------------------------------------------------

    def _on_signal(self, reason: str) -> None:
        self._own(self._shutdown_and_exit(reason))

    async def _shutdown_and_exit(self, reason: str) -> None:
        await self.shutdown(reason, announce=True)
        self.exit_code = 0
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
                self._watches.pop(pid, None)
                self._parent_gone()
                return
            except PermissionError:
                continue

    def _stop_watching(self) -> None:
        watches, self._watches = self._watches, {}
        for watch in watches.values():
            if isinstance(watch, asyncio.Task):
                watch.cancel()
                continue
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(watch)
            os.close(watch)


_SIGNALS = (
    (signal.SIGTERM, "sigterm"),
    (signal.SIGINT, "sigint"),
    (signal.SIGHUP, "sighup"),
)


def end_tool_processes() -> None:
    """Normal exit: the tool sentinel ends and adopted orphans are killed and reaped."""
    from agentd.tools import lifeline

    lifeline.SENTINEL.close()
    lifeline.reap_orphans()


def _now() -> str:
    from agentd.clock import iso_now

    return iso_now()


def serve(settings: Settings) -> int:
    """Run the daemon on this process's stdin/stdout until it exits; returns the exit code."""
    in_fd, out_fd = prepare_process(settings)
    return run_loop(_serve(settings, in_fd, out_fd))


def prepare_process(settings: Settings) -> tuple[int, int]:
    """What every front door does before its loop starts: logs go to stderr, redacted; stdin
    and stdout are taken over for the protocol (their fds returned); the process becomes a
    subreaper, so a tool's escaped grandchildren are re-parented to it, not to init."""
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, settings.log_level, logging.WARNING),
        format="agentd %(levelname)s %(name)s: %(message)s",
    )
    from agentd.text import RedactingFilter
    from agentd.tools.lifeline import become_subreaper

    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())  # no secret reaches the logs either
    in_fd, out_fd = take_stdio()
    become_subreaper()
    return in_fd, out_fd


def run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run ``main`` to its end on the fastest loop available (``loop_factory``)."""
    factory = loop_factory()
    log.debug("event loop: %s", "asyncio" if factory is None else factory.__module__)
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (a default dependency where it installs: CPython,
    not Windows), unless ``AGENTD_NO_UVLOOP=1``; else ``None``: the standard loop. Imported here,
    on the serve path only. uvloop costs ~2 MiB RSS and a few ms of start-up and cuts the
    per-request and per-event CPU (docs/performance.md)."""
    if os.environ.get("AGENTD_NO_UVLOOP", "") not in ("", "0"):
        return None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _serve(settings: Settings, in_fd: int, out_fd: int) -> int:
    return await Daemon(settings).run(in_fd, out_fd)
