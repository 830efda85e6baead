"""Lifecycle and system methods: handshake, LSP-style initialize/shutdown/exit, ping, state.

Served before the core is loaded, so this module imports nothing heavy: params types are parsed
by the dispatcher on first use and only named here for the type checker.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
    return handshake_result(ctx, params.protocol_version, params.strict)


def handshake_result(ctx: ApiContext, version: str | None, strict: bool) -> HandshakeResult:
    if strict and version and version != PROTOCOL_VERSION:
        raise RpcError(
            INVALID_PARAMS,
            f"unsupported protocol_version: {version}",
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


def quick_handshake_params(raw: Any) -> tuple[str | None, bool] | None:
    """``(protocol_version, strict)`` of a common handshake, checked by hand: the strict parser
    imports attrs and cattrs, which would put ~80 ms on the first answer of most clients.

    Only params the strict parser would accept unchanged are decided here (an object, or none,
    whose known keys are absent, null, ASCII strings or, for ``strict``, a boolean); anything
    else gives ``None`` and goes to the strict parser, so errors are its own, unchanged.
    """
    if raw is None:
        return None, False
    if type(raw) is not dict:
        return None
    for key in ("client_name", "client_version", "protocol_version"):
        value = raw.get(key)
        if value is not None and not (type(value) is str and value.isascii()):
            return None
    strict = raw.get("strict")
    if strict is not None and type(strict) is not bool:
        return None
    version = raw.get("protocol_version")
    return (version.strip() or None if version is not None else None), bool(strict)


def fast_handshake(
    ctx: ApiContext, strict: Callable[[Any], Awaitable[Any]]
) -> Callable[[Any], Awaitable[Any]]:
    """``rpc.handshake`` on the start-up path: common params checked by
    :func:`quick_handshake_params`, the rest by ``strict`` (the method table's binding)."""

    async def call(raw: Any) -> Any:
        quick = quick_handshake_params(raw)
        if quick is None:
            return await strict(raw)
        return handshake_result(ctx, *quick)

    return call


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
