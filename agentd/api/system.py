"""Lifecycle and system methods: handshake, LSP-style initialize/shutdown/exit, ping, state."""

from __future__ import annotations

from typing import Any

from agentd.api.context import ApiContext
from agentd.clock import iso_now
from agentd.protocol.errors import INVALID_PARAMS, RpcError
from agentd.protocol.results import (
    HandshakeResult,
    InitializeResult,
    PingResult,
    ShutdownResult,
)
from agentd.tools import BUILTIN_TOOL_NAMES

PROTOCOL_VERSION = "1.0.0"


def capabilities(ctx: ApiContext) -> dict[str, Any]:
    return {
        "events": True,
        "command_execute": False,
        "multi_session": True,
        "image_inputs": ["path", "data_url"],
        "framing": ["lsp", "ndjson"],
        "event_seq": True,
        "providers": ctx.lifecycle.provider_names(),
        "tools": list(BUILTIN_TOOL_NAMES),
        "history": True,
        "approvals": ["auto", "ask", "read_only"],
        "cancel_request": True,
        "queue_remove": True,
    }


def register(ctx: ApiContext) -> None:
    conn = ctx.connection

    # params types are imported on first use: attrs and cattrs stay off the start-up path
    async def handshake(raw: Any) -> HandshakeResult:
        from agentd.protocol.methods import HandshakeParams
        from agentd.protocol.params import parse_params

        params = parse_params("rpc.handshake", HandshakeParams, raw)
        if (
            params.strict
            and params.protocol_version
            and params.protocol_version != PROTOCOL_VERSION
        ):
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
            "methods": sorted(conn.methods),
        }

    async def initialize(raw: Any) -> InitializeResult:
        from agentd.protocol.methods import InitializeParams
        from agentd.protocol.params import parse_params

        params = parse_params("initialize", InitializeParams, raw)
        if params.process_id is not None:
            ctx.lifecycle.watch_parent(params.process_id)
        return {
            "serverInfo": {"name": "agentd", "version": ctx.server_version},
            "capabilities": capabilities(ctx),
        }

    async def initialized(raw: Any) -> Any:
        return None

    async def shutdown(raw: Any) -> Any:
        conn.refusing = True
        await ctx.lifecycle.shutdown("shutdown", announce=True)
        return None

    async def exit_(raw: Any) -> Any:
        ctx.lifecycle.exit()
        return None

    async def ping(raw: Any) -> PingResult:
        return {"ok": True, "time": iso_now()}

    async def system_shutdown(raw: Any) -> ShutdownResult:
        from agentd.protocol.methods import ShutdownParams
        from agentd.protocol.params import parse_params

        params = parse_params("system.shutdown", ShutdownParams, raw)
        conn.refusing = True
        await ctx.lifecycle.shutdown(params.reason or "shutdown", announce=True)
        result: ShutdownResult = {"accepted": True}
        if params.reason:
            result["reason"] = params.reason
        return result

    async def state_get(raw: Any) -> Any:
        return ctx.lifecycle.state_snapshot()

    conn.register("rpc.handshake", handshake)
    conn.register("initialize", initialize)
    conn.register_notification("initialized", initialized)
    conn.register("shutdown", shutdown)
    conn.register_notification("exit", exit_)
    conn.register("system.ping", ping)
    conn.register("system.shutdown", system_shutdown)
    conn.register("state.get", state_get)
