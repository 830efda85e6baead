"""Micro-benchmarks of the building blocks behind bench/rpc.py and bench/turns.py.

The daemon-level benches say *how fast*; cProfile says *where*, but inflates cheap calls. This
script times, in-process and without a profiler, the steps a chunk event, an incoming
notification and a turn's start-up take, next to the cheaper alternatives proposed in
``docs/performance.md`` ("Where the time goes"), so each suggestion comes with its order of
magnitude. Figures are µs per call (best of 5 repeats); nothing is asserted.

Run: ``.venv/bin/python bench/micro.py [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import machine_info, print_machine, print_table, write_json

from agentd.clock import iso_now
from agentd.wire import LspDecoder, dumps, encode_lsp

SESSION = "6f1c0a55-7c42-4a53-9d1e-0f3f7f3b8a11"
TURN = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
STAMP = "2026-11-28T21:05:20.123Z"
CHUNK_TEMPLATE = (
    '{"jsonrpc":"2.0","method":"event","params":{"type":"session.stream.chunk",'
    '"timestamp":"%s","payload":{"session_id":"%s","turn_id":"%s","chunk":{"thoughts":[],'
    '"answerText":%s,"segments":[{"kind":"answer","text":%s}]}},"seq":%d}}'
)


def per_call_us(function: Callable[[], object], number: int = 20_000) -> float:
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def chunk_event(text: str, seq: int) -> dict[str, Any]:
    payload = {
        "session_id": SESSION,
        "turn_id": TURN,
        "chunk": {
            "thoughts": [],
            "answerText": text,
            "segments": [{"kind": "answer", "text": text}],
        },
    }
    params = {"type": "session.stream.chunk", "timestamp": STAMP, "payload": payload, "seq": seq}
    return {"jsonrpc": "2.0", "method": "event", "params": params}


def templated_chunk(text: str, seq: int) -> bytes:
    """The alternative: one string escape, reused for both copies of the text."""
    escaped = json.encoder.encode_basestring(text)
    return (CHUNK_TEMPLATE % (STAMP, SESSION, TURN, escaped, escaped, seq)).encode()


_second = -1
_prefix = ""


def cached_iso_now() -> str:
    """The alternative: ``strftime`` once per second, not once per event."""
    global _second, _prefix
    now = time.time()
    second = int(now)
    if second != _second:
        _second, _prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_prefix}.{int((now - second) * 1000):03d}Z"


def pipe_reader() -> subprocess.Popen[bytes]:
    """``cat > /dev/null`` on a pipe: another process reading as fast as it can, like a client.

    Writes to it pay what agentd's writes pay: the kernel wakes the reader on every write that
    finds it waiting (a thread of this process would hide that behind the GIL).
    """
    return subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)


def spaced_write_us(fd: int, data: bytes, gap_us: float, count: int = 5000) -> float:
    """Mean ``os.write`` time when writes come ``gap_us`` apart, as agentd's per-event writes do
    (the reader has drained the pipe and gone back to waiting, so each write wakes it)."""
    total = 0.0
    for _ in range(count):
        until = time.perf_counter() + gap_us / 1e6
        while time.perf_counter() < until:
            pass
        started = time.perf_counter()
        os.write(fd, data)
        total += time.perf_counter() - started
    return total / count * 1e6


def fsync_us(count: int = 200) -> float:
    """Median append + ``fsync`` in the temp directory: a turn's durability point (the prompt is
    on disk before the model is called) costs this on the machine's disk."""
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        fd = os.open(Path(tmp) / "journal", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for _ in range(count):
                os.write(fd, b"x" * 200 + b"\n")
                started = time.perf_counter()
                os.fsync(fd)
                times.append(time.perf_counter() - started)
        finally:
            os.close(fd)
    return statistics.median(times) * 1e6


async def task_cost(count: int = 20_000) -> float:
    loop = asyncio.get_running_loop()

    async def handler() -> dict[str, Any]:
        return {"ok": True}

    tasks: set[asyncio.Task[dict[str, Any]]] = set()
    started = time.perf_counter()
    for _ in range(count):  # as agentd.rpc.connection runs a notification
        task = loop.create_task(handler())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return (time.perf_counter() - started) / count * 1e6


def inline_cost(count: int = 20_000) -> float:
    """A handler that never awaits, run up to its end by hand (``Connection.instant_methods``)."""

    async def handler() -> dict[str, Any]:
        return {"ok": True}

    started = time.perf_counter()
    for _ in range(count):
        coro = handler()
        with contextlib.suppress(StopIteration):
            coro.send(None)
    return (time.perf_counter() - started) / count * 1e6


class _NullSink:
    """A ByteSink that drops what it gets (never backed up)."""

    closed = False

    def write(self, data: bytes) -> None:
        return None

    def buffered(self) -> int:
        return 0

    async def drain(self) -> None:
        return None

    async def aclose(self, timeout: float) -> None:
        return None


async def request_path_cost(count: int = 20_000) -> float:
    """One ``system.ping`` per read through ``Connection.intake`` (decode, dispatch, answer,
    encode, write to a sink that drops it): the daemon's per-request Python, without syscalls.
    ``await asyncio.sleep(0)`` between reads, as the loop runs one callback per read."""
    from agentd.api.chunks import ReferenceEventCodec
    from agentd.api.context import ApiContext
    from agentd.api.dispatch import install
    from agentd.rpc.connection import Connection

    class Lifecycle:
        shutdown_requested = False

    connection = Connection(None, _NullSink(), event_codec=ReferenceEventCodec())
    install(ApiContext(connection, Lifecycle(), "0"), "system")  # type: ignore[arg-type]
    connection.instant_methods.update(("system.ping", "state.get", "rpc.handshake"))
    intake = connection.intake()
    frames = [
        encode_lsp(b'{"jsonrpc":"2.0","id":%d,"method":"system.ping"}' % i) for i in range(count)
    ]
    for frame in frames[:1000]:  # warm-up
        intake.data_received(frame)
        await asyncio.sleep(0)
    started = time.perf_counter()
    for frame in frames:
        intake.data_received(frame)
        await asyncio.sleep(0)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    for _ in frames:
        await asyncio.sleep(0)
    return (elapsed - (time.perf_counter() - started)) / count * 1e6


def ids_extend_us(sessions: int, count: int = 200) -> tuple[float, float]:
    """One more session id in the encoded ids of ``sessions``: the ``state.changed`` cost that
    grows with the session count. Bytes rebuilt (``json[:-1] + , + id + ]``, as before) against
    the append-only buffer of ``agentd.api.state``."""
    from agentd.api.state import _IdsCache

    ids = {f"{index:08d}-0000-4000-8000-000000000000": None for index in range(sessions)}
    text = dumps(list(ids))
    started = time.perf_counter()
    for index in range(count):
        text = text[:-1] + b"," + dumps(f"x{index}") + b"]"
    rebuilt = (time.perf_counter() - started) / count * 1e6
    cache = _IdsCache()
    cache.ids(ids)
    started = time.perf_counter()
    for index in range(count):
        ids[f"x{index}"] = None
        cache.ids(ids)
    return rebuilt, (time.perf_counter() - started) / count * 1e6


def measure() -> dict[str, float]:
    from agentd.core.estimate import tool_schema_tokens
    from agentd.providers.scripted import ScriptedProvider
    from agentd.server import loop_factory
    from agentd.tools.registry import default_registry
    from agentd.wire.jsontext import _reject_constant

    event = chunk_event("word ", 12345)
    assert json.loads(templated_chunk("word ", 12345)) == event
    reader = pipe_reader()
    assert reader.stdin is not None
    write_fd = reader.stdin.fileno()
    body = dumps(event)
    framed_batch = encode_lsp(body) * 64
    notification = b'{"jsonrpc":"2.0","method":"system.ping"}'
    blob = encode_lsp(notification) * 1000
    decoder = LspDecoder()
    json_decoder = json.JSONDecoder(parse_constant=_reject_constant)
    registry = default_registry()
    provider = ScriptedProvider()
    specs = registry.specs()
    factory = loop_factory()
    response = {"jsonrpc": "2.0", "id": 17, "result": {"ok": True, "time": STAMP}}
    per_call_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    rebuilt_1k, buffer_1k = ids_extend_us(1000)
    rebuilt_10k, buffer_10k = ids_extend_us(10_000)
    figures = {
        "req: one ping through Connection.intake (decode → answer → sink)": (
            asyncio.Runner(loop_factory=factory).run(request_path_cost())
        ),
        "req: dumps(response) (one C encoder, kept)": per_call_us(lambda: dumps(response)),
        "req: JSONEncoder.encode(response) (an encoder per call, before)": per_call_us(
            lambda: per_call_encoder.encode(response).encode()
        ),
        "state: one more id at 1,000 sessions, bytes rebuilt (before)": rebuilt_1k,
        "state: the same, append-only buffer (now)": buffer_1k,
        "state: one more id at 10,000 sessions, bytes rebuilt (before)": rebuilt_10k,
        "state: the same, append-only buffer (now)  ": buffer_10k,
        "chunk: dumps(event)": per_call_us(lambda: dumps(event)),
        "chunk: templated encode (alternative)": per_call_us(
            lambda: templated_chunk("word ", 12345)
        ),
        "chunk: iso_now()": per_call_us(iso_now),
        "chunk: iso_now cached per second (alternative)": per_call_us(cached_iso_now),
        "chunk: encode_lsp(body)": per_call_us(lambda: encode_lsp(body)),
        "chunk: os.write of one event, 15 µs after the previous one": spaced_write_us(
            write_fd, encode_lsp(body), 15
        ),
        "chunk: os.write of 64 events, per event (alternative)": per_call_us(
            lambda: os.write(write_fd, framed_batch), number=2000
        )
        / 64,
        "in: LspDecoder.feed, per small message": per_call_us(lambda: decoder.feed(blob), number=50)
        / 1000,
        "in: json.loads(body, parse_constant=...)": per_call_us(
            lambda: json.loads(notification, parse_constant=_reject_constant)
        ),
        "in: prebuilt JSONDecoder.decode (alternative)": per_call_us(
            lambda: json_decoder.decode(notification.decode())
        ),
        "in: create_task + run a trivial handler, kept in a set": asyncio.run(task_cost()),
        "in: the same on uvloop (alternative)": (
            asyncio.Runner(loop_factory=factory).run(task_cost()) if factory else float("nan")
        ),
        "in: the handler run inline, no task (alternative)": inline_cost(),
        "turn: registry.specs() (deep copies)": per_call_us(registry.specs, number=2000),
        "turn: tool_schema_tokens(specs)": per_call_us(
            lambda: tool_schema_tokens(specs, "scripted"), number=2000
        ),
        "turn: ScriptedProvider.load_script (cached)": per_call_us(
            lambda: provider.load_script("echo"), number=2000
        ),
        "turn: append + fsync in the temp dir (median)": fsync_us(),
    }
    reader.stdin.close()
    reader.wait(10)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args()
    info = machine_info()
    print_machine(info)
    figures = measure()
    rows = [[name, f"{us:.2f} µs"] for name, us in figures.items()]
    print_table("bench/micro.py: cost per call (best of 5)", ["step", "cost"], rows)
    if args.json:
        write_json(args.json, {"machine": info, "us_per_call": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
