"""Interop: pygls 2.x's own JSON-RPC client drives the daemon over LSP framing.

pygls starts the daemon with ``start_io``, frames with ``Content-Length`` (and sends a
``Content-Type`` header), turns results and notification params into attribute objects, and raises
``JsonRpcException`` subclasses for error responses. If agentd's framing or message shapes were
off, pygls would fail to decode them.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pygls.client import JsonRPCClient
from pygls.exceptions import JsonRpcException

from tests.e2e.helpers import EXIT_TIMEOUT_S, REPLY_TIMEOUT_S

TURN_ENDS = ("session.completed", "session.interrupted", "session.error")


class PyglsSession:
    """A pygls client connected to one daemon, with the ``event`` notifications it received."""

    def __init__(self, client: JsonRPCClient) -> None:
        self.client = client
        self.events: asyncio.Queue[Any] = asyncio.Queue()

    async def call(self, method: str, params: Any = None) -> Any:
        request = self.client.protocol.send_request_async(method, params)
        return await asyncio.wait_for(request, REPLY_TIMEOUT_S)

    async def event_where(self, type_: str, turn_id: str) -> Any:
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            while True:
                event = await self.events.get()
                if event.type == type_ and getattr(event.payload, "turn_id", None) == turn_id:
                    return event


@pytest_asyncio.fixture
async def pygls_session(agentd_env: dict[str, str]) -> AsyncIterator[PyglsSession]:
    client = JsonRPCClient()
    session = PyglsSession(client)

    @client.feature("event")
    def on_event(params: Any) -> None:  # pygls passes only params (no `ls` first argument)
        session.events.put_nowait(params)

    await client.start_io(sys.executable, "-m", "agentd", "serve", env=agentd_env)
    try:
        yield session
    finally:
        server = client._server
        if server is not None and server.returncode is None:
            with contextlib.suppress(Exception):
                await session.call("shutdown")
            client.protocol.notify("exit")
            try:
                await asyncio.wait_for(server.wait(), EXIT_TIMEOUT_S)
            except TimeoutError:
                server.kill()
        await asyncio.wait_for(client.stop(), EXIT_TIMEOUT_S)


async def test_pygls_ping(pygls_session: PyglsSession) -> None:
    result = await pygls_session.call("system.ping")

    assert result.ok is True
    assert isinstance(result.time, str)


async def test_pygls_handshake(pygls_session: PyglsSession) -> None:
    result = await pygls_session.call(
        "rpc.handshake", {"protocol_version": "1.0.0", "client_name": "pygls"}
    )

    assert result.protocol_version == "1.0.0"
    assert result.server_name == "agentd"
    assert "session.send" in result.methods
    assert result.capabilities.events is True


async def test_pygls_turn_streams_events_to_a_feature_handler(
    pygls_session: PyglsSession,
) -> None:
    created = await pygls_session.call("session.create", {"model": "echo"})
    assert created.state.id == created.session_id

    sent = await pygls_session.call(
        "session.send", {"session_id": created.session_id, "text": "hello pygls"}
    )

    assert sent.accepted is True and sent.queued is False
    completed = await pygls_session.event_where("session.completed", sent.turn_id)
    assert completed.payload.session_id == created.session_id
    assert isinstance(completed.seq, int)


async def test_pygls_sees_invalid_params_as_a_json_rpc_exception(
    pygls_session: PyglsSession,
) -> None:
    with pytest.raises(JsonRpcException) as info:
        await pygls_session.call("session.get", {"session_id": 5})

    assert info.value.code == -32602
    assert info.value.message == (
        "invalid params for session.get: `session_id` must be a non-empty string"
    )
    assert info.value.data == {"reason": "invalid_params", "field": "session_id"}


async def test_pygls_lsp_lifecycle_shutdown_then_exit(pygls_session: PyglsSession) -> None:
    server = pygls_session.client._server
    assert server is not None

    assert await pygls_session.call("shutdown") is None
    pygls_session.client.protocol.notify("exit")

    assert await asyncio.wait_for(server.wait(), EXIT_TIMEOUT_S) == 0
