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
    """Session ids and their JSON text: every ``session.create`` emits a snapshot listing every
    id, and encoding that list anew each time made n creates cost O(n²).

    The text lives in an append-only buffer shared by the snapshots taken from one cache: this
    one's is its first ``size`` bytes plus ``]``. Extending the buffer never changes a prefix,
    so adding a session costs the new id only, not a copy of all the others.
    """

    __slots__ = ("_buffer", "_end")

    def __init__(self, ids: list[str], buffer: bytearray, end: int) -> None:
        super().__init__(ids)
        self._buffer = buffer
        self._end = end

    @property
    def json(self) -> bytes:
        return bytes(self._buffer[: self._end]) + b"]"

    @property
    def size(self) -> int:
        """Length of the JSON text in bytes."""
        return self._end + 1

    def join_into(self, head: bytes, tail: bytes) -> bytes:
        """``head + json + tail``, copying the ids' text once."""
        with memoryview(self._buffer)[: self._end] as text:
            return b"".join((head, text, b"]", tail))


class _IdsCache:
    """The ids of the live sessions, encoded once and extended as sessions are added.

    Sessions are only appended to the manager's dict, except a failed resume, which removes
    its own new entry. The cache is extended when the id at its last position is still the one
    it ended with (then nothing before it was removed), and rebuilt otherwise (into a new
    buffer: snapshots already taken keep theirs).
    """

    def __init__(self) -> None:
        self._source: dict[str, Any] | None = None
        self._ids: list[str] = []
        self._buffer = bytearray(b"[")

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
                self._buffer += b"," + b",".join(map(dumps, new))
                self._ids.extend(new)
        return EncodedIds(self._ids, self._buffer, len(self._buffer))

    def _rebuild(self, sessions: dict[str, Any]) -> None:
        self._source = sessions
        self._ids = list(sessions)
        self._buffer = bytearray(dumps(self._ids)[:-1])


_IDS = _IdsCache()
