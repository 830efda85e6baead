"""The ``state.get`` snapshot (the reference §3), also carried by ``state.changed``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentd.protocol.results import StateSnapshot

if TYPE_CHECKING:
    from agentd.core.manager import SessionManager
    from agentd.providers.registry import ProviderRegistry


def state_snapshot(providers: ProviderRegistry, manager: SessionManager | None) -> StateSnapshot:
    """Providers and sessions as the reference reports them (sessions: none until the core
    is loaded)."""
    selection = manager.runtime.selection if manager is not None else None
    provider = selection.provider if selection else providers.default_provider
    model = selection.model if selection else providers.default_model(provider)
    return {
        "auth": {
            "enabledProviders": providers.configured(),
            "hasOpenAiToken": providers.credentials.get("openai", False),
            "hasOpenRouterKey": providers.credentials.get("openrouter", False),
            "hasAntigravityToken": False,
            "antigravityProfile": None,
        },
        "onboarding": {"completed": True},
        "model": {
            "selectedModel": model,
            "selectedThinking": selection.thinking if selection else None,
            "selectedOpenRouterProvider": None,
            "selectedProvider": provider,
        },
        "sessions": (
            {"count": len(manager.sessions), "ids": list(manager.sessions)}
            if manager is not None
            else {"count": 0, "ids": []}
        ),
        "skills": {"count": 0, "directories": []},
    }
