"""``initialize`` and ``authenticate``: answered before the core is loaded.

Kept apart from ``agent`` (which imports sessions, providers and tools) so that ``agentd acp``
answers ``initialize`` at the cost of the transport alone, as ``agentd serve`` does; the core is
loaded right after that first answer (``agentd.acp_server``).
"""

from __future__ import annotations

from typing import Any

from agentd import __version__
from agentd.acp.shapes import PROTOCOL_VERSION
from agentd.protocol import errors

#: The session methods, served once the core is loaded.
SESSION_METHODS = (
    "session/new",
    "session/load",
    "session/prompt",
    "session/set_mode",
    "session/set_config_option",
)


def _params(raw: Any, method: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise errors.invalid_params(method, "params must be an object")
    return raw


class Handshake:
    """The answers of the handshake; remembers what the client said it can do."""

    def __init__(self) -> None:
        #: The client's ``clientCapabilities`` (``fs``, ``terminal``): agentd calls neither yet.
        self.client_capabilities: dict[str, Any] = {}

    async def initialize(self, raw: Any) -> dict[str, Any]:
        params = _params(raw, "initialize")
        capabilities = params.get("clientCapabilities")
        self.client_capabilities = capabilities if isinstance(capabilities, dict) else {}
        # Version negotiation: agentd speaks v1 only, and says so whatever was asked.
        return {
            "protocolVersion": PROTOCOL_VERSION,
            "agentCapabilities": {
                "loadSession": True,
                "promptCapabilities": {"image": True, "audio": False, "embeddedContext": True},
                "mcpCapabilities": {"http": True, "sse": False},
            },
            "authMethods": [],
            "agentInfo": {"name": "agentd", "title": "agentd", "version": __version__},
        }

    async def authenticate(self, raw: Any) -> dict[str, Any]:
        params = _params(raw, "authenticate")
        method_id = params.get("methodId")
        # providers are configured by environment or config.toml: there is nothing to sign in to
        raise errors.invalid_params("authenticate", f"unknown auth method: {method_id!r}")
