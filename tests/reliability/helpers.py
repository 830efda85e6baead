"""Helpers for the reliability tests: requests whose bodies a normal client cannot write."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agentd.client import AgentdClient, AgentdError


def ascii_request(client: AgentdClient, method: str, params: Any) -> asyncio.Future[Any]:
    """Write a request encoded with ``ensure_ascii`` (lone surrogates as ``\\udXXX`` escapes,
    which are valid JSON); returns the future of its response."""
    request_id = next(client._ids)
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    client._pending[request_id] = future
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    client.write_raw(client._encode(json.dumps(body).encode("ascii")))
    return future


async def ascii_call(client: AgentdClient, method: str, params: Any, timeout: float = 20) -> Any:
    response = await asyncio.wait_for(ascii_request(client, method, params), timeout)
    if "error" in response:
        raise AgentdError(response["error"])
    return response.get("result")
