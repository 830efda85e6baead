"""Benchmark of agentd's turns: first-chunk latency, chunk throughput, memory per session.

What is measured, and why:

(a) **session.send → first session.stream.chunk**, median over 50 sends on a session whose model
    is the built-in ``echo`` script ("You said: <prompt>", word by word). Its first piece is played
    at once (the scripted provider pauses only *between* pieces), so the figure is daemon overhead
    plus two pipe hops: send handling, the turn's start-up events, the model request, and the chunk
    itself. To separate that from the transport, a ``system.ping`` round trip is measured after
    every turn on the same connection, and the ratio is printed. Headline with the lean client of
    ``bench/_common.py``; also with ``AgentdClient`` (each event stamped when its reader decoded
    it), as an asyncio Python client sees it. A turn waits until its prompt is fsync'd to the
    history journal before calling the model, so the lean run is repeated with ``AGENTD_HOME`` on
    tmpfs (``/dev/shm``, no disk flush): the difference is what durability costs on this disk.
(b) **Chunk events per second, end to end**, for the built-in ``long`` script (5,000 one-word
    pieces, no delay): from the ``session.send`` response to the ``session.completed`` event, both
    as read from the pipe; the concatenated ``answerText`` of the chunk events is checked against
    the whole answer (and ``session.completed``'s ``answer_length``), and event ``seq`` numbers
    for gaps, so nothing was lost even if the daemon merged chunks for a slow reader. Median of 5
    runs, each on a fresh session. Read with the lean client of ``bench/_common.py``, because
    ``AgentdClient`` (``LspDecoder`` + ``json.loads`` + a queue put per message) costs about as
    much per event as the daemon; it is measured too, for comparison. The daemon's CPU time per
    event (``/proc/<pid>/schedstat``) is printed as well: on a shared machine it is the figure that
    load does not distort much.
(c) **RSS per idle session**: ``VmRSS`` before and after 1,000 ``session.create`` calls (after one
    warm-up create), and the difference per session. Also the create latency of the first and last
    100 calls, which shows any per-call cost that grows with the number of sessions.

Timings are printed, never asserted: the machine may be shared. Targets are printed next to the
figures as met / not met. ``--json PATH`` writes every figure as JSON.

Analysis mode (instead of the benchmark): ``--profile FILE`` runs (b), or (a) with
``--phase first``, on a daemon started as ``python -m cProfile -o FILE -m agentd serve`` (lean
client) and prints its top functions.

Run: ``.venv/bin/python bench/turns.py [--json PATH] [--profile FILE [--phase first|stream]]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    CHUNK,
    LONG_ANSWER,
    READY,
    LeanDaemon,
    StreamRun,
    Target,
    daemon_env,
    filesystem,
    machine_info,
    print_machine,
    print_table,
    proc_status_kib,
    response_prefix,
    starts_with,
    stream_long_turn,
    summary,
    top_functions,
    warm_bytecode,
    write_json,
)

from agentd.client import AgentdClient, Event

TIMEOUT_S = 20.0
#: Where a history directory costs no disk flush, to show what durability adds to a turn.
TMPFS = Path("/dev/shm")
READ_AT = "_bench_read_at"

TARGET_FIRST_CHUNK = Target(2, "ms")
TARGET_CHUNKS = Target(100_000, "chunk events/s", higher_is_better=True)
TARGET_SESSION = Target(20, "KiB per session")


class StampedClient(AgentdClient):
    """``AgentdClient`` that notes in each event when its reader decoded it (``perf_counter``)."""

    def _dispatch(self, message: dict[str, Any]) -> None:
        params = message.get("params")
        if message.get("method") == "event" and isinstance(params, dict):
            params[READ_AT] = time.perf_counter()
        super()._dispatch(message)


async def spawn(workdir: Path) -> StampedClient:
    """A daemon driven by ``StampedClient``; its stderr (warnings, a crash) goes to ours."""
    client = await StampedClient.spawn(env=daemon_env(workdir), cwd=str(workdir), stderr=None)
    assert isinstance(client, StampedClient)
    await client.call("system.ping", timeout=TIMEOUT_S)
    return client


def is_chunk_of(turn_id: str) -> Any:
    def check(event: Event) -> bool:
        return bool(
            event["type"] == "session.stream.chunk" and event["payload"]["turn_id"] == turn_id
        )

    return check


def p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * len(values))]


# -- (a) first chunk -------------------------------------------------------------------------


async def first_chunk(workdir: Path, sends: int) -> dict[str, Any]:
    client = await spawn(workdir)
    first: list[float] = []
    responded: list[float] = []
    pings: list[float] = []
    before_first: list[int] = []
    try:
        session_id = await client.create_session(model="echo")
        client.drain_events()
        for index in range(sends + 3):  # the first 3 are warm-up
            started = time.perf_counter()
            _, future = client.start_request(
                "session.send", {"session_id": session_id, "text": "hi"}
            )
            response = await asyncio.wait_for(future, TIMEOUT_S)
            answered = time.perf_counter()
            turn_id = response["result"]["turn_id"]
            events = await client.events_until(is_chunk_of(turn_id), TIMEOUT_S)
            await client.turn_events(turn_id, TIMEOUT_S)
            ping_started = time.perf_counter()
            await client.call("system.ping", timeout=TIMEOUT_S)
            ping = time.perf_counter() - ping_started
            if index < 3:
                continue
            first.append(events[-1][READ_AT] - started)
            responded.append(answered - started)
            pings.append(ping)
            before_first.append(len(events) - 1)
    finally:
        await client.close()
    ms = [s * 1000 for s in first]
    return {
        "first_chunk_ms": {**summary(ms), "p90": p90(ms)},
        "send_response_ms": summary([s * 1000 for s in responded]),
        "ping_ms": summary([s * 1000 for s in pings]),
        "ratio_first_chunk_to_ping": statistics.median(first) / statistics.median(pings),
        "events_before_first_chunk": statistics.median(before_first),
    }


def lean_first_chunks(
    workdir: Path, sends: int, profile: Path | None = None, home: Path | None = None
) -> tuple[list[float], list[float]]:
    """``first_chunk`` with the lean client: send written → first chunk frame read, and a ping
    round trip after each turn (both in seconds)."""
    latencies: list[float] = []
    pings: list[float] = []
    with LeanDaemon(workdir=workdir, profile_out=profile, home=home) as daemon:
        session_id = daemon.call("session.create", {"model": "echo"})["session_id"]
        for index in range(sends + 3):  # the first 3 are warm-up
            _, data = daemon.request("session.send", {"session_id": session_id, "text": "hi"})
            started = time.perf_counter()
            daemon.write(data, TIMEOUT_S)
            _, arrived = daemon.read_until(lambda body: CHUNK in body, TIMEOUT_S)
            daemon.read_until(lambda body: READY in body, TIMEOUT_S)
            ping_id, ping = daemon.request("system.ping")
            prefix = response_prefix(ping_id)
            ping_started = time.perf_counter()
            daemon.write(ping, TIMEOUT_S)
            _, answered = daemon.read_until(starts_with(prefix), TIMEOUT_S)
            if index >= 3:
                latencies.append(arrived - started)
                pings.append(answered - ping_started)
        code = daemon.close()
    if profile is not None and (code != 0 or not profile.exists()):
        raise RuntimeError(f"the profiled daemon exited with {code}; no profile at {profile}")
    return latencies, pings


# -- (b) chunk throughput --------------------------------------------------------------------


def lean_streams(workdir: Path, runs: int, profile: Path | None = None) -> list[StreamRun]:
    with LeanDaemon(workdir=workdir, profile_out=profile) as daemon:
        results: list[StreamRun] = []
        for index in range(runs + 1):  # the first is warm-up
            session_id = daemon.call("session.create", {"model": "long"})["session_id"]
            run = stream_long_turn(daemon, session_id, TIMEOUT_S)
            if index:
                results.append(run)
        code = daemon.close()
    if profile is not None and (code != 0 or not profile.exists()):
        raise RuntimeError(f"the profiled daemon exited with {code}; no profile at {profile}")
    return results


async def client_streams(workdir: Path, runs: int) -> list[dict[str, Any]]:
    """The same turn read by ``AgentdClient``, to show what a heavier reader changes."""
    client = await spawn(workdir)
    out: list[dict[str, Any]] = []
    try:
        for index in range(runs + 1):
            session_id = await client.create_session(model="long")
            client.drain_events()
            result = await client.send(session_id, "go")
            answered = time.perf_counter()
            turn_id = result["turn_id"]
            events = await client.turn_events(turn_id, TIMEOUT_S)
            chunks = [e for e in events if is_chunk_of(turn_id)(e)]
            done = next(e for e in events if e["type"] == "session.completed")
            text = "".join(e["payload"]["chunk"]["answerText"] for e in chunks)
            elapsed = done[READ_AT] - answered
            client.transcript.clear()
            if index:
                out.append(
                    {
                        "chunk_events": len(chunks),
                        "elapsed_s": elapsed,
                        "events_per_s": len(chunks) / elapsed,
                        "pieces_per_s": LONG_ANSWER.count(" ") / elapsed,
                        "complete": text == LONG_ANSWER,
                    }
                )
    finally:
        await client.close()
    return out


def stream_summary(runs: list[StreamRun]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r.events_per_s)
    median = ordered[len(ordered) // 2]
    return {
        "chunk_events_per_s": summary([r.events_per_s for r in runs]),
        "chunk_events": [r.chunk_events for r in runs],
        "answer_chars": [len(r.answer_text) for r in runs],
        "answer_length_reported": [r.answer_length for r in runs],
        "elapsed_ms": [r.elapsed_s * 1000 for r in runs],
        "complete": all(r.complete for r in runs),
        "daemon_cpu_us_per_event": statistics.median(
            r.daemon_cpu_s / r.chunk_events * 1e6 for r in runs
        ),
        "daemon_cpu_share": statistics.median(r.daemon_cpu_s / r.elapsed_s for r in runs),
        "daemon_wait_ms": [r.daemon_wait_s * 1000 for r in runs],
        "client_cpu_share": statistics.median(r.client_cpu_s / r.elapsed_s for r in runs),
        "median_run": {
            "chunk_events": median.chunk_events,
            "answer_chars": len(median.answer_text),
            "elapsed_ms": median.elapsed_s * 1000,
        },
    }


# -- (c) memory per session ------------------------------------------------------------------


async def session_memory(workdir: Path, count: int) -> dict[str, Any]:
    client = await spawn(workdir)
    latencies: list[float] = []
    try:
        pid = client.process.pid
        idle = proc_status_kib(pid)
        await client.create_session()  # warm-up: first-use allocations are not per session
        client.drain_events()
        client.transcript.clear()
        before = proc_status_kib(pid)
        for _ in range(count):
            started = time.perf_counter()
            await client.create_session()
            latencies.append(time.perf_counter() - started)
            client.drain_events()  # state.changed events: keep the client's memory flat
            client.transcript.clear()
        after = proc_status_kib(pid)
        state = await client.call("state.get", timeout=TIMEOUT_S)
    finally:
        await client.close()
    per_session = (after["VmRSS"] - before["VmRSS"]) * 1024 / count
    head, tail = latencies[:100], latencies[-100:]
    return {
        "sessions": count,
        "live_sessions": state["sessions"]["count"],
        "idle_kib": idle,
        "before_kib": before,
        "after_kib": after,
        "bytes_per_session": per_session,
        "kib_per_session": per_session / 1024,
        "create_ms_first_100": statistics.median(s * 1000 for s in head),
        "create_ms_last_100": statistics.median(s * 1000 for s in tail),
        "create_total_s": sum(latencies),
    }


# -- the benchmark ---------------------------------------------------------------------------


def run_benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine_info()}
    print_machine(results["machine"])
    print(f"\n(a) {args.sends} sends on an `echo` session, a ping after each ...")
    latency = asyncio.run(first_chunk(workdir, args.sends))
    lean_first, lean_pings = lean_first_chunks(workdir, args.sends)
    latency["lean_client"] = {
        "first_chunk_ms": {
            **summary([s * 1000 for s in lean_first]),
            "p90": p90(lean_first) * 1000,
        },
        "ping_ms": summary([s * 1000 for s in lean_pings]),
        "ratio_first_chunk_to_ping": statistics.median(lean_first) / statistics.median(lean_pings),
        "history_filesystem": filesystem(workdir),
    }
    if TMPFS.is_dir() and filesystem(TMPFS) == "tmpfs":
        with tempfile.TemporaryDirectory(dir=TMPFS, prefix="agentd-bench-") as home:
            on_tmpfs, _ = lean_first_chunks(workdir, args.sends, home=Path(home))
        latency["lean_client"]["first_chunk_tmpfs_home_ms"] = summary([s * 1000 for s in on_tmpfs])
    print(f"(b) {args.runs} `long` turns (lean client), then 3 with AgentdClient ...")
    lean = stream_summary(lean_streams(workdir, args.runs))
    heavy = asyncio.run(client_streams(workdir, 3))
    print(f"(c) {args.sessions:,} session.create calls ...")
    memory = asyncio.run(session_memory(workdir, args.sessions))
    results.update(
        {
            "first_chunk": latency,
            "chunk_stream": {"lean_client": lean, "agentd_client": heavy},
            "session_memory": memory,
            "targets": {
                "first_chunk_ms": TARGET_FIRST_CHUNK.to_json(
                    latency["lean_client"]["first_chunk_ms"]["median"]
                ),
                "chunk_events_per_s": TARGET_CHUNKS.to_json(lean["chunk_events_per_s"]["median"]),
                "kib_per_session": TARGET_SESSION.to_json(memory["kib_per_session"]),
            },
        }
    )
    report(results, args)
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    latency = results["first_chunk"]
    first, ping = latency["first_chunk_ms"], latency["ping_ms"]
    lean_first = latency["lean_client"]["first_chunk_ms"]
    lean_ping = latency["lean_client"]["ping_ms"]
    tmpfs_rows: list[list[str]] = []
    if "first_chunk_tmpfs_home_ms" in latency["lean_client"]:
        tmpfs = latency["lean_client"]["first_chunk_tmpfs_home_ms"]
        tmpfs_rows.append(
            [
                "(a) the same, history on tmpfs (no disk flush)",
                f"{tmpfs['median']:.2f} ms ({tmpfs['min']:.2f}–{tmpfs['max']:.2f})",
                "",
                "",
            ]
        )
    lean = results["chunk_stream"]["lean_client"]
    heavy = results["chunk_stream"]["agentd_client"]
    rate = lean["chunk_events_per_s"]
    memory = results["session_memory"]
    heavy_rate = statistics.median(r["events_per_s"] for r in heavy)
    heavy_pieces = statistics.median(r["pieces_per_s"] for r in heavy)
    heavy_events = [r["chunk_events"] for r in heavy]
    cpu_us = lean["daemon_cpu_us_per_event"]
    wait_ms = statistics.median(lean["daemon_wait_ms"])
    rows = [
        [
            "(a) send → first chunk, lean client, history on"
            f" {latency['lean_client']['history_filesystem']} (median, min–max)",
            f"{lean_first['median']:.2f} ms ({lean_first['min']:.2f}–{lean_first['max']:.2f}),"
            f" p90 {lean_first['p90']:.2f}",
            TARGET_FIRST_CHUNK.describe(),
            TARGET_FIRST_CHUNK.verdict(lean_first["median"]),
        ],
        *tmpfs_rows,
        [
            "(a) ping round trip alongside, lean client (median)",
            f"{lean_ping['median']:.3f} ms; first chunk ="
            f" {latency['lean_client']['ratio_first_chunk_to_ping']:.1f} pings",
            "",
            "",
        ],
        [
            "(a) send → first chunk, AgentdClient (median, min–max)",
            f"{first['median']:.2f} ms ({first['min']:.2f}–{first['max']:.2f}),"
            f" p90 {first['p90']:.2f}",
            "",
            "",
        ],
        [
            "(a) ping round trip alongside, AgentdClient (median)",
            f"{ping['median']:.3f} ms; first chunk = {latency['ratio_first_chunk_to_ping']:.1f}"
            " pings",
            "",
            "",
        ],
        [
            "(a) send → send response, AgentdClient (median)",
            f"{latency['send_response_ms']['median']:.2f} ms;"
            f" {latency['events_before_first_chunk']:g} events before the first chunk",
            "",
            "",
        ],
        [
            f"(b) chunk events/s, `long`, lean client (median of {args.runs})",
            f"{rate['median'] / 1000:.1f} k/s ({rate['min'] / 1000:.1f}–{rate['max'] / 1000:.1f})",
            TARGET_CHUNKS.describe(),
            TARGET_CHUNKS.verdict(rate["median"]),
        ],
        [
            "(b) chunk events, answer chars (median run)",
            f"{lean['median_run']['chunk_events']:,} events, "
            f"{lean['median_run']['answer_chars']:,} chars"
            f" in {lean['median_run']['elapsed_ms']:.0f} ms",
            "all text, no seq gap",
            "complete" if lean["complete"] else "**text lost**",
        ],
        [
            "(b) daemon CPU per chunk event",
            f"{cpu_us:.1f} µs ({1000 / cpu_us:.0f} k/s on an idle core);"
            f" daemon busy {lean['daemon_cpu_share']:.0%}, client {lean['client_cpu_share']:.0%}"
            f" of wall time; daemon waited for a CPU {wait_ms:.0f} ms per run",
            "",
            "",
        ],
        [
            "(b) same turn read by AgentdClient (median of 3)",
            f"{heavy_rate / 1000:.1f} k events/s, {heavy_pieces / 1000:.1f} k pieces/s;"
            f" events per turn {heavy_events}",
            "",
            "complete" if all(r["complete"] for r in heavy) else "**text lost**",
        ],
        [
            f"(c) VmRSS before → after {memory['sessions']:,} session.create",
            f"{memory['before_kib']['VmRSS'] / 1024:.1f}"
            f" → {memory['after_kib']['VmRSS'] / 1024:.1f} MiB"
            f" (VmHWM {memory['after_kib']['VmHWM'] / 1024:.1f})",
            "",
            "",
        ],
        [
            "(c) RSS per idle session",
            f"{memory['bytes_per_session']:,.0f} bytes ({memory['kib_per_session']:.1f} KiB)",
            TARGET_SESSION.describe(),
            TARGET_SESSION.verdict(memory["kib_per_session"]),
        ],
        [
            "(c) session.create latency, first / last 100 (median)",
            f"{memory['create_ms_first_100']:.2f} / {memory['create_ms_last_100']:.2f} ms",
            "",
            "",
        ],
    ]
    print_table(
        f"bench/turns.py: {args.sends} sends, {args.runs} long turns, {args.sessions:,} sessions",
        ["figure", "value", "target", ""],
        rows,
    )


def profile_run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    profile = Path(args.profile).resolve()
    warm_bytecode(workdir)  # keep compiling modules out of the profile
    if args.phase == "first":
        latencies, _ = lean_first_chunks(workdir, args.sends, profile)
        median_ms = statistics.median(latencies) * 1000
        print(f"\nunder cProfile (slower than real): send → first chunk {median_ms:.2f} ms")
        print(top_functions(profile))
        return {"profile": str(profile), "first_chunk_ms": median_ms}
    runs = lean_streams(workdir, args.runs, profile)
    summary_ = stream_summary(runs)
    rate = summary_["chunk_events_per_s"]["median"]
    print(
        f"\nunder cProfile (slower than real): {rate / 1000:.1f} k chunk events/s,"
        f" complete: {summary_['complete']}"
    )
    print(top_functions(profile))
    return {"profile": str(profile), "chunk_stream": summary_}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--sends", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument(
        "--profile", metavar="FILE", help="profile a phase with cProfile into FILE instead"
    )
    parser.add_argument(
        "--phase",
        choices=("first", "stream"),
        default="stream",
        help="the phase --profile runs: (a) first chunk or (b) the chunk stream (default)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentd-bench-") as tmp:
        workdir = Path(tmp)
        if args.profile:
            results = {"machine": machine_info(), **profile_run(args, workdir)}
        else:
            results = run_benchmark(args, workdir)
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
