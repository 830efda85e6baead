"""The event bus: core emits typed events; whoever listens turns them into output.

Dispatch is synchronous and in emission order, so a listener (the connection's outbox, the CLI, a
test) sees exactly the order in which the core changed state. Listeners must not block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agentd.clock import iso_now

log = logging.getLogger("agentd.core")

Listener = Callable[[str, str, dict[str, Any]], None]


class EventBus:
    """Fan-out of ``(type, timestamp, payload)`` to subscribers."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; the returned function removes it again."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def emit(self, type_: str, payload: dict[str, Any]) -> None:
        timestamp = iso_now()
        for listener in tuple(self._listeners):
            try:
                listener(type_, timestamp, payload)
            except Exception:
                log.exception("event listener failed on %s", type_)
