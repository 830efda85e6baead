"""The JSON-RPC connection as ACP wants it.

agentd's connection tells a client it gave up on a server→client request with
``{method: "$/cancelRequest", params: {id}}``; ACP names that notification
``$/cancel_request`` with ``params: {requestId}`` (``CancelRequestNotification`` in its
schema). The SDK tests found the mismatch; the projection is done here, at ACP's front door,
so the shared connection code keeps serving the native protocol unchanged.
"""

from __future__ import annotations

from typing import Any

from agentd.rpc.connection import CANCEL_METHOD, Connection

#: ACP's name for "the request with this id is no longer wanted".
CANCEL_REQUEST = "$/cancel_request"


class AcpConnection(Connection):
    """A ``Connection`` whose request cancellations have ACP's name and shape."""

    def notify(self, method: str, params: Any) -> None:
        if method in (CANCEL_METHOD, CANCEL_REQUEST) and isinstance(params, dict):
            method, params = CANCEL_REQUEST, {"requestId": params.get("id")}
        super().notify(method, params)
