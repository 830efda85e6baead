"""The tool settings of ``$AGENTD_HOME/config.toml``: ``[tools]`` and ``[mcp_servers.NAME]``.

Read once when the core loads (never on the start-up path). A missing file is the defaults; an
unreadable or invalid file is logged and ignored, and a bad server entry is kept as an error that
sessions report (``session.mcp.status: failed``) rather than a daemon that will not start.

```toml
[tools]
max_calls_per_round = 32

[limits]
max_turn_requests = 200

[mcp_servers.docs]
command = "uvx"
args = ["some-mcp-server"]
```
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from agentd.config import ConfigError, load_config
from agentd.tools.mcp.config import McpServerConfig, parse_table

log = logging.getLogger("agentd.tools")

#: Tool calls run per model round; further calls of that round get a tool error.
DEFAULT_MAX_CALLS_PER_ROUND = 32
#: Model requests one turn may make; a turn that needs more ends with ``max_turn_requests``
#: (a model looping on tool calls stops instead of burning tokens without end).
DEFAULT_MAX_TURN_REQUESTS = 200


@attrs.frozen
class ToolConfig:
    max_calls_per_round: int = DEFAULT_MAX_CALLS_PER_ROUND
    mcp_servers: Mapping[str, McpServerConfig] = attrs.field(factory=dict)
    #: Server entries that could not be used, by name → why.
    mcp_errors: Mapping[str, str] = attrs.field(factory=dict)
    #: ``[limits] max_turn_requests``: model requests per turn.
    max_turn_requests: int = DEFAULT_MAX_TURN_REQUESTS


def _bounded(document: Mapping[str, Any], table: str, key: str, default: int, top: int) -> int:
    """``[table] key`` when it is an integer in 1..top, else ``default`` (logged)."""
    section = document.get(table, {})
    raw = section.get(key) if isinstance(section, Mapping) else None
    if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= top:
        return raw
    if raw is not None:
        log.warning("config.toml: [%s] %s must be an integer in 1..%d", table, key, top)
    return default


def tool_config(document: Mapping[str, Any]) -> ToolConfig:
    """The tool settings of a parsed ``config.toml``."""
    limit = _bounded(document, "tools", "max_calls_per_round", DEFAULT_MAX_CALLS_PER_ROUND, 10_000)
    turn = _bounded(document, "limits", "max_turn_requests", DEFAULT_MAX_TURN_REQUESTS, 100_000)
    servers, errors = parse_table(document.get("mcp_servers", {}))
    return ToolConfig(limit, servers, errors, turn)


def load_tool_config(home: Path) -> ToolConfig:
    """``home/config.toml``'s tool settings (defaults when it is missing or invalid)."""
    try:
        document = load_config(home)
    except ConfigError as exc:
        log.warning("ignoring config.toml: %s", exc)
        return ToolConfig()
    return tool_config(document)
