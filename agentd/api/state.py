"""The ``state.get`` snapshot (the reference §3), also carried by ``state.changed``."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from agentd.protocol.results import StateSnapshot
from agentd.wire import dumps

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
            {"count": len(manager.sessions), "ids": _IDS.ids(manager.sessions)}
            if manager is not None
            else {"count": 0, "ids": []}
        ),
        "skills": {"count": 0, "directories": []},
    }


class EncodedIds(list[str]):
    """Session ids and their JSON text (``json``): every ``session.create`` emits a snapshot
    listing every id, and encoding that list anew each time made n creates cost O(n²)."""

    __slots__ = ("json",)

    def __init__(self, ids: list[str], json: bytes) -> None:
        super().__init__(ids)
        self.json = json


class _IdsCache:
    """The ids of the live sessions, encoded once and extended as sessions are added.

    Sessions are only appended to the manager's dict, except a failed resume, which removes
    its own new entry. The cache is extended when the id at its last position is still the one
    it ended with (then nothing before it was removed), and rebuilt otherwise.
    """

    def __init__(self) -> None:
        self._source: dict[str, Any] | None = None
        self._ids: list[str] = []
        self._json = b"[]"

    def ids(self, sessions: dict[str, Any]) -> EncodedIds:
        known = len(self._ids)
        added = len(sessions) - known
        if sessions is not self._source or added < 0 or not known:
            self._rebuild(sessions)
        else:
            # the last ``added`` ids, and the one before them: still the last one cached?
            tail = list(itertools.islice(reversed(sessions), added + 1))
            tail.reverse()
            if tail[0] != self._ids[-1]:
                self._rebuild(sessions)
            elif added:
                new = tail[1:]
                self._json = self._json[:-1] + b"," + b",".join(map(dumps, new)) + b"]"
                self._ids.extend(new)
        return EncodedIds(self._ids, self._json)

    def _rebuild(self, sessions: dict[str, Any]) -> None:
        self._source = sessions
        self._ids = list(sessions)
        self._json = dumps(self._ids)


_IDS = _IdsCache()
