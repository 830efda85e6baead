"""Which providers this daemon can use, from the environment and ``config.toml``.

One place decides every provider setting, in this order: the environment (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``AGENTD_OPENAI_API``, …), then ``[providers.NAME]`` in
``$AGENTD_HOME/config.toml`` (``base_url``, ``api``, ``api_key`` or ``api_key_env``, ``model``,
``connect_timeout``, ``stall_timeout``, ``max_attempts``), then defaults. Method params
(``session.create {provider, model}``, ``model.select``) come on top, in the core.

``openai`` is configured by a key or by a base URL alone (a keyless local server: Ollama, vLLM,
llama.cpp, LM Studio); ``openrouter`` by its key. The default provider is the first configured of
``default_provider`` (config), ``openai``, ``scripted``. A provider that is not configured keeps a
message that names the missing setting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from agentd.config import ConfigError, Settings, config_table
from agentd.providers.registry import FALLBACK_PROVIDER, ProviderConfig, ProviderRegistry

OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
#: Used when OpenAI's own API is the endpoint and no model is configured.
OPENAI_DEFAULT_MODEL = "gpt-5-mini"
OPENAI_FACTORY = "agentd.providers.openai.provider:OpenAIProvider"
_WIRES = ("responses", "chat")


def _text(table: Mapping[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key} must be a non-empty string")
    return value.strip()


def _seconds(table: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}.{key} must be a number of seconds")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{where}.{key} must be > 0")
    return float(value)


def _coalesce(env: Mapping[str, str], table: Mapping[str, Any], where: str) -> bool:
    """``AGENTD_OPENAI_COALESCE=0`` (or ``coalesce = false``): one chunk event per delta."""
    raw = env.get("AGENTD_OPENAI_COALESCE")
    if raw is not None:
        return raw.strip().lower() not in ("0", "false", "no", "off")
    value = table.get("coalesce", True)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.coalesce must be true or false")
    return value


def _attempts(table: Mapping[str, Any], where: str) -> int:
    value = table.get("max_attempts", 4)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
        raise ConfigError(f"{where}.max_attempts must be an integer from 1 to 20")
    return value


def _key(env: Mapping[str, str], table: Mapping[str, Any], env_name: str, where: str) -> str | None:
    """The key from ``env_name``, else the variable ``api_key_env`` names, else ``api_key``."""
    if env.get(env_name):
        return env[env_name]
    named = _text(table, "api_key_env", where)
    if named is not None and env.get(named):
        return env[named]
    return _text(table, "api_key", where)


def openai_config(
    env: Mapping[str, str], table: Mapping[str, Any]
) -> tuple[ProviderConfig | None, str]:
    """The ``openai`` provider's config, or ``None`` and what is missing."""
    where = "[providers.openai]"
    key = _key(env, table, "OPENAI_API_KEY", where)
    base_url = env.get("OPENAI_BASE_URL") or _text(table, "base_url", where)
    if not key and not base_url:
        return None, (
            "no API key or token: set OPENAI_API_KEY (or OPENAI_BASE_URL for a keyless local "
            "server), or [providers.openai] in $AGENTD_HOME/config.toml"
        )
    wire = env.get("AGENTD_OPENAI_API") or _text(table, "api", where)
    if wire is not None and wire not in _WIRES:
        raise ConfigError(f"AGENTD_OPENAI_API / {where}.api must be responses or chat, not {wire}")
    base = (base_url or OPENAI_BASE_URL).rstrip("/")
    model = env.get("AGENTD_OPENAI_MODEL") or _text(table, "model", where)
    if model is None and base == OPENAI_BASE_URL:
        model = OPENAI_DEFAULT_MODEL
    options: dict[str, Any] = {
        "api_key": key or "",
        "base_url": base,
        "name": "openai",
        "wire": wire,
        "organization": env.get("OPENAI_ORG_ID") or _text(table, "organization", where),
        "project": env.get("OPENAI_PROJECT_ID") or _text(table, "project", where),
        "connect_timeout": _seconds(table, "connect_timeout", where, 10.0),
        "stall_timeout": _seconds(table, "stall_timeout", where, 120.0),
        "coalesce": _coalesce(env, table, where),
    }
    return ProviderConfig(
        "openai", OPENAI_FACTORY, options, model or "", _attempts(table, where)
    ), ""


def openrouter_config(
    env: Mapping[str, str], table: Mapping[str, Any]
) -> tuple[ProviderConfig | None, str]:
    """OpenRouter over the Chat Completions wire, or ``None`` and what is missing."""
    where = "[providers.openrouter]"
    key = _key(env, table, "OPENROUTER_API_KEY", where)
    if not key:
        return None, "no API key: set OPENROUTER_API_KEY or [providers.openrouter] api_key_env"
    options: dict[str, Any] = {
        "api_key": key,
        "base_url": (_text(table, "base_url", where) or OPENROUTER_BASE_URL).rstrip("/"),
        "name": "openrouter",
        "wire": "chat",
        "headers": {"HTTP-Referer": "https://github.com/agentd", "X-Title": "agentd"},
        "connect_timeout": _seconds(table, "connect_timeout", where, 10.0),
        "stall_timeout": _seconds(table, "stall_timeout", where, 120.0),
    }
    model = _text(table, "model", where) or ""
    return ProviderConfig("openrouter", OPENAI_FACTORY, options, model, _attempts(table, where)), ""


def registry_from_settings(settings: Settings, config: Mapping[str, Any]) -> ProviderRegistry:
    """The providers this daemon can use; a bad config section disables only its provider."""
    env = settings.env
    configs = {
        "scripted": ProviderConfig(
            name="scripted",
            factory="agentd.providers.scripted:ScriptedProvider",
            options={"script_dirs": settings.script_dirs},
            default_model="echo",
        )
    }
    missing: dict[str, str] = {}
    for name, build in (("openai", openai_config), ("openrouter", openrouter_config)):
        try:
            built, why = build(env, config_table(config, "providers", name))
        except ConfigError as exc:
            built, why = None, f"bad configuration: {exc}"
        if built is None:
            missing[name] = why
        else:
            configs[name] = built
    try:
        wanted = _text(config, "default_provider", "config.toml")
    except ConfigError:
        wanted = None
    default = next(
        (n for n in (wanted, "openai", FALLBACK_PROVIDER) if n is not None and n in configs),
        FALLBACK_PROVIDER,
    )
    credentials = {
        "openai": "openai" in configs and bool(configs["openai"].options.get("api_key")),
        "openrouter": "openrouter" in configs,
    }
    return ProviderRegistry(configs, default=default, missing=missing, credentials=credentials)
