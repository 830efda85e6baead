"""Binds the declared methods (``agentd.api.methods``) to their handlers on a connection.

Each handler is ``async def handler(ctx, params) -> result``: the binding parses params with the
declared type (methods without params skip parsing, and the attrs import, entirely), and maps
domain errors to JSON-RPC errors, so handlers only say what the method does.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agentd.api.methods import MethodSpec, family_methods
from agentd.protocol.errors import RpcError

if TYPE_CHECKING:
    from agentd.api.context import ApiContext

Bound = Callable[[Any], Awaitable[Any]]
Handler = Callable[[Any, Any], Awaitable[Any]]


def params_type(spec: MethodSpec) -> type:
    """The params class a row names (imports ``agentd.protocol.methods``)."""
    from agentd.protocol import methods

    cls: type = getattr(methods, spec.params)
    return cls


def handler_for(spec: MethodSpec) -> Handler:
    module_name, _, function = spec.handler.partition(".")
    module = importlib.import_module(f"agentd.api.{module_name}")
    handler: Handler = getattr(module, function)
    return handler


def bind(ctx: ApiContext, spec: MethodSpec, handler: Handler) -> Bound:
    """The connection-level handler of one method: parse, call, map domain errors."""
    name = spec.name
    takes_params = spec.params != "NoParams"
    parsed_type: list[type] = []

    async def call(raw: Any) -> Any:
        params: Any = None
        if takes_params:
            from agentd.protocol.params import parse_params

            if not parsed_type:
                parsed_type.append(params_type(spec))
            params = parse_params(name, parsed_type[0], raw)
        try:
            return await handler(ctx, params)
        except (RpcError, asyncio.CancelledError):
            raise
        except Exception as exc:
            from agentd.api.errors import to_rpc_error

            mapped = to_rpc_error(exc, name)
            if mapped is None:
                raise
            raise mapped from None

    return call


def install(ctx: ApiContext, family: str) -> None:
    """Register every method of ``agentd.api.<family>`` on the context's connection."""
    connection = ctx.connection
    for spec in family_methods(family):
        bound = bind(ctx, spec, handler_for(spec))
        if spec.kind == "notification":
            connection.register_notification(spec.name, bound)
        else:
            connection.register(spec.name, bound)
