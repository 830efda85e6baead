"""Context-size counting in the reference's shape (loaf-behaviour §5.6).

Two counters with one interface: ``ESTIMATE``, the reference's character heuristic (20 tokens a
message plus a quarter of its collapsed characters), used for models without a known encoding and
until an encoding has loaded; and ``ExactCounter``, tiktoken with the bundled encoding of the
model (4 tokens a message, as OpenAI's chat format costs). Each message is counted once, when it
joins the context (``Conversation`` caches the counts).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from agentd import tokens
from agentd.providers.base import ChatMessage

_WS = re.compile(r"\s+")
_PER_TOOL = {"openai": 18, "openrouter": 18, "antigravity": 24}
_TOOLS_BASE = {"antigravity": 24}
_OVERHEAD = {"openai": 42, "openrouter": 48, "antigravity": 58, "scripted": 0}


@functools.lru_cache(maxsize=64)
def text_tokens(text: str) -> int:
    """Pinned text (a system prompt): cached, since it repeats on every estimate."""
    collapsed = _WS.sub(" ", text).strip()
    return 0 if not collapsed else 20 + math.ceil(len(collapsed) / 4)


#: What an attached image costs in the context (the reference's figure).
IMAGE_TOKENS = 850
#: Texts longer than this are counted exactly in a worker thread (the estimate stands in until
#: then): tiktoken takes ~70 ms a megabyte, too long for the event loop.
EXACT_INLINE_LIMIT = tokens.THREAD_THRESHOLD


class Counter(Protocol):
    """Counts the tokens of texts; ``key`` tells counts of different counters apart."""

    key: str
    source: str
    per_message: int

    def text(self, text: str) -> int: ...

    def arguments(self, text: str) -> int: ...


class EstimateCounter:
    """The reference's heuristic (``source: estimate``)."""

    key = "estimate"
    source = "estimate"
    per_message = 20

    @staticmethod
    def text(text: str) -> int:
        return math.ceil(len(_WS.sub(" ", text).strip()) / 4)

    @staticmethod
    def arguments(text: str) -> int:
        return math.ceil(len(text) / 4)


class ExactCounter:
    """tiktoken with ``model``'s encoding (``source: tiktoken``); only built once it is loaded."""

    source = "tiktoken"
    per_message = 4

    def __init__(self, model: str) -> None:
        self.model = model
        self.key = f"tiktoken:{tokens.encoding_for(model)}"

    def text(self, text: str) -> int:
        return tokens.count(text, self.model)

    def arguments(self, text: str) -> int:
        return tokens.count(text, self.model)


ESTIMATE = EstimateCounter()


def counter_for(model: str) -> Counter:
    """Exact counting when ``model``'s encoding is known and loaded, else the estimate."""
    return ExactCounter(model) if tokens.is_ready(model) else ESTIMATE


def message_tokens(
    message: ChatMessage, counter: Counter = ESTIMATE, *, limit: int | None = EXACT_INLINE_LIMIT
) -> int:
    """One message's share of the context (computed once, when it joins the conversation).

    Texts longer than ``limit`` are estimated here; ``needs_exact`` says whether to count them
    again in a worker thread (with ``limit=None``).
    """
    text = message.text
    inline = counter if limit is None or len(text) <= limit else ESTIMATE
    count = counter.per_message + inline.text(text) + IMAGE_TOKENS * len(message.images)
    for call in message.tool_calls:
        count += inline.arguments(json.dumps(dict(call.arguments))) + 8
    return count


def needs_exact(message: ChatMessage, counter: Counter) -> bool:
    """Whether ``message_tokens`` estimated an over-long text that ``counter`` counts exactly."""
    return counter is not ESTIMATE and len(message.text) > EXACT_INLINE_LIMIT


def provider_overhead(provider: str | None) -> int:
    return 0 if provider is None else _OVERHEAD.get(provider, 42)


def tool_schema_tokens(tools: Iterable[Mapping[str, Any]], provider: str | None) -> int:
    """Tokens the tool declarations cost a provider (computed once per tool set and provider)."""
    if provider is None:
        return 0
    specs = list(tools)
    chars = sum(
        len(t["name"]) + len(t["description"]) + len(json.dumps(t["input_schema"])) for t in specs
    )
    return (
        math.ceil(chars / 4)
        + len(specs) * _PER_TOOL.get(provider, 18)
        + _TOOLS_BASE.get(provider, 16)
    )
