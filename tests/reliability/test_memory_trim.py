"""Freed memory goes back to the OS after a burst (issue 10, item 13: RSS stayed at its peak).

The mechanism is checked in a child process so the figures are its own: many answer-sized
pieces are allocated and freed (a few survive, as in a real heap), then ``trim_now`` must give
most of the freed pages back. The daemon-level figure is in ``tests/stress/test_load.py``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from agentd import memory

PROBE = """
from agentd import memory

def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

pieces = [bytes(2000) + i.to_bytes(4, "little") for i in range(40000)]
survivors = pieces[::100]  # the heap stays fragmented: its top cannot simply shrink
del pieces
before = rss_kib()
trimmed = memory.trim_now()
print(before, rss_kib(), trimmed, len(survivors))
"""

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc_trim")


@linux_only
def test_trim_returns_freed_pieces_to_the_os() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    before, after, trimmed = int(out[0]), int(out[1]), out[2] == "True"
    assert trimmed
    freed_kib = 40000 * 2000 * 99 // 100 // 1024  # ~77 MiB released by ``del``
    assert before - after >= freed_kib // 2, (before, after)


async def test_note_freed_trims_once_after_a_burst(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "DELAY", 0.01)
    monkeypatch.setattr(memory, "trim_now", lambda: calls.append(1) or True)
    for _ in range(10):  # a burst of announcements gives one trim
        memory.note_freed(memory.THRESHOLD)
    memory.note_freed(1)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if calls and memory._scheduled_on is None:
            break
    assert calls == [1]
    memory.note_freed(memory.THRESHOLD // 2)  # below the threshold: nothing more
    await asyncio.sleep(0.05)
    assert calls == [1]


def test_note_freed_outside_a_loop_only_counts() -> None:
    before = memory._scheduled_on
    memory.note_freed(memory.THRESHOLD * 2)  # no running loop: must not raise
    assert memory._scheduled_on is before
