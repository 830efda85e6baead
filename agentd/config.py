"""Settings: command-line options, then environment variables, then ``config.toml``, then defaults.

Secrets read here (API keys) are kept in memory only; nothing in this module writes them anywhere.
The environment is read at start-up (it costs nothing); ``$AGENTD_HOME/config.toml`` is read only
when something needs it (the provider registry, after the first answer), since ``tomllib`` and
the default home's resolution cost tens of milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

Framing = Literal["auto", "lsp", "ndjson"]
Fsync = Literal["always", "turn", "never"]
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024


def default_home(env: Mapping[str, str] | None = None) -> Path:
    """``$AGENTD_HOME``, else the platform's user data directory for agentd."""
    env = os.environ if env is None else env
    if env.get("AGENTD_HOME"):
        return Path(env["AGENTD_HOME"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("agentd"))


class Settings(NamedTuple):
    """The daemon's settings: an immutable record that costs no import (it is built first)."""

    framing: Framing = "auto"
    log_level: str = "WARNING"
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    script_dirs: tuple[Path, ...] = ()
    #: The default workspace root of sessions.
    cwd: Path = Path(".")
    #: ``None``: ``default_home()``, resolved when history is first needed (not at start-up).
    home: Path | None = None
    #: ``turn``: prompts and turn ends are fsync'd; ``always``: every record; ``never``: none.
    fsync: Fsync = "turn"
    #: How long a tool call under ``approval_policy: ask`` waits for the client's answer.
    approval_timeout_s: float = 300.0
    openai_api_key: str | None = None
    openrouter_api_key: str | None = None
    #: The process environment as read at start-up (provider settings, ``api_key_env``).
    env: Mapping[str, str] = {}

    def __repr__(self) -> str:  # never print keys
        return f"Settings(framing={self.framing!r}, home={self.home!r}, fsync={self.fsync!r})"


def settings_from_env(
    *,
    framing: Framing = "auto",
    log_level: str | None = None,
    max_message_size: int | None = None,
    script_dirs: tuple[Path, ...] = (),
    fsync: Fsync = "turn",
    approval_timeout_s: float = 300.0,
    env: Mapping[str, str] | None = None,
) -> Settings:
    env = os.environ if env is None else env
    return Settings(
        framing=framing,
        log_level=(log_level or env.get("AGENTD_LOG_LEVEL") or "WARNING").upper(),
        max_message_size=max_message_size or DEFAULT_MAX_MESSAGE_SIZE,
        script_dirs=script_dirs,
        cwd=Path.cwd(),
        home=Path(env["AGENTD_HOME"]).expanduser() if env.get("AGENTD_HOME") else None,
        fsync=fsync,
        approval_timeout_s=approval_timeout_s,
        openai_api_key=env.get("OPENAI_API_KEY") or None,
        openrouter_api_key=env.get("OPENROUTER_API_KEY") or None,
        env=dict(env),
    )


CONFIG_FILE = "config.toml"


class ConfigError(ValueError):
    """``config.toml`` is unreadable or malformed; the message names the file and the place."""


def load_config(home: Path) -> dict[str, Any]:
    """The parsed ``home/config.toml``, ``{}`` when there is none; ``ConfigError`` if bad."""
    path = home / CONFIG_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    import tomllib

    try:
        parsed = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return parsed


def config_table(config: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """The nested table ``config[k1][k2]…``, ``{}`` when absent; ``ConfigError`` if not a table."""
    table: Any = config
    for depth, key in enumerate(keys):
        table = table.get(key, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"{CONFIG_FILE}: [{'.'.join(keys[: depth + 1])}] must be a table")
    return cast(Mapping[str, Any], table)
