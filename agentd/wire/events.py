"""Events produced by the framing decoders.

Decoders turn bytes into a flat list of these values and nothing else: no exceptions for bad input,
because bad input is an ordinary event on a stdin stream that the connection must answer (with a
JSON-RPC error) and then survive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, Protocol, TypeAlias

__all__ = [
    "DEFAULT_MAX_HEADER_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "Decoder",
    "Event",
    "FramingError",
    "FramingErrorReason",
    "Message",
]

DEFAULT_MAX_MESSAGE_SIZE: Final = 64 * 1024 * 1024
DEFAULT_MAX_HEADER_SIZE: Final = 64 * 1024

FramingErrorReason: TypeAlias = Literal["invalid_header", "message_too_large"]


@dataclass(frozen=True, slots=True)
class Message:
    """One complete message body: the raw bytes of its JSON text, not parsed here."""

    body: bytes


@dataclass(frozen=True, slots=True)
class FramingError:
    """One bad framing unit, already skipped; the stream stays usable.

    ``reason`` is the JSON-RPC ``data.reason`` the connection answers with: ``invalid_header``
    (-32700) or ``message_too_large`` (-32600). ``detail`` is a short human-readable explanation
    that never contains more than a few dozen bytes of the offending input.
    """

    reason: FramingErrorReason
    detail: str


Event: TypeAlias = Message | FramingError


class Decoder(Protocol):
    """What the connection needs from any framing: push bytes, pull events."""

    def feed(self, data: bytes) -> list[Event]:
        """Consume ``data`` (any split of the stream, possibly empty); return completed events."""
        ...

    def eof(self) -> list[Event]:
        """The stream ended: return whatever the remaining bytes still amount to."""
        ...
