"""LSP base-protocol framing (``Content-Length: N`` header block, blank line, N body bytes).

Goals, in the spirit of h11's ``_receivebuffer``:

* Fast on average: a 64 KiB read holding hundreds of small messages costs one regex search, one
  tiny header parse and one slice per message.
* O(n) in the worst case, whatever the split: every search resumes where the previous one stopped,
  so feeding one byte at a time never rescans the buffer, and large bodies are collected as a list
  of chunks and joined once instead of being grown and copied repeatedly.
* Bounded memory on hostile input: header bytes are held only up to ``max_header_size``, garbage
  being resynced over keeps only a 14-byte tail, and the body of an oversize message is counted
  down and dropped as it arrives, never buffered.
* Never raise on bad input: every bad unit becomes exactly one :class:`FramingError`, emitted as
  soon as it is known, and decoding goes on with the next message.

Resync rule (after a header block that yields no usable Content-Length):

1. If the bad block contains a later ``content-length:`` (case-insensitive, at a line start or
   glued to garbage) whose value is all digits, the *last* such occurrence is taken as the start of
   the real header (garbage glued in front of a valid header is the common way to get here). If
   the block from there has a usable length, that message is decoded; the block has had its one
   error, so if that message must be rejected too (charset, size) its body is skipped silently.
2. Otherwise the decoder discards input until the next ``content-length:`` anywhere in the stream
   and restarts parsing there. The body of the bad message, which has no header of its own, is
   skipped that way without producing further errors.
3. A header block longer than ``max_header_size`` (or garbage without a blank line that long) is
   one error; parsing restarts at the last ``content-length:`` lying wholly inside that first
   ``max_header_size`` bytes, or else resumes the search of rule 2 from the end of that window.

Early error: a header block must begin with ``Name:``. As soon as its first bytes cannot (a byte
that is neither a header-name character nor, after at least one of them, a colon), the block's one
error is emitted, without waiting for the blank line that ends it: a client that writes ``hello\n``
or a JSON text to an LSP stream gets an answer instead of silence. The block is still read to its
end and resynced over by the rules above; it just has no second error.

The decoder's decisions depend only on the stream, never on how it was split into ``feed`` calls.
"""

from __future__ import annotations

import enum
import re
from typing import Final

from agentd.wire.events import (
    DEFAULT_MAX_HEADER_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    Event,
    FramingError,
    Message,
)

__all__ = ["LspDecoder", "encode_lsp"]

# End of a header block: an empty line, with CRLF or bare-LF line endings.
_HEADER_END: Final = re.compile(rb"\n\r?\n")
_LEADING_WS: Final = re.compile(rb"[ \t\r\n]+")
_WS_BYTES: Final = frozenset(b" \t\r\n")
# The header nearly every client sends, recognised in one match; anything else takes the general
# parse, which accepts the same block, so this is only a shortcut.
_COMMON_HEADER: Final = re.compile(rb"content-length:[ \t]*([0-9]{1,18})[ \t]*\r?\n\r?\n", re.I)
_MARK: Final = re.compile(rb"content-length:", re.IGNORECASE)
_MARK_LEN: Final = len(b"content-length:")
_NUMERIC_VALUE: Final = re.compile(rb"[ \t]*[0-9]+[ \t]*\r?(?:\n|\Z)")
# RFC 9110 token: what a header name may be made of.
_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_NAME_CHARS: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]*")
_COLON: Final = 0x3A
_OWS: Final = b" \t"
# Declared lengths are compared with the limit, never allocated; this cap only keeps int() cheap
# (and within Python's digit limit) for absurd values, which all mean "skip the rest".
_MAX_DIGITS: Final = 30


class _State(enum.Enum):
    HEADER = enum.auto()  # collecting a header block in _buf
    BODY = enum.auto()  # collecting _need more body bytes in _chunks
    SKIP = enum.auto()  # dropping _need more body bytes of a rejected message
    RESYNC = enum.auto()  # dropping bytes until the next "content-length:"


def encode_lsp(body: bytes) -> bytes:
    """Frame one message body; the length counts bytes, as the base protocol requires."""
    return b"Content-Length: %d\r\n\r\n%b" % (len(body), body)


def _show(value: bytes) -> str:
    """A short, printable excerpt of untrusted input for error details and logs."""
    text = value[:40].decode("ascii", "backslashreplace")
    return repr(text + "...") if len(value) > 40 else repr(text)


def _content_type_problem(value: bytes) -> str | None:
    """Accept any media type; refuse only a charset other than UTF-8 (we cannot decode it)."""
    for param in value.split(b";")[1:]:
        key, _, charset = param.partition(b"=")
        if key.strip(_OWS).lower() == b"charset":
            charset = charset.strip(_OWS).strip(b'"').lower()
            if charset not in (b"utf-8", b"utf8"):
                return f"unsupported Content-Type charset {_show(charset)}"
    return None


def _parse_header(block: bytes) -> tuple[int | None, str | None]:
    """Parse a header block (without its terminating blank line).

    Returns ``(length, problem)``: ``length`` is None when the block has no usable Content-Length
    (the caller must resync); otherwise ``problem`` says why the message must still be rejected
    (its body is skipped by length, which keeps the stream in sync).
    """
    length: int | None = None
    problem: str | None = None
    for raw in block.split(b"\n"):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None:
            return None, f"malformed header line {_show(line)}"
        key = name.lower()
        if key == b"content-length":
            digits = value.strip(_OWS)
            if not digits.isdigit():  # bytes.isdigit is ASCII-only; rejects "", "-1", "+1"
                return None, f"invalid Content-Length {_show(digits)}"
            digits = digits.lstrip(b"0") or b"0"
            n = int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS
            if length is not None and n != length:
                return None, "conflicting Content-Length headers"
            length = n
        elif key == b"content-type" and problem is None:
            problem = _content_type_problem(value)
    if length is None:
        return None, "missing Content-Length header"
    return length, problem


def _last_usable_mark(block: bytes) -> int | None:
    """Offset (> 0) of the last ``content-length:`` in ``block`` followed by a numeric value.

    The value is checked with an anchored match that stops at the first non-digit, so a block
    full of marks costs O(len(block)), not O(marks x line length).
    """
    found = None
    for m in _MARK.finditer(block, 1):
        if _NUMERIC_VALUE.match(block, m.end()) is not None:
            found = m.start()
    return found


class LspDecoder:
    """Sans-IO decoder for the LSP base protocol: bytes in, :class:`Message` events out.

    ``eof()`` drops a truncated trailing message silently and returns no event: its sender is gone
    mid-message, so there is no request to answer.
    """

    def __init__(
        self,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
    ) -> None:
        if max_message_size < 0 or max_header_size < 1:
            raise ValueError("max_message_size must be >= 0 and max_header_size >= 1")
        self._max_message = max_message_size
        self._max_header = max_header_size
        self._buf = bytearray()
        self._state = _State.HEADER
        # HEADER: where the search for the blank line resumes. RESYNC: where the mark search does.
        self._scan = 0
        self._need = 0
        self._chunks: list[bytes] = []
        self._chunks_len = 0
        # The current header block's start check: how far its name was seen to be a token
        # (-1 once a colon followed it), and whether the block's one error was already emitted.
        self._name_end = 0
        self._reported = False

    @property
    def max_message_size(self) -> int:
        return self._max_message

    @property
    def max_header_size(self) -> int:
        return self._max_header

    @property
    def buffered(self) -> int:
        """Bytes currently held: a partial header (< max_header_size) or a partial body."""
        return len(self._buf) + self._chunks_len

    def feed(self, data: bytes) -> list[Event]:
        """Consume the next piece of the stream and return the events it completes."""
        out: list[Event] = []
        if not data:
            return out
        if type(data) is not bytes:
            data = bytes(data)  # chunks are kept by reference; a caller's bytearray may change
        if self._state is _State.BODY or self._state is _State.SKIP:
            # The buffer is always empty in these states: take the body straight from ``data``.
            data = self._take_body(data, out)
            if not data:
                return out
        self._buf += data
        self._drain(out)
        return out

    def eof(self) -> list[Event]:
        """End of stream: a partial trailing message is dropped (no event); the decoder resets."""
        self._buf.clear()
        self._chunks.clear()
        self._chunks_len = 0
        self._need = 0
        self._state = _State.HEADER
        self._new_block()
        return []

    def _new_block(self, scan: int = 0) -> None:
        """A header block starts here: reset the searches and the block's start check."""
        self._scan = scan
        self._name_end = 0
        self._reported = False

    # -- body ------------------------------------------------------------------------------------

    def _take_body(self, data: bytes, out: list[Event]) -> bytes:
        """Consume body bytes from ``data``; return what is left after the body ends."""
        need = self._need
        if len(data) < need:
            self._need = need - len(data)
            if self._state is _State.BODY:
                self._chunks.append(data)
                self._chunks_len += len(data)
            return b""
        if self._state is _State.BODY:
            self._chunks.append(data[:need] if need < len(data) else data)
            out.append(Message(b"".join(self._chunks)))
            self._chunks = []
            self._chunks_len = 0
        self._state = _State.HEADER
        self._new_block()
        return data[need:] if need < len(data) else b""

    def _start_body(self, length: int, skip: bool, out: list[Event]) -> None:
        if length == 0:
            if not skip:
                out.append(Message(b""))
            return
        self._need = length
        self._state = _State.SKIP if skip else _State.BODY

    # -- buffer ----------------------------------------------------------------------------------

    def _drain(self, out: list[Event]) -> None:
        """Run the state machine over ``_buf`` until it needs more input."""
        buf = self._buf
        while buf:
            state = self._state
            if state is _State.HEADER:
                if not self._header(out):
                    return
            elif state is _State.RESYNC:
                if not self._resync():
                    return
            else:
                need = self._need
                take = need if need < len(buf) else len(buf)
                if state is _State.BODY:
                    if take == need and not self._chunks:
                        out.append(Message(bytes(buf[:take])))  # the common, small case
                    else:
                        self._chunks.append(bytes(buf[:take]))
                        self._chunks_len += take
                        if take == need:
                            out.append(Message(b"".join(self._chunks)))
                            self._chunks = []
                            self._chunks_len = 0
                del buf[:take]  # O(1): CPython advances a bytearray's start on front deletes
                self._need = need - take
                if self._need == 0:
                    self._state = _State.HEADER
                    self._new_block()

    def _header(self, out: list[Event]) -> bool:
        """Try to complete a header block at the start of ``_buf``; return True on progress."""
        buf = self._buf
        limit = self._max_header
        if self._scan == 0:
            if buf[0] in _WS_BYTES:
                ws = _LEADING_WS.match(buf)
                if ws is not None:
                    del buf[: ws.end()]
                    if not buf:
                        return False
            common = _COMMON_HEADER.match(buf)
            if common is not None and common.end() <= limit:
                size = int(common.group(1))
                if size <= self._max_message:
                    start = common.end()
                    end = start + size
                    if end <= len(buf):
                        out.append(Message(bytes(buf[start:end])))
                        del buf[:end]
                    else:
                        del buf[:start]
                        self._start_body(size, False, out)
                    self._name_end = 0  # a block starting "Content-Length:" is never reported
                    return True
        if self._name_end >= 0 and not self._reported:
            self._check_start(out)
        m = _HEADER_END.search(buf, self._scan)
        if m is None:
            if len(buf) >= limit:  # any blank line still to come would end past the limit
                self._too_large(out, len(buf) - 2)
                return True
            self._scan = max(0, len(buf) - 2)  # a split "\n\r\n" is found next time
            return False
        if m.end() > limit:
            self._too_large(out, m.start())
            return True
        block = bytes(buf[: m.start()])
        del buf[: m.end()]
        reported = self._reported
        self._new_block()
        length, problem = _parse_header(block)
        if length is None:
            if not reported:
                out.append(FramingError("invalid_header", problem or "invalid header block"))
            mark = _last_usable_mark(block)
            if mark is not None:
                length, problem = _parse_header(block[mark:])
            if length is None:
                self._state = _State.RESYNC
                return True
            # A header recovered from behind garbage: this block already had its one error.
            self._start_body(length, problem is not None or length > self._max_message, out)
            return True
        if problem is not None:
            out.append(FramingError("invalid_header", problem))
            self._start_body(length, True, out)
        elif length > self._max_message:
            detail = f"message of {length} bytes exceeds the limit of {self._max_message} bytes"
            if length >= 10**_MAX_DIGITS:
                detail = f"message exceeds the limit of {self._max_message} bytes"
            out.append(FramingError("message_too_large", detail))
            self._start_body(length, True, out)
        else:
            self._start_body(length, False, out)
        return True

    def _check_start(self, out: list[Event]) -> None:
        """Emit the block's error once its first bytes cannot begin a ``Name:`` header line.

        Only the first ``max_header_size`` bytes are looked at (past them the block is too large
        anyway), and the search resumes where it stopped, so byte-at-a-time input stays O(n).
        """
        buf = self._buf
        window = min(len(buf), self._max_header)
        end = _NAME_CHARS.match(buf, self._name_end, window).end()  # type: ignore[union-attr]
        if end == window:
            self._name_end = end  # undecided: the name may go on
        elif end > 0 and buf[end] == _COLON:
            self._name_end = -1  # looks like a header line: the full parse decides
        else:
            self._reported = True
            shown = _show(bytes(buf[: end + 1]))
            out.append(FramingError("invalid_header", f"expected a header line, got {shown}"))

    def _too_large(self, out: list[Event], searched: int) -> None:
        """Reject an over-long header block and restart where a real header may begin.

        ``searched`` is how far the blank-line search has already looked, carried over so that
        restarting inside the same bytes does not search them again.
        """
        limit = self._max_header
        if not self._reported:
            out.append(FramingError("invalid_header", f"header block exceeds {limit} bytes"))
        buf = self._buf
        last = None
        for m in _MARK.finditer(buf, 1, limit):  # marks lying wholly inside the window
            last = m.start()
        if last is not None:
            del buf[:last]
            self._new_block(max(0, searched - last))
        else:
            del buf[: max(1, limit - _MARK_LEN + 1)]
            self._state = _State.RESYNC
            self._new_block()

    def _resync(self) -> bool:
        """Drop input up to the next ``content-length:``; return True once one is found."""
        buf = self._buf
        m = _MARK.search(buf, self._scan)
        if m is None:
            keep = _MARK_LEN - 1  # a mark split across feeds must survive
            if len(buf) > keep:
                del buf[: len(buf) - keep]
            self._scan = 0
            return False
        del buf[: m.start()]
        self._state = _State.HEADER
        self._new_block()
        return True
