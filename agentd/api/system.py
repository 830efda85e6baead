"""Lifecycle and system methods: handshake, LSP-style initialize/shutdown/exit, ping, state.

Served before the core is loaded, so this module imports nothing heavy: params types are parsed
by the dispatcher on first use and only named here for the type checker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentd.api.context import ApiContext
from agentd.clock import iso_now
from agentd.protocol.errors import INVALID_PARAMS, RpcError
from agentd.protocol.results import (
    HandshakeResult,
    InitializeResult,
    PingResult,
    ShutdownResult,
    StateSnapshot,
)
from agentd.providers.registry import KNOWN_PROVIDERS
from agentd.tools import BUILTIN_TOOL_NAMES

if TYPE_CHECKING:
    from agentd.protocol.methods import (
        HandshakeParams,
        InitializeParams,
        NoParams,
        ShutdownParams,
    )

PROTOCOL_VERSION = "1.0.0"


def capabilities(ctx: ApiContext) -> dict[str, Any]:
    return {
        "events": True,
        "command_execute": False,
        "multi_session": True,
        "image_inputs": ["path", "data_url"],
        "framing": ["lsp", "ndjson"],
        "event_seq": True,
        # what this server supports; which are configured: state.get / auth.status
        "providers": list(KNOWN_PROVIDERS),
        "tools": list(BUILTIN_TOOL_NAMES),
        "history": True,
        "approvals": ["auto", "ask", "read_only"],
        "cancel_request": True,
        "queue_remove": True,
    }


async def handshake(ctx: ApiContext, params: HandshakeParams) -> HandshakeResult:
    if params.strict and params.protocol_version and params.protocol_version != PROTOCOL_VERSION:
        raise RpcError(
            INVALID_PARAMS,
            f"unsupported protocol_version: {params.protocol_version}",
            "unsupported_protocol_version",
            supported=PROTOCOL_VERSION,
        )
    return {
        "protocol_version": PROTOCOL_VERSION,
        "server_name": "agentd",
        "server_version": ctx.server_version,
        "capabilities": capabilities(ctx),
        "methods": sorted(ctx.connection.methods),
    }


async def initialize(ctx: ApiContext, params: InitializeParams) -> InitializeResult:
    if params.process_id is not None:
        ctx.lifecycle.watch_parent(params.process_id)
    return {
        "serverInfo": {"name": "agentd", "version": ctx.server_version},
        "capabilities": capabilities(ctx),
    }


async def initialized(ctx: ApiContext, params: NoParams) -> None:
    return None


async def shutdown(ctx: ApiContext, params: NoParams) -> None:
    ctx.connection.refusing = True
    await ctx.lifecycle.shutdown("shutdown", announce=True)


async def exit_(ctx: ApiContext, params: NoParams) -> None:
    ctx.lifecycle.exit()


async def ping(ctx: ApiContext, params: NoParams) -> PingResult:
    return {"ok": True, "time": iso_now()}


async def system_shutdown(ctx: ApiContext, params: ShutdownParams) -> ShutdownResult:
    ctx.connection.refusing = True
    await ctx.lifecycle.shutdown(params.reason or "shutdown", announce=True)
    result: ShutdownResult = {"accepted": True}
    if params.reason:
        result["reason"] = params.reason
    return result


async def state_get(ctx: ApiContext, params: NoParams) -> StateSnapshot:
    return ctx.lifecycle.state_snapshot()
