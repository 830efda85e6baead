"""Every error row of PROTOCOL §2 that a client can provoke, with the reference's exact messages.

Most tests run in both framings (the ``framing`` fixture is parametrised); classification and
param errors do not depend on the framing, but their path through the decoder does.
"""

from __future__ import annotations

import json

from agentd.client import AgentdClient
from tests.e2e.helpers import (
    Framing,
    Spawn,
    assert_error,
    call_error,
    frame,
    null_id_errors,
    response_to,
)

# -- -32700 parse errors -------------------------------------------------------------------------


async def test_body_that_is_not_json_is_a_parse_error_with_null_id(
    client: AgentdClient, framing: Framing
) -> None:
    errors = await null_id_errors(client, frame(framing, b"nope"))

    assert len(errors) == 1
    assert_error(errors[0], -32700, "parse_error")
    assert errors[0]["message"].startswith("parse error: ")
    assert errors[0]["data"] == {"reason": "parse_error"}


async def test_truncated_json_is_a_parse_error(client: AgentdClient, framing: Framing) -> None:
    errors = await null_id_errors(client, frame(framing, b'{"jsonrpc": "2.0", "id": 1, "meth'))

    assert len(errors) == 1
    assert_error(errors[0], -32700, "parse_error")
    assert errors[0]["message"].startswith("parse error: ")


async def test_lsp_header_block_without_content_length_is_invalid_header_then_resyncs(
    lsp_client: AgentdClient,
) -> None:
    body = b'{"jsonrpc":"2.0","id":"lost","method":"system.ping"}'
    raw = b"Content-Type: application/vscode-jsonrpc\r\n\r\n" + body

    errors = await null_id_errors(lsp_client, raw)

    assert len(errors) == 1
    assert_error(errors[0], -32700, "invalid_header")
    assert errors[0]["message"].startswith("parse error: ")
    assert not [m for m in lsp_client.transcript if m.get("id") == "lost"]


async def test_lsp_non_numeric_content_length_is_invalid_header_then_resyncs(
    lsp_client: AgentdClient,
) -> None:
    body = b'{"jsonrpc":"2.0","id":"lost","method":"system.ping"}'

    errors = await null_id_errors(lsp_client, b"Content-Length: abc\r\n\r\n" + body)

    assert len(errors) == 1
    assert_error(errors[0], -32700, "invalid_header")
    assert not [m for m in lsp_client.transcript if m.get("id") == "lost"]


# -- -32600 invalid requests ---------------------------------------------------------------------


async def test_oversize_message_is_skipped_with_message_too_large_and_stream_stays_usable(
    spawn: Spawn, framing: Framing
) -> None:
    client = await spawn(framing, ["--framing", framing, "--max-message-size", "1000"])
    big = {"jsonrpc": "2.0", "id": "big", "method": "system.ping", "params": {"pad": "x" * 4900}}
    body = json.dumps(big).encode()
    assert len(body) >= 4950

    errors = await null_id_errors(client, frame(framing, body))

    assert len(errors) == 1
    assert_error(errors[0], -32600, "message_too_large")
    assert not [m for m in client.transcript if m.get("id") == "big"]
    assert (await client.call("system.ping"))["ok"] is True


async def test_empty_batch_is_refused(client: AgentdClient, framing: Framing) -> None:
    errors = await null_id_errors(client, frame(framing, b"[]"))

    assert len(errors) == 1
    assert_error(errors[0], -32600, "batch_not_supported", "batch requests are not supported")


async def test_batch_of_valid_requests_is_refused_and_nothing_in_it_runs(
    client: AgentdClient, framing: Framing
) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": "b1", "method": "session.create"},
        {"jsonrpc": "2.0", "id": "b2", "method": "system.ping"},
    ]

    errors = await null_id_errors(client, frame(framing, json.dumps(batch).encode()))

    assert len(errors) == 1
    assert_error(errors[0], -32600, "batch_not_supported", "batch requests are not supported")
    assert not [m for m in client.transcript if m.get("id") in ("b1", "b2")]
    state = await client.call("state.get")
    assert state["sessions"]["count"] == 0


INVALID_REQUESTS = {
    "jsonrpc 1.0": {"jsonrpc": "1.0", "id": "not-run", "method": "system.ping"},
    "jsonrpc missing": {"id": "not-run", "method": "system.ping"},
    "object id": {"jsonrpc": "2.0", "id": {"a": 1}, "method": "system.ping"},
    "boolean id": {"jsonrpc": "2.0", "id": True, "method": "system.ping"},
    "array id": {"jsonrpc": "2.0", "id": [1], "method": "system.ping"},
    "blank method": {"jsonrpc": "2.0", "id": "not-run", "method": "   "},
    "method not a string": {"jsonrpc": "2.0", "id": "not-run", "method": 5},
    "bare string": "hello",
    "bare number": 42,
    "null": None,
}


async def test_invalid_request_objects_get_invalid_request_with_null_id(
    client: AgentdClient, framing: Framing
) -> None:
    for name, value in INVALID_REQUESTS.items():
        errors = await null_id_errors(client, frame(framing, json.dumps(value).encode()))

        assert len(errors) == 1, name
        assert_error(errors[0], -32600, "invalid_request", "invalid request")
        assert errors[0]["data"] == {"reason": "invalid_request"}, name
    assert not [m for m in client.transcript if m.get("id") == "not-run"]


# -- -32601 / -32602 -----------------------------------------------------------------------------


async def test_unknown_method_names_the_method(client: AgentdClient) -> None:
    error = await call_error(client, "no.such.method")

    assert_error(error, -32601, "method_not_found", "method not found: no.such.method")
    assert error.data == {"reason": "method_not_found", "method": "no.such.method"}


async def test_omitted_params_where_an_object_is_required(client: AgentdClient) -> None:
    error = await call_error(client, "session.get")

    assert_error(error, -32602, "invalid_params", "invalid params for session.get: expected object")
    assert error.data == {"reason": "invalid_params"}


async def test_blank_required_string_names_the_field(client: AgentdClient) -> None:
    error = await call_error(client, "session.get", {"session_id": "   "})

    assert_error(
        error,
        -32602,
        "invalid_params",
        "invalid params for session.get: `session_id` must be a non-empty string",
    )
    assert error.data == {"reason": "invalid_params", "field": "session_id"}


async def test_non_string_text_is_refused(client: AgentdClient) -> None:
    session_id = await client.create_session()

    error = await call_error(client, "session.send", {"session_id": session_id, "text": 5})

    assert_error(
        error,
        -32602,
        "invalid_params",
        "invalid params for session.send: `text` must be a string",
    )
    assert error.data["field"] == "text"


async def test_string_enqueue_is_not_a_boolean(client: AgentdClient) -> None:
    session_id = await client.create_session()

    error = await call_error(
        client, "session.send", {"session_id": session_id, "text": "hi", "enqueue": "yes"}
    )

    assert_error(
        error,
        -32602,
        "invalid_params",
        "invalid params for session.send: `enqueue` must be a boolean",
    )
    assert error.data["field"] == "enqueue"


async def test_strict_handshake_with_other_version_is_unsupported(client: AgentdClient) -> None:
    error = await call_error(client, "rpc.handshake", {"protocol_version": "2.0.0", "strict": True})

    assert_error(
        error,
        -32602,
        "unsupported_protocol_version",
        "unsupported protocol_version: 2.0.0",
    )
    assert error.data == {"reason": "unsupported_protocol_version", "supported": "1.0.0"}


async def test_lenient_handshake_with_other_version_succeeds(client: AgentdClient) -> None:
    result = await client.call("rpc.handshake", {"protocol_version": "2.0.0"})

    assert result["protocol_version"] == "1.0.0"
    assert result["server_name"] == "agentd"
    assert "system.ping" in result["methods"]


async def test_handshake_with_array_params_expects_an_object(client: AgentdClient) -> None:
    error = await call_error(client, "rpc.handshake", ["1.0.0"])

    assert_error(
        error,
        -32602,
        "invalid_params",
        "invalid params for rpc.handshake: expected object",
    )


async def test_unknown_provider_is_an_invalid_param(client: AgentdClient) -> None:
    error = await call_error(client, "session.create", {"provider": "nope"})

    assert_error(error, -32602, "invalid_params")
    assert error.message.startswith("invalid params for session.create: ")
    assert error.data["field"] == "provider"


# -- application errors --------------------------------------------------------------------------


async def test_unknown_session_is_session_not_found(client: AgentdClient) -> None:
    error = await call_error(client, "session.get", {"session_id": "no-such-session"})

    assert_error(error, -32001, "session_not_found", "unknown session: no-such-session")


async def test_second_send_to_a_busy_session_is_session_busy(client: AgentdClient) -> None:
    session_id = await client.create_session(model="slow")
    first = await client.send(session_id, "take your time")
    assert first["queued"] is False

    error = await call_error(client, "session.send", {"session_id": session_id, "text": "again"})

    assert_error(
        error,
        -32002,
        "session_busy",
        "session is busy; use enqueue=true to queue the prompt",
    )


async def test_whitespace_only_prompt_is_invalid_state(client: AgentdClient) -> None:
    session_id = await client.create_session()

    error = await call_error(client, "session.send", {"session_id": session_id, "text": " \n\t "})

    assert_error(
        error,
        -32006,
        "invalid_state",
        "session.send requires non-empty text or at least one image",
    )


async def test_provider_without_key_is_provider_unavailable(client: AgentdClient) -> None:
    error = await call_error(client, "session.create", {"provider": "openai"})

    assert_error(error, -32004, "provider_unavailable")


# -- -32800 request_cancelled --------------------------------------------------------------------


async def test_cancel_request_for_a_request_in_flight_answers_request_cancelled(
    client: AgentdClient,
) -> None:
    """``history.clear_session`` on a busy session waits for the interrupted turn to end.

    That wait is only a few event-loop steps long, so a ``$/cancelRequest`` in a later write
    cannot reliably arrive in time, and no other request waits longer. The cancel is therefore
    written together with the request: the daemon has accepted the request (it is in flight) but
    not answered it when the cancel is read, so the request must be answered ``-32800`` once.
    """
    session_id = await client.create_session(model="hang")
    turn = await client.send(session_id, "wait forever")
    request = {
        "jsonrpc": "2.0",
        "id": "clear-1",
        "method": "history.clear_session",
        "params": {"session_id": session_id},
    }
    cancel = {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": "clear-1"}}
    start = len(client.transcript)

    client.write_raw(client.encode(request) + client.encode(cancel))
    response = await response_to(client, "clear-1", start=start)

    assert_error(response["error"], -32800, "request_cancelled")
    # The cleared-but-cancelled request did not run: the turn is still there to interrupt.
    interrupted = await client.call("session.interrupt", {"session_id": session_id})
    assert interrupted["interrupted"] is True
    await client.turn_events(turn["turn_id"])


async def test_cancel_request_for_an_unknown_id_is_ignored(client: AgentdClient) -> None:
    start = len(client.transcript)

    client.notify("$/cancelRequest", {"id": "never-sent"})
    client.notify("$/cancelRequest", {"id": 12345})
    client.notify("$/cancelRequest", {"no_id": True})
    result = await client.call("system.ping")

    assert result["ok"] is True
    assert len(client.transcript[start:]) == 1
