"""What both OpenAI wires share: the stream-mapper shape and tool-argument parsing."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from agentd.providers.base import ProviderEvent

__all__ = ["PROVIDER", "StreamMapper", "parse_arguments"]

#: ``ProviderData.provider`` for what this provider stores and reads back.
PROVIDER = "openai"


class StreamMapper(Protocol):
    """Turns one response's decoded SSE ``data`` objects into provider events.

    ``feed`` may raise ``ProviderError`` (an error the server reported in the stream). ``done``
    turns true at the wire's terminal event, after which the caller stops reading. ``end`` is
    called once when reading stops (``saw_done``: the ``[DONE]`` sentinel arrived) and returns the
    final events, ``Done`` last; it raises ``ProviderError`` if the stream stopped short.
    """

    done: bool

    def feed(self, event: str, data: Mapping[str, Any]) -> list[ProviderEvent]: ...

    def end(self, saw_done: bool) -> list[ProviderEvent]: ...


def parse_arguments(text: str) -> dict[str, Any]:
    """The parsed form of a tool call's argument text: an object, or ``{}`` for anything else
    (the raw text is kept beside it, so nothing is lost)."""
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def json_int(value: object) -> int:
    """A JSON integer, or 0 for anything else (a missing or malformed count)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def usage_detail(usage: Mapping[str, Any], key: str, field: str) -> int:
    """``usage[key][field]`` as an integer (both wires nest cached and reasoning counts)."""
    details = usage.get(key)
    return json_int(details.get(field)) if isinstance(details, Mapping) else 0
