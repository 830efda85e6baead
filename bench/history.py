"""History store benchmark: listing, loading and appending at 10,000 records.

Generates records through the public store API in a temporary home, then prints a table of
figures (and writes them as JSON with ``--json``). Targets: ``history.list`` under 20 ms at
10,000 records, and an append cost that does not grow with the file's length.

    .venv/bin/python bench/history.py [--records 10000] [--json out.json] [--dir /path]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentd.store import (
    HistoryStore,
    Journal,
    Message,
    TurnEnd,
    TurnStart,
)
from agentd.store.records import Role
from agentd.store.timefmt import format_iso

ANSWER = "Here is what I found. " * 10  # ~220 characters, a typical short assistant message
START = datetime(2026, 1, 1, tzinfo=UTC)


def median_ms(action: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls, in milliseconds (after one warm-up call)."""
    action()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


def generate(store: HistoryStore, count: int) -> float:
    """``count`` records, one completed turn each, spread over a year; returns seconds."""
    started = time.perf_counter()
    step = timedelta(days=365) / max(count, 1)
    for n in range(count):
        created = START + step * n
        at = format_iso(created + timedelta(seconds=30))
        with store.create_record(
            provider="openai",
            model="gpt-bench",
            thinking_level="MEDIUM",
            title=f"bench chat {n}",
            created_at=format_iso(created),
        ) as journal:
            journal.append(TurnStart(f"t{n}", at))
            journal.append(Message("user", f"question number {n}", turn_id=f"t{n}"))
            journal.append(Message("assistant", ANSWER, turn_id=f"t{n}"))
            journal.append(TurnEnd(f"t{n}", at, "completed"))
    return time.perf_counter() - started


def long_record(store: HistoryStore, messages: int) -> Path:
    """A record of ``messages`` messages (alternating user/assistant), written without fsync."""
    with store.create_record(
        provider="openai", model="gpt-bench", thinking_level="OFF", title=f"{messages} messages"
    ) as journal:
        for n in range(messages):
            role: Role = "user" if n % 2 == 0 else "assistant"
            journal.append(Message(role, ANSWER), sync=False)
        return journal.path


def append_cost_us(store: HistoryStore, path: Path, *, fsync: bool, count: int) -> float:
    """Mean cost of one message append to the record at ``path``, in microseconds."""
    with Journal.open(path, fsync="always" if fsync else "never", index=store.index) as journal:
        message = Message("assistant", ANSWER)
        for _ in range(min(count, 20)):  # warm up (caches, allocator)
            journal.append(message)
        started = time.perf_counter()
        for _ in range(count):
            journal.append(message)
        elapsed = time.perf_counter() - started
    return elapsed / count * 1e6


def append_costs(store: HistoryStore, paths: dict[int, Path]) -> dict[str, dict[str, float]]:
    """Median of 5 rounds per file length; rounds go round-robin over the lengths so drift in
    the machine's load hits every length alike."""
    samples: dict[int, dict[str, list[float]]] = {n: {"off": [], "on": []} for n in paths}
    for _ in range(5):
        for length, path in paths.items():
            samples[length]["off"].append(append_cost_us(store, path, fsync=False, count=400))
            samples[length]["on"].append(append_cost_us(store, path, fsync=True, count=20))
    return {
        str(length): {
            "fsync_off": statistics.median(sample["off"]),
            "fsync_on": statistics.median(sample["on"]),
        }
        for length, sample in samples.items()
    }


def upsert_cost_us(store: HistoryStore, path: Path, count: int) -> float:
    """Cost of one index update (what a sync point adds to an append), in microseconds."""
    with Journal.open(path, fsync="never", index=store.index) as journal:
        summary = journal.summary()
        started = time.perf_counter()
        for n in range(count):
            store.index.upsert(summary, n, n)
        elapsed = time.perf_counter() - started
    return elapsed / count * 1e6


def run(records: int, base: Path) -> dict[str, Any]:
    home = base / "home"
    figures: dict[str, Any] = {
        "records": records,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "home": str(home),
    }
    store = HistoryStore(home, fsync="never", refresh_interval=3600)
    figures["generate_s"] = generate(store, records)
    figures["refresh_unchanged_ms"] = median_ms(store.refresh, 3)
    figures["list_ms"] = median_ms(lambda: store.list(limit=100), 20)
    figures["list_last_page_ms"] = median_ms(
        lambda: store.list(limit=100, cursor=max(records - 100, 0)), 20
    )
    figures["get_last_ms"] = median_ms(lambda: store.get(last=True), 20)
    store.close()

    for extra in home.glob("index.sqlite3*"):
        extra.unlink()
    started = time.perf_counter()
    rebuilt = HistoryStore(home, fsync="never", refresh_interval=3600)
    stats = rebuilt.refresh()
    figures["rebuild_index_s"] = time.perf_counter() - started
    assert stats.read == records, stats

    lengths = (10, 1_000, 10_000)
    paths = {length: long_record(rebuilt, length) for length in lengths}
    big = rebuilt.index.by_path(paths[10_000])
    assert big is not None
    figures["get_10000_messages_ms"] = median_ms(lambda: rebuilt.get(id=big.id), 5)
    figures["open_10000_messages_ms"] = median_ms(lambda: Journal.open(paths[10_000]).close(), 5)
    figures["append_us"] = append_costs(rebuilt, paths)
    figures["index_upsert_us"] = upsert_cost_us(rebuilt, paths[10], 500)
    rebuilt.close()
    return figures


def print_table(figures: dict[str, Any]) -> None:
    n = figures["records"]
    rows = [
        (f"generate {n} records (4 appends each, fsync off)", f"{figures['generate_s']:.2f} s"),
        (f"history.list limit=100 at {n} records (median of 20)", f"{figures['list_ms']:.2f} ms"),
        ("history.list last page (median of 20)", f"{figures['list_last_page_ms']:.2f} ms"),
        ("history.get last=true (median of 20)", f"{figures['get_last_ms']:.2f} ms"),
        (
            "history.get of a 10,000-message record (median of 5)",
            f"{figures['get_10000_messages_ms']:.1f} ms",
        ),
        (
            "Journal.open of a 10,000-message record (median of 5)",
            f"{figures['open_10000_messages_ms']:.1f} ms",
        ),
        (
            "index refresh, nothing changed (median of 3)",
            f"{figures['refresh_unchanged_ms']:.1f} ms",
        ),
        ("index rebuild from the files (index deleted)", f"{figures['rebuild_index_s']:.2f} s"),
        ("index upsert (added at sync points only)", f"{figures['index_upsert_us']:.0f} µs"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"{'measure':<{width}}  value")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print()
    print(f"{'append cost per record (median of 5)':<38}{'fsync off':>12}{'fsync on':>12}")
    for length, cost in figures["append_us"].items():
        label = f"file of {int(length):,} records"
        print(f"{label:<38}{cost['fsync_off']:>9.1f} µs{cost['fsync_on']:>9.0f} µs")
    print(
        f"\n{figures['platform']}, Python {figures['python']}, SQLite {figures['sqlite']}, "
        f"{figures['cpus']} CPUs, home {figures['home']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000, help="records to generate")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--dir", type=Path, help="parent for the temporary home (default: TMPDIR)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="agentd-bench-", dir=args.dir))
    try:
        figures = run(args.records, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print_table(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
