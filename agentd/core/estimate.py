"""Context-size estimate in the reference's shape (loaf-behaviour §5.6).

A cheap character heuristic, computed once per message (``Conversation`` caches it); exact
token counts come with the tokens module.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

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


def message_tokens(message: ChatMessage) -> int:
    """One message's share of the context (computed once, when it joins the conversation)."""
    tokens = 20 + math.ceil(len(_WS.sub(" ", message.text).strip()) / 4)
    for call in message.tool_calls:
        tokens += math.ceil(len(json.dumps(dict(call.arguments))) / 4) + 8
    return tokens


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
