"""``session.create`` cost against the session count, lean client (reads all it gets at once).

Sequential: n creates, each written once the previous one is answered (how the reference's
clients create sessions). Prints the total, the median latency of the first and last 100 creates
and the bytes agentd wrote per create (the ``state.changed`` snapshot each create emits is most of
them), next to the target of issue 12 (1,000 creates in ≤ 0.35 s, the last 100 no slower than
the first 100).

Pipelined: the same n creates written in one go, read as they come: time to the last answer and
bytes per create. Unwritten ``state.changed`` snapshots supersede each other (docs/protocol.md),
so this is where that shows.

    .venv/bin/python bench/creates.py --sessions 1000 10000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import LeanDaemon, machine_info, print_machine, response_prefix, starts_with

#: Pause after the first create, before the timed ones.
WARM_UP_S = 0.5


def creates(workdir: Path, count: int) -> dict[str, float]:
    with LeanDaemon(workdir=workdir) as daemon:
        daemon.call("session.create", {})  # warm-up: loads the core; counts as the first
        # the core warms up in the background (history index, provider import): let it finish,
        # so the first 100 measure creates at a low session count, not the start-up
        time.sleep(WARM_UP_S)
        latencies: list[float] = []
        written = 0
        for _ in range(count - 1):
            request_id, data = daemon.request("session.create", {})
            started = time.perf_counter()
            daemon.write(data)
            bodies, stamp = daemon.read_until(starts_with(response_prefix(request_id)))
            latencies.append(stamp - started)
            written += sum(map(len, bodies))
        daemon.close()
    head, tail = latencies[:100], latencies[-100:]
    return {
        "total_s": sum(latencies),
        "first_100_ms": statistics.median(head) * 1000,
        "last_100_ms": statistics.median(tail) * 1000,
        "bytes_per_create": written / len(latencies),
    }


def pipelined(workdir: Path, count: int) -> dict[str, float]:
    with LeanDaemon(workdir=workdir) as daemon:
        daemon.call("session.create", {})  # warm-up: loads the core
        time.sleep(WARM_UP_S)
        requests = [daemon.request("session.create", {}) for _ in range(count - 1)]
        last_id = requests[-1][0]
        started = time.perf_counter()
        daemon.write(b"".join(data for _, data in requests), 60.0)
        bodies, stamp = daemon.read_until(starts_with(response_prefix(last_id)), 60.0)
        written = sum(map(len, bodies))
        snapshots = sum(1 for body in bodies if b'"state.changed"' in body[:80])
        daemon.close()
    return {
        "total_s": stamp - started,
        "bytes_per_create": written / len(requests),
        "snapshots": snapshots,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    print_machine(machine_info())
    with tempfile.TemporaryDirectory(prefix="agentd-bench-") as tmp:
        for count in args.sessions:
            result = creates(Path(tmp), count)
            first, last = result["first_100_ms"], result["last_100_ms"]
            verdict = ""
            if count == 1000:
                met = result["total_s"] <= 0.35 and last <= first
                verdict = f"  [target ≤ 0.35 s, last ≤ first: {'met' if met else 'not met'}]"
            print(
                f"{count:>6,} creates, sequential: total {result['total_s']:.3f} s, "
                f"first / last 100 median {first:.3f} / {last:.3f} ms (last/first "
                f"{last / first:.2f}), {result['bytes_per_create']:,.0f} bytes out per create"
                + verdict
            )
            piped = pipelined(Path(tmp), count)
            print(
                f"{count:>6,} creates, pipelined: last answer after {piped['total_s']:.3f} s, "
                f"{piped['bytes_per_create']:,.0f} bytes out per create, "
                f"{piped['snapshots']:,} state.changed events"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
