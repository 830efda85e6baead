"""ACP's ``mcpServers`` → agentd's per-session MCP server entries.

Editors pass their MCP servers with each ``session/new`` / ``session/load`` (Zed's context
servers, for example). ACP writes ``env`` and ``headers`` as lists of ``{name, value}`` and allows
any server name; agentd's entries take maps and names that can be part of a tool name
(``mcp__<server>__<tool>``), so names are made safe here. Servers start on the session's first
turn, as configured ones do.
"""

from __future__ import annotations

import re
from typing import Any

from agentd.protocol.errors import RpcError, invalid_params

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def _bad(method: str, problem: str) -> RpcError:
    return invalid_params(method, problem, "mcpServers")


def _pairs(raw: Any, what: str, method: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise _bad(method, f"`{what}` must be an array of {{name, value}} objects")
    out: dict[str, str] = {}
    for pair in raw:
        if not (
            isinstance(pair, dict)
            and isinstance(pair.get("name"), str)
            and isinstance(pair.get("value"), str)
        ):
            raise _bad(method, f"`{what}` must be an array of {{name, value}} objects")
        out[pair["name"]] = pair["value"]
    return out


def safe_name(name: str, taken: set[str]) -> str:
    """A server name agentd accepts (letters, digits, ``_``, ``-``; at most 64), unique."""
    base = _UNSAFE.sub("_", name).strip("_")[:60] or "server"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def mcp_servers(raw: Any, method: str) -> list[dict[str, Any]] | None:
    """The entries for ``SessionManager.create*(mcp_servers=...)``; ``None`` when none given."""
    if raw is None or raw == []:
        return None
    if not isinstance(raw, list):
        raise _bad(method, "`mcpServers` must be an array")
    taken: set[str] = set()
    entries: list[dict[str, Any]] = []
    for server in raw:
        if not isinstance(server, dict) or not isinstance(server.get("name"), str):
            raise _bad(method, "every MCP server needs a `name`")
        name = safe_name(server["name"], taken)
        kind = server.get("type", "stdio")
        if kind == "http":
            entries.append(
                {
                    "name": name,
                    "url": server.get("url"),
                    "headers": _pairs(server.get("headers"), "headers", method),
                }
            )
        elif kind == "stdio" and "command" in server:
            entries.append(
                {
                    "name": name,
                    "command": server.get("command"),
                    "args": server.get("args", []),
                    "env": _pairs(server.get("env"), "env", method),
                }
            )
        else:
            raise _bad(method, f"unsupported MCP server transport: {kind!r}")
    return entries
