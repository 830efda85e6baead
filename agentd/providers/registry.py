"""Which providers exist, which are configured, and the one instance of each.

Built from ``Settings`` at start-up at no import cost: a provider's module is imported the first
time a session uses it (the openai SDK alone takes most of a second to import). Every provider is
handed out wrapped in the retry policy, and the registry owns the instances: ``aclose`` at
shutdown releases their HTTP clients.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from agentd.config import Settings

if TYPE_CHECKING:
    from agentd.providers.base import Provider

#: Every provider name agentd knows, configured or not (for clear errors).
KNOWN_PROVIDERS = ("scripted", "openai", "openrouter", "antigravity")
#: With no API key configured, sessions play scripts; ``echo`` answers any prompt.
FALLBACK_PROVIDER = "scripted"


class ProviderConfig(NamedTuple):
    """How to build one provider: ``factory`` is ``module:callable``, called with ``options``."""

    name: str
    factory: str
    options: Mapping[str, Any]
    default_model: str


class ProviderNotConfigured(LookupError):
    """The provider is known but has no key, token or endpoint configured."""

    def __init__(self, name: str, missing: str) -> None:
        super().__init__(f"provider {name} is not configured ({missing})")
        self.name = name
        self.missing = missing


class ProviderRegistry:
    """Configured providers by name, built lazily and owned here."""

    def __init__(
        self,
        configs: Mapping[str, ProviderConfig],
        *,
        default: str = FALLBACK_PROVIDER,
        missing: Mapping[str, str] | None = None,
        credentials: Mapping[str, bool] | None = None,
        wrap: Callable[[Provider], Provider] | None = None,
        instances: Mapping[str, Provider] | None = None,
    ) -> None:
        """``instances``: providers built elsewhere (an embedding program, tests), served as
        given (not wrapped) under their names."""
        self._configs = dict(configs)
        for name in instances or {}:
            self._configs.setdefault(name, ProviderConfig(name, "", {}, ""))
        #: Which providers have a key or token set (``state.get``'s ``auth``), configured or not.
        self.credentials = dict(credentials or {})
        self._missing = dict(missing or {})
        self._instances: dict[str, Provider] = dict(instances or {})
        self._wrap = wrap
        self.default_provider = default if default in self._configs else FALLBACK_PROVIDER
        self.known: tuple[str, ...] = tuple(dict.fromkeys((*KNOWN_PROVIDERS, *self._configs)))

    def configured(self) -> list[str]:
        """Names of the providers a session may use, in a stable order."""
        return [name for name in self.known if name in self._configs]

    def is_configured(self, name: str) -> bool:
        return name in self._configs

    def default_model(self, name: str) -> str:
        config = self._configs.get(name)
        return config.default_model if config is not None else ""

    def get(self, name: str) -> Provider:
        """The provider ``name`` (built on first use); ``ProviderNotConfigured`` otherwise."""
        provider = self._instances.get(name)
        if provider is not None:
            return provider
        config = self._configs.get(name)
        if config is None:
            raise ProviderNotConfigured(name, self._missing.get(name, "no API key or token"))
        module_name, _, attr = config.factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        provider = factory(**config.options)
        if self._wrap is not None:
            provider = self._wrap(provider)
        self._instances[name] = provider
        return provider

    async def aclose(self) -> None:
        """Close every provider built so far (their HTTP clients); errors are not fatal."""
        instances, self._instances = list(self._instances.values()), {}
        for provider in instances:
            try:
                await provider.aclose()
            except Exception:  # pragma: no cover - a provider failing to close is only logged
                import logging

                logging.getLogger("agentd.providers").exception("closing %s failed", provider)


def _with_retries(provider: Provider) -> Provider:
    from agentd.providers.retry import RetryingProvider

    return RetryingProvider(provider)


def registry_from_settings(settings: Settings) -> ProviderRegistry:
    """The providers this daemon can use, from its settings (keys, script directories)."""
    configs = {
        "scripted": ProviderConfig(
            name="scripted",
            factory="agentd.providers.scripted:ScriptedProvider",
            options={"script_dirs": settings.script_dirs},
            default_model="echo",
        )
    }
    credentials = {
        "openai": settings.openai_api_key is not None,
        "openrouter": settings.openrouter_api_key is not None,
    }
    return ProviderRegistry(
        configs, default=FALLBACK_PROVIDER, credentials=credentials, wrap=_with_retries
    )
