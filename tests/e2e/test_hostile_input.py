"""Issue 10 end to end: hostile input gets a clean JSON-RPC error and the daemon serves on.

Each test writes raw bytes to a real daemon over its pipes, then checks the answer and that a
``system.ping`` written after it is answered (the daemon did not exit or stall).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentd.client import AgentdClient
from agentd.wire import MAX_DEPTH
from tests.e2e.helpers import (
    REPLY_TIMEOUT_S,
    Framing,
    Spawn,
    assert_error,
    call_error,
    frame,
    is_response,
    null_id_errors,
    response_to,
)

BOM = b"\xef\xbb\xbf"


def request(request_id: bytes, method: str = "system.ping", params: bytes | None = None) -> bytes:
    """A request as raw JSON text, so ids and params can be things ``json.dumps`` cannot make."""
    body = b'{"jsonrpc":"2.0","id":' + request_id + b',"method":' + json.dumps(method).encode()
    return body + (b"" if params is None else b',"params":' + params) + b"}"


def nest(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


async def answer_to(client: AgentdClient, body: bytes, request_id: Any) -> dict[str, Any]:
    """Write ``body`` (one request, framed here), return its response, check a ping works."""
    start = len(client.transcript)
    client.write_raw(frame(client.framing, body))
    response = await response_to(client, request_id, start=start)
    await client.call("system.ping", timeout=REPLY_TIMEOUT_S)
    return response


# -- 1. nesting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(request(b"1", params=nest(984)), id="params-984"),
        pytest.param(request(nest(984), "system.ping"), id="id-984"),
        pytest.param(nest(984), id="top-984"),
        pytest.param(b'{"jsonrpc":"2.0","x":' + nest(984) + b"}", id="member-984"),
        pytest.param(nest(100_000), id="top-100000"),
        pytest.param(b"{" * 100_000, id="open-objects-100000"),
        pytest.param(request(b"1", params=nest(MAX_DEPTH + 1)), id="params-limit+1"),
    ],
)
async def test_deep_nesting_is_a_parse_error_and_the_daemon_serves_on(
    client: AgentdClient, framing: Framing, body: bytes
) -> None:
    errors = await null_id_errors(client, frame(framing, body))

    assert len(errors) == 1
    assert_error(errors[0], -32700, "parse_error")
    assert "too deeply nested" in errors[0]["message"]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("system.ping", b"{}"),
        ("rpc.handshake", b'{"client_name":"x","extra":%s}'),
        ("session.create", b'{"title":%s}'),
        ("session.create", b'{"unknown":%s}'),
        ("session.send", b'{"session_id":"nope","text":"hi","images":%s}'),
        ("session.send", b'{"session_id":%s,"text":"hi"}'),
        ("history.get", b'{"id":%s}'),
        ("history.list", b'{"limit":%s}'),
        ("state.get", b"%s"),
        ("nope", b"%s"),
    ],
)
async def test_nesting_at_the_limit_is_accepted_and_never_an_internal_error(
    client: AgentdClient, method: str, params: bytes
) -> None:
    """Deep but accepted input must not crash later layers (conversion, encoding, store)."""
    # message object + params object + this = MAX_DEPTH levels in all
    deep = b"[" * (MAX_DEPTH - 3) + b'{"a":1}' + b"]" * (MAX_DEPTH - 3)
    raw = request(b"7", method, params.replace(b"%s", deep) if b"%s" in params else params)
    response = await answer_to(client, raw, 7)

    if "error" in response:
        assert response["error"]["code"] != -32603, response
        assert response["error"]["data"]["reason"]


async def test_deeply_nested_client_response_is_ignored(client: AgentdClient) -> None:
    raw = b'{"jsonrpc":"2.0","id":"agentd-99","result":' + nest(MAX_DEPTH - 1) + b"}"
    client.write_raw(frame(client.framing, raw))
    assert (await client.call("system.ping"))["ok"] is True


async def test_deep_cancel_request_id_is_ignored(client: AgentdClient) -> None:
    raw = b'{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":' + nest(200) + b"}}"
    client.write_raw(frame(client.framing, raw))
    assert (await client.call("system.ping"))["ok"] is True


# -- 2. ids and numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("request_id", [b"1e400", b"-1e400", b"1" + b"0" * 400 + b".5"])
@pytest.mark.parametrize("method", ["system.ping", "no.such.method", "session.create"])
async def test_non_finite_id_is_invalid_request_with_null_id(
    client: AgentdClient, framing: Framing, request_id: bytes, method: str
) -> None:
    errors = await null_id_errors(client, frame(framing, request(request_id, method)))

    assert len(errors) == 1
    assert_error(errors[0], -32600, "invalid_request")


async def test_non_finite_id_after_shutdown_is_invalid_request(spawn: Spawn) -> None:
    client = await spawn("ndjson")
    await client.call("shutdown")
    client.write_raw(frame("ndjson", request(b"1e400")))
    error = await response_to(client, None)
    assert_error(error["error"], -32600, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(request(b"NaN"), id="nan-id"),
        pytest.param(request(b"9" * 10_000), id="10000-digit-id"),
        pytest.param(request(b"1", params=b'{"x":' + b"9" * 10_000 + b"}"), id="10000-digit-param"),
        pytest.param(request(b"1", params=b"[-Infinity]"), id="infinity-param"),
    ],
)
async def test_unrepresentable_numbers_are_parse_errors(
    client: AgentdClient, framing: Framing, body: bytes
) -> None:
    errors = await null_id_errors(client, frame(framing, body))

    assert len(errors) == 1
    assert_error(errors[0], -32700, "parse_error")
    assert len(errors[0]["message"]) < 200


async def test_4000_digit_id_is_answered_with_that_id(client: AgentdClient) -> None:
    big = int("7" * 4000)
    response = await answer_to(client, request(str(big).encode()), big)
    assert response["result"]["ok"] is True


@pytest.mark.parametrize("digits", [309, 400, 4000])
@pytest.mark.parametrize("field", ["limit", "cursor"])
async def test_integer_beyond_float_range_is_invalid_params(
    client: AgentdClient, digits: int, field: str
) -> None:
    params = b'{"%s":%s}' % (field.encode(), b"9" * digits)
    response = await answer_to(client, request(b"3", "history.list", params), 3)

    assert_error(response["error"], -32602, "invalid_params")
    assert response["error"]["data"]["field"] == field


@pytest.mark.parametrize(
    "pid", [2**31, 2**32, 2**63, 10**400, 0, -1, -(2**31)], ids=lambda pid: f"{len(str(pid))}d"
)
async def test_process_id_out_of_range_is_invalid_params(client: AgentdClient, pid: int) -> None:
    params = b'{"processId":%d}' % pid
    response = await answer_to(client, request(b"4", "initialize", params), 4)

    assert_error(response["error"], -32602, "invalid_params")
    assert response["error"]["data"]["field"] == "processId"


# -- 10. names and echoes --------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["a\x00b", "\ud800", "x\udfff", "\udc80/y"])
@pytest.mark.parametrize(
    ("method", "field"),
    [
        ("history.get", "id"),
        ("history.get", "rollout_path"),
        ("session.create", "resume_id"),
        ("session.create", "cwd"),
    ],
)
async def test_nul_or_lone_surrogate_in_a_name_is_invalid_params(
    client: AgentdClient, method: str, field: str, bad: str
) -> None:
    params = json.dumps({field: bad}).encode()  # ASCII escapes: the client cannot encode these
    response = await answer_to(client, request(b"5", method, params), 5)

    assert_error(response["error"], -32602, "invalid_params")
    assert response["error"]["data"]["field"] == field


async def test_error_messages_do_not_echo_unbounded_input(client: AgentdClient) -> None:
    long_method = "m" * 1_000_000
    error = await call_error(client, long_method)
    assert error.code == -32601
    assert len(error.message) < 600 and error.message.endswith("…")
    assert len(json.dumps(error.data)) < 600

    error = await call_error(client, "session.get", {"session_id": "s" * 100_000})
    assert error.code == -32001
    assert len(error.message) < 600


# -- 4. BOM and bytes that fit neither framing -----------------------------------------------


@pytest.mark.parametrize("framing", ["lsp", "ndjson"])
@pytest.mark.parametrize("mode", ["auto", "forced"])
async def test_leading_bom_is_skipped(spawn: Spawn, framing: Framing, mode: str) -> None:
    args = ["--framing", "auto" if mode == "auto" else framing]
    client = await spawn(framing, args)
    client.write_raw(BOM + frame(framing, request(b"1")))
    response = await response_to(client, 1)
    assert response["result"]["ok"] is True


async def test_bom_at_the_start_of_a_later_body_is_skipped(client: AgentdClient) -> None:
    response = await answer_to(client, BOM + request(b"2"), 2)
    assert response["result"]["ok"] is True


async def test_garbage_first_bytes_are_answered_not_ignored(spawn: Spawn) -> None:
    """``hello`` fits neither framing: auto mode picks LSP, which answers ``invalid_header``."""
    client = await spawn("lsp", ["--framing", "auto"])
    client.write_raw(b"hello\n")
    error = await response_to(client, None)
    assert_error(error["error"], -32700, "invalid_header")
    client.write_raw(b"\r\n")  # ends the bad header block; the next message is read normally
    assert (await client.call("system.ping"))["ok"] is True


# -- 11. in-flight limit ---------------------------------------------------------------------


async def test_5000_instant_requests_in_one_write_are_all_answered(client: AgentdClient) -> None:
    futures = client.pipeline(*[("system.ping", None) for _ in range(5000)])
    for future in futures:
        response = await future
        assert "result" in response, response
    assert sum(1 for m in client.transcript if is_response(m)) == 5000
