"""Byte-level tests of the newline-delimited JSON decoder."""

from __future__ import annotations

from agentd.wire import Event, FramingError, Message, NdjsonDecoder, encode_ndjson


def feed_all(decoder: NdjsonDecoder, *chunks: bytes) -> list[Event]:
    events: list[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.eof()


def decode(*chunks: bytes, max_message_size: int = 1 << 20) -> list[Event]:
    return feed_all(NdjsonDecoder(max_message_size), *chunks)


def bytewise(data: bytes, max_message_size: int = 1 << 20) -> list[Event]:
    chunks = (data[i : i + 1] for i in range(len(data)))
    return feed_all(NdjsonDecoder(max_message_size), *chunks)


def test_encode_ndjson() -> None:
    assert encode_ndjson(b'{"a":1}') == b'{"a":1}\n'


def test_lines_are_messages() -> None:
    stream = b'{"id":1}\n{"id":2}\n[3]\n'
    expected = [Message(b'{"id":1}'), Message(b'{"id":2}'), Message(b"[3]")]
    assert decode(stream) == expected
    assert bytewise(stream) == expected


def test_crlf_line_endings_are_stripped() -> None:
    assert decode(b'{"id":1}\r\n{"id":2}\r\n') == [Message(b'{"id":1}'), Message(b'{"id":2}')]
    assert bytewise(b'{"id":1}\r\n') == [Message(b'{"id":1}')]


def test_only_one_trailing_cr_is_stripped_and_inner_cr_kept() -> None:
    assert decode(b"[1]\r\r\n[\r2]\n") == [Message(b"[1]\r"), Message(b"[\r2]")]


def test_blank_and_whitespace_lines_are_skipped() -> None:
    stream = b"\n\r\n   \n\t \r\n[1]\n\n\n  [2]  \n"
    assert decode(stream) == [Message(b"[1]"), Message(b"  [2]  ")]
    assert bytewise(stream) == [Message(b"[1]"), Message(b"  [2]  ")]


def test_non_json_whitespace_is_not_blank() -> None:
    """Form feed is not JSON whitespace: the line is passed on, to be answered as a parse error."""
    assert decode(b"\x0c\n") == [Message(b"\x0c")]


def test_final_line_without_newline_is_returned_at_eof() -> None:
    decoder = NdjsonDecoder()
    assert decoder.feed(b'[1]\n{"id":2') == [Message(b"[1]")]
    assert decoder.feed(b"}") == []
    assert decoder.eof() == [Message(b'{"id":2}')]
    assert decoder.buffered == 0


def test_final_blank_or_cr_terminated_line_at_eof() -> None:
    assert decode(b"[1]\n   ") == [Message(b"[1]")]
    assert decode(b"[1]\r") == [Message(b"[1]")]


def test_multibyte_line_split_at_every_byte_boundary() -> None:
    body = '{"text":"é 中 😀 \u2028"}'.encode()
    stream = body + b"\n" + body + b"\r\n"
    for i in range(len(stream) + 1):
        assert decode(stream[:i], stream[i:]) == [Message(body)] * 2, i


def test_oversize_line_is_one_error_then_skipped_unbuffered() -> None:
    decoder = NdjsonDecoder(max_message_size=100)
    events = decoder.feed(b"[" + b"1," * 60)
    assert events == [FramingError("message_too_large", "line exceeds the limit of 100 bytes")]
    for _ in range(1000):
        assert decoder.feed(b"1," * 2048) == []
        assert decoder.buffered == 0
    assert decoder.feed(b"1]\n[2]\n") == [Message(b"[2]")]


def test_oversize_line_in_a_single_feed() -> None:
    events = decode(b"x" * 101 + b"\n[2]\n", max_message_size=100)
    assert events == [
        FramingError("message_too_large", "line exceeds the limit of 100 bytes"),
        Message(b"[2]"),
    ]


def test_line_at_the_limit_is_accepted_even_with_crlf() -> None:
    line = b"y" * 100
    for split in range(len(line) + 3):
        stream = line + b"\r\n[2]\n"
        events = decode(stream[:split], stream[split:], max_message_size=100)
        assert events == [Message(line), Message(b"[2]")], split
    assert bytewise(line + b"\r\n", max_message_size=100) == [Message(line)]


def test_oversize_final_line_at_eof() -> None:
    decoder = NdjsonDecoder(max_message_size=4)
    assert decoder.feed(b"[1234567") == [
        FramingError("message_too_large", "line exceeds the limit of 4 bytes")
    ]
    assert decoder.eof() == []


def test_byte_at_a_time_long_line_is_linear() -> None:
    decoder = NdjsonDecoder()
    for _ in range(1 << 16):
        decoder.feed(b"a")
    assert decoder.buffered == 1 << 16
    assert decoder.feed(b"\n") == [Message(b"a" * (1 << 16))]


def test_feeding_empty_bytes_is_harmless() -> None:
    decoder = NdjsonDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"[1") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"]\n") == [Message(b"[1]")]
