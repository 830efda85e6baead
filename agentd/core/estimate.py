"""Context-size estimate in the reference's shape (loaf-behaviour §5.6).

A cheap character heuristic that runs on every change; exact token counts belong to the provider
layer, where the encoding is known.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from agentd.providers.base import ChatMessage

_WS = re.compile(r"\s+")
_PER_TOOL = {"openai": 18, "openrouter": 18, "antigravity": 24}
_TOOLS_BASE = {"antigravity": 24}
_OVERHEAD = {"openai": 42, "openrouter": 48, "antigravity": 58, "scripted": 0}


def _text_tokens(text: str) -> int:
    collapsed = _WS.sub(" ", text).strip()
    return 0 if not collapsed else 20 + math.ceil(len(collapsed) / 4)


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


def estimate(
    system_prompt: str,
    history: Sequence[ChatMessage],
    tool_tokens: int,
    provider: str | None,
) -> dict[str, int]:
    """``{pinned_tokens, conversation_tokens, tool_schema_tokens, provider_overhead_tokens}``."""
    pinned = _text_tokens(system_prompt)
    conversation = 0
    for message in history:
        conversation += 20 + math.ceil(len(_WS.sub(" ", message.text).strip()) / 4)
        for call in message.tool_calls:
            conversation += math.ceil(len(json.dumps(dict(call.arguments))) / 4) + 8
    overhead = 0 if provider is None else _OVERHEAD.get(provider, 42)
    return {
        "pinned_tokens": pinned,
        "conversation_tokens": conversation,
        "tool_schema_tokens": tool_tokens,
        "provider_overhead_tokens": overhead,
    }
