"""Decode throughput of the wire codecs (prints figures; asserts nothing).

Run: ``.venv/bin/python bench/wire.py``. Each case is timed three times and the best run is kept,
so the figures reflect the decoder rather than a noisy neighbour.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agentd.wire import Event, LspDecoder, NdjsonDecoder, dumps, encode_lsp, encode_ndjson

SMALL_COUNT = 100_000
SMALL_CHUNK = 64 * 1024
LARGE_SIZE = 8 * 1024 * 1024
LARGE_CHUNK = 4 * 1024
RUNS = 3


def small_bodies() -> list[bytes]:
    return [
        dumps(
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": "session.send",
                "params": {"sessionId": "s-1", "text": f"hello {i}"},
            }
        )
        for i in range(SMALL_COUNT)
    ]


def large_body() -> bytes:
    text = "x" * (LARGE_SIZE - 64)
    return dumps({"jsonrpc": "2.0", "id": 1, "method": "session.send", "params": {"text": text}})


def chunks_of(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def best_time(make: Callable[[], LspDecoder | NdjsonDecoder], chunks: list[bytes], n: int) -> float:
    best = float("inf")
    for _ in range(RUNS):
        decoder = make()
        events: list[Event] = []
        start = time.perf_counter()
        for chunk in chunks:
            events += decoder.feed(chunk)
        events += decoder.eof()
        elapsed = time.perf_counter() - start
        if len(events) != n:
            raise SystemExit(f"decoded {len(events)} events, expected {n}")
        best = min(best, elapsed)
    return best


def main() -> None:
    small = small_bodies()
    large = large_body()
    cases = [
        ("lsp", f"{SMALL_COUNT:,} small / 64 KiB", LspDecoder, encode_lsp, small, SMALL_CHUNK),
        (
            "ndjson",
            f"{SMALL_COUNT:,} small / 64 KiB",
            NdjsonDecoder,
            encode_ndjson,
            small,
            SMALL_CHUNK,
        ),
        ("lsp", "1 x 8 MiB / 4 KiB", LspDecoder, encode_lsp, [large], LARGE_CHUNK),
        ("ndjson", "1 x 8 MiB / 4 KiB", NdjsonDecoder, encode_ndjson, [large], LARGE_CHUNK),
    ]
    print(f"{'framing':<8} {'case':<26} {'MB/s':>9} {'messages/s':>13} {'time':>9}")
    for framing, label, make, encode, bodies, chunk in cases:
        stream = b"".join(encode(b) for b in bodies)
        elapsed = best_time(make, chunks_of(stream, chunk), len(bodies))
        mb_s = len(stream) / elapsed / 1e6
        msg_s = len(bodies) / elapsed
        print(f"{framing:<8} {label:<26} {mb_s:>9.1f} {msg_s:>13,.0f} {elapsed * 1e3:>7.1f}ms")


if __name__ == "__main__":
    main()
