"""Framing auto-detection: the first non-whitespace byte decides."""

from __future__ import annotations

import pytest

from agentd.wire import AutoDecoder, FramingError, Message, encode_lsp


@pytest.mark.parametrize(
    ("stream", "framing"),
    [
        (b'{"id":1}\n', "ndjson"),
        (b"[1]\n", "ndjson"),
        (b'  \r\n\t{"id":1}\n', "ndjson"),
        (b"\n\n[1]\n", "ndjson"),
        (b"Content-Length: 2\r\n\r\n[1]", "lsp"),
        (b"content-length: 2\r\n\r\n[1]", "lsp"),
        (b"\r\n  Content-Length: 2\r\n\r\n[1]", "lsp"),
        (b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n", "lsp"),
        (b"garbage", "lsp"),
    ],
)
def test_detection(stream: bytes, framing: str) -> None:
    whole = AutoDecoder()
    whole.feed(stream)
    assert whole.framing == framing
    bytewise = AutoDecoder()
    for i in range(len(stream)):
        bytewise.feed(stream[i : i + 1])
    assert bytewise.framing == framing


def test_undecided_while_only_whitespace_arrives() -> None:
    decoder = AutoDecoder()
    for _ in range(1000):
        assert decoder.feed(b" \r\n\t") == []
    assert decoder.framing is None
    assert decoder.buffered == 0
    assert decoder.eof() == []
    assert decoder.framing is None


def test_bytes_buffered_before_the_choice_reach_the_chosen_decoder() -> None:
    decoder = AutoDecoder()
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b'{"id":1}\n{"id"') == [Message(b'{"id":1}')]
    assert decoder.feed(b":2}") == []
    assert decoder.eof() == [Message(b'{"id":2}')]

    decoder = AutoDecoder()
    stream = encode_lsp(b"[1]") + encode_lsp(b"[2]")
    assert decoder.feed(stream[:3]) == []
    assert decoder.framing == "lsp"
    assert decoder.feed(stream[3:]) == [Message(b"[1]"), Message(b"[2]")]


@pytest.mark.parametrize("forced", ["lsp", "ndjson"])
def test_forced_framing_is_decided_up_front(forced: str) -> None:
    decoder = AutoDecoder(forced=forced)  # type: ignore[arg-type]
    assert decoder.framing == forced


def test_forced_lsp_treats_json_as_a_bad_header() -> None:
    decoder = AutoDecoder(forced="lsp")
    events = decoder.feed(b'{"id":1}\n\n' + encode_lsp(b"[1]"))
    assert [type(e) for e in events] == [FramingError, Message]


def test_forced_ndjson_passes_lsp_headers_on_as_lines() -> None:
    decoder = AutoDecoder(forced="ndjson")
    assert decoder.feed(b"Content-Length: 3\r\n\r\n[1]\n") == [
        Message(b"Content-Length: 3"),
        Message(b"[1]"),
    ]


def test_limits_are_passed_on() -> None:
    decoder = AutoDecoder(max_message_size=4)
    assert decoder.feed(b"[12345]\n[1]\n") == [
        FramingError("message_too_large", "line exceeds the limit of 4 bytes"),
        Message(b"[1]"),
    ]
    decoder = AutoDecoder(max_message_size=4)
    assert [type(e) for e in decoder.feed(encode_lsp(b"[12345]") + encode_lsp(b"[1]"))] == [
        FramingError,
        Message,
    ]


def test_unknown_forced_framing_is_refused() -> None:
    with pytest.raises(ValueError):
        AutoDecoder(forced="xml")  # type: ignore[arg-type]
