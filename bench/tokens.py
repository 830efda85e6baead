"""Token counting benchmark: load time per encoding, tokens per second, and the len/4 error.

Builds a ~1 MB corpus offline from the Python installation (asyncio's sources as code, the
pydoc topics as English prose, a JSON listing of the stdlib as tool-result JSON, and the CJK test
texts when the test package is installed), then prints figures. No assertions, no network.

    .venv/bin/python bench/tokens.py [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentd.tokens import TokenCounter, estimate

STDLIB = Path(sysconfig.get_paths()["stdlib"])
PART = 256 * 1024  # characters per content type in the mixed corpus
RUNS = 5


def _cut(text: str) -> str:
    return (text * (PART // max(len(text), 1) + 1))[:PART] if text else ""


def corpus() -> dict[str, str]:
    """One ~256 K-character sample per content type."""
    code = "".join(p.read_text() for p in sorted((STDLIB / "asyncio").glob("*.py")))
    from pydoc_data.topics import topics

    prose = "\n\n".join(topics[k] for k in sorted(topics))
    listing = [
        {"path": str(p.relative_to(STDLIB)), "size": p.stat().st_size, "kind": p.suffix or "dir"}
        for p in sorted(STDLIB.glob("*"))
    ]
    data = json.dumps({"exit_code": 0, "entries": listing}, indent=1)
    cjk = "".join(p.read_text() for p in sorted((STDLIB / "test/cjkencodings").glob("*-utf8.txt")))
    parts = {"code": code, "prose": prose, "json": data, "cjk": cjk}
    return {name: _cut(text) for name, text in parts.items() if text}


def cold_load(encoding: str, model: str) -> dict[str, float]:
    """First count in a fresh process: tiktoken import + verify + parse + build, and RSS growth."""
    code = f"""
        import asyncio, logging, time, json
        def rss():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        t0 = time.perf_counter()
        import agentd.tokens as t
        t1 = time.perf_counter()
        before = rss()
        t.count("warm up", {model!r})
        t2 = time.perf_counter()
        assert t.source_for({model!r}) == "tiktoken"
        print(json.dumps({{"import_ms": (t1 - t0) * 1e3, "load_s": t2 - t1,
                           "rss_mb": rss() - before}}))
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def best(action: Any, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


async def max_stall(counter: TokenCounter, text: str, model: str, *, off_loop: bool) -> float:
    """Longest gap seen by a 1 ms ticker while ``text`` is counted (inline or via count_async)."""
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    if off_loop:
        await counter.count_async(text, model)
    else:
        counter.count(text, model)
    await asyncio.sleep(0.01)
    done.set()
    await ticker
    return max(gaps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    parts = corpus()
    mixed = "".join(parts.values())
    size_mb = len(mixed.encode()) / 1e6
    figures: dict[str, Any] = {"corpus_mb": round(size_mb, 3), "python": sys.version.split()[0]}
    print(f"corpus: {size_mb:.2f} MB UTF-8, {len(mixed):,} chars ({', '.join(parts)})\n")

    counter = TokenCounter()
    print(
        f"{'encoding':<12} {'import':>8} {'cold load':>10} {'+RSS':>7} {'tokens':>9} "
        f"{'count 1 MB':>11} {'tok/s':>7} {'MB/s':>6}"
    )
    for encoding, model in (("o200k_base", "gpt-4o"), ("cl100k_base", "gpt-4")):
        cold = cold_load(encoding, model)
        tokens = counter.count(mixed, model)
        seconds = best(lambda m=model: counter.count(mixed, m))
        figures[encoding] = {
            **cold,
            "tokens": tokens,
            "count_s": seconds,
            "tokens_per_s": tokens / seconds,
        }
        print(
            f"{encoding:<12} {cold['import_ms']:>6.1f}ms {cold['load_s']:>9.3f}s "
            f"{cold['rss_mb']:>5.0f}MB {tokens:>9,} {seconds * 1e3:>9.1f}ms "
            f"{tokens / seconds / 1e6:>5.2f}M {size_mb / seconds:>6.1f}"
        )

    small = mixed[:2048]
    small_us = best(lambda: counter.count(small, "gpt-4o"), 200) * 1e6
    est_us = best(lambda: estimate(mixed), RUNS) * 1e3
    print(f"\n2 KB message: {small_us:.0f} µs; len/4 estimate of the whole corpus: {est_us:.1f} ms")
    figures["small_2kb_us"] = small_us

    print("\nlen/4 estimate (collapsed whitespace) against exact o200k counts:")
    print(
        f"{'content':<8} {'chars':>8} {'o200k':>8} {'cl100k':>8} {'chars/tok':>9} {'est':>8} "
        f"{'est/o200k':>9}"
    )
    ratios: dict[str, float] = {}
    for name, text in [*parts.items(), ("mixed", mixed)]:
        o200k, cl100k, est = (
            counter.count(text, "gpt-4o"),
            counter.count(text, "gpt-4"),
            estimate(text),
        )
        ratios[name] = est / o200k
        print(
            f"{name:<8} {len(text):>8,} {o200k:>8,} {cl100k:>8,} {len(text) / o200k:>9.2f} "
            f"{est:>8,} {est / o200k:>9.2f}"
        )
    figures["estimate_ratio"] = ratios

    inline = asyncio.run(max_stall(counter, mixed, "gpt-4o", off_loop=False))
    threaded = asyncio.run(max_stall(counter, mixed, "gpt-4o", off_loop=True))
    print(
        f"\nevent-loop stall counting 1 MB: inline {inline * 1e3:.0f} ms, "
        f"count_async {threaded * 1e3:.1f} ms"
    )
    figures["stall_ms"] = {"inline": inline * 1e3, "count_async": threaded * 1e3}

    figures["estimate_update_us"] = estimate_updates(parts["prose"])

    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


def estimate_updates(text: str) -> dict[str, float]:
    """One estimate update (a message joins, then the breakdown) at growing conversation sizes:
    the target is a constant cost, under 1 ms, at 10,000 messages."""
    from agentd.core.conversation import Conversation
    from agentd.core.estimate import ExactCounter
    from agentd.providers.base import ChatMessage

    counter = ExactCounter("gpt-4o")
    messages = [ChatMessage("user", text[i % 5000 : i % 5000 + 400]) for i in range(10_000)]
    print("\nestimate update (a 400-char message joins, then the breakdown), exact counts:")
    out: dict[str, float] = {}
    for size in (10, 1_000, 10_000):
        conversation = Conversation(messages[:size], counter)
        extra = ChatMessage("assistant", text[:400])

        def update(c: Conversation = conversation, m: ChatMessage = extra) -> None:
            c.extend([m])
            c.breakdown("system prompt", 1000, "openai")

        out[str(size)] = best(update, 200) * 1e6
        print(f"  {size:>6,} messages: {out[str(size)]:7.1f} µs")
    return out


if __name__ == "__main__":
    main()
