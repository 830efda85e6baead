"""The model context of one session: its messages with their cached token counts.

This is the one place the context changes: a turn's messages are collected in a ``TurnDraft``
and committed here when the turn keeps them; resuming a record replaces the context, and so will
compaction. Every message's count is computed once, when it joins, and the total is kept, so an
estimate costs the same whatever the conversation's length.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from agentd.core.estimate import message_tokens, provider_overhead, text_tokens
from agentd.providers.base import ChatMessage


class TurnDraft:
    """Messages a running turn adds to the context; committed unless the turn fails."""

    def __init__(self) -> None:
        self.messages: list[ChatMessage] = []
        self.tokens = 0

    def append(self, message: ChatMessage) -> None:
        self.messages.append(message)
        self.tokens += message_tokens(message)


class Conversation:
    """Committed messages, their token counts and their running total."""

    def __init__(self, messages: Iterable[ChatMessage] = ()) -> None:
        self._messages: list[ChatMessage] = []
        self._tokens = 0
        self.extend(messages)

    @property
    def messages(self) -> Sequence[ChatMessage]:
        return self._messages

    def __len__(self) -> int:
        return len(self._messages)

    def extend(self, messages: Iterable[ChatMessage]) -> None:
        for message in messages:
            self._messages.append(message)
            self._tokens += message_tokens(message)

    def commit(self, draft: TurnDraft) -> None:
        self._messages.extend(draft.messages)
        self._tokens += draft.tokens

    def replace(self, messages: Iterable[ChatMessage]) -> None:
        """Start over from ``messages`` (a resumed record; a compacted context)."""
        self._messages = []
        self._tokens = 0
        self.extend(messages)

    def request_messages(self, draft: TurnDraft | None = None) -> tuple[ChatMessage, ...]:
        """What the next model request carries: the context, then the running turn's messages."""
        if draft is None or not draft.messages:
            return tuple(self._messages)
        return (*self._messages, *draft.messages)

    def breakdown(
        self,
        system_prompt: str,
        tool_tokens: int,
        provider: str | None,
        draft: TurnDraft | None = None,
    ) -> dict[str, int]:
        """The reference's four keys (loaf-behaviour §5.6), in O(1) for a cached system prompt."""
        conversation = self._tokens + (draft.tokens if draft is not None else 0)
        return {
            "pinned_tokens": text_tokens(system_prompt),
            "conversation_tokens": conversation,
            "tool_schema_tokens": tool_tokens,
            "provider_overhead_tokens": provider_overhead(provider),
        }
