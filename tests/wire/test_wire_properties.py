"""Property tests: any split of any stream decodes the same way, and garbage never breaks a decoder.

Garbage-then-valid properties use these separators between the garbage and the valid messages:

* LSP: no separator at all. The garbage is arbitrary bytes without ``content-length`` (a real
  header in the garbage would legitimately frame, and swallow, the bytes after it), optionally
  followed by a half header such as ``Content-Length: 12`` or ``Content-Length: abc\\r\\n``,
  glued directly to the first valid message.
* NDJSON: a single ``\\n``, which ends the garbage's last line. Garbage lines are passed on as
  messages (the connection answers them as parse errors), so the valid bodies must be the *last*
  messages decoded.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentd.wire import (
    AutoDecoder,
    Event,
    FramingError,
    LspDecoder,
    Message,
    NdjsonDecoder,
    dumps,
    encode_lsp,
    encode_ndjson,
)

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
json_bodies = json_values.map(dumps)
# What a JSON-RPC client sends: objects (or batches), which is what auto-detection keys on.
json_containers = json_values.map(lambda v: dumps([v]))
# LSP bodies are opaque: any bytes at all, including header look-alikes and blank lines.
lsp_bodies = json_bodies | st.binary(max_size=300)
# NDJSON bodies: no raw newline, not blank, no trailing CR (those are framing, by definition).
ndjson_bodies = json_bodies | st.binary(max_size=300).map(
    lambda b: b"<" + b.replace(b"\n", b"") + b">"
)

FRAGMENTS = [
    b"Content-Length: ",
    b"content-length:",
    b"CONTENT-LENGTH: 5",
    b"Content-Length: 3\r\n\r\n",
    b"Content-Type: text/plain; charset=latin1",
    b"Content-Type: a; charset=utf-8",
    b"0",
    b"17",
    b"-1",
    b"abc",
    b"\r\n",
    b"\n",
    b"\r",
    b"\r\n\r\n",
    b":",
    b" ",
    b"{}",
    b'{"id":1}',
]
garbage = st.binary(max_size=400) | st.lists(
    st.sampled_from(FRAGMENTS) | st.binary(max_size=8), max_size=40
).map(b"".join)

HALF_HEADERS = [
    b"",
    b"C",
    b"Content-Len",
    b"content-length:",
    b"Content-Length: ",
    b"Content-Length: 12",
    b"Content-Length: 12\r\n",
    b"Content-Length: abc\r\n",
    b"X-Other: 1\r\n",
    b"X-Other: 1\r\nContent-Length: 99",
]
lsp_junk = st.binary(max_size=300).filter(lambda b: b"content-length" not in b.lower())


def split(data: st.DataObject, stream: bytes) -> list[bytes]:
    """Any split of ``stream``: byte by byte, or at up to 20 arbitrary points."""
    if data.draw(st.booleans(), label="bytewise"):
        return [stream[i : i + 1] for i in range(len(stream))]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20), label="cuts"))
    return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]


def run(decoder: LspDecoder | NdjsonDecoder | AutoDecoder, chunks: list[bytes]) -> list[Event]:
    events: list[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
    return events + decoder.eof()


def bodies_of(events: list[Event]) -> list[bytes]:
    return [e.body for e in events if isinstance(e, Message)]


@PROPERTY
@given(bodies=st.lists(lsp_bodies, max_size=12), data=st.data())
def test_lsp_any_split_yields_exactly_the_bodies(bodies: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(encode_lsp(b) for b in bodies)
    assert run(LspDecoder(), split(data, stream)) == [Message(b) for b in bodies]


@PROPERTY
@given(bodies=st.lists(ndjson_bodies, max_size=12), data=st.data(), crlf=st.booleans())
def test_ndjson_any_split_yields_exactly_the_bodies(
    bodies: list[bytes], data: st.DataObject, crlf: bool
) -> None:
    stream = b"".join(encode_ndjson(b + b"\r" if crlf else b) for b in bodies)
    assert run(NdjsonDecoder(), split(data, stream)) == [Message(b) for b in bodies]


@PROPERTY
@given(bodies=st.lists(json_containers, min_size=1, max_size=8), data=st.data(), lsp=st.booleans())
def test_auto_any_split_yields_exactly_the_bodies(
    bodies: list[bytes], data: st.DataObject, lsp: bool
) -> None:
    encode: Callable[[bytes], bytes] = encode_lsp if lsp else encode_ndjson
    stream = b"\r\n " + b"".join(encode(b) for b in bodies)
    decoder = AutoDecoder()
    assert run(decoder, split(data, stream)) == [Message(b) for b in bodies]
    assert decoder.framing == ("lsp" if lsp else "ndjson")


def _check_garbage(
    make: Callable[[], LspDecoder | NdjsonDecoder | AutoDecoder],
    stream: bytes,
    chunks: list[bytes],
    bound: int,
) -> None:
    """No exception, memory within ``bound`` after every feed, same events as a single feed."""
    decoder = make()
    events: list[Event] = []
    for chunk in chunks:
        events += decoder.feed(chunk)
        assert decoder.buffered <= bound
    events += decoder.eof()
    assert all(isinstance(e, Message | FramingError) for e in events)
    assert events == run(make(), [stream])


@PROPERTY
@given(stream=garbage, data=st.data(), header=st.sampled_from([16, 64, 65536]))
def test_lsp_garbage_never_raises_and_is_split_independent(
    stream: bytes, data: st.DataObject, header: int
) -> None:
    _check_garbage(
        lambda: LspDecoder(max_message_size=32, max_header_size=header),
        stream,
        split(data, stream),
        bound=max(32, header),
    )


@PROPERTY
@given(stream=garbage, data=st.data(), limit=st.sampled_from([0, 8, 1 << 20]))
def test_ndjson_garbage_never_raises_and_is_split_independent(
    stream: bytes, data: st.DataObject, limit: int
) -> None:
    _check_garbage(lambda: NdjsonDecoder(limit), stream, split(data, stream), bound=limit + 1)


@PROPERTY
@given(stream=garbage, data=st.data())
def test_auto_garbage_never_raises_and_is_split_independent(
    stream: bytes, data: st.DataObject
) -> None:
    _check_garbage(lambda: AutoDecoder(64, max_header_size=64), stream, split(data, stream), 65)


@PROPERTY
@given(
    junk=lsp_junk,
    half=st.sampled_from(HALF_HEADERS),
    bodies=st.lists(lsp_bodies, min_size=1, max_size=5),
    header=st.sampled_from([64, 65536]),
    data=st.data(),
)
def test_lsp_garbage_then_valid_messages_are_all_decoded(
    junk: bytes, half: bytes, bodies: list[bytes], header: int, data: st.DataObject
) -> None:
    stream = junk + half + b"".join(encode_lsp(b) for b in bodies)
    events = run(LspDecoder(max_header_size=header), split(data, stream))
    assert bodies_of(events) == bodies


@PROPERTY
@given(
    junk=garbage,
    bodies=st.lists(ndjson_bodies, min_size=1, max_size=5),
    limit=st.sampled_from([64, 1 << 20]),
    data=st.data(),
)
def test_ndjson_garbage_then_valid_messages_are_all_decoded(
    junk: bytes, bodies: list[bytes], limit: int, data: st.DataObject
) -> None:
    bodies = [b for b in bodies if len(b) <= limit]
    stream = junk + b"\n" + b"".join(encode_ndjson(b) for b in bodies)
    events = run(NdjsonDecoder(limit), split(data, stream))
    decoded = bodies_of(events)
    assert decoded[len(decoded) - len(bodies) :] == bodies
