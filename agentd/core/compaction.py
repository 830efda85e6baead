"""Context compaction: when a conversation nears its model's window, it is summarised by the
session's own provider and the summary replaces the context (loaf-behaviour §5.7).

This module holds the rules (context windows, watermarks) and the summariser call; the session
decides when to run it and records the result. The summariser is one extra model request without
tools over the context (and, after an overflow, the running turn's messages), ending with an
instruction to write a continuation summary.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence

import attrs

from agentd.providers.base import (
    ChatMessage,
    Done,
    ErrorKind,
    ModelRequest,
    Provider,
    ProviderError,
    RequestTrace,
    TextDelta,
)
from agentd.providers.models import describe

MIN_WINDOW, MAX_WINDOW = 8_000, 2_000_000
SUMMARY_HEADING = "## Conversation Summary\n\n"
SUMMARISER_PROMPT = (
    "You are summarising a coding agent's conversation so that the agent can continue the work "
    "with only your summary as context. Be specific and complete; keep file paths, commands, "
    "identifiers, decisions and open problems. Do not invent anything."
)
SUMMARY_REQUEST = (
    "Write a continuation summary of the conversation above, with these sections: Goal, "
    "Instructions, Discoveries, Accomplished, Relevant files."
)
OVERFLOW_NOTE = (
    "The previous model request failed because the conversation no longer fit the model's "
    "context window; the turn was interrupted mid-response and continues after this summary."
)
CONTINUE_PROMPT = (
    "The conversation was compacted because it no longer fit the context window. Continue the "
    "task from where you left off, using the summary above."
)
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([km])\b", re.IGNORECASE)


class CompactionError(Exception):
    """The summariser failed; ``message`` says why and ``kind`` is the provider error's kind
    (the turn fails with both)."""

    def __init__(self, message: str, kind: ErrorKind = "upstream") -> None:
        super().__init__(message)
        self.message = message
        self.kind: ErrorKind = kind


@attrs.frozen
class Limits:
    """A model's context window and the estimates at which compaction starts and aims."""

    window: int
    high_watermark: int
    target: int


def context_window(model: str) -> int:
    """The catalogue's window (clamped), else ``NNNk`` / ``N.Nm`` in the id, else by size
    words: ``mini`` 128,000, ``nano`` 64,000, anything else 272,000 (the reference's rules)."""
    known = describe(model).context_window
    if known:
        return max(MIN_WINDOW, min(MAX_WINDOW, known))
    match = _SIZE.search(model)
    if match:
        value = float(match.group(1)) * (1_000 if match.group(2).lower() == "k" else 1_000_000)
        return max(MIN_WINDOW, min(MAX_WINDOW, int(value)))
    lowered = model.lower()
    if "mini" in lowered:
        return 128_000
    if "nano" in lowered:
        return 64_000
    return 272_000


def limits_for(model: str) -> Limits:
    window = context_window(model)
    return Limits(window, max(6_000, int(window * 0.82)), max(6_000, int(window * 0.74)))


def summary_message(summary: str) -> ChatMessage:
    """The one message a compacted context starts from."""
    return ChatMessage("assistant", SUMMARY_HEADING + summary.strip())


async def summarise(
    provider: Provider,
    model: str,
    messages: Sequence[ChatMessage],
    *,
    session_id: str,
    note: str | None = None,
) -> str:
    """The summary of ``messages`` by ``provider`` (``CompactionError`` if it fails or is empty).

    An interrupt (``CancelledError``) passes through: the turn ends as interrupted.
    """
    closing = f"{note}\n\n{SUMMARY_REQUEST}" if note else SUMMARY_REQUEST
    request = ModelRequest(
        model=model,
        system_prompt=SUMMARISER_PROMPT,
        messages=(*messages, ChatMessage("user", closing)),
        trace=RequestTrace(session_id=session_id),
    )
    parts: list[str] = []
    try:
        async with contextlib.aclosing(provider.stream(request)) as stream:
            async for event in stream:
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                elif isinstance(event, Done):
                    pass
    except ProviderError as exc:
        raise CompactionError(exc.message, exc.kind) from None
    summary = "".join(parts).strip()
    if not summary:
        raise CompactionError("compaction summarizer returned an empty summary")
    return summary
