"""The SSE decoder: the format's rules, split invariance, limits and linear cost."""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from agentd.providers.sse import SseDecoder, SseError, SseEvent, SseItem


def decode(*chunks: bytes, decoder: SseDecoder | None = None) -> list[SseItem]:
    decoder = decoder or SseDecoder()
    out: list[SseItem] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.eof()


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    pieces, start = [], 0
    for p in points:
        pieces.append(data[start:p])
        start = p
    pieces.append(data[start:])
    return pieces


# -- a model of valid streams ---------------------------------------------------------------------

_value = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n\x00"), max_size=20
)


@attrs.frozen
class Spec:
    event: str | None
    id: str | None
    data: tuple[str, ...]
    comment: str | None


_spec = st.builds(
    Spec,
    event=st.none() | _value.filter(bool),
    id=st.none() | _value,
    data=st.lists(_value, min_size=1, max_size=4).map(tuple),
    comment=st.none() | _value,
)


@st.composite
def streams(draw: st.DrawFn) -> tuple[bytes, list[SseEvent]]:
    """A stream with mixed line ends, comments, an optional BOM and an optional unterminated
    last event, and the events it must decode to."""
    specs = draw(st.lists(_spec, max_size=6))
    lines: list[str] = []
    expected: list[SseEvent] = []
    last_id = ""
    for spec in specs:
        if spec.comment is not None:
            lines.append(":" + spec.comment)
        if spec.event is not None:
            lines.append("event: " + spec.event)
        if spec.id is not None:
            lines.append("id: " + spec.id)
            last_id = spec.id
        lines += ["data: " + d for d in spec.data]
        lines.append("")
        expected.append(SseEvent(spec.event or "message", "\n".join(spec.data), last_id))
    out = bytearray()
    if draw(st.booleans()):
        out += b"\xef\xbb\xbf"
    eols = [""]
    for line in lines:
        eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        if eols[-1] == "\r" and eol == "\n" and line == "":
            eol = "\r\n"  # "\r" then "\n" would read as one CRLF: the format's own ambiguity
        out += (line + eol).encode()
        eols.append(eol)
    unterminated: bool = draw(st.booleans())
    if lines and unterminated:  # the last blank line (and maybe the line end) missing
        trim = len(eols[-1]) + (len(eols[-2]) if draw(st.booleans()) else 0)
        del out[len(out) - trim :]
    return bytes(out), expected


@given(streams())
def test_decodes_the_model(case: tuple[bytes, list[SseEvent]]) -> None:
    data, expected = case
    assert decode(data) == expected


@given(streams(), st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_split_gives_the_same_events(
    case: tuple[bytes, list[SseEvent]], cuts: list[int]
) -> None:
    data, expected = case
    assert decode(*split_at(data, cuts)) == expected


@given(streams())
@settings(max_examples=30)
def test_byte_at_a_time(case: tuple[bytes, list[SseEvent]]) -> None:
    data, expected = case
    assert decode(*(data[i : i + 1] for i in range(len(data)))) == expected


@given(st.binary(max_size=300), st.lists(st.integers(min_value=0, max_value=300), max_size=10))
def test_garbage_never_raises_and_is_split_invariant(data: bytes, cuts: list[int]) -> None:
    small = {"max_line_size": 16, "max_event_size": 24}
    whole = decode(data, decoder=SseDecoder(**small))
    assert decode(*split_at(data, cuts), decoder=SseDecoder(**small)) == whole


# -- the format's rules -----------------------------------------------------------------------


def test_fields_comments_and_defaults() -> None:
    stream = (
        b": keep-alive\n\n"  # a comment alone dispatches nothing
        b"event: ping\n\n"  # no data: nothing
        b"data\n\n"  # a field without colon: one empty data line
        b"data:no-space\ndata:  two spaces\nretry: 10\nunknown: x\n\n"
        b"id: 7\nevent: delta\ndata: {}\n\n"
        b"data: later\n\n"  # the id persists
        b"id\ndata: cleared\n\n"  # an empty id resets it
        b"id: a\x00b\ndata: nul ignored\n\n"
    )
    assert decode(stream) == [
        SseEvent("message", ""),
        SseEvent("message", "no-space\n two spaces"),
        SseEvent("delta", "{}", "7"),
        SseEvent("message", "later", "7"),
        SseEvent("message", "cleared", ""),
        SseEvent("message", "nul ignored", ""),
    ]


def test_bom_only_at_the_start_even_split() -> None:
    bom = b"\xef\xbb\xbf"
    assert decode(bom[:1], bom[1:2], bom[2:] + b"data: a\n\n") == [SseEvent("message", "a")]
    # later a BOM is content; a lone partial BOM at eof is just bytes
    assert decode(b"data: " + bom + b"x\n\n") == [SseEvent("message", "\ufeffx")]
    assert decode(b"\xef\xbb") == []


def test_crlf_split_between_cr_and_lf() -> None:
    assert decode(b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n") == [SseEvent("message", "a\nb")]


def test_invalid_utf8_is_replaced() -> None:
    assert decode(b"data: \xff\xfe ok\n\n") == [SseEvent("message", "\ufffd\ufffd ok")]


def test_final_event_without_blank_line_at_eof() -> None:
    assert decode(b'data: {"a":1}') == [SseEvent("message", '{"a":1}')]
    assert decode(b'data: {"a":1}\r') == [SseEvent("message", '{"a":1}')]


def test_eof_resets_the_decoder() -> None:
    decoder = SseDecoder()
    decode(b"id: 1\ndata: x", decoder=decoder)
    assert decode(b"data: y\n\n", decoder=decoder) == [SseEvent("message", "y")]


# -- limits -------------------------------------------------------------------------------------


def test_an_overlong_line_is_one_error_and_memory_stays_bounded() -> None:
    decoder = SseDecoder(max_line_size=1000)
    out: list[SseItem] = []
    out += decoder.feed(b"data: first\n")
    for _ in range(200):  # 200 KB of one line, in pieces
        out += decoder.feed(b"x" * 1000)
        assert decoder.buffered <= 2000
    out += decoder.feed(b"\ndata: rest of the bad event\n\ndata: next\n\n")
    error = SseError("line longer than 1000 bytes; event dropped")
    assert out == [error, SseEvent("message", "next")]


def test_an_overlong_event_is_dropped() -> None:
    decoder = SseDecoder(max_line_size=100, max_event_size=250)
    lines = b"".join(b"data: " + b"y" * 90 + b"\n" for _ in range(5))
    out = decode(lines + b"\ndata: ok\n\n", decoder=decoder)
    assert out == [SseError("event data longer than 250 bytes; dropped"), SseEvent("message", "ok")]


def test_one_byte_at_a_time_is_linear() -> None:
    """A 200 KB line fed byte by byte: quadratic rescanning would take minutes, not a second."""
    decoder = SseDecoder()
    body = b"data: " + b"z" * 200_000 + b"\n\n"
    out: list[SseItem] = []
    for i in range(len(body)):
        out += decoder.feed(body[i : i + 1])
    assert out == [SseEvent("message", "z" * 200_000)]


# -- adversarial input: an oracle that decodes the whole body at once ---------------------------


def oracle(data: bytes, max_line: int, max_event: int) -> list[SseItem]:
    """The format's algorithm on the whole body: line ends normalised, one line at a time."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the body ended with a line end: no unterminated last line
    out: list[SseItem] = []
    event, parts, size, poisoned, last_id = "message", [], 0, False, ""
    for line in [*lines, b""]:
        if len(line) > max_line:
            out.append(SseError(f"line longer than {max_line} bytes; event dropped"))
            parts, size, poisoned = [], 0, True
            continue
        if not line:
            if parts and not poisoned:
                out.append(SseEvent(event, b"\n".join(parts).decode("utf-8", "replace"), last_id))
            event, parts, size, poisoned = "message", [], 0, False
            continue
        if line.startswith(b":") or poisoned:
            continue
        name, colon, value = line.partition(b":")
        if colon and value.startswith(b" "):
            value = value[1:]
        if name == b"event":
            event = value.decode("utf-8", "replace") or "message"
        elif name == b"id" and b"\0" not in value:
            last_id = value.decode("utf-8", "replace")
        elif name == b"data":
            size += len(value) + 1
            if size > max_event:
                out.append(SseError(f"event data longer than {max_event} bytes; dropped"))
                parts, size, poisoned = [], 0, True
            else:
                parts.append(value)
    return out


_piece = st.sampled_from(
    [b"data: ", b"data:", b"data", b"event: ", b"id: ", b"retry: 1", b": c", b":", b"x", b"yz",
     b"\r", b"\n", b"\r\n", b"\n\n", b"\0", b"\xff", b"\xef\xbb\xbf", b"\xc3", b"\xa9", b" ",
     b"0123456789", b"{}", b"[DONE]"]
)  # fmt: skip
_adversarial = st.lists(_piece | st.binary(max_size=8), max_size=60).map(b"".join)
_cuts = st.lists(st.integers(min_value=0, max_value=500), max_size=12)
_limits = st.sampled_from([(4, 6), (8, 12), (16, 24), (64, 64), (1000, 1000)])


@given(_adversarial, _cuts, _limits)
@settings(max_examples=400)
def test_adversarial_input_matches_the_oracle_whatever_the_split(
    data: bytes, cuts: list[int], limits: tuple[int, int]
) -> None:
    max_line, max_event = limits
    expected = oracle(data, max_line, max_event)
    make = lambda: SseDecoder(max_line_size=max_line, max_event_size=max_event)  # noqa: E731
    assert decode(data, decoder=make()) == expected
    assert decode(*split_at(data, cuts), decoder=make()) == expected


@given(_adversarial, _limits)
@settings(max_examples=100)
def test_adversarial_input_byte_at_a_time(data: bytes, limits: tuple[int, int]) -> None:
    max_line, max_event = limits
    decoder = SseDecoder(max_line_size=max_line, max_event_size=max_event)
    pieces = [data[i : i + 1] for i in range(len(data))]
    assert decode(*pieces, decoder=decoder) == oracle(data, max_line, max_event)


@given(
    st.integers(min_value=1, max_value=50),
    st.integers(min_value=0, max_value=400),
    st.sampled_from([b"\n", b"\r", b"\r\n"]),
    _cuts,
)
def test_a_huge_line_is_one_error_whole_or_split(
    limit: int, extra: int, eol: bytes, cuts: list[int]
) -> None:
    max_line = 20 + limit  # the other lines fit
    line = b"data: " + b"h" * (max_line - 5 + extra)
    body = b"data: ok\n\n" + line + eol + b"data: same event\n" + eol + b"data: next\n\n"
    expected = [
        SseEvent("message", "ok"),
        SseError(f"line longer than {max_line} bytes; event dropped"),
        SseEvent("message", "next"),
    ]
    assert decode(body, decoder=SseDecoder(max_line_size=max_line)) == expected
    assert decode(*split_at(body, cuts), decoder=SseDecoder(max_line_size=max_line)) == expected


def test_a_line_over_the_limit_is_an_error_even_when_it_arrives_whole() -> None:
    """It used to be one only when split across reads: now the split never matters."""
    body = b"data: " + b"x" * 20 + b"\n\ndata: ok\n\n"
    small = {"max_line_size": 16, "max_event_size": 24}
    error = SseError("line longer than 16 bytes; event dropped")
    assert decode(body, decoder=SseDecoder(**small)) == [error, SseEvent("message", "ok")]
    assert decode(body[:25], body[25:], decoder=SseDecoder(**small)) == [
        error,
        SseEvent("message", "ok"),
    ]
