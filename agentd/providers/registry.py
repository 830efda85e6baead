"""Which providers exist, which are configured, and the one instance of each.

Built from configuration (``agentd.providers.setup``) at no import cost: a provider's module is
imported the first time a session uses it. Every configured provider is handed out wrapped in the
retry policy with its own budget, and the registry owns the instances: ``aclose`` at shutdown
releases their HTTP clients.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from agentd.providers.base import Provider

#: Every provider name agentd knows, configured or not (for clear errors).
KNOWN_PROVIDERS = ("scripted", "openai", "openrouter", "antigravity")
#: With no API key configured, sessions play scripts; ``echo`` answers any prompt.
FALLBACK_PROVIDER = "scripted"


class ProviderConfig(NamedTuple):
    """How to build one provider: ``factory`` is ``module:callable``, called with ``options``;
    ``max_attempts`` is its retry budget (1: no retries)."""

    name: str
    factory: str
    options: Mapping[str, Any]
    default_model: str
    max_attempts: int = 4


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
        self.default_provider = default if default in self._configs else FALLBACK_PROVIDER
        self.known: tuple[str, ...] = tuple(dict.fromkeys((*KNOWN_PROVIDERS, *self._configs)))

    def configured(self) -> list[str]:
        """Names of the providers a session may use, in a stable order."""
        return [name for name in self.known if name in self._configs]

    def is_configured(self, name: str) -> bool:
        return name in self._configs

    def missing(self, name: str) -> str:
        """What is missing for ``name`` to be usable (for error messages)."""
        return self._missing.get(name, "no API key or token")

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
        from agentd.providers.retry import RetryingProvider, RetryPolicy

        module_name, _, attr = config.factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        built: Provider = RetryingProvider(
            factory(**config.options), RetryPolicy(max_attempts=config.max_attempts)
        )
        self._instances[name] = built
        return built

    def warm(self, name: str) -> None:
        """Import what provider ``name`` needs (its module, and whatever its ``warm()`` loads),
        so that its first request does not pay for it. Safe to call from a worker thread."""
        config = self._configs.get(name)
        if config is None or not config.factory:
            return
        module = importlib.import_module(config.factory.partition(":")[0])
        warm = getattr(module, "warm", None)
        if callable(warm):
            warm()

    def peek(self, name: str) -> Provider | None:
        """The provider ``name`` if it has been built already (never builds one)."""
        return self._instances.get(name)

    async def aclose(self) -> None:
        """Close every provider built so far (their HTTP clients); errors are not fatal."""
        instances, self._instances = list(self._instances.values()), {}
        for provider in instances:
            try:
                await provider.aclose()
            except Exception:  # pragma: no cover - a provider failing to close is only logged
                import logging

                logging.getLogger("agentd.providers").exception("closing %s failed", provider)
