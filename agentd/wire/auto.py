"""Framing auto-detection: NDJSON if the stream's first non-whitespace byte is ``{`` or ``[``.

An LSP stream starts with a header name (``Content-Length``), never with JSON, and the reference
client sends bare JSON lines, so one byte decides. Leading whitespace carries no message and is
dropped while waiting for that byte, so an idle stream of newlines costs no memory.

One UTF-8 BOM at the start of the stream (before or after that whitespace) is skipped in every
mode, forced or not: some Windows tools write one, and left in place it would make auto-detection
pick LSP and wait for a header that never comes. Bytes that fit neither framing go to the LSP
decoder, which answers ``invalid_header`` as soon as they cannot begin a header line.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias

from agentd.wire.events import DEFAULT_MAX_HEADER_SIZE, DEFAULT_MAX_MESSAGE_SIZE, Event
from agentd.wire.lsp import LspDecoder
from agentd.wire.ndjson import NdjsonDecoder

__all__ = ["AutoDecoder", "Framing", "FramingMode"]

Framing: TypeAlias = Literal["lsp", "ndjson"]
FramingMode: TypeAlias = Literal["auto", "lsp", "ndjson"]

_JSON_WS: Final = b" \t\r\n"
_JSON_START: Final = frozenset(b"{[")
_BOM: Final = b"\xef\xbb\xbf"


class AutoDecoder:
    """Pick the framing from the first bytes (or take it as given), then delegate every call."""

    def __init__(
        self,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        forced: FramingMode = "auto",
        max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
    ) -> None:
        if forced not in ("auto", "lsp", "ndjson"):
            raise ValueError(f"unknown framing {forced!r}")
        self._max_message = max_message_size
        self._max_header = max_header_size
        self._inner: LspDecoder | NdjsonDecoder | None = None
        self._framing: Framing | None = None
        # While the stream start is still being read: bytes that may be the start of a BOM.
        self._head: bytes | None = b""
        self._bom_seen = False
        if forced != "auto":
            self._choose(forced)

    @property
    def framing(self) -> Framing | None:
        """The framing in use, or None while only whitespace has arrived (auto mode)."""
        return self._framing

    @property
    def buffered(self) -> int:
        """Bytes held by the chosen decoder (none before the choice)."""
        return 0 if self._inner is None else self._inner.buffered

    def feed(self, data: bytes) -> list[Event]:
        """Consume the next piece of the stream and return the events it completes."""
        if self._head is not None:
            data = self._skip_start(data)
            if not data:
                return []
        inner = self._inner
        if inner is None:
            inner = self._choose("ndjson" if data[0] in _JSON_START else "lsp")
        return inner.feed(data)

    def _skip_start(self, data: bytes) -> bytes:
        """Drop leading whitespace and one BOM; return the first real bytes (empty: not yet)."""
        assert self._head is not None
        data = (self._head + data).lstrip(_JSON_WS)
        if not self._bom_seen:
            if len(data) < len(_BOM) and _BOM.startswith(data):
                self._head = data  # may still become a BOM (or is empty)
                return b""
            if data.startswith(_BOM):
                self._bom_seen = True
                data = data[len(_BOM) :].lstrip(_JSON_WS)
        self._head = None if data else b""
        return data

    def eof(self) -> list[Event]:
        """End of stream, passed on to the chosen decoder (nothing to do if none was chosen)."""
        return [] if self._inner is None else self._inner.eof()

    def _choose(self, framing: Framing) -> LspDecoder | NdjsonDecoder:
        inner: LspDecoder | NdjsonDecoder
        if framing == "ndjson":
            inner = NdjsonDecoder(self._max_message)
        else:
            inner = LspDecoder(self._max_message, self._max_header)
        self._inner = inner
        self._framing = framing
        return inner
