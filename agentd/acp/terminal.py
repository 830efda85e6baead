"""Commands in the editor's terminal: ACP's ``terminal/*``, when the client advertises it.

The runtime's ``command_runner`` port: ``bash`` hands its command here, and when the client
said ``clientCapabilities.terminal: true`` it runs as ``terminal/create`` (the shell with
``-c``), the tool call shows the terminal (``{"type": "terminal", "terminalId"}``) so the
editor streams its output, and agentd waits with ``terminal/wait_for_exit`` (bounded by the
command's timeout, then ``terminal/kill``), reads ``terminal/output`` and always ends with
``terminal/release``. An interrupt kills and releases the terminal before it propagates. A
client that refuses ``terminal/create`` gets the command run locally, as without ACP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from agentd.acp.projection import tool_call_id
from agentd.acp.shapes import SessionUpdate
from agentd.acp.state import AcpSession
from agentd.rpc.connection import ClientRequestError, Connection
from agentd.tools.base import Command, CommandOutcome
from agentd.tools.process import OUTPUT_CAP_CHARS, ProcessResult

log = logging.getLogger("agentd.acp")

#: Bound on the client's answer to the quick requests (create, output, kill, release).
REQUEST_TIMEOUT_S = 10.0
#: Bound on each clean-up request after an interrupt (the turn is waiting to end).
CLEANUP_TIMEOUT_S = 2.0
#: Extra time ``terminal/wait_for_exit`` gets beyond the command's own timeout.
WAIT_SLACK_S = 1.0


@attrs.frozen
class _Ended:
    """What the client's terminal said when the command ended."""

    exit_code: int | None
    signal: str | None
    timed_out: bool
    output: str
    truncated: bool


class ClientTerminals:
    """Runs commands in the client's terminals, for the sessions in ``by_core``."""

    def __init__(
        self,
        connection: Connection,
        by_core: Mapping[str, AcpSession],
        client_capabilities: Callable[[], Mapping[str, Any]],
        send: Callable[[AcpSession, SessionUpdate], None],
    ) -> None:
        self.connection = connection
        self.by_core = by_core
        self.client_capabilities = client_capabilities
        self.send = send

    async def run(self, session_id: str, command: Command) -> CommandOutcome | None:
        """The runtime's ``command_runner``; ``None``: run the command locally."""
        state = self.by_core.get(session_id)
        if state is None or state.prompt is None:
            return None
        if self.client_capabilities().get("terminal") is not True:
            return None
        loop = asyncio.get_running_loop()
        started = loop.time()
        params = {
            "sessionId": state.acp_id,
            "command": command.argv[0],
            "args": list(command.argv[1:]),
            "env": [{"name": k, "value": v} for k, v in command.env.items()],
            "cwd": str(command.cwd),
            "outputByteLimit": OUTPUT_CAP_CHARS,
        }
        try:
            created = await self.connection.request("terminal/create", params, REQUEST_TIMEOUT_S)
        except (TimeoutError, ClientRequestError) as exc:
            log.warning("terminal/create failed (%s): running the command here", exc)
            return None
        terminal_id = created.get("terminalId") if isinstance(created, dict) else None
        if not isinstance(terminal_id, str) or not terminal_id:
            log.warning("terminal/create answered without a terminalId: running it here")
            return None
        ids = {"sessionId": state.acp_id, "terminalId": terminal_id}
        self._show(state, command.call_id, terminal_id)
        try:
            result = await self._wait(ids, command.timeout_s)
        except asyncio.CancelledError:
            # an interrupt: the command must be dead before the turn reports it aborted
            await asyncio.shield(self._cleanup(ids, kill=True))
            raise
        except (TimeoutError, ClientRequestError) as exc:
            await self._cleanup(ids, kill=True)
            duration = int((loop.time() - started) * 1000)
            return CommandOutcome(_failed(f"the client's terminal failed: {exc}", duration))
        await self._cleanup(ids, kill=False)
        duration = int((loop.time() - started) * 1000)
        return CommandOutcome(
            ProcessResult(
                exit_code=result.exit_code,
                signal=result.signal,
                timed_out=result.timed_out,
                duration_ms=duration,
                stdout=result.output,
                stderr="",
                truncated_stdout=result.truncated,
                truncated_stderr=False,
            ),
            terminal_id,
        )

    def _show(self, state: AcpSession, call_id: str, terminal_id: str) -> None:
        """The tool call embeds the terminal: the editor shows its output as it comes."""
        turn = state.core.turn
        if turn is None or state.prompt is None:
            return
        update: SessionUpdate = {
            "sessionUpdate": "tool_call_update",
            "toolCallId": tool_call_id(turn.id, call_id),
            "status": "in_progress",
            "content": [{"type": "terminal", "terminalId": terminal_id}],
        }
        self.send(state, update)

    async def _wait(self, ids: dict[str, str], timeout_s: float) -> _Ended:
        timed_out = False
        status: Any = None
        try:
            status = await self.connection.request(
                "terminal/wait_for_exit", ids, timeout_s + WAIT_SLACK_S
            )
        except TimeoutError:
            timed_out = True
            await self.connection.request("terminal/kill", ids, REQUEST_TIMEOUT_S)
        answer = await self.connection.request("terminal/output", ids, REQUEST_TIMEOUT_S)
        answer = answer if isinstance(answer, dict) else {}
        if not isinstance(status, dict):
            status = answer.get("exitStatus")
        status = status if isinstance(status, dict) else {}
        code = status.get("exitCode")
        sig = status.get("signal")
        output = answer.get("output")
        return _Ended(
            exit_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
            signal=sig if isinstance(sig, str) else None,
            timed_out=timed_out,
            output=output if isinstance(output, str) else "",
            truncated=answer.get("truncated") is True,
        )

    async def _cleanup(self, ids: dict[str, str], *, kill: bool) -> None:
        """Kill (when asked) and release the terminal; each request bounded, errors logged."""
        methods = ("terminal/kill", "terminal/release") if kill else ("terminal/release",)
        timeout = CLEANUP_TIMEOUT_S if kill else REQUEST_TIMEOUT_S
        for method in methods:
            with contextlib.suppress(TimeoutError, ClientRequestError):
                await self.connection.request(method, ids, timeout)


def _failed(message: str, duration_ms: int) -> ProcessResult:
    return ProcessResult(
        exit_code=None,
        signal=None,
        timed_out=False,
        duration_ms=duration_ms,
        stdout="",
        stderr=message,
        truncated_stdout=False,
        truncated_stderr=False,
    )
