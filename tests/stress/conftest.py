"""The stress suite: seeded, bounded runs of the real daemon over real pipes.

``make test`` runs it short (seconds); ``make stress`` sets ``AGENTD_STRESS=full`` (minutes) and
prints the figures that ``docs/reliability.md`` records. Each test prints one ``STRESS`` line and,
when ``AGENTD_STRESS_OUT`` names a file, appends its figures there as a JSON line.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

FULL = os.environ.get("AGENTD_STRESS") == "full"
SEED = int(os.environ.get("AGENTD_STRESS_SEED", "20261201"))
SCRIPTS = Path(__file__).parent / "scripts"


def scale(short: int, full: int) -> int:
    return full if FULL else short


def rng(name: str) -> random.Random:
    """One seeded generator per test, so each run is reproducible on its own."""
    return random.Random(f"{SEED}-{name}")


def report(name: str, **figures: Any) -> None:
    line = {"test": name, "mode": "full" if FULL else "short", "seed": SEED, **figures}
    print(f"STRESS {json.dumps(line)}")
    out = os.environ.get("AGENTD_STRESS_OUT")
    if out:
        with open(out, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """A full run takes minutes: lift the per-test timeout for it (every wait stays bounded)."""
    import pytest

    if FULL:
        for item in items:
            if "tests/stress" in str(item.fspath):
                item.add_marker(pytest.mark.timeout(1800))
