"""Benchmark of the OpenAI provider path: a local Chat Completions stream through the daemon.

What is measured, and why:

(a) **Chunk events per second, end to end**: a local server on 127.0.0.1 streams a Chat
    Completions answer of ``--deltas`` content deltas (SSE, as fast as the socket takes them); the
    daemon, configured with ``OPENAI_BASE_URL`` pointing at it, turns them into
    ``session.stream.chunk`` events, read by the lean client of ``bench/_common.py``. Baseline, in
    the same run: the same stream read directly by ``OpenAIProvider.stream`` in this process (HTTP,
    SSE parsing, JSON, mapping; no daemon). The ratio is what the daemon adds on top of the parse.
(b) **First chunk after its bytes**: the server holds the stream 20 ms, notes the time, then sends
    one delta; the lean client notes when the chunk event arrives. Same clock, same process, so
    the difference is the daemon's whole path for one delta (HTTP read, SSE, mapping, turn,
    projection, encoding, two pipe hops). Median of ``--turns`` turns.
(c) **Start-up with a key configured**: start → first answer with ``OPENAI_API_KEY`` set, against
    the same without it, alternating; the provider must not slow the first answer.

Figures are printed, never asserted. ``--json PATH`` writes them as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import (
    LeanDaemon,
    daemon_env,
    machine_info,
    print_machine,
    response_prefix,
    starts_with,
    warm_bytecode,
    write_json,
)

COMPLETED = b'"session.completed"'


def delta(text: str) -> bytes:
    chunk = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


FINISH = (
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":5}}\n\n'
    b"data: [DONE]\n\n"
)


class Stream:
    """What the server sends next: a body, and for latency runs a held first delta."""

    def __init__(self) -> None:
        self.deltas = 0
        self.hold_s = 0.0
        self.sent_at = 0.0


def make_server(stream: Stream) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            if stream.hold_s:
                self.wfile.flush()
                time.sleep(stream.hold_s)
                stream.sent_at = time.perf_counter()
                self.wfile.write(delta("first"))
                self.wfile.flush()
            else:
                self.wfile.write(b"".join(delta("word ") for _ in range(stream.deltas)))
            self.wfile.write(FINISH)
            self.wfile.flush()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def direct_rate(base_url: str, stream: Stream) -> float:
    """Deltas per second read by the provider in this process (no daemon)."""
    from agentd.providers.base import ChatMessage, ModelRequest, TextDelta
    from agentd.providers.openai.provider import OpenAIProvider

    async def run() -> float:
        provider = OpenAIProvider(api_key="x", base_url=base_url, wire="chat")
        request = ModelRequest("m", "", (ChatMessage("user", "go"),))
        started = time.perf_counter()
        count = 0
        async for event in provider.stream(request):
            count += isinstance(event, TextDelta)
        elapsed = time.perf_counter() - started
        await provider.aclose()
        assert count == stream.deltas, count
        return count / elapsed

    return asyncio.run(run())


def daemon_rate(daemon: LeanDaemon, session_id: str, deltas: int) -> float:
    request_id, data = daemon.request("session.send", {"session_id": session_id, "text": "go"})
    daemon.write(data)
    _, started = daemon.read_until(starts_with(response_prefix(request_id)))
    bodies, finished = daemon.read_until(lambda body: COMPLETED in body, timeout=60)
    daemon.read_until(lambda body: b'"ready"' in body)
    texts = [
        json.loads(b)["params"]["payload"]["chunk"]["answerText"]
        for b in bodies
        if b'"session.stream.chunk"' in b
    ]
    assert "".join(texts) == "word " * deltas, "text lost"
    print(f"  {len(texts)} chunk events for {deltas} deltas in {finished - started:.3f} s")
    return deltas / (finished - started)


def first_chunk_latency(daemon: LeanDaemon, session_id: str, stream: Stream) -> float:
    _, data = daemon.request("session.send", {"session_id": session_id, "text": "go"})
    daemon.write(data)
    _, arrived = daemon.read_until(lambda body: b'"session.stream.chunk"' in body)
    daemon.read_until(lambda body: b'"ready"' in body)
    return arrived - stream.sent_at


def first_answer_s(workdir: Path, env: dict[str, str]) -> float:
    """Seconds from spawning the daemon to its answer to ``system.ping``."""
    started = time.perf_counter()
    with LeanDaemon(workdir=workdir, env=env) as daemon:
        daemon.call("system.ping")
        answered = time.perf_counter()
        daemon.close()
    return answered - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--starts", type=int, default=8)
    args = parser.parse_args()
    info = machine_info()
    print_machine(info)
    stream = Stream()
    server = make_server(stream)
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    figures: dict[str, Any] = {"machine": info}
    with tempfile.TemporaryDirectory(prefix="agentd-bench-") as tmp:
        workdir = Path(tmp)
        warm_bytecode(workdir)
        keyed = {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": base_url}
        keyed |= {"AGENTD_OPENAI_API": "chat", "AGENTD_OPENAI_MODEL": "bench"}
        env = daemon_env(workdir) | keyed
        with LeanDaemon(workdir=workdir, env=env) as daemon:
            session_id = daemon.call("session.create", {})["session_id"]
            stream.deltas = args.deltas
            direct, through = [], []
            for _ in range(args.runs):  # alternate, so load hits both alike
                direct.append(direct_rate(base_url, stream))
                through.append(daemon_rate(daemon, session_id, args.deltas))
            stream.hold_s = 0.02
            latencies = [first_chunk_latency(daemon, session_id, stream) for _ in range(args.turns)]
        starts_plain, starts_keyed = [], []
        for _ in range(args.starts):  # alternating
            starts_plain.append(first_answer_s(workdir, daemon_env(workdir)))
            starts_keyed.append(first_answer_s(workdir, env))
    server.shutdown()
    d, t = statistics.median(direct), statistics.median(through)
    figures |= {
        "direct_deltas_per_s": d,
        "daemon_deltas_per_s": t,
        "ratio_daemon_to_direct": t / d,
        "first_chunk_after_bytes_ms_median": statistics.median(latencies) * 1000,
        "first_chunk_after_bytes_ms_p90": sorted(latencies)[int(0.9 * len(latencies))] * 1000,
        "start_to_ping_ms_no_key": statistics.median(starts_plain) * 1000,
        "start_to_ping_ms_with_key": statistics.median(starts_keyed) * 1000,
    }
    print(f"### bench/providers.py: {args.deltas:,} deltas x {args.runs}, {args.turns} turns")
    print("| figure | value | target |")
    print("|---|---|---|")
    print(f"| (a) provider read directly, in process | {d / 1000:.1f} k deltas/s | |")
    print(
        f"| (a) through the daemon, chunk events | {t / 1000:.1f} k/s (ratio {t / d:.2f}) "
        "| >= 100 k/s |"
    )
    print(
        f"| (b) first chunk after its bytes, median / p90 "
        f"| {figures['first_chunk_after_bytes_ms_median']:.2f} / "
        f"{figures['first_chunk_after_bytes_ms_p90']:.2f} ms | < 1 ms |"
    )
    print(
        f"| (c) start → ping answered, no key / key | "
        f"{figures['start_to_ping_ms_no_key']:.1f} / {figures['start_to_ping_ms_with_key']:.1f} ms"
        " | key no slower |"
    )
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
