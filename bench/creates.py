"""``session.create`` cost against the session count: n sequential creates, lean client.

Prints the total, the median latency of the first and last 100 creates, and the bytes agentd wrote
per create (the ``state.changed`` snapshot each create emits is most of them). A flat cost means
the last 100 are no slower than the first 100.

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


def creates(workdir: Path, count: int) -> dict[str, float]:
    with LeanDaemon(workdir=workdir) as daemon:
        daemon.call("session.create", {})  # warm-up: loads the core; counts as the first
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    print_machine(machine_info())
    with tempfile.TemporaryDirectory(prefix="agentd-bench-") as tmp:
        for count in args.sessions:
            result = creates(Path(tmp), count)
            print(
                f"{count:>6,} creates: total {result['total_s']:.3f} s, "
                f"first / last 100 median {result['first_100_ms']:.3f} / "
                f"{result['last_100_ms']:.3f} ms, "
                f"{result['bytes_per_create']:,.0f} bytes out per create"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
