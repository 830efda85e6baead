"""Server-Sent Events decoding (the WHATWG ``text/event-stream`` format), sans-IO.

Bytes in, events out, no sockets: every streaming provider feeds its response body here. Goals, in
the spirit of ``agentd.wire.lsp``:

* Fast on the common stream: a model answer is thousands of small ``data:`` events, and this
  decoder sits on the path of every one. Each ``feed`` works in bulk with bytes methods (line
  ends normalised to LF with two ``replace`` calls, only when a CR is present; lines cut with one
  ``split``), so the Python work per event is a few comparisons and the event itself.
* O(n) whatever the split: only the unterminated last line is kept between feeds, in a
  ``bytearray`` that grows in place, so a body fed one byte at a time is never rescanned.
* Bounded memory on hostile input: a line longer than ``max_line_size`` (or an event whose data
  outgrows ``max_event_size``) becomes one :class:`SseError`; its bytes are dropped as they
  arrive and the rest of that event is skipped, so one bad event never costs more than the limit.
* Never raise on bad input: invalid UTF-8 is replaced, unknown fields are ignored, comments
  (``:`` lines, which servers send as keep-alives) are skipped.

Deviations from the browser algorithm, both deliberate: an event still pending at end of stream
(its blank line never came) is delivered by :meth:`SseDecoder.eof`, because an HTTP body that
ends is complete; and ``retry:`` is parsed away but not reported (we never reconnect a stream).
The decoder's output depends only on the stream, never on how it was split into ``feed`` calls
(an over-long line is an error whether it arrives whole or in pieces).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_MAX_LINE_SIZE",
    "SseDecoder",
    "SseError",
    "SseEvent",
    "SseItem",
]

#: A ``response.completed`` line carries the whole response (output, tools, instructions): be
#: generous, but finite.
DEFAULT_MAX_LINE_SIZE: Final = 16 * 1024 * 1024
DEFAULT_MAX_EVENT_SIZE: Final = 32 * 1024 * 1024

_BOM: Final = b"\xef\xbb\xbf"
_CR: Final = 0x0D
_LF: Final = 0x0A
_COLON: Final = 0x3A


# Not frozen: a frozen dataclass's __init__ costs 0.44 µs against 0.13 µs, once per event.
@dataclass(slots=True)
class SseEvent:
    """One dispatched event: ``data`` lines joined with ``\\n``; ``event`` defaults to
    ``message``; ``id`` is the last event id seen so far (it persists across events)."""

    event: str
    data: str
    id: str = ""


@dataclass(frozen=True, slots=True)
class SseError:
    """An event that was dropped because it broke a size limit; decoding goes on."""

    detail: str


SseItem: TypeAlias = SseEvent | SseError


class SseDecoder:
    """Incremental ``text/event-stream`` decoder: ``feed`` any bytes, then ``eof`` once."""

    def __init__(
        self,
        max_line_size: int = DEFAULT_MAX_LINE_SIZE,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        if max_line_size < 1 or max_event_size < 1:
            raise ValueError("max_line_size and max_event_size must be >= 1")
        self._max_line = max_line_size
        self._max_event = max_event_size
        self._buf = bytearray()  # the unterminated last line, line ends already LF
        self._start = True  # before the first bytes (a BOM may come)
        self._skip_lf = False  # the last bytes were a CR: a following LF belongs to it
        self._discard = False  # dropping the rest of an over-long line
        self._poisoned = False  # the current event broke a limit: drop it at its blank line
        self._data: list[bytes] = []
        self._data_size = 0
        self._event = "message"
        self._last_id = ""

    @property
    def buffered(self) -> int:
        """Bytes held for the current line and event (bounded by the two limits)."""
        return len(self._buf) + self._data_size

    def feed(self, data: bytes) -> list[SseItem]:
        """Consume the next piece of the body; return the events it completes."""
        out: list[SseItem] = []
        if self._start:
            if not data:
                return out
            # Hold back a possible BOM prefix until it is known whole.
            data = bytes(self._buf) + data
            if len(data) < len(_BOM) and _BOM.startswith(data):
                self._buf[:] = data
                return out
            self._buf.clear()
            self._start = False
            if data.startswith(_BOM):
                data = data[len(_BOM) :]
        if self._skip_lf and data:
            self._skip_lf = False
            if data[0] == _LF:
                data = data[1:]
        if not data:
            return out
        if b"\r" in data:  # CRLF and CR become LF; a CR at the end may pair with the next LF
            self._skip_lf = data[-1] == _CR
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._discard:
            cut = data.find(b"\n")
            if cut < 0:
                return out
            self._discard = False
            data = data[cut + 1 :]
        buf = self._buf
        lines = data.split(b"\n")
        rest = lines.pop()  # after the last LF: the next unterminated line (maybe empty)
        if lines:
            if buf:
                buf += lines[0]
                lines[0] = bytes(buf)
                buf.clear()
            if len(data) + len(lines[0]) > self._max_line:  # a whole line may be over the limit
                self._checked_lines(lines, out)
            else:
                self._lines(lines, out)
        buf += rest
        if len(buf) > self._max_line:
            self._too_long(out)
            buf.clear()
            self._discard = True
        return out

    def eof(self) -> list[SseItem]:
        """End of the body: the last line and event count even without their line ends."""
        out: list[SseItem] = []
        if self._buf and not self._discard:
            self._lines([bytes(self._buf)], out)
        self._lines([b""], out)  # dispatch what is pending
        self._buf.clear()
        self._start = True
        self._skip_lf = self._discard = self._poisoned = False
        self._last_id = ""
        return out

    # -- lines -------------------------------------------------------------------------------

    def _too_long(self, out: list[SseItem]) -> None:
        out.append(SseError(f"line longer than {self._max_line} bytes; event dropped"))
        self._poisoned = True
        self._data.clear()
        self._data_size = 0

    def _checked_lines(self, lines: list[bytes], out: list[SseItem]) -> None:
        """``_lines`` for a feed that may hold a complete line over the limit (rare)."""
        start = 0
        for index, line in enumerate(lines):
            if len(line) > self._max_line:
                self._lines(lines[start:index], out)
                self._too_long(out)
                start = index + 1
        self._lines(lines[start:], out)

    def _lines(self, lines: list[bytes], out: list[SseItem]) -> None:
        """Complete lines (no line ends) in order. The common ``data:`` and blank lines are
        handled inline; the state lives in locals and is stored back once."""
        data = self._data
        size = self._data_size
        poisoned = self._poisoned
        for line in lines:
            if not line:  # a blank line dispatches the event
                if data:
                    if not poisoned:
                        raw = data[0] if len(data) == 1 else b"\n".join(data)
                        text = raw.decode("utf-8", "replace")
                        out.append(SseEvent(self._event, text, self._last_id))
                    data.clear()
                size = 0
                self._event = "message"
                poisoned = False
                continue
            if line[0] == _COLON:
                continue  # a comment: keep-alives look like this
            if poisoned:
                continue
            if line.startswith(b"data:"):
                value = line[6:] if line[5:6] == b" " else line[5:]
            else:
                name, colon, value = line.partition(b":")
                if colon and value[:1] == b" ":
                    value = value[1:]
                if name == b"event":
                    self._event = value.decode("utf-8", "replace") or "message"
                    continue
                if name == b"id":
                    if b"\0" not in value:
                        self._last_id = value.decode("utf-8", "replace")
                    continue
                if name != b"data":
                    continue  # "retry" and unknown fields: ignored
            size += len(value) + 1
            if size > self._max_event:
                out.append(SseError(f"event data longer than {self._max_event} bytes; dropped"))
                poisoned = True
                data.clear()
                size = 0
                continue
            data.append(value)
        self._data_size = size
        self._poisoned = poisoned
