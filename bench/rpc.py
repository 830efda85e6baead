"""Benchmark of agentd's RPC layer: start-up, ping latency, notification throughput, idle memory.

What is measured, and why:

(a) **Process start → first response.** A client spawns ``python -m agentd serve`` and writes a
    ``system.ping`` at once; the figure is the time from just before the spawn until the response
    is read (``AgentdClient``, median/min/max of N starts). Every client pays this on every launch.
    Compiled modules are cached (``PYTHONPYCACHEPREFIX`` in a temp dir, filled by an unmeasured
    start), as for an installed agentd; another row starts it with the caller's environment as
    it is, which with ``PYTHONDONTWRITEBYTECODE=1`` recompiles every module edited since its
    ``.pyc`` was written. Because agentd may answer before it has loaded everything, one more
    row times spawn → ping answered → ``session.create`` answered (what a client that starts
    working at once waits for).
    A baseline in the same run, interleaved with the daemon starts so that load hits both alike:
    the same interpreter running ``sys.stdout.write('x')``, spawn → first byte. The ratio says how
    much agentd adds to a bare Python start on this machine.
(b) **Ping latency**, 2,000 sequential ``system.ping`` requests on one daemon: p50/p99 of the round
    trip. Headline with the lean client of ``bench/_common.py`` (pre-encoded requests, ``select`` +
    ``os.read``), so the figure is the daemon plus two pipe hops; the same with ``AgentdClient`` is
    shown as what an asyncio Python client sees. The floors (below) are pinged in turn with
    agentd, in blocks of 250, and the ratio agentd / floor is the median of the per-block
    ratios: this machine's pipe wake-ups go from ~20 µs (busy) to ~70 µs (idle) within a run.
(c) **Client → daemon throughput.** agentd has no method that emits N notifications on demand, so
    the honest measure goes the other way: 50,000 ``system.ping`` *notifications* (no id; agentd
    executes them and sends nothing back) written as one pre-encoded blob, then one ping request;
    the rate is 50,000 / (first byte written → final response read). Median of 3 rounds.
    **Daemon → client** throughput is measured through a streamed turn (the built-in ``long``
    script, 5,000 pieces): the method of ``bench/turns.py`` (b), run here 3 times for the table.
(d) **Idle RSS**: ``VmRSS`` and ``VmHWM`` from ``/proc/<pid>/status`` right after start + one ping
    (median over the starts of (a)), and again after the ``session.create`` of (a): agentd may
    answer a ping before it has loaded its core, so the second figure (one empty session, fully
    loaded) is the one compared with the target.

Timings are printed, never asserted: the machine may be shared. Targets are printed next to the
figures as met / not met. ``--json PATH`` writes every figure as JSON.

Analysis modes (instead of the benchmark): ``--importtime`` prints where start-up time goes
(``python -X importtime -m agentd serve``, averaged, plus a ladder of bare imports);
``--profile FILE`` runs phases (b) and (c) on a daemon under ``python -m cProfile -o FILE`` and
prints its top functions.

Run: ``.venv/bin/python bench/rpc.py [--json PATH] [--importtime] [--profile FILE]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import (
    LeanDaemon,
    StreamRun,
    Target,
    daemon_env,
    encode,
    machine_info,
    mib,
    percentile,
    print_machine,
    print_table,
    proc_sched,
    proc_status_kib,
    response_prefix,
    starts_with,
    stream_long_turn,
    summary,
    timed_run,
    top_functions,
    warm_bytecode,
    write_json,
)

from agentd.client import AgentdClient

BASELINE_CODE = "import sys; sys.stdout.write('x'); sys.stdout.flush()"
TIMEOUT_S = 20.0
#: What a client of the reference sends first: ``rpc.handshake`` with these params.
FIRST_PARAMS: dict[str, Any] = {
    "rpc.handshake": {"protocol_version": "1.0.0", "client_name": "bench", "client_version": "1"}
}

TARGET_START = Target(100, "ms")
TARGET_PING = Target(0.2, "ms")
TARGET_RSS = Target(30, "MiB")


# -- (a) and (d): start-up -------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """One daemon start, in seconds from just before the spawn."""

    first_response_s: float  # the ping written at once is answered
    cpu_s: float  # the daemon's CPU time when that answer was read
    memory_kib: dict[str, int]  # VmRSS/VmHWM right after it
    first_session_s: float  # then a session.create, written after the ping answer, is answered
    loaded_memory_kib: dict[str, int]  # VmRSS/VmHWM once that is answered (everything loaded)


async def daemon_start(
    workdir: Path, *, cached_bytecode: bool = True, first: str = "system.ping"
) -> Start:
    """Spawn, ping (or ``first``) at once, then create a session; see ``Start``."""
    env = daemon_env(workdir, cached_bytecode=cached_bytecode)
    started = time.perf_counter()
    client = await AgentdClient.spawn(env=env, cwd=str(workdir), stderr=None)
    try:
        _, future = client.start_request(first, FIRST_PARAMS.get(first))
        response = await asyncio.wait_for(future, TIMEOUT_S)
        elapsed = time.perf_counter() - started
        if "result" not in response:
            raise RuntimeError(f"ping failed: {response}")
        cpu, _ = proc_sched(client.process.pid)
        memory = proc_status_kib(client.process.pid)
        await client.call("session.create", {}, timeout=TIMEOUT_S)
        first_session = time.perf_counter() - started
        loaded = proc_status_kib(client.process.pid)
    finally:
        await client.close()
    return Start(elapsed, cpu, memory, first_session, loaded)


async def baseline_start(workdir: Path) -> tuple[float, float]:
    """Spawn → first byte of a bare interpreter that writes one byte, and its whole CPU time."""
    env = daemon_env(workdir)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        BASELINE_CODE,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    first = await asyncio.wait_for(process.stdout.read(1), TIMEOUT_S)
    elapsed = time.perf_counter() - started
    await asyncio.wait_for(process.wait(), TIMEOUT_S)
    if first != b"x":
        raise RuntimeError("the baseline process wrote nothing")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    return elapsed, cpu


async def measure_starts(starts: int, workdir: Path) -> dict[str, Any]:
    daemon: list[float] = []
    daemon_cpu: list[float] = []
    baseline: list[float] = []
    baseline_cpu: list[float] = []
    uncached: list[float] = []
    handshake: list[float] = []
    first_session: list[float] = []
    rss: list[int] = []
    hwm: list[int] = []
    loaded_rss: list[int] = []
    loaded_hwm: list[int] = []
    # Unmeasured: warm the page cache and fill the bytecode cache.
    await baseline_start(workdir)
    await daemon_start(workdir)
    await daemon_start(workdir, cached_bytecode=False)
    for _ in range(starts):
        elapsed, cpu = await baseline_start(workdir)
        baseline.append(elapsed)
        baseline_cpu.append(cpu)
        start = await daemon_start(workdir)
        daemon.append(start.first_response_s)
        daemon_cpu.append(start.cpu_s)
        first_session.append(start.first_session_s)
        memory = start.memory_kib
        uncached.append((await daemon_start(workdir, cached_bytecode=False)).first_response_s)
        handshake.append((await daemon_start(workdir, first="rpc.handshake")).first_response_s)
        rss.append(memory["VmRSS"])
        hwm.append(memory["VmHWM"])
        loaded_rss.append(start.loaded_memory_kib["VmRSS"])
        loaded_hwm.append(start.loaded_memory_kib["VmHWM"])
    return {
        "daemon_ms": summary([s * 1000 for s in daemon]),
        "baseline_ms": summary([s * 1000 for s in baseline]),
        "ratio": statistics.median(daemon) / statistics.median(baseline),
        "daemon_cpu_ms": summary([s * 1000 for s in daemon_cpu]),
        "daemon_env_bytecode_ms": summary([s * 1000 for s in uncached]),
        "handshake_ms": summary([s * 1000 for s in handshake]),
        "first_session_ms": summary([s * 1000 for s in first_session]),
        "env_bytecode": bytecode_setting(),
        "baseline_cpu_ms": summary([s * 1000 for s in baseline_cpu]),
        "cpu_ratio": statistics.median(daemon_cpu) / statistics.median(baseline_cpu),
        "rss_mib": summary([mib(k) for k in rss]),
        "hwm_mib": summary([mib(k) for k in hwm]),
        "loaded_rss_mib": summary([mib(k) for k in loaded_rss]),
        "loaded_hwm_mib": summary([mib(k) for k in loaded_hwm]),
    }


def bytecode_setting() -> str:
    """How this shell's environment caches bytecode (what the uncached row runs with)."""
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        return "PYTHONDONTWRITEBYTECODE=1"
    if os.environ.get("PYTHONPYCACHEPREFIX"):
        return "PYTHONPYCACHEPREFIX set"
    return "default"


# -- (b): ping latency -----------------------------------------------------------------------


def lean_ping_latencies(daemon: LeanDaemon, count: int) -> list[float]:
    """Round trips in seconds, each request pre-encoded before its clock starts."""
    requests = [daemon.request("system.ping") for _ in range(count)]
    latencies: list[float] = []
    for request_id, data in requests:
        prefix = response_prefix(request_id)
        started = time.perf_counter()
        daemon.write(data, TIMEOUT_S)
        bodies, arrived = daemon.read_until(starts_with(prefix), TIMEOUT_S)
        latencies.append(arrived - started)
        if len(bodies) != 1 or b'"ok":true' not in bodies[0]:
            raise RuntimeError(f"unexpected reply to a ping: {bodies!r}")
    return latencies


async def client_ping_latencies(workdir: Path, count: int, warmup: int) -> list[float]:
    client = await AgentdClient.spawn(env=daemon_env(workdir), cwd=str(workdir), stderr=None)
    latencies: list[float] = []
    try:
        for index in range(warmup + count):
            started = time.perf_counter()
            await client.call("system.ping", timeout=TIMEOUT_S)
            if index >= warmup:
                latencies.append(time.perf_counter() - started)
    finally:
        await client.close()
    return latencies


def latency_figures(latencies: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in latencies]
    return {
        "p50": percentile(ms, 50),
        "p99": percentile(ms, 99),
        "min": min(ms),
        "max": max(ms),
        "n": len(ms),
    }


# Floors for (b): the least a server on pipes can do per request. Each reads LSP frames, parses
# the body, and answers ``{"ok":true}`` with the request's id, all in one read callback.
ECHO_PY = r"""
import asyncio, json, os, sys

class Echo(asyncio.Protocol):
    def __init__(self, out, done):
        self.buf, self.out, self.done = b"", out, done
    def data_received(self, data):
        self.buf += data
        replies = []
        while True:
            head = self.buf.find(b"\r\n\r\n")
            if head < 0:
                break
            end = head + 4 + int(self.buf[16:head])
            if len(self.buf) < end:
                break
            body = json.loads(self.buf[head + 4:end])
            self.buf = self.buf[end:]
            reply = json.dumps({"jsonrpc": "2.0", "id": body.get("id"), "result": {"ok": True}},
                               separators=(",", ":")).encode()
            replies.append(b"Content-Length: %d\r\n\r\n%b" % (len(reply), reply))
        if replies:
            self.out.write(b"".join(replies))
    def connection_lost(self, exc):
        self.done.set_result(None)

async def main():
    loop = asyncio.get_running_loop()
    out, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(1, "wb", 0))
    done = loop.create_future()
    await loop.connect_read_pipe(lambda: Echo(out, done), os.fdopen(0, "rb", 0))
    await done

factory = None
if os.environ.get("AGENTD_NO_UVLOOP", "") in ("", "0"):
    try:
        import uvloop
        factory = uvloop.new_event_loop
    except ImportError:
        pass
with asyncio.Runner(loop_factory=factory) as runner:
    runner.run(main())
"""
ECHO_NODE = r"""
let buf = Buffer.alloc(0);
process.stdin.on("data", (data) => {
  buf = Buffer.concat([buf, data]);
  const replies = [];
  for (;;) {
    const head = buf.indexOf("\r\n\r\n");
    if (head < 0) break;
    const end = head + 4 + parseInt(buf.subarray(16, head).toString(), 10);
    if (buf.length < end) break;
    const body = JSON.parse(buf.subarray(head + 4, end).toString());
    buf = buf.subarray(end);
    const reply = JSON.stringify({ jsonrpc: "2.0", id: body.id, result: { ok: true } });
    replies.push(`Content-Length: ${Buffer.byteLength(reply)}\r\n\r\n${reply}`);
  }
  if (replies.length) process.stdout.write(replies.join(""));
});
process.stdin.on("end", () => process.exit(0));
"""


def agentd_loop() -> str:
    """The event loop agentd chooses at start (``agentd.server.loop_factory``)."""
    try:
        from agentd.server import loop_factory
    except ImportError:  # code from before the choice (frozen-code runs): the standard loop
        return "asyncio"
    return "uvloop" if loop_factory() is not None else "asyncio"


#: Pings per block in (b): agentd and the floors take turns, block by block.
PING_BLOCK = 250


def interleaved_pings(
    daemon: LeanDaemon, workdir: Path, count: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """``count`` pings each to agentd and to the echo floors, in alternating blocks.

    This machine switches between a busy state (pipe wake-ups ~20 µs) and an idle one (~70 µs)
    within a run, so agentd and its floors are measured side by side, block after block; the
    ratio is the median of the per-block ratios. Whichever server a client process pings first
    also measured up to twice slower (45.7 against 23.4 µs for the same echo): every server
    gets an unmeasured warm-up, and agentd's figure used to be the first one taken.
    """
    commands = {"python_echo": [sys.executable, "-c", ECHO_PY]}
    node = shutil.which("node")
    if node is not None:
        commands["node_echo"] = [node, "-e", ECHO_NODE]
    env = daemon_env(workdir)
    if agentd_loop() != "uvloop":  # the Python floor runs on the loop agentd runs on
        env["AGENTD_NO_UVLOOP"] = "1"
    floors = {
        name: LeanDaemon(workdir=workdir, command=command, env=env)
        for name, command in commands.items()
    }
    servers = {"agentd": daemon, **floors}
    latencies: dict[str, list[float]] = {name: [] for name in servers}
    ratios: dict[str, list[float]] = {name: [] for name in floors}
    try:
        for server in servers.values():
            lean_ping_latencies(server, 1000)  # warm-up, unmeasured
        for _ in range(max(1, count // PING_BLOCK)):
            block = {}
            for name, server in servers.items():
                measured = lean_ping_latencies(server, PING_BLOCK)
                latencies[name] += measured
                block[name] = statistics.median(measured)
            for name in floors:
                ratios[name].append(block["agentd"] / block[name])
    finally:
        for server in floors.values():
            server.close()
            server.__exit__()
    return latencies, {name: statistics.median(values) for name, values in ratios.items()}


# -- (c): notifications in, events out -------------------------------------------------------


def notification_round(daemon: LeanDaemon, count: int) -> dict[str, float]:
    """``count`` ping notifications and one ping request, written as one blob."""
    blob = encode({"jsonrpc": "2.0", "method": "system.ping"}) * count
    request_id, request = daemon.request("system.ping")
    prefix = response_prefix(request_id)
    data = blob + request
    sched = proc_sched(daemon.pid)
    started = time.perf_counter()
    daemon.write(data, 60.0)
    bodies, arrived = daemon.read_until(starts_with(prefix), 60.0)
    elapsed = arrived - started
    sched_after = proc_sched(daemon.pid)
    if len(bodies) != 1:
        raise RuntimeError(f"agentd answered notifications: {bodies[:3]!r}")
    cpu = sched_after[0] - sched[0]
    return {
        "per_s": count / elapsed,
        "elapsed_s": elapsed,
        "bytes": len(data),
        "daemon_cpu_us_each": cpu / count * 1e6,
        "daemon_wait_s": sched_after[1] - sched[1],
    }


def stream_figures(runs: list[StreamRun]) -> dict[str, Any]:
    return {
        "chunk_events_per_s": statistics.median(r.events_per_s for r in runs),
        "chunk_events": [r.chunk_events for r in runs],
        "complete": all(r.complete for r in runs),
        "daemon_cpu_us_per_event": statistics.median(
            r.daemon_cpu_s / r.chunk_events * 1e6 for r in runs
        ),
        "client_cpu_share": statistics.median(r.client_cpu_s / r.elapsed_s for r in runs),
    }


# -- the benchmark ---------------------------------------------------------------------------


def run_benchmark(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine_info()}
    print_machine(results["machine"])

    print(f"\n(a)+(d) {args.starts} starts, interleaved with {args.starts} baseline starts ...")
    start = asyncio.run(measure_starts(args.starts, workdir))
    results["start"] = start

    print(f"(b) {args.pings} sequential pings, agentd and the floors in turn; AgentdClient ...")
    with LeanDaemon(workdir=workdir) as daemon:
        latencies, ratios = interleaved_pings(daemon, workdir, args.pings)
        lean = latency_figures(latencies.pop("agentd"))
        print(f"(c) {args.notifications:,} notifications x 3, then 3 streamed turns ...")
        rounds = [notification_round(daemon, args.notifications) for _ in range(3)]
        streams = [  # each on a fresh session, as in bench/turns.py; the first is warm-up
            stream_long_turn(daemon, daemon.call("session.create", {"model": "long"})["session_id"])
            for _ in range(4)
        ][1:]
        after_load = proc_status_kib(daemon.pid)
    asyncio_client = latency_figures(asyncio.run(client_ping_latencies(workdir, args.pings, 200)))
    results["ping_ms"] = {
        "lean_client": lean,
        "agentd_client": asyncio_client,
        "loop": agentd_loop(),
        **{name: latency_figures(values) for name, values in latencies.items()},
        "ratios": ratios,
    }
    results["notifications"] = {
        "count": args.notifications,
        "per_s": statistics.median(r["per_s"] for r in rounds),
        "rounds": rounds,
    }
    results["events_out"] = stream_figures(streams)
    results["memory_after_load_mib"] = {k: mib(v) for k, v in after_load.items()}
    results["targets"] = {
        "start_ms": TARGET_START.to_json(start["daemon_ms"]["median"]),
        "ping_p50_ms": TARGET_PING.to_json(lean["p50"]),
        "idle_rss_mib": TARGET_RSS.to_json(start["loaded_rss_mib"]["median"]),
    }
    report(results, args)
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    start = results["start"]
    d, b, u = start["daemon_ms"], start["baseline_ms"], start["daemon_env_bytecode_ms"]
    fs = start["first_session_ms"]
    hs = start["handshake_ms"]
    lean, client = results["ping_ms"]["lean_client"], results["ping_ms"]["agentd_client"]
    notes = results["notifications"]
    out = results["events_out"]
    median_round = sorted(notes["rounds"], key=lambda r: r["per_s"])[1]
    rss, hwm = start["rss_mib"], start["hwm_mib"]
    loaded_rss, loaded_hwm = start["loaded_rss_mib"], start["loaded_hwm_mib"]
    rows = [
        [
            "(a) start → first response, cached bytecode (median, min–max)",
            f"{d['median']:.1f} ms ({d['min']:.1f}–{d['max']:.1f})",
            TARGET_START.describe(),
            TARGET_START.verdict(d["median"]),
        ],
        [
            "(a) baseline: bare `python -c` → first byte",
            f"{b['median']:.1f} ms ({b['min']:.1f}–{b['max']:.1f})",
            "",
            "",
        ],
        ["(a) ratio daemon / baseline (wall)", f"{start['ratio']:.2f}x", "", ""],
        [
            "(a) start → rpc.handshake answered, cached bytecode",
            f"{hs['median']:.1f} ms ({hs['min']:.1f}–{hs['max']:.1f})",
            TARGET_START.describe(),
            TARGET_START.verdict(hs["median"]),
        ],
        [
            "(a) start → ping answered → session.create answered",
            f"{fs['median']:.1f} ms ({fs['min']:.1f}–{fs['max']:.1f})",
            "",
            "",
        ],
        [
            f"(a) start → first response, this shell's env ({start['env_bytecode']})",
            f"{u['median']:.1f} ms ({u['min']:.1f}–{u['max']:.1f})",
            "",
            "",
        ],
        [
            "(a) CPU: daemon until its response / whole baseline",
            f"{start['daemon_cpu_ms']['median']:.1f} / {start['baseline_cpu_ms']['median']:.1f} ms"
            f" ({start['cpu_ratio']:.2f}x)",
            "",
            "",
        ],
        [
            "(b) ping p50 / p99 (lean client)",
            f"{lean['p50']:.3f} / {lean['p99']:.3f} ms",
            TARGET_PING.describe() + " (p50)",
            TARGET_PING.verdict(lean["p50"]),
        ],
        [
            "(b) ping p50 / p99 (AgentdClient)",
            f"{client['p50']:.3f} / {client['p99']:.3f} ms",
            "",
            "",
        ],
    ]
    pings = results["ping_ms"]
    floors = [("python_echo", f"`asyncio.Protocol` echo on {pings['loop']}")]
    floors += [("node_echo", "Node echo")] if "node_echo" in pings else []
    for key, label in floors:
        floor = pings[key]
        rows.append(
            [
                f"(b) floor: {label}, p50 / p99 (agentd / floor: median of per-block ratios)",
                f"{floor['p50']:.3f} / {floor['p99']:.3f} ms (× {pings['ratios'][key]:.2f})",
                "",
                "",
            ]
        )
    rows += [
        [
            f"(c) {notes['count']:,} notifications in (median of 3)",
            f"{notes['per_s'] / 1000:.1f} k/s"
            f" ({median_round['daemon_cpu_us_each']:.1f} µs daemon CPU each:"
            f" {1000 / median_round['daemon_cpu_us_each']:.0f} k/s on an idle core)",
            "",
            "",
        ],
        [
            "(c) chunk events out, `long` turn (median of 3)",
            f"{out['chunk_events_per_s'] / 1000:.1f} k/s"
            f" ({out['daemon_cpu_us_per_event']:.1f} µs daemon CPU each:"
            f" {1000 / out['daemon_cpu_us_per_event']:.0f} k/s on an idle core)",
            "see bench/turns.py (b)",
            "complete" if out["complete"] else "**text lost**",
        ],
        [
            "(d) VmRSS / VmHWM right after the first ping answer (median)",
            f"{rss['median']:.1f} / {hwm['median']:.1f} MiB",
            "",
            "",
        ],
        [
            "(d) idle VmRSS / VmHWM once loaded (after the session.create, median)",
            f"{loaded_rss['median']:.1f} / {loaded_hwm['median']:.1f} MiB",
            TARGET_RSS.describe() + " (VmRSS)",
            TARGET_RSS.verdict(loaded_rss["median"]),
        ],
    ]
    load = results["memory_after_load_mib"]
    rows.append(
        [
            "(d) VmRSS / VmHWM after (b)+(c)",
            f"{load['VmRSS']:.1f} / {load['VmHWM']:.1f} MiB",
            "",
            "",
        ]
    )
    print_table(
        f"bench/rpc.py: {args.starts} starts, {args.pings:,} pings",
        ["figure", "value", "target", ""],
        rows,
    )
    waits = [r["daemon_wait_s"] for r in notes["rounds"]]
    print(
        f"\nclient CPU share during the chunk stream: {out['client_cpu_share']:.0%} of wall time"
        f" (lean client); daemon waited {sum(waits) * 1000:.0f} ms for a CPU during (c)"
    )


# -- analysis modes --------------------------------------------------------------------------


def importtime_report(workdir: Path, runs: int = 5, top: int = 20) -> dict[str, Any]:
    """Average ``-X importtime`` of ``python -m agentd serve`` (stdin at EOF: it exits at once).

    stdin is an empty pipe, not ``/dev/null``: epoll refuses ``/dev/null`` and agentd then hangs
    instead of seeing EOF (reported in docs/performance.md).
    """
    self_us: dict[str, list[int]] = defaultdict(list)
    cumulative_us: dict[str, list[int]] = defaultdict(list)
    depth: dict[str, int] = {}
    for _ in range(runs):
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "agentd", "serve"],
            input="",
            capture_output=True,
            text=True,
            cwd=workdir,
            env=daemon_env(workdir),
            timeout=TIMEOUT_S,
            check=False,
        )
        for line in run.stderr.splitlines():
            if not line.startswith("import time:") or "[us]" in line:
                continue
            own, cumulative, name = line[len("import time:") :].split("|", 2)
            module = name.strip()
            depth[module] = (len(name) - len(name.lstrip()) - 1) // 2
            self_us[module].append(int(own))
            cumulative_us[module].append(int(cumulative))
    mean_self = {k: statistics.mean(v) / 1000 for k, v in self_us.items()}
    mean_cum = {k: statistics.mean(v) / 1000 for k, v in cumulative_us.items()}
    by_package: dict[str, float] = defaultdict(float)
    for name, ms in mean_self.items():
        by_package[name.split(".")[0]] += ms
    roots = sorted(((n, ms) for n, ms in mean_cum.items() if depth[n] == 0), key=lambda x: -x[1])
    total = sum(ms for _, ms in roots)
    print(f"\n### -X importtime of `python -m agentd serve` (mean of {runs} runs)\n")
    print(f"all imports: {total:.1f} ms (importtime itself inflates this)\n")
    print("top-level imports (cumulative ms):")
    for name, ms in roots[:12]:
        print(f"  {ms:7.1f}  {name}")
    print(f"\nown time by top-level package (top {top}):")
    for name, ms in sorted(by_package.items(), key=lambda x: -x[1])[:top]:
        print(f"  {ms:7.1f}  {name}")
    print(f"\nmodules by cumulative time (top {top}):")
    for name, ms in sorted(mean_cum.items(), key=lambda x: -x[1])[:top]:
        print(f"  {ms:7.1f}  {'  ' * depth[name]}{name}")
    print(f"\nmodules by own time (top {top}):")
    for name, ms in sorted(mean_self.items(), key=lambda x: -x[1])[:top]:
        print(f"  {ms:7.1f}  {name}")
    ladder = import_ladder(workdir)
    print("\nwall time of a process that imports ... and exits (min / median of 9):")
    for label, times in ladder.items():
        print(f"  {times['min']:7.1f} / {times['median']:7.1f} ms  {label}")
    return {
        "total_ms": total,
        "roots_ms": dict(roots),
        "by_package_ms": dict(by_package),
        "self_ms": mean_self,
        "ladder_ms": ladder,
    }


def import_ladder(workdir: Path, runs: int = 9) -> dict[str, dict[str, float]]:
    """Wall time of ``python -c "import ..."`` processes (start, import, exit), min and median:
    each step's difference to the one before is what those imports add to a start."""
    steps = {
        "nothing (python -c pass)": "pass",
        "asyncio, json": "import asyncio, json",
        "attrs": "import attrs",
        "asyncio, json, attrs, logging, argparse, pathlib": (
            "import asyncio, json, attrs, logging, argparse, pathlib"
        ),
        "agentd.cli + agentd.server (what `-m agentd serve` imports first)": (
            "import agentd.cli, agentd.server"
        ),
    }
    env = daemon_env(workdir)
    out: dict[str, dict[str, float]] = {}
    for code in steps.values():  # unmeasured: fill the bytecode cache
        subprocess.run([sys.executable, "-c", code], cwd=workdir, env=env, timeout=TIMEOUT_S)
    for label, code in steps.items():
        times = [
            timed_run([sys.executable, "-c", code], env=env, cwd=workdir, timeout=TIMEOUT_S) * 1000
            for _ in range(runs)
        ]
        out[label] = {"min": min(times), "median": statistics.median(times)}
    return out


def profile_run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Phases (b) and (c) on a daemon under cProfile; figures are slowed by the profiler."""
    profile = Path(args.profile).resolve()
    warm_bytecode(workdir)  # keep compiling modules out of the profile
    with LeanDaemon(workdir=workdir, profile_out=profile) as daemon:
        lean = latency_figures(lean_ping_latencies(daemon, args.pings))
        rounds = notification_round(daemon, args.notifications)
        code = daemon.close()
    if code != 0 or not profile.exists():
        raise RuntimeError(f"the profiled daemon exited with {code}; no profile at {profile}")
    print(
        f"\nunder cProfile (slower than real): ping p50 {lean['p50']:.3f} ms,"
        f" {rounds['per_s'] / 1000:.1f} k notifications/s"
    )
    print(top_functions(profile))
    return {"profile": str(profile), "ping_ms": lean, "notifications": rounds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--pings", type=int, default=2000)
    parser.add_argument("--notifications", type=int, default=50_000)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--importtime", action="store_true", help="analyse start-up imports instead")
    mode.add_argument(
        "--profile", metavar="FILE", help="profile (b)+(c) with cProfile into FILE instead"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentd-bench-") as tmp:
        workdir = Path(tmp)
        if args.importtime:
            results = {"machine": machine_info(), "importtime": importtime_report(workdir)}
        elif args.profile:
            results = {"machine": machine_info(), **profile_run(args, workdir)}
        else:
            results = run_benchmark(args, workdir)
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
