"""One MCP server connection, through the official ``mcp`` SDK (imported with this module).

The SDK's transports are anyio context managers that must be entered and left by one task, so
each connection has an owner task (``_serve``) that opens the transport and the session, reports
the server's tools, then holds both open until ``aclose``. Calls are made from the turns' tasks.
Every wait is bounded: start-up by ``startup_timeout_s``, a call by ``tool_timeout_s``, closing
by ``CLOSE_TIMEOUT_S``. An interrupted call sends ``notifications/cancelled`` for its request (the
SDK does not), so the server can stop its work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import mcp.types as types
from mcp import ClientSession, McpError, StdioServerParameters
from mcp.client.stdio import stdio_client

from agentd.tools.mcp.config import McpServerConfig

log = logging.getLogger("agentd.tools.mcp")

#: Bound on closing a connection (the SDK gives a stdio server 2 s after EOF, then kills it).
CLOSE_TIMEOUT_S = 5.0
#: Bound on sending a cancellation notice for an interrupted call.
CANCEL_NOTICE_TIMEOUT_S = 1.0
_MAX_TOOL_PAGES = 100


class McpServerError(Exception):
    """The server failed to start, died, or cannot be reached; the message says which."""


@attrs.frozen
class RemoteTool:
    name: str
    description: str
    input_schema: Mapping[str, Any]
    read_only: bool


@attrs.frozen
class CallOutcome:
    """A ``tools/call`` result as plain data: content blocks as dicts, structured content."""

    is_error: bool
    content: list[dict[str, Any]]
    structured: Any = None


def _reason(exc: BaseException) -> str:
    """The innermost useful message of an exception (anyio wraps them in groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, McpError):
        return exc.error.message
    text = str(exc) or type(exc).__name__
    return text if len(text) < 500 else text[:499] + "…"


class McpConnection:
    """A started (or starting, or failed) MCP server."""

    def __init__(self, config: McpServerConfig, workspace: Path) -> None:
        self.config = config
        self.workspace = workspace
        self.failure: str | None = None
        #: Called once when a running server is found dead (the toolset reports it).
        self.on_failure: Callable[[str], None] | None = None
        self._session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._ready: asyncio.Future[list[RemoteTool]] = asyncio.get_running_loop().create_future()
        # a start-up that failed after ``start`` gave up waiting is not an unretrieved error
        self._ready.add_done_callback(lambda f: f.cancelled() or f.exception())

    def _transport(self) -> Any:
        config = self.config
        if config.url is not None:
            return _http_transport(config.url, dict(config.headers or {}))
        assert config.command is not None
        cwd = Path(config.cwd) if config.cwd else self.workspace
        if not cwd.is_absolute():
            cwd = self.workspace / cwd
        params = StdioServerParameters(
            command=config.command,
            args=list(config.args),
            env=dict(config.env) if config.env is not None else None,
            cwd=cwd,
        )
        return stdio_client(params, errlog=sys.stderr)

    async def _serve(self) -> None:
        try:
            async with contextlib.AsyncExitStack() as stack:
                streams = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
                await session.initialize()
                tools: list[RemoteTool] = []
                cursor: str | None = None
                for _ in range(_MAX_TOOL_PAGES):
                    page = await session.list_tools(
                        params=types.PaginatedRequestParams(cursor=cursor) if cursor else None
                    )
                    tools.extend(self._remote(tool) for tool in page.tools)
                    cursor = page.nextCursor
                    if not cursor:
                        break
                self._session = session
                self._ready.set_result(tools)
                await self._stop.wait()
        except asyncio.CancelledError:
            if not self._ready.done():
                self._ready.set_exception(McpServerError("start-up was cancelled"))
            raise
        except BaseException as exc:  # the server's failure, reported, never raised further
            reason = _reason(exc)
            if not self._ready.done():
                self._ready.set_exception(McpServerError(reason))
            else:
                self._died(reason)
        finally:
            self._session = None

    @staticmethod
    def _remote(tool: types.Tool) -> RemoteTool:
        hints = tool.annotations
        schema = dict(tool.inputSchema or {})
        schema.setdefault("type", "object")
        return RemoteTool(
            name=tool.name,
            description=tool.description or tool.title or "",
            input_schema=schema,
            read_only=bool(hints is not None and hints.readOnlyHint),
        )

    async def start(self) -> list[RemoteTool]:
        """Start the server and list its tools; raises ``McpServerError`` (bounded wait)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._serve(), name=f"mcp-{self.config.name}"
            )
        timeout = self.config.startup_timeout_s
        try:
            return await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except TimeoutError:
            self.failure = f"did not finish starting within {timeout:g} s"
            self._stop.set()
            self._task.cancel()  # ends the process; ``aclose`` (the session's) awaits the task
            raise McpServerError(self.failure) from None
        except McpServerError as exc:
            self.failure = str(exc)
            raise

    def _died(self, reason: str) -> None:
        if self.failure is None:
            self.failure = f"stopped: {reason}"
            if self.on_failure is not None:
                self.on_failure(self.failure)

    async def call(self, tool: str, arguments: Mapping[str, Any]) -> CallOutcome:
        """Call ``tool``; raises ``McpServerError`` when the server cannot answer."""
        session = self._session
        if session is None or self.failure is not None:
            raise McpServerError(f"the server is not running ({self.failure or 'not started'})")
        # The SDK numbers requests in order and does not expose the id; it is the next one.
        request_id = getattr(session, "_request_id", None)
        timeout = self.config.tool_timeout_s
        try:
            result = await asyncio.wait_for(
                session.call_tool(
                    tool, dict(arguments), read_timeout_seconds=timedelta(seconds=timeout + 5)
                ),
                timeout,
            )
        except asyncio.CancelledError:
            await self._cancel_notice(session, request_id, "interrupted")
            raise
        except TimeoutError:
            await self._cancel_notice(session, request_id, "timed out")
            raise McpServerError(f"the call did not finish within {timeout:g} s") from None
        except McpError as exc:
            if exc.error.code == types.CONNECTION_CLOSED:
                self._died("the server closed the connection (it may have crashed)")
                raise McpServerError(
                    "the server closed the connection during the call (it may have crashed)"
                ) from None
            raise McpServerError(exc.error.message) from None
        except Exception as exc:
            raise McpServerError(_reason(exc)) from None
        return CallOutcome(
            is_error=bool(result.isError),
            content=[block.model_dump(mode="json", exclude_none=True) for block in result.content],
            structured=result.structuredContent,
        )

    @staticmethod
    async def _cancel_notice(session: ClientSession, request_id: Any, reason: str) -> None:
        if not isinstance(request_id, int):
            return
        notice = types.ClientNotification(
            types.CancelledNotification(
                params=types.CancelledNotificationParams(requestId=request_id, reason=reason)
            )
        )
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(
                asyncio.shield(session.send_notification(notice)), CANCEL_NOTICE_TIMEOUT_S
            )

    async def aclose(self) -> None:
        """Stop the server (bounded); idempotent."""
        self._stop.set()
        task = self._task
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), CLOSE_TIMEOUT_S)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(task, CLOSE_TIMEOUT_S)


@contextlib.asynccontextmanager
async def _http_transport(url: str, headers: dict[str, str]) -> Any:
    """The streamable-HTTP transport; its HTTP client (with ``headers``) is ours to close.

    ``streamable_http_client`` replaced ``streamablehttp_client`` (deprecated) in newer SDKs;
    the older name serves the SDK releases that predate it.
    """
    import httpx
    from mcp.client import streamable_http

    if not hasattr(streamable_http, "streamable_http_client"):  # pragma: no cover - older SDK
        async with streamable_http.streamablehttp_client(url, headers=headers) as streams:
            yield streams
        return
    timeout = httpx.Timeout(30.0, read=300.0)  # the SDK's own defaults for this transport
    async with (
        httpx.AsyncClient(headers=headers, timeout=timeout, follow_redirects=True) as client,
        streamable_http.streamable_http_client(url, http_client=client) as streams,
    ):
        yield streams
