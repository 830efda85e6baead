"""``[mcp_servers.NAME]`` tables and ``session.create {mcp_servers: [...]}`` entries → configs.

Keys (as Codex's): ``command``, ``args``, ``env``, ``cwd`` for a stdio server, or ``url`` (with
optional ``headers``) for streamable HTTP; ``enabled_tools`` / ``disabled_tools``;
``startup_timeout_sec`` and ``tool_timeout_sec``; ``enabled = false`` skips a server.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

DEFAULT_STARTUP_TIMEOUT_S = 10.0
DEFAULT_TOOL_TIMEOUT_S = 120.0
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_KEYS = frozenset(
    {
        "name",
        "command",
        "args",
        "env",
        "cwd",
        "url",
        "headers",
        "enabled",
        "enabled_tools",
        "disabled_tools",
        "startup_timeout_sec",
        "tool_timeout_sec",
    }
)


class McpConfigError(ValueError):
    """A server entry is malformed; the message names the server and the key."""


@attrs.frozen
class McpServerConfig:
    name: str
    command: str | None = None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    url: str | None = None
    headers: Mapping[str, str] | None = None
    enabled_tools: frozenset[str] | None = None
    disabled_tools: frozenset[str] = frozenset()
    startup_timeout_s: float = DEFAULT_STARTUP_TIMEOUT_S
    tool_timeout_s: float = DEFAULT_TOOL_TIMEOUT_S

    def offers(self, tool: str) -> bool:
        """Whether ``tool`` passes ``enabled_tools`` / ``disabled_tools``."""
        if self.enabled_tools is not None and tool not in self.enabled_tools:
            return False
        return tool not in self.disabled_tools


def _strings(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise McpConfigError(f"{where} must be a list of strings")
    return tuple(raw)


def _string_map(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise McpConfigError(f"{where} must be a table of strings")
    return dict(raw)


def _seconds(raw: Any, where: str, default: float) -> float:
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= 86_400:
        raise McpConfigError(f"{where} must be a number of seconds in (0, 86400]")
    return float(raw)


def parse_server(name: str, raw: Any) -> McpServerConfig | None:
    """One entry; ``None`` when it says ``enabled = false``. Raises ``McpConfigError``."""
    where = f"mcp server {name!r}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise McpConfigError(f"{where}: names use letters, digits, '_' and '-' (at most 64)")
    if not isinstance(raw, Mapping):
        raise McpConfigError(f"{where} must be a table")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise McpConfigError(f"{where}: unknown key {unknown[0]!r}")
    if raw.get("enabled", True) is False:
        return None
    command, url = raw.get("command"), raw.get("url")
    if (command is None) == (url is None):
        raise McpConfigError(f"{where}: give exactly one of 'command' (stdio) or 'url' (HTTP)")
    if command is not None and (not isinstance(command, str) or not command.strip()):
        raise McpConfigError(f"{where}: 'command' must be a non-empty string")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise McpConfigError(f"{where}: 'url' must be an http(s) URL")
    cwd = raw.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise McpConfigError(f"{where}: 'cwd' must be a string")
    enabled = raw.get("enabled_tools")
    return McpServerConfig(
        name=name,
        command=command,
        args=_strings(raw.get("args", []), f"{where}: 'args'"),
        env=None if raw.get("env") is None else _string_map(raw["env"], f"{where}: 'env'"),
        cwd=cwd,
        url=url,
        headers=None
        if raw.get("headers") is None
        else _string_map(raw["headers"], f"{where}: 'headers'"),
        enabled_tools=None
        if enabled is None
        else frozenset(_strings(enabled, f"{where}: 'enabled_tools'")),
        disabled_tools=frozenset(
            _strings(raw.get("disabled_tools", []), f"{where}: 'disabled_tools'")
        ),
        startup_timeout_s=_seconds(
            raw.get("startup_timeout_sec"),
            f"{where}: 'startup_timeout_sec'",
            DEFAULT_STARTUP_TIMEOUT_S,
        ),
        tool_timeout_s=_seconds(
            raw.get("tool_timeout_sec"), f"{where}: 'tool_timeout_sec'", DEFAULT_TOOL_TIMEOUT_S
        ),
    )


def parse_table(table: Any) -> tuple[dict[str, McpServerConfig], dict[str, str]]:
    """``[mcp_servers]`` → (configs, errors by server name): one bad entry spoils no other."""
    servers: dict[str, McpServerConfig] = {}
    errors: dict[str, str] = {}
    if not isinstance(table, Mapping):
        return servers, {"mcp_servers": "[mcp_servers] must be a table"}
    for name, raw in table.items():
        try:
            config = parse_server(name, raw)
        except McpConfigError as exc:
            errors[str(name)] = str(exc)
        else:
            if config is not None:
                servers[name] = config
    return servers, errors


def parse_list(entries: Any) -> list[McpServerConfig]:
    """``session.create``'s ``mcp_servers``: a list of entries each with a ``name``."""
    if not isinstance(entries, list):
        raise McpConfigError("mcp_servers must be a list of server objects")
    out: list[McpServerConfig] = []
    seen: set[str] = set()
    for index, raw in enumerate(entries):
        name = raw.get("name") if isinstance(raw, Mapping) else None
        if not isinstance(name, str):
            raise McpConfigError(f"mcp_servers[{index}] needs a 'name' string")
        if name in seen:
            raise McpConfigError(f"mcp_servers: {name!r} is given twice")
        seen.add(name)
        config = parse_server(name, raw)
        if config is not None:
            out.append(config)
    return out
