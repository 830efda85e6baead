"""Adversarial message bodies against one live daemon per framing (hypothesis, bounded).

Every body generated here is request-shaped (it carries an ``id`` member, or is not a JSON object
at all), so it must get exactly one answer: a result, or an error with a ``data.reason`` that is
never ``-32603``. A ``system.ping`` written right after each body must be answered too, so the
daemon neither died nor stalled. Bodies mix deep nesting (up to 100,000 levels), lone surrogate
escapes, NUL, integers of up to 10,000 digits, non-finite numbers and constants, BOMs, and every
JSON type as id.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.helpers import Framing, PipedDaemon, frame

EXAMPLES = 150  # per framing: ~300 bodies in all, well under 30 s
ANSWER_TIMEOUT_S = 10.0
METHODS = [
    "system.ping",
    "state.get",
    "tools.list",
    "rpc.handshake",
    "session.create",
    "session.get",
    "session.interrupt",
    "session.queue.list",
    "session.queue.remove",
    "history.list",
    "history.get",
    "$/cancelRequest",
    "no.such.method",
]
KEYS = ["id", "session_id", "limit", "cursor", "rollout_path", "resume_id", "cwd", "title", "last"]


class LiveDaemon(PipedDaemon):
    """A daemon on real pipes, probed with a ping after each body."""

    def __init__(self, framing: Framing, env: dict[str, str], stderr: Path) -> None:
        super().__init__(framing, env, stderr)
        self._probes = itertools.count()

    def answers_to(self, body: bytes) -> list[dict[str, Any]]:
        """Write ``body`` and a probe ping; return the responses that are not the probe's."""
        probe = f"probe-{next(self._probes)}"
        ping = json.dumps({"jsonrpc": "2.0", "id": probe, "method": "system.ping"}).encode()
        self.write(frame(self.framing, body) + frame(self.framing, ping))
        answers: list[dict[str, Any]] = []
        probed = False
        while not (probed and answers):
            try:
                message = self.messages.get(timeout=ANSWER_TIMEOUT_S)
            except queue.Empty:
                assert probed, f"no answer to the ping after {body[:200]!r}"
                break  # the body's answer never came: the caller's count says so
            if "method" in message or "id" not in message:
                continue  # an event
            if message["id"] == probe:
                assert message.get("result", {}).get("ok") is True, message
                probed = True
            else:
                answers.append(message)
        return answers


@pytest.fixture(scope="module", params=["lsp", "ndjson"])
def daemon(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveDaemon]:
    home = tmp_path_factory.mktemp("fuzz-home")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AGENTD_HOME"] = str(home)
    env.pop("AGENTD_SCRIPTS_DIR", None)
    live = LiveDaemon(request.param, env, home / "stderr.log")
    yield live
    assert live.close() == 0


# -- strategies: raw JSON text, so it can hold what json.dumps cannot ------------------------


def nested(depth: int) -> bytes:
    return b"[" * depth + b"0" + b"]" * depth


scalars = st.sampled_from(
    [
        b"null",
        b"true",
        b"false",
        b"0",
        b"-1",
        b"1.5",
        b"1e400",
        b"-1e400",
        b"NaN",
        b"Infinity",
        b"-Infinity",
        b'""',
        b'"x"',
        b'"\\ud800"',
        b'"a\\udc00b"',
        b'"\\u0000"',
        b'"a\\u0000/b"',
        b'"\\ud83d\\ude00"',
        b'"../../etc/passwd"',
        b'"\xef\xbb\xbf"',
        b"2147483648",
        b"4294967296",
    ]
)
huge_ints = st.sampled_from([309, 400, 4300, 4301, 10_000]).map(lambda n: b"9" * n)
deep = st.sampled_from([1, 100, 255, 256, 257, 984, 100_000]).map(nested)
strings = st.text(max_size=20).map(lambda t: json.dumps(t).encode())
leaf = scalars | huge_ints | deep | strings


def _object(items: list[tuple[str, bytes]]) -> bytes:
    return b"{" + b",".join(json.dumps(k).encode() + b":" + v for k, v in items) + b"}"


values = st.recursive(
    leaf,
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda vs: b"[" + b",".join(vs) + b"]")
        | st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=3).map(_object)
    ),
    max_leaves=6,
)
methods = st.sampled_from(METHODS).map(lambda m: json.dumps(m).encode()) | values


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A request-shaped body: an object with an ``id``, or something that is not an object."""
    kind = draw(st.sampled_from(["request", "request", "request", "other"]))
    if kind == "other":
        body = draw(values | st.binary(max_size=40).map(lambda b: b"{" + b))
    else:
        members = [(b"jsonrpc", draw(st.sampled_from([b'"2.0"', b'"2.0"', b'"1.0"', b"2"])))]
        members.append((b"id", draw(values)))
        members.append((b"method", draw(methods)))
        if draw(st.booleans()):
            members.append((b"params", draw(values)))
        order = draw(st.permutations(members))
        body = b"{" + b",".join(b'"' + k + b'":' + v for k, v in order) + b"}"
    if draw(st.integers(0, 9)) == 0:
        body = b"\xef\xbb\xbf" + body
    return body.replace(b"\n", b" ")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=bodies())
def test_every_adversarial_request_gets_exactly_one_clean_answer(
    daemon: LiveDaemon, body: bytes
) -> None:
    answers = daemon.answers_to(body)

    assert len(answers) == 1, (body[:300], answers)
    (answer,) = answers
    if "error" in answer:
        error = answer["error"]
        assert error["code"] != -32603, (body[:300], answer)
        assert error["data"]["reason"], answer
        assert len(error["message"]) <= 600
    assert daemon.process.poll() is None
