"""Hostile input at volume, both framings: nesting to 100,000, non-finite and 10,000-digit
numbers, lone surrogates, NUL, BOMs, every JSON type as id, and wrong types in every param of
every method. Every well-formed request is answered, nothing crashes or hangs, and a ping is
answered after. Seeded: ``AGENTD_STRESS_SEED`` reproduces a run."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from agentd.api.dispatch import params_type
from agentd.api.methods import METHODS
from agentd.client import AgentdClient
from agentd.wire.jsontext import MAX_DEPTH
from tests.e2e.helpers import Framing, frame
from tests.history.conftest import close, daemon_env, serve_args

from .conftest import report, rng, scale

#: Methods whose success would end the run or touch the user's settings.
SKIPPED = {"system.shutdown", "shutdown", "exit", "auth.set.openrouter_key", "initialize"}
RAW_VALUES = [
    "null", "true", "false", "0", "-1", "1.5", "1e308", "-0", "1e400", "-1e400", "1e-400",
    '""', '"x"', '"\\ud800"', '"a\\udfffb"', '"\\u0000"', '"\\u2028"', "[]", "{}", "[null]",
    '{"a":1}', "1" + "0" * 400, "-" + "9" * 10_000, '"' + "y" * 5000 + '"',
]  # fmt: skip
BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1" + "0" * 10_000, "1e999999"]
UNPARSABLE = {"NaN", "Infinity", "-Infinity", "1" + "0" * 10_000, "-" + "9" * 10_000}


def _fields() -> list[tuple[str, list[str]]]:
    rows = []
    for spec in METHODS:
        if spec.name in SKIPPED:
            continue
        names: list[str] = []
        if spec.params != "NoParams":
            names = [str(f.metadata.get("wire", f.name)) for f in attrs.fields(params_type(spec))]
        rows.append((spec.name, names))
    return rows


class Fuzzer:
    """Builds one message body at a time; ``expect`` says whether it carries an id we track."""

    def __init__(self, r: random.Random, max_depth: int) -> None:
        self.r = r
        self.max_depth = max_depth
        self.methods = _fields()
        self.ids = itertools.count(10_000_000)
        self.unparsable = False

    def value(self) -> str:
        r = self.r
        kind = r.random()
        if kind < 0.05:
            depth = r.choice([10, 300, 1000, r.randint(1, self.max_depth)])
            # deeper than the decoder's bound: the whole message is a parse error (id null)
            self.unparsable = self.unparsable or depth > MAX_DEPTH
            opener = r.choice(["[", '{"k":'])
            closer = "]" if opener == "[" else "}"
            return opener * depth + "1" + closer * depth
        value = r.choice(BAD_NUMBERS) if kind < 0.1 else r.choice(RAW_VALUES)
        # NaN, infinities and over 4,300 digits: the whole message is a parse error (id null)
        self.unparsable = self.unparsable or value in UNPARSABLE
        return value

    def body(self) -> tuple[bytes, int | None]:
        r = self.r
        self.unparsable = False
        method, names = r.choice(self.methods)
        roll = r.random()
        if roll < 0.1:  # garbage the decoder must answer: bad JSON, BOMs, NUL, odd bytes
            junk = r.choice(
                [b"{", b"\xef\xbb\xbf{}", b'{"a":"\x00"}', b"\xff\xfe", b"[1,2", b"\xed\xa0\x80",
                 b'{"jsonrpc":"2.0","id":1e400,"method":"x"}', b"null", b"[]", b"[{}]"]
            )  # fmt: skip
            return junk, None
        if roll < 0.2:  # every JSON type as id
            raw_id = r.choice(RAW_VALUES + BAD_NUMBERS)
            return f'{{"jsonrpc":"2.0","id":{raw_id},"method":"{method}"}}'.encode(), None
        request_id = next(self.ids)
        params = ",".join(f"{json.dumps(n)}:{self.value()}" for n in names if r.random() < 0.7)
        # one in ten: params that are not even an object
        params_text = self.value() if r.random() < 0.1 else "{" + params + "}"
        body = f'{{"jsonrpc":"2.0","id":{request_id},"method":"{method}","params":{params_text}}}'
        if r.random() < 0.02:
            body = "\ufeff" + body  # a BOM before the message
        return body.encode("utf-8", "surrogatepass"), None if self.unparsable else request_id


async def _run(
    client: AgentdClient, framing: Framing, fuzzer: Fuzzer, count: int
) -> dict[str, Any]:
    sent = answered = 0
    batch = 100
    for start in range(0, count, batch):
        futures: list[asyncio.Future[Any]] = []
        chunks: list[bytes] = []
        for _ in range(min(batch, count - start)):
            body, request_id = fuzzer.body()
            chunks.append(frame(framing, body))
            if request_id is not None:
                future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                client._pending[request_id] = future
                futures.append(future)
        client.write_raw(b"".join(chunks))
        sent += len(chunks)
        done, pending = await asyncio.wait(futures, timeout=60)
        assert not pending, f"{len(pending)} requests unanswered"
        answered += len(done)
        assert client.process.returncode is None
    pong = await client.call("system.ping", timeout=10)
    assert pong["ok"] is True
    return {"inputs": sent, "tracked_requests_answered": answered}


@pytest.mark.parametrize("framing", ["lsp", "ndjson"])
async def test_fuzz_both_framings(tmp_path: Path, framing: Framing) -> None:
    count = scale(1_000, 50_000)  # per framing: 100,000 in all in a full run
    fuzzer = Fuzzer(rng(f"fuzz-{framing}"), max_depth=scale(5_000, 100_000))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    client = await AgentdClient.spawn(
        [*serve_args(), "--framing", framing],
        framing=framing,
        env=daemon_env(tmp_path / "home"),
        cwd=str(workspace),
    )
    started = time.perf_counter()
    try:
        await client.call("system.ping", timeout=20)
        figures = await _run(client, framing, fuzzer, count)
    finally:
        code = await close(client)
    assert code == 0
    report(
        f"fuzz-{framing}",
        **figures,
        max_depth=fuzzer.max_depth,
        seconds=round(time.perf_counter() - started, 1),
        crashes=0,
        unanswered=0,
    )
