"""Benchmark of the OpenAI provider path: a local OpenAI-wire stream through the daemon.

What is measured, and why:

(a) **Deltas per second, end to end**: a local server on 127.0.0.1 streams an answer of
    ``--deltas`` text deltas in the recorded OpenAI shape (Chat Completions by default,
    ``--wire responses`` for the Responses API). The body is encoded once, before the clock
    starts, and written in one ``sendall``, so the server costs nothing per delta. The daemon,
    configured with ``OPENAI_BASE_URL`` pointing at it, turns the deltas into
    ``session.stream.chunk`` events, read by the lean client of ``bench/_common.py``. Two daemons,
    alternating run by run:

    * ``one event per delta`` (``AGENTD_OPENAI_COALESCE=0``): every upstream delta becomes its own
      chunk event. Its rate is **chunk events per second** in the strict sense.
    * ``coalesced`` (the default): consecutive text deltas that arrive in one network read are
      yielded as one text delta (none waits for a later read). Its rate is **upstream deltas
      delivered per second**; it sends fewer, larger chunk events (their count is printed).

    Baselines, in the same run: the server's bytes read raw by httpx in this process (the floor:
    HTTP alone, no parsing), and the same stream read directly by ``OpenAIProvider.stream`` in
    this process (HTTP, SSE, JSON, mapping; no daemon), both ways. The ratio daemon / direct is
    what the daemon adds on top of the parse. The daemon's CPU time per delta (from
    ``/proc/<pid>/schedstat``) is the figure least moved by other load.
(b) **First chunk after its bytes**: the server holds the stream 20 ms, notes the time, then sends
    one delta; the lean client notes when the chunk event arrives. Same clock, same process, so
    the difference is the daemon's whole path for one delta (HTTP read, SSE, mapping, turn,
    projection, encoding, two local hops). Median of ``--turns`` turns.
(c) **Start-up with a key configured**: start → first answer with ``OPENAI_API_KEY`` set, against
    the same without it, alternating; the provider must not slow the first answer.

Figures are printed, never asserted. ``--json PATH`` writes them as JSON. ``--profile FILE`` runs
(a) one event per delta under cProfile instead and prints the costliest functions.
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
    percentile,
    print_machine,
    proc_sched,
    response_prefix,
    starts_with,
    top_functions,
    warm_bytecode,
    write_json,
)

COMPLETED = b'"session.completed"'
CHUNK = b'"session.stream.chunk"'
WORD = "word "

# -- the server: pre-encoded bodies in the recorded shapes ---------------------------------------

_CHAT_HEAD = (
    '{"id":"chatcmpl-Bx7","object":"chat.completion.chunk","created":1754925861,'
    '"model":"gpt-4.1-mini-2025-04-14","system_fingerprint":"fp_3f58d112f7","choices":'
)


def chat_delta(text: str) -> bytes:
    choice = {"index": 0, "delta": {"content": text}, "logprobs": None, "finish_reason": None}
    body = _CHAT_HEAD + json.dumps([choice], separators=(",", ":")) + ',"usage":null}'
    return b"data: " + body.encode() + b"\n\n"


CHAT_FINISH = (
    "data: "
    + _CHAT_HEAD
    + '[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n'
    + "data: "
    + _CHAT_HEAD
    + '[],"usage":{"prompt_tokens":21,"completion_tokens":5,"total_tokens":26}}\n\n'
    + "data: [DONE]\n\n"
).encode()


def responses_delta(text: str, seq: int) -> bytes:
    data = {
        "type": "response.output_text.delta",
        "sequence_number": seq,
        "item_id": "msg_bench1",
        "output_index": 0,
        "content_index": 0,
        "delta": text,
        "logprobs": [],
        "obfuscation": "x",
    }
    encoded = json.dumps(data, separators=(",", ":"))
    return f"event: response.output_text.delta\ndata: {encoded}\n\n".encode()


RESPONSES_FINISH = (
    b"event: response.completed\n"
    b'data: {"type":"response.completed","sequence_number":999999,"response":{"id":"resp_b",'
    b'"object":"response","status":"completed","output":[],"usage":{"input_tokens":21,'
    b'"output_tokens":5,"total_tokens":26}}}\n\n'
)


class Stream:
    """What the server sends next: a body, and for latency runs a held first delta."""

    def __init__(self, wire: str) -> None:
        self.wire = wire
        self.deltas = 0
        self.hold_s = 0.0
        self.sent_at = 0.0
        self._bodies: dict[int, bytes] = {}

    def delta(self, text: str, seq: int = 0) -> bytes:
        return chat_delta(text) if self.wire == "chat" else responses_delta(text, seq)

    @property
    def finish(self) -> bytes:
        return CHAT_FINISH if self.wire == "chat" else RESPONSES_FINISH

    def body(self) -> bytes:
        """The whole answer of ``deltas`` deltas, encoded once per size."""
        body = self._bodies.get(self.deltas)
        if body is None:
            parts = [self.delta(WORD, i) for i in range(self.deltas)]
            body = self._bodies[self.deltas] = b"".join(parts) + self.finish
        return body


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
                self.wfile.write(stream.delta("first"))
                self.wfile.write(stream.finish)
            else:
                self.wfile.write(stream.body())  # one sendall of the pre-encoded answer

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# -- in-process baselines ----------------------------------------------------------------------


def raw_rate(base_url: str, stream: Stream) -> float:
    """The floor: deltas per second of the server's bytes read by httpx, nothing parsed."""
    import httpx

    async def run() -> float:
        async with httpx.AsyncClient() as client:
            started = time.perf_counter()
            size = 0
            async with client.stream("POST", base_url + "/chat/completions", content=b"{}") as r:
                async for chunk in r.aiter_bytes():
                    size += len(chunk)
            elapsed = time.perf_counter() - started
        assert size == len(stream.body()), size
        return stream.deltas / elapsed

    return asyncio.run(run())


def arrival_floor_ms(base_url: str, stream: Stream, turns: int) -> list[float]:
    """When the held first delta's bytes reach a reader in another process's place: an httpx
    stream in this process, timed like (b). Loopback TCP and one wake-up, nothing parsed: what
    (b) pays before the bytes have arrived at the daemon at all."""
    import httpx

    async def run() -> list[float]:
        found: list[float] = []
        async with httpx.AsyncClient() as client:
            for _ in range(turns + 1):  # the first connects and warms up: untimed
                body = b"{}"
                async with client.stream("POST", base_url + "/chat/completions", content=body) as r:
                    async for _chunk in r.aiter_raw():
                        found.append((time.perf_counter() - stream.sent_at) * 1000)
                        break
        return found[1:]

    return asyncio.run(run())


def direct_rate(base_url: str, stream: Stream, coalesce: bool) -> tuple[float, int]:
    """Deltas per second read by the provider in this process (no daemon), and how many text
    events carried them."""
    from agentd.providers.base import ChatMessage, ModelRequest, TextDelta
    from agentd.providers.openai.provider import OpenAIProvider

    async def run() -> tuple[float, int]:
        provider = OpenAIProvider(
            api_key="x", base_url=base_url, wire=stream.wire, **_coalesce_kw(coalesce)
        )
        request = ModelRequest("m", "", (ChatMessage("user", "go"),))
        for _ in range(2):  # the first builds the HTTP client (~35 ms of TLS set-up): untimed
            started = time.perf_counter()
            events, chars = 0, 0
            async for event in provider.stream(request):
                if isinstance(event, TextDelta):
                    events += 1
                    chars += len(event.text)
            elapsed = time.perf_counter() - started
        await provider.aclose()
        assert chars == len(WORD) * stream.deltas, chars
        return stream.deltas / elapsed, events

    return asyncio.run(run())


def _coalesce_kw(coalesce: bool) -> dict[str, Any]:
    """``coalesce=`` for providers that have it (an older snapshot of the code has not)."""
    import inspect

    from agentd.providers.openai.provider import OpenAIProvider

    if "coalesce" in inspect.signature(OpenAIProvider).parameters:
        return {"coalesce": coalesce}
    return {}


# -- through the daemon ------------------------------------------------------------------------


class DaemonRun:
    def __init__(self, elapsed: float, events: int, cpu: float, wait: float) -> None:
        self.elapsed, self.events, self.cpu, self.wait = elapsed, events, cpu, wait


def daemon_run(daemon: LeanDaemon, session_id: str, deltas: int) -> DaemonRun:
    request_id, data = daemon.request("session.send", {"session_id": session_id, "text": "go"})
    daemon.write(data)
    _, started = daemon.read_until(starts_with(response_prefix(request_id)))
    cpu0, wait0 = proc_sched(daemon.pid)
    bodies, finished = daemon.read_until(lambda body: COMPLETED in body, timeout=60)
    cpu1, wait1 = proc_sched(daemon.pid)
    daemon.read_until(lambda body: b'"ready"' in body)
    texts = [
        json.loads(b)["params"]["payload"]["chunk"]["answerText"] for b in bodies if CHUNK in b
    ]
    assert "".join(texts) == WORD * deltas, "text lost"
    return DaemonRun(finished - started, len(texts), cpu1 - cpu0, wait1 - wait0)


def first_chunk_latency(daemon: LeanDaemon, session_id: str, stream: Stream) -> float:
    _, data = daemon.request("session.send", {"session_id": session_id, "text": "go"})
    daemon.write(data)
    _, arrived = daemon.read_until(lambda body: CHUNK in body)
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


def spread(values: list[float], scale: float = 1.0, fmt: str = "{:.1f}") -> str:
    """``median (min–max)``."""
    med, lo, hi = (x * scale for x in (statistics.median(values), min(values), max(values)))
    return f"{fmt.format(med)} ({fmt.format(lo)}–{fmt.format(hi)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--wire", choices=("chat", "responses"), default="chat")
    parser.add_argument("--deltas", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--starts", type=int, default=8)
    parser.add_argument("--profile", type=Path, help="profile (a), one event per delta, to FILE")
    args = parser.parse_args()
    info = machine_info()
    print_machine(info)
    stream = Stream(args.wire)
    stream.deltas = args.deltas
    server = make_server(stream)
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    figures: dict[str, Any] = {"machine": info, "wire": args.wire, "deltas": args.deltas}
    with tempfile.TemporaryDirectory(prefix="agentd-bench-") as tmp:
        workdir = Path(tmp)
        warm_bytecode(workdir)
        keyed = {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": base_url}
        keyed |= {"AGENTD_OPENAI_API": args.wire, "AGENTD_OPENAI_MODEL": "bench"}
        env = daemon_env(workdir) | keyed
        single_env = env | {"AGENTD_OPENAI_COALESCE": "0"}
        if args.profile is not None:
            profile = args.profile.resolve()
            with LeanDaemon(workdir=workdir, env=single_env, profile_out=profile) as daemon:
                session_id = daemon.call("session.create", {})["session_id"]
                for _ in range(args.runs):
                    run = daemon_run(daemon, session_id, args.deltas)
                    print(f"  {args.deltas / run.elapsed / 1000:.1f} k deltas/s (profiled)")
                daemon.close()
            print(top_functions(profile, limit=40))
            return
        raw: list[float] = []
        direct: dict[bool, list[float]] = {False: [], True: []}
        direct_events: dict[bool, list[int]] = {False: [], True: []}
        runs: dict[bool, list[DaemonRun]] = {False: [], True: []}
        with (
            LeanDaemon(workdir=workdir, env=single_env) as single,
            LeanDaemon(workdir=workdir, env=env) as merged,
        ):
            daemons = {False: single, True: merged}
            sessions = {k: d.call("session.create", {})["session_id"] for k, d in daemons.items()}
            for k, d in daemons.items():  # warm-up: the first request imports httpx, connects
                daemon_run(d, sessions[k], args.deltas)
            for _ in range(args.runs):  # alternate, so load hits every figure alike
                raw.append(raw_rate(base_url, stream))
                for coalesce in (False, True):
                    rate, events = direct_rate(base_url, stream, coalesce)
                    direct[coalesce].append(rate)
                    direct_events[coalesce].append(events)
                    run = daemon_run(daemons[coalesce], sessions[coalesce], args.deltas)
                    runs[coalesce].append(run)
            stream.hold_s = 0.02
            latencies: dict[bool, list[float]] = {False: [], True: []}
            arrivals: list[float] = []
            for _ in range(args.turns):
                arrivals.extend(arrival_floor_ms(base_url, stream, 1))
                for coalesce in (False, True):
                    latency = first_chunk_latency(daemons[coalesce], sessions[coalesce], stream)
                    latencies[coalesce].append(latency * 1000)
            stream.hold_s = 0.0
        starts_plain, starts_keyed = [], []
        for _ in range(args.starts):  # alternating
            starts_plain.append(first_answer_s(workdir, daemon_env(workdir)))
            starts_keyed.append(first_answer_s(workdir, env))
    server.shutdown()

    n = args.deltas
    rates = {k: [n / r.elapsed for r in v] for k, v in runs.items()}
    cpu_us = {k: [r.cpu / n * 1e6 for r in v] for k, v in runs.items()}
    wait_ms = {k: [r.wait * 1000 for r in v] for k, v in runs.items()}
    events = {k: statistics.median(r.events for r in v) for k, v in runs.items()}
    ratio = {k: statistics.median(rates[k]) / statistics.median(direct[k]) for k in runs}
    figures |= {
        "raw_http_deltas_per_s": raw,
        "direct_deltas_per_s": {"one_per_delta": direct[False], "coalesced": direct[True]},
        "daemon_chunk_events_per_s_one_per_delta": rates[False],
        "daemon_deltas_per_s_coalesced": rates[True],
        "daemon_chunk_events_coalesced": events[True],
        "daemon_cpu_us_per_delta": {"one_per_delta": cpu_us[False], "coalesced": cpu_us[True]},
        "daemon_cpu_wait_ms": {"one_per_delta": wait_ms[False], "coalesced": wait_ms[True]},
        "ratio_daemon_to_direct": {"one_per_delta": ratio[False], "coalesced": ratio[True]},
        "first_chunk_after_bytes_ms": {
            "one_per_delta": latencies[False],
            "coalesced": latencies[True],
        },
        "first_bytes_arrival_floor_ms": arrivals,
        "start_to_ping_ms_no_key": [x * 1000 for x in starts_plain],
        "start_to_ping_ms_with_key": [x * 1000 for x in starts_keyed],
    }
    k = 1 / 1000
    print(
        f"\n### bench/providers.py: {args.wire} wire, {n:,} deltas x {args.runs} runs,"
        f" {args.turns} turns; median (min–max)\n"
    )
    print("| figure | value | target |")
    print("|---|---|---|")
    print(f"| (a) floor: the body read raw by httpx, in process | {spread(raw, k)} k deltas/s | |")
    print(
        f"| (a) provider read directly, in process, one event per delta / coalesced "
        f"| {spread(direct[False], k)} / {spread(direct[True], k)} k deltas/s | |"
    )
    print(
        f"| (a) **chunk events/s through the daemon, one event per delta** "
        f"| {spread(rates[False], k)} k/s (ratio {ratio[False]:.2f} to direct);"
        f" daemon CPU {spread(cpu_us[False], fmt='{:.2f}')} µs per delta"
        f" | ≥ 100 k chunk events/s |"
    )
    print(
        f"| (a) upstream deltas/s through the daemon, coalesced "
        f"| {spread(rates[True], k)} k/s (ratio {ratio[True]:.2f}) in {events[True]:,.0f} chunk"
        f" events per {n:,} deltas; daemon CPU {spread(cpu_us[True], fmt='{:.2f}')} µs per delta"
        " | |"
    )
    print(
        f"| (a) daemon waited for a CPU, per run (one per delta / coalesced) "
        f"| {spread(wait_ms[False])} / {spread(wait_ms[True])} ms | |"
    )
    floor = statistics.median(arrivals)
    print(
        f"| (b) floor: the held delta's bytes reach a reader in this process (loopback, one "
        f"wake-up) | {spread(arrivals, fmt='{:.2f}')}, p90 {percentile(arrivals, 90):.2f} ms | |"
    )
    for coalesce, label in ((False, "one event per delta"), (True, "coalesced")):
        lat = latencies[coalesce]
        print(
            f"| (b) server write → chunk event read by the client, {label}: median (min–max), "
            f"p90 | {spread(lat, fmt='{:.2f}')}, {percentile(lat, 90):.2f} ms | |"
        )
        print(
            f"| (b) **first chunk after its bytes arrive** (the line above minus the floor's "
            f"median), {label} | {statistics.median(lat) - floor:.2f} ms | < 1 ms |"
        )
    print(
        f"| (c) start → ping answered, no key / key "
        f"| {spread(starts_plain, 1000)} / {spread(starts_keyed, 1000)} ms | key no slower |"
    )
    if args.json:
        write_json(args.json, figures)


if __name__ == "__main__":
    main()
