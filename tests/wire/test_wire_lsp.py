"""Byte-level tests of the LSP base-protocol decoder: feed bytes, assert events (h11 style)."""

from __future__ import annotations

import pytest

from agentd.wire import Event, FramingError, LspDecoder, Message, encode_lsp


def feed_all(decoder: LspDecoder, *chunks: bytes) -> list[Event]:
    events: list[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.eof()


def decode(*chunks: bytes, **kwargs: int) -> list[Event]:
    return feed_all(LspDecoder(**kwargs), *chunks)


def bytewise(data: bytes, **kwargs: int) -> list[Event]:
    return feed_all(LspDecoder(**kwargs), *(data[i : i + 1] for i in range(len(data))))


def errors(events: list[Event]) -> list[FramingError]:
    return [e for e in events if isinstance(e, FramingError)]


def messages(events: list[Event]) -> list[bytes]:
    return [e.body for e in events if isinstance(e, Message)]


def test_encode_lsp_counts_bytes_not_characters() -> None:
    body = '{"t":"é中😀"}'.encode()
    assert encode_lsp(body) == b"Content-Length: 17\r\n\r\n" + body  # 11 characters


def test_single_message() -> None:
    assert decode(b'Content-Length: 7\r\n\r\n{"a":1}') == [Message(b'{"a":1}')]


@pytest.mark.parametrize(
    "name", [b"Content-Length", b"content-length", b"CONTENT-LENGTH", b"cOnTeNt-LeNgTh"]
)
def test_header_name_is_case_insensitive(name: bytes) -> None:
    assert decode(name + b": 2\r\n\r\n{}") == [Message(b"{}")]


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 2\r\n",
        b"Content-Length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n",
        b"Content-Type: application/vscode-jsonrpc; charset=utf8\r\nContent-Length: 2\r\n",
        b'Content-Length: 2\r\ncontent-type: application/json; CHARSET="UTF-8"\r\n',
        b"Content-Length: 2\r\nContent-Type: application/json\r\n",
        b"Content-Length: 2\r\nX-Unknown: whatever\r\n",
        b"Content-Length:2\r\n",
        b"Content-Length: \t2 \t\r\n",
        b"Content-Length: 002\r\n",
        b"Content-Length: 2\r\nContent-Length: 2\r\n",  # identical duplicates are harmless
        b"Content-Length: 2\n",  # bare LF line endings
    ],
)
def test_accepted_header_blocks(headers: bytes) -> None:
    stream = headers + b"\r\n{}" if headers.endswith(b"\r\n") else headers + b"\n{}"
    assert decode(stream) == [Message(b"{}")]
    assert bytewise(stream) == [Message(b"{}")]


def test_bare_lf_blank_line_after_crlf_headers() -> None:
    assert decode(b"Content-Length: 2\r\n\n{}") == [Message(b"{}")]


@pytest.mark.parametrize("charset", [b"latin1", b"iso-8859-1", b"utf-16", b'"ascii"', b""])
def test_content_type_with_other_charset_is_rejected_and_its_body_skipped(charset: bytes) -> None:
    bad = b"Content-Length: 7\r\nContent-Type: text/plain; charset=" + charset + b'\r\n\r\n{"a":1}'
    events = decode(bad + encode_lsp(b"[]"))
    assert len(events) == 2
    assert isinstance(events[0], FramingError)
    assert events[0].reason == "invalid_header"
    assert "charset" in events[0].detail
    assert events[1] == Message(b"[]")


@pytest.mark.parametrize(
    "body",
    [
        b'{"text":"line1\nline2"}',
        b'{"text":"a\r\n\r\nContent-Length: 3\r\n\r\nabc"}',
        '{"text":"sep\u2028par\u2029"}'.encode(),
        b"",
        b"\x00\xff\xfe not even utf-8",
    ],
)
def test_body_is_opaque(body: bytes) -> None:
    stream = encode_lsp(body) + encode_lsp(b"{}")
    assert decode(stream) == [Message(body), Message(b"{}")]


def test_several_messages_in_one_feed() -> None:
    bodies = [b'{"id":%d}' % i for i in range(50)]
    decoder = LspDecoder()
    events = decoder.feed(b"".join(encode_lsp(b) for b in bodies))
    assert events == [Message(b) for b in bodies]
    assert decoder.buffered == 0


def test_leading_whitespace_and_blank_lines_between_messages() -> None:
    stream = b"\r\n \n" + encode_lsp(b"[1]") + b"\r\n\r\n\t " + encode_lsp(b"[2]") + b"\n"
    assert decode(stream) == [Message(b"[1]"), Message(b"[2]")]
    assert bytewise(stream) == [Message(b"[1]"), Message(b"[2]")]


def test_multibyte_body_split_at_every_byte_boundary() -> None:
    body = '{"jsonrpc":"2.0","params":{"text":"é 中 😀 \u2028"}}'.encode()
    stream = encode_lsp(body) + encode_lsp(body)
    for i in range(len(stream) + 1):
        assert decode(stream[:i], stream[i:]) == [Message(body)] * 2, i
        for j in range(i, len(stream) + 1, 7):
            assert decode(stream[:i], stream[i:j], stream[j:]) == [Message(body)] * 2, (i, j)
    assert bytewise(stream) == [Message(body)] * 2


def test_feeding_empty_bytes_is_harmless() -> None:
    decoder = LspDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"Content-Length: 2\r\n\r\n{") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"}") == [Message(b"{}")]


def test_oversize_message_is_reported_at_header_time_and_skipped_unbuffered() -> None:
    decoder = LspDecoder(max_message_size=1000)
    events = decoder.feed(b"Content-Length: 1000000\r\n\r\n")
    assert events == [
        FramingError(
            "message_too_large", "message of 1000000 bytes exceeds the limit of 1000 bytes"
        )
    ]
    chunk = b"x" * 4096
    for _ in range(1000000 // 4096):
        assert decoder.feed(chunk) == []
        assert decoder.buffered == 0  # the body is counted down, never held
    rest = 1000000 - (1000000 // 4096) * 4096
    assert decoder.feed(b"y" * rest + encode_lsp(b"[]")) == [Message(b"[]")]


def test_message_exactly_at_the_limit_is_accepted() -> None:
    body = b"x" * 100
    assert decode(encode_lsp(body), max_message_size=100) == [Message(body)]
    events = decode(encode_lsp(body + b"x"), max_message_size=100)
    assert [e.reason for e in errors(events)] == ["message_too_large"]


def test_absurd_declared_length_is_too_large_without_crashing() -> None:
    events = decode(b"Content-Length: " + b"9" * 5000 + b"\r\n\r\nabc")
    assert len(events) == 1
    assert isinstance(events[0], FramingError)
    assert events[0].reason == "message_too_large"
    assert len(events[0].detail) < 100


@pytest.mark.parametrize(
    "bad",
    [
        b"X-Missing: length\r\n\r\n",
        b"Content-Length: abc\r\n\r\n",
        b"Content-Length: -5\r\n\r\n",
        b"Content-Length: +5\r\n\r\n",
        b"Content-Length: 5 5\r\n\r\n",
        b"Content-Length: \r\n\r\n",
        b"Content-Length: 0x10\r\n\r\n",
        b"Content-Length: \xd9\xa3\r\n\r\n",  # a non-ASCII digit
        b"Content-Type: text/plain\r\nContent-Length: abc\r\n\r\n",
        b"Content-Length : 3\r\n\r\n",
        b"no colon here\r\n\r\n",
    ],
)
def test_bad_header_block_is_one_error_then_resync(bad: bytes) -> None:
    body = b'{"jsonrpc":"2.0","method":"x"}'
    stream = bad + body + encode_lsp(b"[1]") + encode_lsp(b"[2]")
    for events in (decode(stream), bytewise(stream)):
        assert [e.reason for e in errors(events)] == ["invalid_header"], events
        assert messages(events) == [b"[1]", b"[2]"]


@pytest.mark.parametrize(
    "garbage",
    [
        b"x",
        b"hello world",
        b"\x00\xff\x80garbage with no newline at all",
        b"a" * 10000,
        b"Content-Len",
        b"Content-Length: 12",
        b"Content-Length: 12\r\n",
        b"Content-Length: abc\r\n",
        b"content-length:",
        b"printed by a library\n",
        b"two\nlines\r\n",
        b"{not json}\n\n",
        b": no name\r\n",
    ],
)
def test_garbage_then_valid_messages(garbage: bytes) -> None:
    stream = garbage + encode_lsp(b'{"id":1}') + encode_lsp(b'{"id":2}')
    for events in (decode(stream), bytewise(stream), decode(stream, max_header_size=64)):
        assert messages(events) == [b'{"id":1}', b'{"id":2}'], events
        assert [e.reason for e in errors(events)] == ["invalid_header"], events


def test_header_block_too_large_is_one_error_then_resync() -> None:
    decoder = LspDecoder(max_header_size=1024)
    events: list[Event] = []
    for _ in range(100):
        events += decoder.feed(b"X-Filler: " + b"y" * 90 + b"\r\n")
        assert decoder.buffered < 1024
    events += decoder.feed(b"\r\n" + encode_lsp(b"[1]"))
    assert events == [
        FramingError("invalid_header", "header block exceeds 1024 bytes"),
        Message(b"[1]"),
    ]


def test_conflicting_lengths_are_read_as_a_half_header_glued_to_a_valid_one() -> None:
    """``Content-Length: 12\\r\\n`` left unterminated, then a real message: the last one wins."""
    stream = b"Content-Length: 12\r\n" + encode_lsp(b"[1]") + encode_lsp(b"[2]")
    events = decode(stream)
    assert [e.reason for e in errors(events)] == ["invalid_header"]
    assert messages(events) == [b"[1]", b"[2]"]


def test_header_at_the_size_limit_is_accepted() -> None:
    block = b"Content-Length: 2\r\nX: " + b"y" * 10 + b"\r\n\r\n"
    assert decode(block + b"{}", max_header_size=len(block)) == [Message(b"{}")]
    found = errors(decode(block + b"{}", max_header_size=len(block) - 1))
    assert [e.detail for e in found] == [f"header block exceeds {len(block) - 1} bytes"]


def test_resync_holds_little_memory_while_skipping_garbage() -> None:
    decoder = LspDecoder(max_header_size=4096)
    assert decoder.feed(b"X: no length\r\n\r\n") != []
    for _ in range(1000):
        assert decoder.feed(b"garbage " * 128) == []
        assert decoder.buffered <= 14
    assert decoder.feed(encode_lsp(b"{}")) == [Message(b"{}")]


def test_header_split_across_feeds_resumes_search() -> None:
    decoder = LspDecoder()
    assert decoder.feed(b"Content-Length: 2\r") == []
    assert decoder.feed(b"\n\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder._scan <= len(decoder._buf)  # internal: search position kept, not reset
    assert decoder.feed(b"{}") == [Message(b"{}")]


def test_byte_at_a_time_is_linear() -> None:
    """A 64 KiB header fed byte by byte must not rescan the buffer on every byte."""
    decoder = LspDecoder(max_header_size=1 << 20)
    filler = b"X-Filler: " + b"y" * (1 << 16) + b"\r\n"
    for i in range(len(filler)):
        decoder.feed(filler[i : i + 1])
        assert decoder._scan >= len(decoder._buf) - 2
    assert decoder.feed(b"Content-Length: 2\r\n\r\n{}") == [Message(b"{}")]


def test_eof_drops_a_truncated_message_silently() -> None:
    for partial in (b"Content-Len", b"Content-Length: 10\r\n", b"Content-Length: 10\r\n\r\n{"):
        decoder = LspDecoder()
        assert decoder.feed(partial) == []
        assert decoder.eof() == []
        assert decoder.buffered == 0


def test_zero_length_body() -> None:
    assert decode(b"Content-Length: 0\r\n\r\n" + encode_lsp(b"{}")) == [
        Message(b""),
        Message(b"{}"),
    ]


def test_bytearray_input_is_copied() -> None:
    decoder = LspDecoder()
    decoder.feed(b"Content-Length: 4\r\n\r\n")
    chunk = bytearray(b"ab")
    decoder.feed(chunk)  # type: ignore[arg-type]
    chunk[:] = b"zz"
    assert decoder.feed(b"cd") == [Message(b"abcd")]


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        LspDecoder(max_message_size=-1)
    with pytest.raises(ValueError):
        LspDecoder(max_header_size=0)


def test_invalid_header_is_reported_before_any_body_arrives() -> None:
    decoder = LspDecoder()
    assert decoder.feed(b"Content-Length: abc\r\n\r\n") == [
        FramingError("invalid_header", "invalid Content-Length 'abc'")
    ]


def test_header_recovered_from_garbage_that_must_be_rejected_costs_one_error() -> None:
    bad = b"junk\nContent-Length: 5\r\nContent-Type: text/plain; charset=latin1\r\n\r\nhello"
    for events in (decode(bad + encode_lsp(b"[1]")), bytewise(bad + encode_lsp(b"[1]"))):
        assert [e.reason for e in errors(events)] == ["invalid_header"]
        assert messages(events) == [b"[1]"]


def test_block_full_of_marks_is_handled_in_linear_time() -> None:
    """Recovery scans each mark's value with an anchored match, not to the end of the line."""
    block = b"content-length:" * 4000 + b"\n\n"
    events = decode(block * 50 + encode_lsp(b"{}"))
    assert len(errors(events)) == 50
    assert messages(events) == [b"{}"]
