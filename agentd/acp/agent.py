"""The ACP methods over agentd's core: one ``AcpAgent`` per ``agentd acp`` process.

ACP's session id is the agentd session's history record id (the record is created at
``session/new``), so a fresh process can ``session/load`` it. Updates are sent only while a
prompt of that session is running (or while a load replays it): once ``session/prompt`` has
answered, nothing more is said about it, even if the turn is slow to wind down.

Loading a session that is already open in this process replays it (from its record, flushed
first) and keeps the same live session: an editor that reopens a thread gets it back. While a
prompt of it runs, that load is refused (``data.reason: session_busy``): a replay would
interleave with the prompt's own updates.

Permission questions are ``agentd.acp.permission``'s, the editor's files
``agentd.acp.files``'s, its terminals ``agentd.acp.terminal``'s, and the mode and model
(modes and config options) ``agentd.acp.options``'s.

``session/cancel`` is handled inline by the reader (``Connection.inline_notifications``): it
interrupts the turn before any message read after it (a permission answer in the same read)
can let a tool run, and a cancelled prompt always answers ``cancelled``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from agentd.acp import projection
from agentd.acp.content import prompt_content
from agentd.acp.files import ClientFiles
from agentd.acp.mcp import mcp_servers
from agentd.acp.options import MODE, MODEL, SessionSettings, modes
from agentd.acp.permission import Permissions
from agentd.acp.shapes import (
    AUTH_REQUIRED,
    DEFAULT_MODE,
    RESOURCE_NOT_FOUND,
    SessionUpdate,
    StopReason,
)
from agentd.acp.state import AcpSession, ActivePrompt, absolute_cwd, params_of, string
from agentd.acp.terminal import ClientTerminals
from agentd.api.errors import core_error
from agentd.core.errors import CoreError, SessionBusy
from agentd.core.events import CoreEvent, TurnFailed
from agentd.core.manager import SessionManager
from agentd.core.session import Session
from agentd.protocol import errors
from agentd.protocol.errors import RpcError
from agentd.rpc.connection import Connection
from agentd.store import HistoryNotFoundError, StoreError

log = logging.getLogger("agentd.acp")

#: After a cancel, how long the prompt waits for the turn to end before answering anyway.
CANCEL_GRACE_S = 5.0
#: Bound on flushing an open session's record before a load replays it.
FLUSH_TIMEOUT_S = 10.0


class AcpAgent:
    """Answers ACP's methods on ``connection`` with sessions of ``manager``."""

    def __init__(
        self,
        connection: Connection,
        manager: SessionManager,
        approval_timeout_s: float,
        client_capabilities: Callable[[], Mapping[str, Any]] = dict,
    ) -> None:
        self.connection = connection
        self.manager = manager
        #: What the client said at ``initialize`` it can do (read when needed: the core may
        #: load before ``initialize`` is answered).
        self.client_capabilities = client_capabilities
        self.sessions: dict[str, AcpSession] = {}
        self._by_core: dict[str, AcpSession] = {}
        self.permissions = Permissions(connection, approval_timeout_s, self._by_core, self._send)
        self.files = ClientFiles(connection, self._by_core, client_capabilities)
        self.terminals = ClientTerminals(connection, self._by_core, client_capabilities, self._send)
        self.settings = SessionSettings(manager.runtime, self._send)

    def install(self) -> None:
        """Register the session methods, the inline cancel and the core listeners (the
        handshake is ``agentd.acp.handshake``'s)."""
        connection = self.connection
        for name, handler in (
            ("session/new", self.new_session),
            ("session/load", self.load_session),
            ("session/prompt", self.prompt),
            ("session/set_mode", self.set_mode),
            ("session/set_config_option", self.set_config_option),
        ):
            connection.register(name, handler)
        connection.inline_notifications["session/cancel"] = self.cancel
        runtime = self.manager.runtime
        runtime.bus.subscribe(self.on_event)
        runtime.approver = self.permissions.approve
        runtime.file_reader = self.files.read_text_file
        runtime.file_writer = self.files.write_text_file
        runtime.command_runner = self.terminals.run

    # -- sessions ----------------------------------------------------------------------------

    async def new_session(self, raw: Any) -> dict[str, Any]:
        params = params_of(raw, "session/new")
        cwd = absolute_cwd(params, "session/new")
        servers = mcp_servers(params.get("mcpServers"), "session/new")
        try:
            core = await self.manager.create_recorded(
                cwd=cwd, approval_policy=DEFAULT_MODE, mcp_servers=servers
            )
        except CoreError as exc:
            raise core_error(exc, "session/new") from None
        except StoreError as exc:
            raise RpcError(errors.INTERNAL_ERROR, exc.message, exc.reason) from None
        record_id = core.record.record_id if core.record is not None else None
        state = self._track(record_id or core.id, core)
        return {
            "sessionId": state.acp_id,
            "modes": modes(core),
            "configOptions": await self.settings.options(core),
        }

    async def load_session(self, raw: Any) -> dict[str, Any]:
        params = params_of(raw, "session/load")
        session_id = string(params, "sessionId", "session/load")
        cwd = absolute_cwd(params, "session/load")
        servers = mcp_servers(params.get("mcpServers"), "session/load")
        open_state = self.sessions.get(session_id)
        if open_state is not None:
            return await self._reload(open_state)
        try:
            core = await self.manager.create_resumed(
                session_id, cwd=cwd, approval_policy=DEFAULT_MODE, mcp_servers=servers
            )
        except CoreError as exc:
            raise core_error(exc, "session/load") from None
        except HistoryNotFoundError:
            raise RpcError(
                RESOURCE_NOT_FOUND, f"no saved session {session_id}", "resource_not_found"
            ) from None
        except StoreError as exc:
            raise RpcError(errors.INVALID_PARAMS, exc.message, exc.reason) from None
        # Prompts a crash left queued would start behind the next turn, unasked: ACP has no
        # queue, so they are dropped (and recorded as dropped).
        core.queue_clear(drop=True)
        state = self._track(session_id, core)
        journal = core.record.journal if core.record is not None else None
        if journal is not None:
            self.settings.restore_model(core, journal.view.meta.provider, journal.view.meta.model)
            for update in projection.replay(journal.view.messages, core.cwd):
                self._send(state, update)
        return {"modes": modes(core), "configOptions": await self.settings.options(core)}

    async def _reload(self, state: AcpSession) -> dict[str, Any]:
        """``session/load`` of a session open here: replay it, keep the live session (its
        cwd and MCP servers stay those it was opened with)."""
        if state.prompt is not None or state.core.pending:
            raise RpcError(
                errors.INVALID_PARAMS,
                "invalid params for session/load: a prompt of this session is running; "
                "cancel it or wait for its answer, then load again",
                "session_busy",
                field="sessionId",
            )
        core = state.core
        record = core.record
        journal = record.journal if record is not None else None
        if record is not None and journal is not None:
            await record.flush(FLUSH_TIMEOUT_S)
            from agentd.store.reader import read_record

            try:
                view = await asyncio.to_thread(read_record, journal.path)
            except (HistoryNotFoundError, OSError) as exc:
                raise RpcError(errors.INTERNAL_ERROR, str(exc), "history_unreadable") from None
            for update in projection.replay(view.messages, core.cwd):
                self._send(state, update)
        return {"modes": modes(core), "configOptions": await self.settings.options(core)}

    async def set_mode(self, raw: Any) -> dict[str, Any]:
        params = params_of(raw, "session/set_mode")
        state = self._session(params, "session/set_mode")
        self.settings.apply_mode(state, string(params, "modeId", "session/set_mode"), "modeId")
        self._send(
            state,
            {
                "sessionUpdate": "config_option_update",
                "configOptions": await self.settings.options(state.core),
            },
        )
        return {}

    async def set_config_option(self, raw: Any) -> dict[str, Any]:
        """``session/set_config_option``: the model or the approval mode; answers the full set."""
        method = "session/set_config_option"
        params = params_of(raw, method)
        state = self._session(params, method)
        option = string(params, "configId", method)
        value = params.get("value")
        if not isinstance(value, str) or not value:
            raise errors.invalid_params(method, "`value` must be a non-empty string", "value")
        if option == MODE:
            self.settings.apply_mode(state, value, "value")
        elif option == MODEL:
            await self.settings.apply_model(state.core, value)
        else:
            raise errors.invalid_params(method, f"unknown config option {option!r}", "configId")
        return {"configOptions": await self.settings.options(state.core)}

    def _track(self, acp_id: str, core: Session) -> AcpSession:
        state = AcpSession(acp_id, core)
        self.sessions[acp_id] = state
        self._by_core[core.id] = state
        return state

    def _session(self, params: Mapping[str, Any], method: str) -> AcpSession:
        session_id = string(params, "sessionId", method)
        state = self.sessions.get(session_id)
        if state is None:
            raise RpcError(RESOURCE_NOT_FOUND, f"unknown session {session_id}", "session_not_found")
        return state

    # -- prompting ---------------------------------------------------------------------------

    async def prompt(self, raw: Any) -> dict[str, StopReason]:
        params = params_of(raw, "session/prompt")
        state = self._session(params, "session/prompt")
        content = prompt_content(params.get("prompt"))
        if state.prompt is not None:
            raise errors.invalid_state("a prompt is already running in this session")
        active = state.prompt = ActivePrompt()
        try:
            try:
                state.core.send(content.text, content.images, enqueue=False)
            except SessionBusy:  # the last turn is still winding down after a cancel
                raise errors.invalid_state("the previous prompt is still ending") from None
            except CoreError as exc:
                raise core_error(exc, "session/prompt") from None
            turn = state.core.turn
            assert turn is not None  # not queued: send starts the turn at once
            outcome = turn.outcome
            woken: asyncio.Future[Any] = asyncio.ensure_future(active.woken.wait())
            try:
                waits: set[asyncio.Future[Any]] = {outcome, woken}
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                if active.cancelled and not outcome.done():
                    await asyncio.wait({outcome}, timeout=CANCEL_GRACE_S)
            except asyncio.CancelledError:  # the request itself was cancelled (stdin closed)
                state.core.interrupt()
                raise
            finally:
                woken.cancel()
            return {"stopReason": self._stop_reason(active, outcome)}
        finally:
            state.prompt = None  # from here on, nothing more is said about this prompt
            active.woken.set()

    @staticmethod
    def _stop_reason(active: ActivePrompt, outcome: asyncio.Future[Any]) -> StopReason:
        if active.cancelled or not outcome.done():
            return "cancelled"  # cancel always wins, also over a turn that just completed
        result = outcome.result()
        if result.status == "completed":
            reason: StopReason = result.stop_reason or "end_turn"
            return reason
        if result.status == "interrupted":
            return "cancelled"
        failure = active.failure
        message = failure.message if failure is not None else "the turn failed"
        kind = failure.kind if failure is not None else "internal"
        code = AUTH_REQUIRED if kind == "auth" else errors.INTERNAL_ERROR
        raise RpcError(code, message, "turn_failed", kind=kind)

    def cancel(self, raw: Any) -> None:
        """``session/cancel`` (a notification, run inline by the reader; never raises)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("sessionId"), str):
            return
        state = self.sessions.get(raw["sessionId"])
        if state is None:
            return
        if state.prompt is None:
            # A prompt read together with its cancel has not started yet: its task was created
            # first, so it has run its first step (and started its turn) by the next callback.
            asyncio.get_running_loop().call_soon(self._cancel_active, state)
            return
        self._cancel_active(state)

    def _cancel_active(self, state: AcpSession) -> None:
        if state.prompt is None or state.prompt.cancelled:
            return
        state.prompt.cancelled = True
        state.prompt.woken.set()
        try:
            state.core.interrupt()
        except Exception:
            log.exception("interrupting session %s failed", state.acp_id)

    # -- events ------------------------------------------------------------------------------

    def on_event(self, event: CoreEvent, timestamp: str) -> None:
        """Project a core event of a session with a running prompt (a bus listener)."""
        state = self._by_core.get(getattr(event, "session_id", None) or "")
        if state is None or state.prompt is None:
            return
        if type(event) is TurnFailed:
            state.prompt.failure = event
            return
        update = projection.project(event, state.core.cwd)
        if update is not None:
            self._send(state, update)

    def _send(self, state: AcpSession, update: SessionUpdate) -> None:
        self.connection.notify("session/update", {"sessionId": state.acp_id, "update": update})
