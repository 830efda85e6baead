"""The ACP methods over agentd's core: one ``AcpAgent`` per ``agentd acp`` process.

ACP's session id is the agentd session's history record id (the record is created at
``session/new``), so a fresh process can ``session/load`` it. Updates are sent only while a
prompt of that session is running (or while a load replays it): once ``session/prompt`` has
answered, nothing more is said about it, even if the turn is slow to wind down.

``session/cancel`` is handled inline by the reader (``Connection.inline_notifications``): it
interrupts the turn before any message read after it (a permission answer in the same read)
can let a tool run, and a cancelled prompt always answers ``cancelled``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agentd.acp import projection
from agentd.acp.content import prompt_content
from agentd.acp.mcp import mcp_servers
from agentd.acp.shapes import (
    AUTH_REQUIRED,
    DEFAULT_MODE,
    MODES,
    PERMISSION_OPTIONS,
    RESOURCE_NOT_FOUND,
    SessionModeState,
    SessionUpdate,
    StopReason,
)
from agentd.api.errors import core_error
from agentd.core.errors import CoreError, SessionBusy
from agentd.core.events import CoreEvent, TurnFailed
from agentd.core.manager import SessionManager
from agentd.core.policy import ApprovalDecision
from agentd.core.session import Session
from agentd.protocol import errors
from agentd.protocol.errors import RpcError
from agentd.providers.base import ToolCall
from agentd.rpc.connection import ClientRequestError, Connection
from agentd.store import HistoryNotFoundError, StoreError

log = logging.getLogger("agentd.acp")

#: After a cancel, how long the prompt waits for the turn to end before answering anyway.
CANCEL_GRACE_S = 5.0
#: Bound on the client's answer to ``fs/read_text_file`` (then the disk is read instead).
FS_TIMEOUT_S = 10.0
_DECISIONS: dict[str, ApprovalDecision] = {
    "allow_once": "allow",
    "allow_always": "allow_session",
    "reject_once": "deny",
}


class ActivePrompt:
    """The running ``session/prompt`` of a session."""

    __slots__ = ("cancelled", "failure", "woken")

    def __init__(self) -> None:
        self.cancelled = False
        self.failure: TurnFailed | None = None
        #: Set by a cancel: the prompt stops waiting for the turn after a grace period.
        self.woken = asyncio.Event()


class AcpSession:
    """An agentd session as ACP sees it: its ACP id and its running prompt."""

    __slots__ = ("acp_id", "core", "prompt", "replaying")

    def __init__(self, acp_id: str, core: Session) -> None:
        self.acp_id = acp_id
        self.core = core
        self.prompt: ActivePrompt | None = None
        self.replaying = False


def _params(raw: Any, method: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise errors.invalid_params(method, "params must be an object")
    return raw


def _string(params: Mapping[str, Any], key: str, method: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise errors.invalid_params(method, f"`{key}` must be a non-empty string", key)
    return value


def _cwd(params: Mapping[str, Any], method: str) -> str:
    cwd = _string(params, "cwd", method)
    if not Path(cwd).is_absolute():
        raise errors.invalid_params(method, "`cwd` must be an absolute path", "cwd")
    return cwd


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
        self.approval_timeout_s = approval_timeout_s
        #: What the client said at ``initialize`` it can do (read when needed: the core may
        #: load before ``initialize`` is answered).
        self.client_capabilities = client_capabilities
        self.sessions: dict[str, AcpSession] = {}
        self._by_core: dict[str, AcpSession] = {}

    def install(self) -> None:
        """Register the session methods, the inline cancel and the core listeners (the
        handshake is ``agentd.acp.handshake``'s)."""
        connection = self.connection
        for name, handler in (
            ("session/new", self.new_session),
            ("session/load", self.load_session),
            ("session/prompt", self.prompt),
            ("session/set_mode", self.set_mode),
        ):
            connection.register(name, handler)
        connection.inline_notifications["session/cancel"] = self.cancel
        self.manager.runtime.bus.subscribe(self.on_event)
        self.manager.runtime.approver = self.approve
        self.manager.runtime.file_reader = self.read_text_file

    # -- sessions ----------------------------------------------------------------------------

    async def new_session(self, raw: Any) -> dict[str, Any]:
        params = _params(raw, "session/new")
        cwd = _cwd(params, "session/new")
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
        return {"sessionId": state.acp_id, "modes": self._modes(core)}

    async def load_session(self, raw: Any) -> dict[str, Any]:
        params = _params(raw, "session/load")
        session_id = _string(params, "sessionId", "session/load")
        cwd = _cwd(params, "session/load")
        servers = mcp_servers(params.get("mcpServers"), "session/load")
        if session_id in self.sessions:
            raise errors.invalid_params(
                "session/load", "this session is already open in this agent", "sessionId"
            )
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
            for update in projection.replay(journal.view.messages, core.cwd):
                self._send(state, update)
        return {"modes": self._modes(core)}

    async def set_mode(self, raw: Any) -> dict[str, Any]:
        params = _params(raw, "session/set_mode")
        state = self._session(params, "session/set_mode")
        mode = _string(params, "modeId", "session/set_mode")
        if mode not in {m["id"] for m in MODES}:
            raise errors.invalid_params("session/set_mode", f"unknown mode {mode!r}", "modeId")
        state.core.approval_policy = mode
        self._send(state, {"sessionUpdate": "current_mode_update", "currentModeId": mode})
        return {}

    def _track(self, acp_id: str, core: Session) -> AcpSession:
        state = AcpSession(acp_id, core)
        self.sessions[acp_id] = state
        self._by_core[core.id] = state
        return state

    def _session(self, params: Mapping[str, Any], method: str) -> AcpSession:
        session_id = _string(params, "sessionId", method)
        state = self.sessions.get(session_id)
        if state is None:
            raise RpcError(RESOURCE_NOT_FOUND, f"unknown session {session_id}", "session_not_found")
        return state

    @staticmethod
    def _modes(core: Session) -> SessionModeState:
        return {"currentModeId": core.approval_policy, "availableModes": list(MODES)}

    # -- prompting ---------------------------------------------------------------------------

    async def prompt(self, raw: Any) -> dict[str, StopReason]:
        params = _params(raw, "session/prompt")
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

    # -- approvals ---------------------------------------------------------------------------

    async def approve(
        self, session_id: str, turn_id: str, call: Mapping[str, Any]
    ) -> tuple[ApprovalDecision, str | None]:
        """The ``ask`` policy's question, as ``session/request_permission``."""
        state = self._by_core.get(session_id)
        active = state.prompt if state is not None else None
        if state is None or active is None or active.cancelled:
            return "deny", "the prompt was cancelled"
        arguments = call.get("input")
        asked = ToolCall(
            str(call.get("callId", "")),
            str(call.get("name", "")),
            dict(arguments) if isinstance(arguments, Mapping) else {},
        )
        # the same fields as its ``tool_call``: title, kind, locations, an apply_patch's diffs
        tool_call = projection.started(turn_id, asked, state.core.cwd)
        tool_call_id = tool_call["toolCallId"]
        request = {
            "sessionId": state.acp_id,
            "toolCall": tool_call,
            "options": PERMISSION_OPTIONS,
        }
        try:
            answer = await self.connection.request(
                "session/request_permission", request, self.approval_timeout_s
            )
        except TimeoutError:
            return "deny", f"no permission within {self.approval_timeout_s:g} s"
        except ClientRequestError as exc:
            return "deny", f"the client answered with an error: {exc}"
        if _cancelled(active):  # a cancel read together with the answer still wins
            return "deny", "the prompt was cancelled"
        decision = _decision(answer)
        if decision is None:
            return "deny", "the permission request was cancelled or not understood"
        if decision != "deny":
            self._send(
                state,
                {
                    "sessionUpdate": "tool_call_update",
                    "toolCallId": tool_call_id,
                    "status": "in_progress",
                },
            )
        return decision, None

    # -- the client's files ----------------------------------------------------------------

    async def read_text_file(self, session_id: str, path: Path) -> str | None:
        """A file as the editor shows it (unsaved changes included), through
        ``fs/read_text_file``; ``None`` (read the disk) unless the client advertised it, or
        when it answers with an error."""
        state = self._by_core.get(session_id)
        fs = self.client_capabilities().get("fs")
        if state is None or not isinstance(fs, Mapping) or fs.get("readTextFile") is not True:
            return None
        try:
            answer = await self.connection.request(
                "fs/read_text_file", {"sessionId": state.acp_id, "path": str(path)}, FS_TIMEOUT_S
            )
        except (TimeoutError, ClientRequestError):
            return None
        content = answer.get("content") if isinstance(answer, dict) else None
        return content if isinstance(content, str) else None

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


def _cancelled(active: ActivePrompt) -> bool:
    """Read after an ``await`` (a plain attribute test would be narrowed away by mypy)."""
    return active.cancelled


def _decision(answer: Any) -> ApprovalDecision | None:
    outcome = answer.get("outcome") if isinstance(answer, dict) else None
    if not isinstance(outcome, dict) or outcome.get("outcome") != "selected":
        return None
    return _DECISIONS.get(str(outcome.get("optionId")))
