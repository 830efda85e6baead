"""The JSON-RPC error model (PROTOCOL §2).

Every error carries a machine-readable ``data.reason``. Message strings match the reference tool
exactly where it has one, so clients that match on text keep working; codes are specific so new
clients need not match on text at all.

No error echoes unbounded input: a method name or id quoted in a message is cut to
:data:`ECHO_LIMIT` characters with an ellipsis, and as a last guard every message and every string
in ``data`` is cut to :data:`MESSAGE_LIMIT` (a 10 MB method name must not become a 10 MB answer).
"""

from __future__ import annotations

from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SESSION_NOT_FOUND = -32001
SESSION_BUSY = -32002
HISTORY_NOT_FOUND = -32003
PROVIDER_UNAVAILABLE = -32004
OVERLOADED = -32005
INVALID_STATE = -32006
REQUEST_CANCELLED = -32800

#: Characters of client input quoted in an error message or ``data``.
ECHO_LIMIT = 200
#: Characters of any error message or ``data`` string (messages quote input built elsewhere).
MESSAGE_LIMIT = 512


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class RpcError(Exception):
    """An error answered to the client; ``data`` always holds a ``reason``."""

    def __init__(self, code: int, message: str, reason: str, **extra: Any) -> None:
        message = clip(message, MESSAGE_LIMIT)
        super().__init__(message)
        self.code = code
        self.message = message
        self.data: dict[str, Any] = {"reason": reason}
        for key, value in extra.items():
            self.data[key] = clip(value, MESSAGE_LIMIT) if isinstance(value, str) else value

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": self.data}


def parse_error(detail: str) -> RpcError:
    return RpcError(PARSE_ERROR, f"parse error: {detail}", "parse_error")


def invalid_header(detail: str) -> RpcError:
    return RpcError(PARSE_ERROR, f"parse error: invalid header: {detail}", "invalid_header")


def message_too_large(detail: str) -> RpcError:
    return RpcError(INVALID_REQUEST, f"message too large: {detail}", "message_too_large")


def batch_not_supported() -> RpcError:
    return RpcError(INVALID_REQUEST, "batch requests are not supported", "batch_not_supported")


def invalid_request() -> RpcError:
    return RpcError(INVALID_REQUEST, "invalid request", "invalid_request")


def shutting_down() -> RpcError:
    return RpcError(INVALID_REQUEST, "server is shutting down", "shutting_down")


def method_not_found(method: str) -> RpcError:
    method = clip(method)
    return RpcError(
        METHOD_NOT_FOUND, f"method not found: {method}", "method_not_found", method=method
    )


def invalid_params(method: str, problem: str, field: str | None = None) -> RpcError:
    extra: dict[str, Any] = {} if field is None else {"field": field}
    return RpcError(
        INVALID_PARAMS, f"invalid params for {method}: {problem}", "invalid_params", **extra
    )


def session_not_found(session_id: str) -> RpcError:
    return RpcError(SESSION_NOT_FOUND, f"unknown session: {clip(session_id)}", "session_not_found")


def session_busy() -> RpcError:
    return RpcError(
        SESSION_BUSY, "session is busy; use enqueue=true to queue the prompt", "session_busy"
    )


def invalid_state(message: str) -> RpcError:
    return RpcError(INVALID_STATE, message, "invalid_state")


def overloaded(message: str, retry_after_ms: int) -> RpcError:
    return RpcError(OVERLOADED, message, "overloaded", retry_after_ms=retry_after_ms)


def provider_unavailable(message: str) -> RpcError:
    return RpcError(PROVIDER_UNAVAILABLE, message, "provider_unavailable")


def request_cancelled() -> RpcError:
    return RpcError(REQUEST_CANCELLED, "request cancelled", "request_cancelled")


def internal_error() -> RpcError:
    return RpcError(INTERNAL_ERROR, "internal error", "internal_error")
