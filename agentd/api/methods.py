"""Every method of the session API, declared once.

Each row names the method, its params type (``agentd.protocol.methods``), its result type
(``agentd.protocol.results``), the handler (``module.function`` under ``agentd.api``) and whether
it needs the core. The connection's dispatch table, the handshake's method list, the list of
methods served before the core is loaded, and the committed JSON Schema are all built from this
table, so a method cannot be served without being declared, or declared without a schema.

Types are named, not imported: this module is read at start-up, before attrs is, so the first
answer stays fast. A test checks every name resolves and matches its handler's annotations.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

Kind = Literal["request", "notification", "both"]


class MethodSpec(NamedTuple):
    name: str
    #: Params class in ``agentd.protocol.methods``; ``NoParams``: params are ignored, not parsed.
    params: str
    #: Result type in ``agentd.protocol.results``; ``None``: the result is ``null``.
    result: str | None
    #: ``module.function`` in ``agentd.api``: ``async def f(ctx, params) -> result``.
    handler: str
    #: Needs the session manager (served by a trampoline until the core is loaded).
    core: bool = True
    #: ``request``: answered; ``notification``: never answered; ``both``: either.
    kind: Kind = "both"


METHODS: tuple[MethodSpec, ...] = (
    MethodSpec("rpc.handshake", "HandshakeParams", "HandshakeResult", "system.handshake", False),
    MethodSpec("initialize", "InitializeParams", "InitializeResult", "system.initialize", False),
    MethodSpec("initialized", "NoParams", None, "system.initialized", False, "notification"),
    MethodSpec("shutdown", "NoParams", None, "system.shutdown", False),
    MethodSpec("exit", "NoParams", None, "system.exit_", False, "notification"),
    MethodSpec("system.ping", "NoParams", "PingResult", "system.ping", False),
    MethodSpec(
        "system.shutdown", "ShutdownParams", "ShutdownResult", "system.system_shutdown", False
    ),
    MethodSpec("state.get", "NoParams", "StateSnapshot", "system.state_get", False),
    MethodSpec("session.create", "SessionCreateParams", "SessionCreateResult", "session.create"),
    MethodSpec("session.get", "SessionIdParams", "SessionState", "session.get"),
    MethodSpec("session.send", "SessionSendParams", "SendResult", "session.send"),
    MethodSpec("session.steer", "SessionSteerParams", "SteerResult", "session.steer"),
    MethodSpec(
        "session.interrupt", "SessionInterruptParams", "InterruptResult", "session.interrupt"
    ),
    MethodSpec("session.queue.list", "SessionIdParams", "QueueListResult", "session.queue_list"),
    MethodSpec("session.queue.clear", "SessionIdParams", "QueueClearResult", "session.queue_clear"),
    MethodSpec(
        "session.queue.remove", "QueueRemoveParams", "QueueRemoveResult", "session.queue_remove"
    ),
    MethodSpec(
        "history.clear_session", "SessionIdParams", "ClearSessionResult", "session.clear_session"
    ),
    MethodSpec("history.list", "HistoryListParams", "HistoryListResult", "history.history_list"),
    MethodSpec("history.get", "HistoryGetParams", "HistoryRecord", "history.history_get"),
    MethodSpec("session.compact", "SessionIdParams", "SessionCompactResult", "session.compact"),
    MethodSpec("model.list", "ModelListParams", "ModelListResult", "model.model_list"),
    MethodSpec("model.select", "ModelSelectParams", "ModelSelectResult", "model.model_select"),
    MethodSpec("auth.status", "NoParams", "AuthStatusResult", "model.auth_status"),
    MethodSpec("tools.list", "ToolsListParams", "ToolsListResult", "session.tools_list"),
)
#: Client notifications handled without being methods: ``$/cancelRequest`` (the connection's).
CANCEL_NOTIFICATION = "$/cancelRequest"

BY_NAME = {spec.name: spec for spec in METHODS}


def core_method_names() -> list[str]:
    return [spec.name for spec in METHODS if spec.core]


def family_methods(family: str) -> list[MethodSpec]:
    """The rows whose handler lives in ``agentd.api.<family>``."""
    return [spec for spec in METHODS if spec.handler.partition(".")[0] == family]
