"""Hostile input at volume, both framings, drawn by hypothesis: nesting to 100,000, non-finite
and 10,000-digit numbers, lone surrogates, NUL, BOMs, every JSON type as id, and wrong types in
every param of every method. Every well-formed request is answered, nothing crashes or hangs,
and a ping is answered after. Seeded: ``AGENTD_STRESS_SEED`` reproduces a run (hypothesis is
given the seed and no example database, so the same seed draws the same inputs)."""

from __future__ import annotations

import itertools
import json
import queue
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from agentd.api.dispatch import params_type
from agentd.api.methods import METHODS
from agentd.wire.jsontext import MAX_DEPTH
from tests.e2e.helpers import Framing, PipedDaemon, frame
from tests.history.conftest import daemon_env, serve_args

from .conftest import SEED, report, scale

#: Methods whose success would end the run or touch the user's settings.
SKIPPED = {"system.shutdown", "shutdown", "exit", "auth.set.openrouter_key", "initialize"}
RAW_VALUES = [
    "null", "true", "false", "0", "-1", "1.5", "1e308", "-0", "1e400", "-1e400", "1e-400",
    '""', '"x"', '"\\ud800"', '"a\\udfffb"', '"\\u0000"', '"\\u2028"', "[]", "{}", "[null]",
    '{"a":1}', "1" + "0" * 400, "-" + "9" * 10_000, '"' + "y" * 5000 + '"',
]  # fmt: skip
BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1" + "0" * 10_000, "1e999999"]
#: Values that make the whole message a parse error (answered with id null, so not tracked).
UNPARSABLE = {"NaN", "Infinity", "-Infinity", "1" + "0" * 10_000, "-" + "9" * 10_000}
JUNK = [
    b"{", b"\xef\xbb\xbf{}", b'{"a":"\x00"}', b"\xff\xfe", b"[1,2", b"\xed\xa0\x80",
    b'{"jsonrpc":"2.0","id":1e400,"method":"x"}', b"null", b"[]", b"[{}]",
]  # fmt: skip
BATCH = 50
ANSWER_TIMEOUT_S = 60.0


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


# -- strategies: raw JSON text, so it can hold what json.dumps cannot ------------------------

#: A raw value and how deep it nests arrays/objects (``UNPARSABLE_DEPTH``: never parses).
Value = tuple[str, int]
UNPARSABLE_DEPTH = 10**9


def _raw(value: str) -> Value:
    if value in UNPARSABLE:
        return value, UNPARSABLE_DEPTH
    return value, 1 if value[:1] in ("[", "{") else 0


def _nested(depth: int, opener: str) -> Value:
    closer = "]" if opener == "[" else "}"
    return opener * depth + "1" + closer * depth, depth


def values(max_depth: int) -> st.SearchStrategy[Value]:
    depths = st.sampled_from([10, 254, 255, 256, 300, 1000]) | st.integers(1, max_depth)
    deep = st.builds(_nested, depths, st.sampled_from(["[", '{"k":']))
    plain = st.sampled_from([v for v in RAW_VALUES if v not in UNPARSABLE]).map(_raw)
    bad = st.sampled_from(sorted(UNPARSABLE | set(BAD_NUMBERS))).map(_raw)
    # over 4,300 digits, Python refuses the integer: the whole message is a parse error
    huge = st.integers(300, 10_000).map(lambda n: ("9" * n, UNPARSABLE_DEPTH if n > 4300 else 0))
    # any code point, lone surrogates and controls included, escaped as JSON text does
    odd_text = st.text(st.characters(categories=["Cs", "Cc", "Zl", "So", "Lu"]), max_size=30)
    texts = odd_text.map(lambda t: (json.dumps(t), 0))
    # mostly values that parse, so most requests reach the method's parameter checks
    return st.one_of(*[plain] * 14, texts, texts, huge, bad, deep)


@st.composite
def messages(draw: st.DrawFn, max_depth: int) -> tuple[bytes, bool]:
    """One body, and whether it is a well-formed request whose answer carries our id.

    A message deeper than ``MAX_DEPTH`` (counting its own object and ``params``) is a parse
    error, answered with id null, so it is not tracked.
    """
    method, names = draw(st.sampled_from(_fields()))
    roll = draw(st.integers(0, 9))
    if roll == 0:  # garbage the decoder must answer: bad JSON, BOMs, NUL, odd bytes
        return draw(st.sampled_from(JUNK)), False
    if roll == 1:  # every JSON type as id (the answer's id is not ours to track)
        raw_id = draw(st.sampled_from(RAW_VALUES + BAD_NUMBERS))
        return f'{{"jsonrpc":"2.0","id":{raw_id},"method":"{method}"}}'.encode(), False
    depth = 1  # the message object
    members = []
    for name in names:
        if draw(st.integers(0, 9)) < 7:
            text, nesting = draw(values(max_depth))
            members.append(f"{json.dumps(name)}:{text}")
            depth = max(depth, 2 + nesting)
    if draw(st.integers(0, 9)) == 0:  # params that are not even an object
        params, nesting = draw(values(max_depth))
        depth = 1 + nesting
    else:
        params = "{" + ",".join(members) + "}"
    body = f'{{"jsonrpc":"2.0","id":@ID@,"method":"{method}","params":{params}}}'
    if draw(st.integers(0, 49)) == 0:
        body = "\ufeff" + body  # a BOM before the message
    return body.encode("utf-8", "surrogatepass"), depth <= MAX_DEPTH


class LiveDaemon(PipedDaemon):
    """A daemon with the test scripts, whose responses are matched by id (events skipped)."""

    def __init__(self, framing: Framing, tmp_path: Path) -> None:
        workspace = tmp_path / "ws"
        workspace.mkdir()
        env = daemon_env(tmp_path / "home")
        super().__init__(framing, env, tmp_path / "stderr.log", args=serve_args(), cwd=workspace)
        self.ids = itertools.count(10_000_000)

    def _response(self, timeout: float) -> dict[str, Any]:
        """The next response (raises ``queue.Empty`` after ``timeout``)."""
        while True:
            message = self.messages.get(timeout=timeout)
            if isinstance(message, dict) and "id" in message and "method" not in message:
                return message

    def exchange(self, batch: list[tuple[bytes, bool]]) -> tuple[int, int]:
        """Write a batch in one write; wait (bounded) for the answer to every tracked request."""
        tracked: dict[int, bytes] = {}
        chunks = []
        for body, track in batch:
            request_id = next(self.ids)
            if track:
                tracked[request_id] = body
            chunks.append(frame(self.framing, body.replace(b"@ID@", str(request_id).encode())))
        self.write(b"".join(chunks))
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        waiting = set(tracked)
        while waiting:
            remaining = deadline - time.monotonic()
            assert remaining > 0, [tracked[i][:300] for i in waiting]  # the unanswered
            try:
                response = self._response(remaining)
            except queue.Empty:
                continue
            if isinstance(response["id"], int):
                waiting.discard(response["id"])
        assert self.process.poll() is None, "the daemon died"
        return len(batch), len(tracked)

    def ping(self) -> dict[str, Any]:
        request_id = next(self.ids)
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "system.ping"})
        self.write(frame(self.framing, body.encode()))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                response = self._response(max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if response["id"] == request_id:
                return response
        raise AssertionError("ping unanswered after the fuzz")


@pytest.mark.parametrize("framing", ["lsp", "ndjson"])
def test_fuzz_both_framings(tmp_path: Path, framing: Framing) -> None:
    count = scale(1_000, 50_000)  # per framing: 100,000 in all in a full run
    max_depth = scale(5_000, 100_000)
    daemon = LiveDaemon(framing, tmp_path)
    totals = {"inputs": 0, "tracked_requests_answered": 0}
    started = time.perf_counter()

    @seed(SEED)
    @settings(
        max_examples=count // BATCH,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # a live daemon's state is not replayable: no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(batch=st.lists(messages(max_depth), min_size=BATCH, max_size=BATCH))
    def fuzz(batch: list[tuple[bytes, bool]]) -> None:
        sent, answered = daemon.exchange(batch)
        totals["inputs"] += sent
        totals["tracked_requests_answered"] += answered

    try:
        fuzz()
        assert daemon.ping()["result"]["ok"] is True
    finally:
        code = daemon.close(timeout=30)
    assert code == 0
    assert totals["inputs"] == count
    report(
        f"fuzz-{framing}",
        **totals,
        max_depth=max_depth,
        seconds=round(time.perf_counter() - started, 1),
        crashes=0,
        unanswered=0,
        generator="hypothesis",
    )
