"""The model context of one session: its messages with their cached token counts.

This is the one place the context changes: a turn's messages are collected in a ``TurnDraft``
and committed here when the turn keeps them; resuming a record replaces the context, and so does
compaction. Every message is counted once, when it joins, and the total is kept, so an estimate
costs the same whatever the conversation's length. The counts are recomputed only when the
counter changes (another model's encoding, or the encoding finishing its load); an over-long
text is estimated at once and counted exactly in a worker thread.

When the provider reported its usage for the request that produced the last answer, that figure
is the context's size (``source: provider``) and only messages added since are counted on top.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from agentd.core.estimate import (
    ESTIMATE,
    Counter,
    message_tokens,
    needs_exact,
    provider_overhead,
    text_tokens,
)
from agentd.providers.base import ChatMessage

log = logging.getLogger("agentd.core")


class Tally:
    """Messages and their counts under one counter; over-long texts recounted off the loop."""

    def __init__(self, counter: Counter = ESTIMATE) -> None:
        self.messages: list[ChatMessage] = []
        self.counts: list[int] = []
        self.tokens = 0
        self.counter = counter
        #: Bumped whenever counts are recomputed: a late exact count of an older generation is
        #: dropped.
        self.generation = 0
        self._pending: set[asyncio.Future[int]] = set()

    def append(self, message: ChatMessage) -> None:
        count = message_tokens(message, self.counter)
        self.messages.append(message)
        self.counts.append(count)
        self.tokens += count
        if needs_exact(message, self.counter):
            self._count_later(len(self.messages) - 1)

    def extend(self, messages: Iterable[ChatMessage]) -> None:
        for message in messages:
            self.append(message)

    def recount(self, counter: Counter) -> None:
        """Count everything again with ``counter`` (O(n), only when the counter changes)."""
        messages = self.messages
        self.reset(counter)
        self.extend(messages)

    def reset(self, counter: Counter | None = None) -> None:
        self.messages, self.counts, self.tokens = [], [], 0
        self.counter = counter or self.counter
        self.generation += 1

    def since(self, index: int) -> int:
        """Tokens of the messages from ``index`` on (a few: those added since an anchor)."""
        return sum(self.counts[index:])

    def _count_later(self, index: int) -> None:
        counter, generation = self.counter, self.generation
        message = self.messages[index]

        def exact() -> int:
            return message_tokens(message, counter, limit=None)

        try:
            future = asyncio.get_running_loop().run_in_executor(None, exact)
        except RuntimeError:  # no loop (a synchronous caller): the estimate stands
            return
        self._pending.add(future)

        def done(finished: asyncio.Future[int]) -> None:
            self._pending.discard(finished)
            if finished.cancelled() or finished.exception() is not None:
                return
            if self.generation == generation and index < len(self.counts):
                self.tokens += finished.result() - self.counts[index]
                self.counts[index] = finished.result()

        future.add_done_callback(done)


class TurnDraft(Tally):
    """Messages a running turn adds to the context; committed unless the turn fails."""


class Conversation:
    """Committed messages, their token counts, their running total, and the provider's
    figure for them when it is known."""

    def __init__(self, messages: Iterable[ChatMessage] = (), counter: Counter = ESTIMATE) -> None:
        self._tally = Tally(counter)
        self._tally.extend(messages)
        #: (tokens the provider reported, messages they covered), while still valid.
        self._anchor: tuple[int, int] | None = None

    @property
    def messages(self) -> Sequence[ChatMessage]:
        return self._tally.messages

    @property
    def counter(self) -> Counter:
        return self._tally.counter

    def __len__(self) -> int:
        return len(self._tally.messages)

    def use_counter(self, counter: Counter) -> None:
        """Count with ``counter`` from now on (recounts once when it differs)."""
        if counter.key != self._tally.counter.key:
            self._tally.recount(counter)

    def extend(self, messages: Iterable[ChatMessage]) -> None:
        self._tally.extend(messages)

    def commit(self, draft: TurnDraft, *, provider_tokens: int | None = None) -> None:
        """Add a turn's messages (counted again: a turn is short, and its draft may have used
        another counter). ``provider_tokens``: the provider's count of the context as its last
        request and answer left it (then it covers everything committed so far)."""
        self._tally.extend(draft.messages)
        self._anchor = None if provider_tokens is None else (provider_tokens, len(self))

    def replace(self, messages: Iterable[ChatMessage]) -> None:
        """Start over from ``messages`` (a resumed record; a compacted context)."""
        self._tally.reset()
        self._tally.extend(messages)
        self._anchor = None

    def forget_provider_count(self) -> None:
        """The provider's figure no longer applies (another provider or model)."""
        self._anchor = None

    def request_messages(self, draft: TurnDraft | None = None) -> tuple[ChatMessage, ...]:
        """What the next model request carries: the context, then the running turn's messages."""
        if draft is None or not draft.messages:
            return tuple(self._tally.messages)
        return (*self._tally.messages, *draft.messages)

    def source(self) -> str:
        """``provider`` while the provider's figure applies, else the counter's source."""
        return "provider" if self._anchor is not None else self._tally.counter.source

    def breakdown(
        self,
        system_prompt: str,
        tool_tokens: int,
        provider: str | None,
        draft: TurnDraft | None = None,
    ) -> dict[str, int]:
        """The reference's four keys (loaf-behaviour §5.6), in O(1) for a cached system prompt
        (plus the few messages added since the provider's figure)."""
        pinned = text_tokens(system_prompt)
        overhead = provider_overhead(provider)
        extra = draft.tokens if draft is not None else 0
        if self._anchor is not None:
            reported, covered = self._anchor
            base = max(0, reported - pinned - tool_tokens - overhead)
            conversation = base + self._tally.since(covered) + extra
        else:
            conversation = self._tally.tokens + extra
        return {
            "pinned_tokens": pinned,
            "conversation_tokens": conversation,
            "tool_schema_tokens": tool_tokens,
            "provider_overhead_tokens": overhead,
        }
