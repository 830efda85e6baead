"""Framing over real pipes (PROTOCOL §1): LSP headers, awkward bodies, splits, auto-detection."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agentd.client import AgentdClient
from tests.e2e.helpers import Framing, Spawn, frame, response_to, run_batch

#: A title full of characters that line-based readers get wrong.
AWKWARD_TITLE = "line\u2028separator\u2029paragraph \u00e9\u20ac\U0001f600 end"


def create_request(request_id: str, title: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "session.create",
        "params": {"title": title},
    }


async def write_slowly(client: AgentdClient, pieces: list[bytes], pause: float = 0.002) -> None:
    """Write each piece separately (flushed), so the daemon sees them in separate reads."""
    stdin = client.process.stdin
    assert stdin is not None
    for piece in pieces:
        stdin.write(piece)
        await stdin.drain()
        await asyncio.sleep(pause)


async def test_lsp_header_name_is_case_insensitive(lsp_client: AgentdClient) -> None:
    body = b'{"jsonrpc":"2.0","id":"lower","method":"system.ping"}'

    lsp_client.write_raw(b"content-length: %d\r\n\r\n" % len(body) + body)

    assert (await response_to(lsp_client, "lower"))["result"]["ok"] is True


async def test_lsp_content_type_header_is_accepted(lsp_client: AgentdClient) -> None:
    body = b'{"jsonrpc":"2.0","id":"typed","method":"system.ping"}'
    header = (
        b"Content-Length: %d\r\n"
        b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" % len(body)
    )

    lsp_client.write_raw(header + body)

    assert (await response_to(lsp_client, "typed"))["result"]["ok"] is True


async def test_lsp_body_with_raw_newlines_and_line_separators(lsp_client: AgentdClient) -> None:
    # Raw newlines may only sit between JSON tokens; U+2028/U+2029 may sit raw inside strings.
    body = json.dumps(create_request("pretty", AWKWARD_TITLE), indent=2, ensure_ascii=False)
    assert "\n" in body and "\u2028" in body

    lsp_client.write_raw(frame("lsp", body.encode()))
    response = await response_to(lsp_client, "pretty")

    assert response["result"]["state"]["title"] == AWKWARD_TITLE


async def test_ndjson_line_with_raw_line_separators_inside_strings(spawn: Spawn) -> None:
    client = await spawn("ndjson")
    body = json.dumps(create_request("seps", AWKWARD_TITLE), ensure_ascii=False)
    assert "\u2028" in body and "\n" not in body

    client.write_raw(frame("ndjson", body.encode()))
    response = await response_to(client, "seps")

    assert response["result"]["state"]["title"] == AWKWARD_TITLE


async def test_several_messages_in_one_write(client: AgentdClient, framing: Framing) -> None:
    ids = [f"multi-{n}" for n in range(5)]
    bodies = [
        json.dumps({"jsonrpc": "2.0", "id": i, "method": "system.ping"}).encode() for i in ids
    ]

    client.write_raw(b"".join(frame(framing, body) for body in bodies))

    for request_id in ids:
        assert (await response_to(client, request_id))["result"]["ok"] is True


async def test_message_written_one_byte_at_a_time(client: AgentdClient, framing: Framing) -> None:
    body = b'{"jsonrpc":"2.0","id":"drip","method":"system.ping"}'
    data = frame(framing, body)

    await write_slowly(client, [data[i : i + 1] for i in range(len(data))], pause=0.001)

    assert (await response_to(client, "drip"))["result"]["ok"] is True


async def test_multibyte_character_split_across_writes(
    client: AgentdClient, framing: Framing
) -> None:
    title = "price: \u20ac5"
    data = frame(framing, json.dumps(create_request("split", title), ensure_ascii=False).encode())
    euro = data.index("\u20ac".encode())

    await write_slowly(client, [data[: euro + 1], data[euro + 1 :]], pause=0.05)

    assert (await response_to(client, "split"))["result"]["state"]["title"] == title


@pytest.mark.parametrize("framing", ["lsp", "ndjson"])
async def test_auto_detection_answers_in_the_client_framing(spawn: Spawn, framing: Framing) -> None:
    client = await spawn(framing, args=[])  # no --framing: auto
    if framing == "ndjson":
        client.write_raw(b"\r\n  \n")  # leading whitespace does not decide

    result = await client.call("system.ping", timeout=5.0)

    assert result["ok"] is True


async def test_ndjson_output_never_contains_a_raw_line_separator(
    agentd_env: dict[str, str],
) -> None:
    request = json.dumps(create_request("seps", AWKWARD_TITLE), ensure_ascii=False)
    ping = '{"jsonrpc":"2.0","id":"after","method":"system.ping"}'

    code, stdout, _ = await run_batch(
        agentd_env, ["--framing", "ndjson"], f"{request}\n{ping}\n".encode()
    )

    assert code == 0
    assert "\u2028".encode() not in stdout
    assert "\u2029".encode() not in stdout
    messages = [json.loads(line) for line in stdout.split(b"\n") if line]
    titles = [m["result"]["state"]["title"] for m in messages if m.get("id") == "seps"]
    assert titles == [AWKWARD_TITLE]
    assert [m["id"] for m in messages if m.get("id") == "after"] == ["after"]
