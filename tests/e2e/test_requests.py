"""JSON-RPC request handling (PROTOCOL §2): ids echoed exactly, notifications, one answer each."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agentd.client import AgentdClient
from tests.e2e.helpers import REPLY_TIMEOUT_S, Framing, frame, is_response, response_to


def ping(request_id: Any) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "system.ping"}).encode()


async def test_null_id_request_is_answered_with_null_id(
    client: AgentdClient, framing: Framing
) -> None:
    client.write_raw(frame(framing, ping(None)))

    response = await response_to(client, None)

    assert response["result"]["ok"] is True


async def test_string_ids_are_echoed_exactly(client: AgentdClient, framing: Framing) -> None:
    ids = ["abc", "", "1", " spaced ", "ünïcødé-✓"]

    client.write_raw(b"".join(frame(framing, ping(request_id)) for request_id in ids))

    for request_id in ids:
        response = await response_to(client, request_id)
        assert response["result"]["ok"] is True


async def test_string_and_number_ids_are_different_requests(
    client: AgentdClient, framing: Framing
) -> None:
    client.write_raw(frame(framing, ping("7")) + frame(framing, ping(7)))

    as_string = await response_to(client, "7")
    as_number = await response_to(client, 7)

    assert as_string["result"]["ok"] is True
    assert as_number["result"]["ok"] is True


async def test_fractional_numeric_id_is_echoed(client: AgentdClient, framing: Framing) -> None:
    client.write_raw(frame(framing, ping(1.5)))

    response = await response_to(client, 1.5)

    assert response["result"]["ok"] is True


async def test_request_without_params_works(client: AgentdClient, framing: Framing) -> None:
    body = b'{"jsonrpc":"2.0","id":"no-params","method":"system.ping"}'
    client.write_raw(frame(framing, body))

    response = await response_to(client, "no-params")

    assert response["result"]["ok"] is True
    assert isinstance(response["result"]["time"], str)


async def test_notification_gets_no_response(client: AgentdClient) -> None:
    start = len(client.transcript)

    client.notify("system.ping")
    result = await client.call("system.ping")

    assert result["ok"] is True
    received = client.transcript[start:]
    assert len(received) == 1
    assert "result" in received[0]


async def test_every_request_of_a_concurrent_burst_gets_exactly_one_response(
    client: AgentdClient,
) -> None:
    session_id = await client.create_session(model="hang")
    await client.send(session_id, "never answered")
    requests: list[tuple[str, Any]] = [
        ("history.clear_session", {"session_id": session_id}),  # waits for the turn to end
        ("system.ping", None),
        ("session.get", {"session_id": session_id}),
        ("session.get", {"session_id": "missing"}),
        ("no.such.method", None),
        ("session.create", None),
        ("state.get", None),
    ] * 5
    start = len(client.transcript)

    futures = {
        request_id: future
        for request_id, future in (client.start_request(m, p) for m, p in requests)
    }
    await asyncio.wait_for(asyncio.gather(*futures.values()), REPLY_TIMEOUT_S)

    answered = [m["id"] for m in client.transcript[start:] if is_response(m)]
    assert sorted(answered) == sorted(futures)
