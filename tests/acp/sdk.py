"""The official ACP Python SDK (``agent-client-protocol``) as the client of ``agentd acp``.

``spawn_sdk_agent`` spawns the real ``agentd acp`` with the SDK's ``spawn_agent_process`` and a
``RecordingClient`` (the SDK's ``Client`` interface: what an editor answers). Every message on
the wire is checked against the SDK's pydantic schema types (``acp.schema``), strictly: the
schema's own models are lenient (they drop invalid list items and replace malformed optional
fields by their defaults, as ACP's ``x-deserialize-*`` hints ask of clients), so a message is
only accepted when it validates *and* dumps back to exactly what was sent; a misspelt field,
an extra field or a dropped item shows as a difference.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any, cast

from acp import schema, spawn_agent_process
from acp.client.connection import ClientSideConnection
from acp.connection import StreamDirection, StreamEvent
from pydantic import BaseModel, TypeAdapter, ValidationError

#: Bound on every wait for something that should come.
WAIT_S = 20.0

#: What the agent answers to each method the client sends (``result`` payloads).
RESPONSES: dict[str, type[BaseModel]] = {
    "initialize": schema.InitializeResponse,
    "authenticate": schema.AuthenticateResponse,
    "session/new": schema.NewSessionResponse,
    "session/load": schema.LoadSessionResponse,
    "session/prompt": schema.PromptResponse,
    "session/set_mode": schema.SetSessionModeResponse,
    "session/set_config_option": schema.SetSessionConfigOptionResponse,
}
#: What the client sends (checked too: a test's own request must be valid ACP).
REQUESTS: dict[str, Any] = {
    "initialize": schema.InitializeRequest,
    "authenticate": schema.AuthenticateRequest,
    "session/new": schema.NewSessionRequest,
    "session/load": schema.LoadSessionRequest,
    "session/prompt": schema.PromptRequest,
    "session/set_mode": schema.SetSessionModeRequest,
    "session/set_config_option": TypeAdapter(
        schema.SetSessionConfigOptionSelectRequest | schema.SetSessionConfigOptionBooleanRequest
    ),
    "session/cancel": schema.CancelNotification,
}
#: What the agent may send the client (requests and notifications), by method.
AGENT_CALLS: dict[str, type[BaseModel]] = {
    "session/update": schema.SessionNotification,
    "session/request_permission": schema.RequestPermissionRequest,
    "fs/read_text_file": schema.ReadTextFileRequest,
    "fs/write_text_file": schema.WriteTextFileRequest,
    "terminal/create": schema.CreateTerminalRequest,
    "terminal/output": schema.TerminalOutputRequest,
    "terminal/wait_for_exit": schema.WaitForTerminalExitRequest,
    "terminal/kill": schema.KillTerminalRequest,
    "terminal/release": schema.ReleaseTerminalRequest,
    "$/cancel_request": schema.CancelRequestNotification,
}


def _validate(model: Any, payload: Any) -> Any:
    if isinstance(model, TypeAdapter):
        return model.validate_python(payload)
    return model.model_validate(payload)


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return value


def strict_problems(model: Any, payload: Any, what: str) -> list[str]:
    """Why ``payload`` is not exactly a valid ``model`` (empty: it is)."""
    try:
        parsed = _validate(model, payload)
    except ValidationError as exc:
        return [f"{what}: invalid: {exc}"]
    dumped = _dump(parsed)
    if dumped != payload:
        return [f"{what}: not exactly the schema's shape:\n  sent {payload!r}\n  read {dumped!r}"]
    return []


class SchemaWatch:
    """Checks every JSON-RPC message of one connection against ``acp.schema``.

    ``check_client=False`` checks only what the agent sends (the raw wire tests send malformed
    requests on purpose; what the agent answers them must still be valid).
    """

    def __init__(self, *, check_client: bool = True) -> None:
        self.check_client = check_client
        self.problems: list[str] = []
        #: Every message the agent sent, in order.
        self.received: list[dict[str, Any]] = []
        self._sent: dict[Any, str] = {}
        self._asked: dict[Any, str] = {}

    def __call__(self, event: StreamEvent) -> None:
        if event.direction is StreamDirection.OUTGOING:
            self.sent(event.message)
        else:
            self.read(event.message)

    def sent(self, message: dict[str, Any]) -> None:
        """A message the client sent."""
        if message.get("jsonrpc") != "2.0" and self.check_client:
            self.problems.append(f"not JSON-RPC 2.0: {message!r}")
        self._outgoing(message)

    def read(self, message: Any) -> None:
        """A message the agent sent."""
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            self.problems.append(f"not JSON-RPC 2.0: {message!r}")
            return
        self.received.append(message)
        self._incoming(message)

    def _outgoing(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is None:  # our answer to the agent's request
            return
        if "id" in message:
            self._sent[message["id"]] = method
        model = REQUESTS.get(method)
        if model is not None and self.check_client:
            self.problems += strict_problems(model, message.get("params"), f"client {method}")

    def _incoming(self, message: dict[str, Any]) -> None:
        method = message.get("method")
        if method is not None:
            model = AGENT_CALLS.get(method)
            if model is None:
                self.problems.append(f"agent sent an unknown method: {message!r}")
                return
            if "id" in message:
                self._asked[message["id"]] = method
            self.problems += strict_problems(model, message.get("params"), f"agent {method}")
            return
        sent = self._sent.pop(message.get("id"), None)
        if "error" in message:
            self.problems += strict_problems(schema.Error, message["error"], f"{sent} error")
            return
        if sent is None:
            self.problems.append(f"a response to no request: {message!r}")
            return
        model = RESPONSES.get(sent)
        if model is not None:
            self.problems += strict_problems(model, message.get("result"), f"{sent} result")
        elif sent.startswith("_") and not isinstance(message.get("result"), dict):
            self.problems.append(f"extension result is not an object: {message!r}")


def _text(content: Any) -> str:
    return content.text if isinstance(content, schema.TextContentBlock) else ""


class LocalTerminal:
    """A terminal as an editor runs it: the command in its own process group, stdout and
    stderr merged, kept until released."""

    def __init__(self, number: int) -> None:
        self.id = f"term-{number}"
        self.process: asyncio.subprocess.Process | None = None
        self._chunks: list[bytes] = []
        self._reader: asyncio.Task[None] | None = None

    async def start(
        self, command: str, args: list[str], env: Mapping[str, str], cwd: str | None
    ) -> None:
        self.process = await asyncio.create_subprocess_exec(
            command,
            *args,
            cwd=cwd,
            env={**os.environ, **env},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while chunk := await self.process.stdout.read(65536):
            self._chunks.append(chunk)

    def output(self) -> str:
        return b"".join(self._chunks).decode("utf-8", errors="replace")

    async def wait(self) -> None:
        assert self.process is not None and self._reader is not None
        await self.process.wait()
        await asyncio.wait_for(self._reader, WAIT_S)

    def exit_status(self) -> schema.TerminalExitStatus | None:
        code = self.process.returncode if self.process is not None else None
        if code is None:
            return None
        if code < 0:
            import signal

            return schema.TerminalExitStatus(signal=signal.Signals(-code).name)
        return schema.TerminalExitStatus(exit_code=code)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def kill(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            import signal

            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        await asyncio.wait_for(self.process.wait(), WAIT_S)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, WAIT_S)


class RecordingClient:
    """An editor, as the SDK's ``Client`` interface: records what it is told, answers what it
    is asked (as configured), and can hold a permission request open until released."""

    def __init__(
        self,
        *,
        permission: str | None = "allow_once",
        files: Mapping[str, str] | None = None,
    ) -> None:
        #: Option id chosen for permission requests; ``None`` answers ``cancelled``.
        self.permission = permission
        #: Buffers the editor has open: path → text (``fs/read_text_file`` reads them).
        self.files: dict[str, str] = dict(files or {})
        self.updates: list[schema.SessionNotification] = []
        self.permission_requests: list[schema.RequestPermissionRequest] = []
        self.reads: list[str] = []
        self.writes: list[tuple[str, str]] = []
        #: Set with every update (tests wait on it for "something streamed").
        self.updated = asyncio.Event()
        #: While set to a future, permission requests wait for it (a test's cue to cancel).
        self.hold_permission: asyncio.Future[None] | None = None
        self.asked = asyncio.Event()
        #: Called with every session update (a test's hook, e.g. to cancel mid-stream).
        self.on_update: Callable[[Any], None] | None = None
        #: Open terminals, and every terminal request as (method, terminal id).
        self.terminals: dict[str, LocalTerminal] = {}
        self.terminal_calls: list[tuple[str, str]] = []
        #: Every terminal ever created (released ones included), to check nothing survives.
        self.all_terminals: list[LocalTerminal] = []

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append(schema.SessionNotification(session_id=session_id, update=update))
        self.updated.set()
        if self.on_update is not None:
            self.on_update(update)

    async def request_permission(
        self, session_id: str, tool_call: Any, options: list[Any], **kwargs: Any
    ) -> schema.RequestPermissionResponse:
        self.permission_requests.append(
            schema.RequestPermissionRequest(
                session_id=session_id, tool_call=tool_call, options=options
            )
        )
        self.asked.set()
        if self.hold_permission is not None:
            await asyncio.wait_for(asyncio.shield(self.hold_permission), WAIT_S)
        if self.permission is None:
            return schema.RequestPermissionResponse(
                outcome=schema.DeniedOutcome(outcome="cancelled")
            )
        return schema.RequestPermissionResponse(
            outcome=schema.AllowedOutcome(outcome="selected", option_id=self.permission)
        )

    async def read_text_file(
        self,
        session_id: str,
        path: str,
        line: int | None = None,
        limit: int | None = None,
        **kwargs: Any,
    ) -> schema.ReadTextFileResponse:
        from acp import RequestError

        self.reads.append(path)
        if path not in self.files:
            raise RequestError.resource_not_found(path)
        return schema.ReadTextFileResponse(content=self.files[path])

    async def write_text_file(
        self, session_id: str, path: str, content: str, **kwargs: Any
    ) -> schema.WriteTextFileResponse:
        """The editor updates its buffer and saves it (as Zed does)."""
        self.writes.append((path, content))
        self.files[path] = content
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(content, encoding="utf-8")
        return schema.WriteTextFileResponse()

    # -- terminals: the editor runs the command (here: a local process group) ----------------

    async def create_terminal(
        self,
        session_id: str,
        command: str,
        args: list[str] | None = None,
        env: list[schema.EnvVariable] | None = None,
        cwd: str | None = None,
        output_byte_limit: int | None = None,
        **kwargs: Any,
    ) -> schema.CreateTerminalResponse:
        terminal = LocalTerminal(len(self.all_terminals) + 1)
        await terminal.start(command, args or [], {e.name: e.value for e in env or []}, cwd)
        self.terminals[terminal.id] = terminal
        self.all_terminals.append(terminal)
        self.terminal_calls.append(("create", terminal.id))
        return schema.CreateTerminalResponse(terminal_id=terminal.id)

    async def terminal_output(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> schema.TerminalOutputResponse:
        self.terminal_calls.append(("output", terminal_id))
        terminal = self.terminals[terminal_id]
        return schema.TerminalOutputResponse(
            output=terminal.output(), truncated=False, exit_status=terminal.exit_status()
        )

    async def wait_for_terminal_exit(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> schema.WaitForTerminalExitResponse:
        self.terminal_calls.append(("wait_for_exit", terminal_id))
        terminal = self.terminals[terminal_id]
        await terminal.wait()
        status = terminal.exit_status()
        assert status is not None
        return schema.WaitForTerminalExitResponse(exit_code=status.exit_code, signal=status.signal)

    async def kill_terminal(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> schema.KillTerminalResponse:
        self.terminal_calls.append(("kill", terminal_id))
        await self.terminals[terminal_id].kill()
        return schema.KillTerminalResponse()

    async def release_terminal(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> schema.ReleaseTerminalResponse:
        self.terminal_calls.append(("release", terminal_id))
        await self.terminals.pop(terminal_id).kill()
        return schema.ReleaseTerminalResponse()

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {}

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None

    # -- reading what was said ---------------------------------------------------------------

    def kinds(self, session_id: str) -> list[str]:
        return [n.update.session_update for n in self.updates if n.session_id == session_id]

    def of(self, session_id: str, kind: type[Any]) -> list[Any]:
        return [
            n.update
            for n in self.updates
            if n.session_id == session_id and isinstance(n.update, kind)
        ]

    def text(self, session_id: str, kind: type[Any] = schema.AgentMessageChunk) -> str:
        return "".join(_text(u.content) for u in self.of(session_id, kind))


class SdkAgent:
    """One ``agentd acp`` child driven by the SDK: the connection, the client, the checks."""

    def __init__(
        self,
        conn: ClientSideConnection,
        process: asyncio.subprocess.Process,
        client: RecordingClient,
        watch: SchemaWatch,
    ) -> None:
        self.conn = conn
        self.process = process
        self.client = client
        self.watch = watch

    async def initialize(self, **capabilities: Any) -> schema.InitializeResponse:
        fs = schema.FileSystemCapabilities(
            read_text_file=capabilities.pop("read", False),
            write_text_file=capabilities.pop("write", False),
        )
        terminal = capabilities.pop("terminal", False)
        caps = schema.ClientCapabilities(fs=fs, terminal=terminal)
        assert not capabilities, capabilities
        return await asyncio.wait_for(
            self.conn.initialize(
                protocol_version=1,
                client_capabilities=caps,
                client_info=schema.Implementation(name="sdk-test", version="1"),
            ),
            WAIT_S,
        )

    async def new_session(self, cwd: Path) -> schema.NewSessionResponse:
        return await asyncio.wait_for(self.conn.new_session(cwd=str(cwd), mcp_servers=[]), WAIT_S)

    async def prompt(self, session_id: str, text: str) -> schema.PromptResponse:
        from acp import text_block

        return await asyncio.wait_for(
            self.conn.prompt(session_id=session_id, prompt=[text_block(text)]), WAIT_S
        )


def agent_env(home: Path) -> dict[str, str]:
    from tests.acp.helpers import FIXTURE_SCRIPTS, SCRIPTS

    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTD_")}
    env["AGENTD_HOME"] = str(home)
    env["AGENTD_SCRIPTS_DIR"] = os.pathsep.join((str(SCRIPTS), str(FIXTURE_SCRIPTS)))
    return env


@contextlib.asynccontextmanager
async def spawn_sdk_agent(
    home: Path, cwd: Path, stderr_path: Path, client: RecordingClient | None = None
) -> AsyncIterator[SdkAgent]:
    """``agentd acp`` under the SDK's client; at the end it must exit 0 and every message must
    have been schema-valid."""
    client = client or RecordingClient()
    watch = SchemaWatch()
    with stderr_path.open("wb") as stderr:
        async with spawn_agent_process(
            cast(Any, client),  # the Client protocol's optional methods are left out
            sys.executable,
            "-m",
            "agentd",
            "acp",
            env=agent_env(home),
            cwd=cwd,
            transport_kwargs={"stderr": stderr.fileno(), "shutdown_timeout": WAIT_S},
            observers=[watch],
        ) as (conn, process):
            try:
                yield SdkAgent(conn, process, client, watch)
            finally:
                for terminal in list(client.terminals.values()):
                    await terminal.kill()
    assert process.returncode == 0, stderr_path.read_text(errors="replace")
    assert watch.problems == [], "\n".join(watch.problems)
