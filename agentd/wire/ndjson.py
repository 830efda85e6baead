"""Newline-delimited JSON framing: one message per ``\\n``-terminated line, as the reference.

Goals, as for the LSP decoder:

* Fast on average: each fed chunk is searched for newlines once, with ``bytes.find``, and a line
  that arrives whole is sliced straight out of it.
* O(n) in the worst case: a line split across feeds is kept as a list of pieces and joined once
  when its newline arrives, so neither byte-at-a-time feeding nor one huge line is quadratic.
* Bounded memory: a line over ``max_message_size`` is reported once, as soon as it is too long,
  and the rest of it is dropped up to its newline without being buffered.
* Never raise on bad input. Lines are not parsed here: a garbage line is passed on as a
  :class:`Message` so that the connection answers it with a JSON-RPC parse error.

Blank lines (only spaces, tabs or CRs) are skipped; a trailing ``\\r`` is stripped (CRLF senders).
"""

from __future__ import annotations

from typing import Final

from agentd.wire.events import DEFAULT_MAX_MESSAGE_SIZE, Event, FramingError, Message

__all__ = ["NdjsonDecoder", "encode_ndjson"]

_CR: Final = 0x0D
_BLANK: Final = b" \t\r"
_BLANK_BYTES: Final = frozenset(_BLANK)


def encode_ndjson(body: bytes) -> bytes:
    """Frame one message body; the caller guarantees it holds no raw newline (``dumps`` does)."""
    return body + b"\n"


class NdjsonDecoder:
    """Sans-IO decoder for newline-delimited JSON: bytes in, :class:`Message` events out.

    ``eof()`` returns a final unterminated non-blank line as a message, because many clients do not
    end their last line with a newline.
    """

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        if max_message_size < 0:
            raise ValueError("max_message_size must be >= 0")
        self._max = max_message_size
        self._pending: list[bytes] = []  # pieces of the current, unterminated line
        self._pending_len = 0
        self._skipping = False  # inside an oversize line, dropping bytes until its newline

    @property
    def max_message_size(self) -> int:
        return self._max

    @property
    def buffered(self) -> int:
        """Bytes currently held: the unterminated part of the current line (<= max + 1)."""
        return self._pending_len

    def feed(self, data: bytes) -> list[Event]:
        """Consume the next piece of the stream and return the events it completes."""
        out: list[Event] = []
        if not data:
            return out
        if type(data) is not bytes:
            data = bytes(data)  # pieces are kept by reference; a caller's bytearray may change
        find = data.find
        start = 0
        while (nl := find(b"\n", start)) >= 0:
            if self._skipping:
                self._skipping = False
            elif self._pending:
                self._pending.append(data[start:nl])
                line = b"".join(self._pending)
                self._pending = []
                self._pending_len = 0
                self._line(line[:-1] if line.endswith(b"\r") else line, out)
            elif nl > start:  # an empty line needs no work at all
                end = nl - 1 if data[nl - 1] == _CR else nl
                self._line(data[start:end], out)
            start = nl + 1
        if start < len(data) and not self._skipping:
            rest = data[start:] if start else data
            self._pending.append(rest)
            self._pending_len += len(rest)
            # A trailing CR may still turn out to be half of a CRLF, so it does not count yet.
            if self._pending_len - (rest[-1] == _CR) > self._max:
                out.append(self._too_large())
                self._pending = []
                self._pending_len = 0
                self._skipping = True
        return out

    def eof(self) -> list[Event]:
        """End of stream: a final line without newline still counts; the decoder resets."""
        out: list[Event] = []
        if self._pending:
            line = b"".join(self._pending)
            self._line(line[:-1] if line.endswith(b"\r") else line, out)
        self._pending = []
        self._pending_len = 0
        self._skipping = False
        return out

    def _line(self, line: bytes, out: list[Event]) -> None:
        if len(line) > self._max:
            out.append(self._too_large())
        elif line and (line[0] not in _BLANK_BYTES or line.strip(_BLANK)):
            out.append(Message(line))

    def _too_large(self) -> FramingError:
        return FramingError("message_too_large", f"line exceeds the limit of {self._max} bytes")
