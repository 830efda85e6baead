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
    default = providers.default_provider
    return {
        "auth": {
            "enabledProviders": providers.configured(),
            "hasOpenAiToken": False,
            "hasOpenRouterKey": providers.credentials.get("openrouter", False),
            "hasAntigravityToken": False,
            "antigravityProfile": None,
        },
        "onboarding": {"completed": True},
        "model": {
            "selectedModel": providers.default_model(default),
            "selectedThinking": None,
            "selectedOpenRouterProvider": None,
            "selectedProvider": default,
        },
        "sessions": (
            {"count": len(manager.sessions), "ids": list(manager.sessions)}
            if manager is not None
            else {"count": 0, "ids": []}
        ),
        "skills": {"count": 0, "directories": []},
    }
