"""Helpers for the end-to-end tests: raw framing, waiting for messages, post-mortem checks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import pytest

from agentd.client import AgentdClient, AgentdError

Framing = Literal["lsp", "ndjson"]
Message = dict[str, Any]

#: Bound on every wait for an answer that should come at once.
REPLY_TIMEOUT_S = 10.0
#: Bound on the daemon's exit after it was told to go (the spec promises about one second).
EXIT_TIMEOUT_S = 5.0

_TRACEBACK = re.compile(r"Traceback|File \"|line \d+, in ")
_PATH = re.compile(r"(?:[A-Za-z]:)?[/\\][\w.-]+[/\\][\w.-]+")


# -- framing -------------------------------------------------------------------------------------


def frame(framing: Framing, body: bytes) -> bytes:
    """Frame one raw body (which need not be valid JSON) the way a client would."""
    if framing == "lsp":
        return b"Content-Length: %d\r\n\r\n" % len(body) + body
    return body + b"\n"


class Spawn(Protocol):
    """The ``spawn`` fixture: start a daemon (closed and checked when the test ends)."""

    async def __call__(
        self,
        framing: Framing = "lsp",
        args: Sequence[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> AgentdClient: ...


# -- looking at what the daemon sent -------------------------------------------------------------


def is_response(message: Message) -> bool:
    return "id" in message and "method" not in message


def events_of(transcript: Iterable[Message], type_: str | None = None) -> list[Message]:
    """The ``event`` notifications' params in ``transcript``, optionally of one type."""
    return [
        m["params"]
        for m in transcript
        if m.get("method") == "event" and (type_ is None or m["params"]["type"] == type_)
    ]


def assert_clean_error_message(message: str) -> None:
    """An error message shows neither a traceback nor a filesystem path."""
    assert not _TRACEBACK.search(message), f"traceback in error message: {message!r}"
    assert not _PATH.search(message), f"filesystem path in error message: {message!r}"


def assert_error(
    error: AgentdError | Mapping[str, Any], code: int, reason: str, message: str | None = None
) -> None:
    """``error`` (raised, or a response's ``error`` member) has this code, reason and message."""
    if isinstance(error, AgentdError):
        error = {"code": error.code, "message": error.message, "data": error.data}
    assert error["code"] == code, error
    assert error["data"]["reason"] == reason, error
    if message is not None:
        assert error["message"] == message, error
    assert_clean_error_message(error["message"])


async def wait_for_message(
    client: AgentdClient,
    predicate: Callable[[Message], bool],
    *,
    start: int = 0,
    timeout: float = REPLY_TIMEOUT_S,
) -> Message:
    """The first message of ``client.transcript[start:]`` matching ``predicate`` (bounded wait)."""
    async with asyncio.timeout(timeout):
        while True:
            for message in client.transcript[start:]:
                if predicate(message):
                    return message
            if client.closed.is_set():
                raise AssertionError("the daemon closed its output before the message came")
            await asyncio.sleep(0.005)


async def response_to(
    client: AgentdClient, request_id: Any, *, start: int = 0, timeout: float = REPLY_TIMEOUT_S
) -> Message:
    """Wait for the response with this exact id (``1.0`` is not ``"1.0"``; ``None`` is null)."""

    def matches(message: Message) -> bool:
        return (
            is_response(message)
            and message["id"] == request_id
            and type(message["id"]) is type(request_id)
        )

    return await wait_for_message(client, matches, start=start, timeout=timeout)


async def null_id_errors(client: AgentdClient, raw: bytes) -> list[Message]:
    """Write ``raw``, then ping; return the ``id: null`` errors answered before the ping.

    The daemon answers framing and classification errors as soon as it decodes the input, and
    processes input in order, so everything ``raw`` provoked is in the transcript once the ping's
    response is.
    """
    start = len(client.transcript)
    client.write_raw(raw)
    await client.call("system.ping", timeout=REPLY_TIMEOUT_S)
    return [
        m["error"]
        for m in client.transcript[start:]
        if is_response(m) and m["id"] is None and "error" in m
    ]


async def call_error(
    client: AgentdClient, method: str, params: Any = None, *, timeout: float = REPLY_TIMEOUT_S
) -> AgentdError:
    """Make a call that must fail; return the error."""
    with pytest.raises(AgentdError) as info:
        await client.call(method, params, timeout=timeout)
    return info.value


async def wait_exit(client: AgentdClient, timeout: float = EXIT_TIMEOUT_S) -> int:
    """Wait (bounded) for the daemon to exit on its own and for its stdout to be read to the end."""
    code = await asyncio.wait_for(client.process.wait(), timeout)
    await asyncio.wait_for(client.closed.wait(), timeout)
    return code


# -- post-mortem checks --------------------------------------------------------------------------


def assert_stdout_was_clean(client: AgentdClient) -> None:
    """Every byte the daemon wrote to stdout decoded as a whole framed JSON message.

    The client's reader task fails on a bad frame or on a body that is not JSON, and a frame cut
    off by EOF stays in its decoder's buffer.
    """
    reader = client._reader
    assert reader.done() and not reader.cancelled(), "stdout was not read to its end"
    error = reader.exception()
    assert error is None, f"stdout held something that is not a framed message: {error!r}"
    assert client._decoder.buffered == 0, "stdout ended in the middle of a message"


def assert_one_response_per_id(transcript: Iterable[Message]) -> None:
    counts = Counter(
        (type(m["id"]).__name__, m["id"])
        for m in transcript
        if is_response(m) and m["id"] is not None
    )
    twice = [key for key, count in counts.items() if count > 1]
    assert not twice, f"ids answered more than once: {twice}"


def assert_errors_are_clean(transcript: Iterable[Message]) -> None:
    for message in transcript:
        if is_response(message) and "error" in message:
            assert_clean_error_message(message["error"]["message"])


async def run_batch(
    env: Mapping[str, str], args: Sequence[str], stdin: bytes, timeout: float = EXIT_TIMEOUT_S
) -> tuple[int, bytes, bytes]:
    """Run ``python -m agentd serve ARGS`` on a finished input (``agentd < file``), bounded."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentd",
        "serve",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=dict(env),
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(stdin), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, stdout, stderr


class PipedDaemon:
    """``agentd serve`` on real pipes, written to synchronously and read by a thread into a
    queue of decoded messages (for hypothesis tests, which are not async)."""

    def __init__(
        self,
        framing: Framing,
        env: dict[str, str],
        stderr: Path,
        *,
        args: Sequence[str] = (),
        cwd: Path | None = None,
    ) -> None:
        from agentd.wire import LspDecoder, NdjsonDecoder

        self.framing = framing
        self._stderr = stderr.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agentd", "serve", *args, "--framing", framing],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=cwd,
        )
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self._decoder = LspDecoder() if framing == "lsp" else NdjsonDecoder()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        from agentd.wire import Message

        assert self.process.stdout is not None
        while data := self.process.stdout.read1(1 << 16):
            for event in self._decoder.feed(data):
                assert isinstance(event, Message)
                self.messages.put(json.loads(event.body))

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def close(self, timeout: float = 10) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        code = self.process.wait(timeout=timeout)
        self._stderr.close()
        return code
