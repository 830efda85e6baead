"""Issue 10 at the byte level: BOMs, bytes that fit neither framing, and hostile JSON text."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentd.wire import (
    MAX_DEPTH,
    AutoDecoder,
    Event,
    FramingError,
    LspDecoder,
    Message,
    encode_lsp,
    loads,
)

BOM = b"\xef\xbb\xbf"
PING = b'{"jsonrpc":"2.0","id":1,"method":"system.ping"}'


def bytewise(decoder: AutoDecoder | LspDecoder, stream: bytes) -> list[Event]:
    events: list[Event] = []
    for i in range(len(stream)):
        events += decoder.feed(stream[i : i + 1])
    return events + decoder.eof()


# -- BOM -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "framing"),
    [
        (BOM + PING + b"\n", "ndjson"),
        (BOM + b"\r\n" + PING + b"\n", "ndjson"),
        (b"\n" + BOM + PING + b"\n", "ndjson"),
        (BOM + encode_lsp(PING), "lsp"),
    ],
)
@pytest.mark.parametrize("forced", ["auto", "forced"])
def test_leading_bom_is_skipped_in_every_split(stream: bytes, framing: str, forced: str) -> None:
    mode = "auto" if forced == "auto" else framing
    whole = AutoDecoder(forced=mode)  # type: ignore[arg-type]
    assert whole.feed(stream) + whole.eof() == [Message(PING)]
    assert whole.framing == framing
    assert bytewise(AutoDecoder(forced=mode), stream) == [Message(PING)]  # type: ignore[arg-type]


def test_partial_bom_that_is_not_a_bom_reaches_the_decoder() -> None:
    decoder = AutoDecoder()
    assert decoder.feed(b"\xef\xbb") == []
    assert decoder.framing is None
    events = decoder.feed(b"x\n\n")
    assert decoder.framing == "lsp"
    assert [type(e) for e in events] == [FramingError]


def test_only_one_bom_is_skipped() -> None:
    decoder = AutoDecoder(forced="ndjson")
    assert decoder.feed(BOM + BOM + b"{}\n") == [Message(BOM + b"{}")]


# -- bytes that fit neither framing ----------------------------------------------------------


@pytest.mark.parametrize("garbage", [b"hello\n", b"hello world", b"{not lsp", b"\x00", b": x\n"])
def test_garbage_first_bytes_are_answered_at_once(garbage: bytes) -> None:
    """Silence would leave the client waiting forever: the first impossible byte is an error."""
    decoder = AutoDecoder()
    if garbage.startswith(b"{"):
        decoder = AutoDecoder(forced="lsp")
    events = decoder.feed(garbage)
    assert [e.reason for e in events if isinstance(e, FramingError)] == ["invalid_header"]
    assert decoder.buffered < 64
    # ...and a valid message after it still gets through, with no second error for the block.
    more = decoder.feed(b"\r\n\r\n" + encode_lsp(PING)) + decoder.eof()
    assert more == [Message(PING)]


def test_plausible_header_prefix_waits_for_more() -> None:
    decoder = LspDecoder()
    assert decoder.feed(b"Content-Len") == []
    assert decoder.feed(b"gth: 2\r\n") == []
    assert decoder.feed(b"\r\n{}") == [Message(b"{}")]


def test_early_error_does_not_repeat_when_the_block_grows_too_large() -> None:
    decoder = LspDecoder(max_header_size=64)
    events = decoder.feed(b"hello there\n")
    assert len(events) == 1
    events += decoder.feed(b"x" * 500)
    assert len(events) == 1
    events += decoder.feed(encode_lsp(b"[1]"))
    assert events[1:] == [Message(b"[1]")]


# -- JSON text -------------------------------------------------------------------------------


def nest(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 984, 100_000])
def test_too_deep_is_a_value_error(depth: int) -> None:
    with pytest.raises(ValueError, match="too deeply nested"):
        loads(nest(depth))
    with pytest.raises(ValueError, match="too deeply nested"):
        loads(b'{"id":' + b"{" + b'"a":{' * (depth - 1) + b"}" * depth + b"}")


def test_at_the_limit_decodes() -> None:
    assert loads(nest(MAX_DEPTH)) is not None


def test_brackets_inside_strings_do_not_count() -> None:
    text = b'{"a":"' + b"[{" * 10_000 + b'\\"' + b'","b":[1]}'
    assert loads(text)["b"] == [1]


def test_unterminated_escapes_are_scanned_in_linear_time() -> None:
    body = b"[" * (MAX_DEPTH + 1) + b'"' + b'\\"' * 500_000
    start = time.perf_counter()
    with pytest.raises(ValueError):
        loads(body)
    assert time.perf_counter() - start < 2.0


def test_bom_before_a_body_is_skipped() -> None:
    assert loads(BOM + b'{"a":1}') == {"a": 1}


def test_non_finite_constants_and_huge_integers_are_value_errors() -> None:
    for text in (b"NaN", b"[Infinity]", b"-Infinity"):
        with pytest.raises(ValueError, match="constant"):
            loads(text)
    with pytest.raises(ValueError, match="too large"):
        loads(b"[" + b"9" * 10_000 + b"]")


json_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=30,
)


@settings(max_examples=200, deadline=None)
@given(value=json_text, pad=st.integers(0, 300))
def test_depth_check_agrees_with_the_decoder(value: object, pad: int) -> None:
    import json

    text = json.dumps(value).encode()
    wrapped = b"[" * pad + text + b"]" * pad
    depth = _depth(value) + pad
    if depth <= MAX_DEPTH:
        assert loads(wrapped) == json.loads(wrapped)
    else:
        with pytest.raises(ValueError, match="too deeply nested"):
            loads(wrapped)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0
