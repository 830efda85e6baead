"""One retry policy around any provider.

A request is retried only while nothing has been shown of its answer: once a text, reasoning or
tool-call event has streamed, a failure ends the turn (no text is ever sent twice). Each wait is
announced with a ``Retrying`` event before it starts, honours the server's ``retry_after`` and is
an ordinary ``asyncio.sleep``, so an interrupt ends it at once (``CancelledError`` passes through).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import attrs

from agentd.providers.base import (
    CONTENT_EVENTS,
    ModelRequest,
    Provider,
    ProviderError,
    ProviderStream,
    Retrying,
)


@attrs.frozen
class RetryPolicy:
    """How many attempts a request gets and how long to wait between them."""

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    #: A server asking for longer than this is not waited for (the error ends the turn).
    max_retry_after_s: float = 120.0
    #: Back-off waits are shortened by up to this fraction at random, so that many sessions
    #: refused at once do not all come back at once.
    jitter: float = 0.25
    random: Callable[[], float] = attrs.field(default=random.random, eq=False, repr=False)

    def delay(self, attempt: int, error: ProviderError) -> float | None:
        """Seconds to wait before ``attempt`` (2, 3, …), or ``None`` when not to retry.

        The server's ``retry_after`` is honoured as given; otherwise the wait doubles from
        ``base_delay_s`` up to ``max_delay_s``, with jitter.
        """
        if not error.retryable or attempt > self.max_attempts:
            return None
        if error.retry_after is not None:
            wait = float(error.retry_after)
            return wait if wait <= self.max_retry_after_s else None
        backoff = min(self.base_delay_s * 2.0 ** (attempt - 2), self.max_delay_s)
        return float(backoff * (1.0 - self.jitter * self.random()))


class RetryingProvider:
    """Wraps ``inner`` with ``policy``; owns it (``aclose`` closes it)."""

    def __init__(self, inner: Provider, policy: RetryPolicy | None = None) -> None:
        self.inner = inner
        self.name = inner.name
        self.policy = policy or RetryPolicy()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def list_models(self) -> list[str]:
        """The inner provider's model ids (not retried: listing is a side path)."""
        return await self.inner.list_models()

    async def stream(self, request: ModelRequest) -> ProviderStream:
        attempt = 1
        while True:
            shown = False
            try:
                # the inner stream is closed whichever way this attempt ends
                inner = self.inner.stream(request)
                try:
                    async for event in inner:
                        if not shown and isinstance(event, CONTENT_EVENTS):
                            shown = True
                        yield event
                finally:
                    await inner.aclose()
                return
            except ProviderError as error:
                delay = None if shown else self.policy.delay(attempt + 1, error)
                if delay is None:
                    raise
                attempt += 1
                yield Retrying(
                    attempt=attempt,
                    max_attempts=self.policy.max_attempts,
                    delay_ms=round(delay * 1000),
                    reason=f"{error.kind}: {error.message}",
                    kind=error.kind,
                    message=error.message,
                )
                await asyncio.sleep(delay)
