"""Server-Sent Events decoding (the WHATWG ``text/event-stream`` format), sans-IO.

Bytes in, events out, no sockets: every streaming provider feeds its response body here. Goals, in
the spirit of ``agentd.wire.lsp``:

* O(n) whatever the split: the search for a line end resumes where the previous one stopped, so
  a body fed one byte at a time is never rescanned, and consumed lines are cut off once per feed.
* Bounded memory on hostile input: a line longer than ``max_line_size`` (or an event whose data
  outgrows ``max_event_size``) becomes one :class:`SseError`; its bytes are dropped as they
  arrive and the rest of that event is skipped, so one bad event never costs more than the limit.
* Never raise on bad input: invalid UTF-8 is replaced, unknown fields are ignored, comments
  (``:`` lines, which servers send as keep-alives) are skipped.

Deviations from the browser algorithm, both deliberate: an event still pending at end of stream
(its blank line never came) is delivered by :meth:`SseDecoder.eof`, because an HTTP body that
ends is complete; and ``retry:`` is parsed away but not reported (we never reconnect a stream).
The decoder's output depends only on the stream, never on how it was split into ``feed`` calls.
"""

from __future__ import annotations

import re
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

_EOL: Final = re.compile(rb"[\r\n]")
_BOM: Final = b"\xef\xbb\xbf"
_CR: Final = 0x0D
_LF: Final = 0x0A
_COLON: Final = 0x3A


@dataclass(frozen=True, slots=True)
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
        self._buf = bytearray()
        self._scan = 0  # where the line-end search resumes in _buf
        self._start = True  # before the first bytes (a BOM may come)
        self._skip_lf = False  # the last line ended with CR: a following LF belongs to it
        self._discard = False  # dropping the rest of an over-long line
        self._poisoned = False  # the current event broke a limit: drop it at its blank line
        self._data: list[bytes] = []
        self._data_size = 0
        self._event = b""
        self._last_id = ""

    @property
    def buffered(self) -> int:
        """Bytes held for the current line and event (bounded by the two limits)."""
        return len(self._buf) + self._data_size

    def feed(self, data: bytes) -> list[SseItem]:
        """Consume the next piece of the body; return the events it completes."""
        out: list[SseItem] = []
        if not data:
            return out
        if self._start:
            # Hold back a possible BOM prefix until it is known whole.
            self._buf += data
            if len(self._buf) < len(_BOM) and _BOM.startswith(self._buf):
                return out
            self._start = False
            if self._buf.startswith(_BOM):
                del self._buf[: len(_BOM)]
            data = b""
        elif self._discard:
            data = self._drop_line(data)
        self._buf += data
        self._drain(out)
        return out

    def eof(self) -> list[SseItem]:
        """End of the body: the last line and event count even without their line ends."""
        out: list[SseItem] = []
        if self._start and self._buf:  # only ever a partial BOM: ordinary bytes after all
            self._start = False
        if self._buf and not self._discard:
            self._line(bytes(self._buf), out)
        self._dispatch(out)
        self._buf.clear()
        self._scan = 0
        self._start = True
        self._skip_lf = self._discard = self._poisoned = False
        self._last_id = ""
        return out

    # -- lines -------------------------------------------------------------------------------

    def _drop_line(self, data: bytes) -> bytes:
        """In discard mode: drop ``data`` up to its first line end; return what follows."""
        m = _EOL.search(data)
        if m is None:
            return b""
        self._discard = False
        end = m.end()
        if data[m.start()] == _CR:
            if end < len(data):
                if data[end] == _LF:
                    end += 1
            else:
                self._skip_lf = True
        return data[end:]

    def _drain(self, out: list[SseItem]) -> None:
        buf = self._buf
        pos = 0
        if self._skip_lf and buf:
            if buf[0] == _LF:
                pos = 1
            self._skip_lf = False
        scan = max(self._scan, pos)
        search = _EOL.search
        while True:
            m = search(buf, scan)
            if m is None:
                break
            end = m.start()
            self._line(bytes(buf[pos:end]), out)
            nxt = end + 1
            if buf[end] == _CR:
                if nxt < len(buf):
                    if buf[nxt] == _LF:
                        nxt += 1
                else:
                    self._skip_lf = True
            pos = scan = nxt
        if pos:
            del buf[:pos]  # one cut per feed: O(1)-ish at the front of a bytearray
        self._scan = len(buf)
        if len(buf) > self._max_line:
            out.append(SseError(f"line longer than {self._max_line} bytes; event dropped"))
            self._poisoned = True
            buf.clear()
            self._scan = 0
            self._discard = True

    def _line(self, line: bytes, out: list[SseItem]) -> None:
        if not line:
            self._dispatch(out)
            return
        if line[0] == _COLON:
            return  # a comment: keep-alives look like this
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if self._poisoned:
            return
        if name == b"data":
            self._data_size += len(value) + 1
            if self._data_size > self._max_event:
                out.append(SseError(f"event data longer than {self._max_event} bytes; dropped"))
                self._poisoned = True
                self._data.clear()
                self._data_size = 0
                return
            self._data.append(value)
        elif name == b"event":
            self._event = value
        elif name == b"id" and b"\0" not in value:
            self._last_id = value.decode("utf-8", "replace")
        # "retry" and unknown fields: ignored

    def _dispatch(self, out: list[SseItem]) -> None:
        if self._data and not self._poisoned:
            out.append(
                SseEvent(
                    self._event.decode("utf-8", "replace") or "message",
                    b"\n".join(self._data).decode("utf-8", "replace"),
                    self._last_id,
                )
            )
        self._data.clear()
        self._data_size = 0
        self._event = b""
        self._poisoned = False
