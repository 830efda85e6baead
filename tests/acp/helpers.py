"""A minimal ACP client over real pipes, for the ``agentd acp`` end-to-end tests.

It spawns ``python -m agentd acp``, writes one JSON object per line and reads every line back,
keeping the whole transcript (so tests can check order: updates before the response, nothing
after it). Every wait is bounded by ``WAIT_S``; no assertion is about time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from tests.acp.sdk import SchemaWatch

Message = dict[str, Any]

#: Bound on every wait for something that should come (a slow, loaded machine included).
WAIT_S = 20.0
SCRIPTS = Path(__file__).parent / "scripts"
FIXTURE_SCRIPTS = Path(__file__).parents[2] / "fixtures" / "scripts"


class AcpProcess:
    """One ``agentd acp`` child process and everything it said."""

    def __init__(self, process: asyncio.subprocess.Process, stderr: IO[bytes]) -> None:
        self.process = process
        self.stderr = stderr
        self.transcript: list[Message] = []
        self.raw_lines: list[bytes] = []
        #: Checks what the agent sends against the SDK's schema (see ``tests.acp.sdk``).
        self.watch = SchemaWatch(check_client=False)
        self._ids = itertools.count(1)
        self._waiters: list[tuple[Callable[[Message], bool], asyncio.Future[Message]]] = []
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def spawn(cls, env: Mapping[str, str], cwd: Path, stderr_path: Path) -> AcpProcess:
        stderr = stderr_path.open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "agentd",
            "acp",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr.fileno(),
            env=dict(env),
            cwd=cwd,
        )
        return cls(process, stderr)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                break
            self.raw_lines.append(line)
            message = json.loads(line)  # a non-JSON line fails the test (see ``close``)
            self.transcript.append(message)
            self.watch.read(message)
            for waiter in list(self._waiters):
                predicate, future = waiter
                if not future.done() and predicate(message):
                    future.set_result(message)
                    self._waiters.remove(waiter)

    # -- writing -----------------------------------------------------------------------------

    def write_raw(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)

    @property
    def violations(self) -> list[str]:
        """What broke ACP's schema in the messages read (checked when the test ends)."""
        return self.watch.problems

    def send(self, *messages: Message) -> None:
        """Write messages in one write (so the agent reads them together)."""
        for message in messages:
            self.watch.sent(message)
        self.write_raw(b"".join(json.dumps(m).encode() + b"\n" for m in messages))

    def request_message(self, method: str, params: Any = None) -> Message:
        message: Message = {"jsonrpc": "2.0", "id": next(self._ids), "method": method}
        if params is not None:
            message["params"] = params
        return message

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def answer(self, request: Message, result: Any) -> Message:
        return {"jsonrpc": "2.0", "id": request["id"], "result": result}

    # -- waiting -----------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[Message], bool]) -> Message:
        """The first message (already read or still to come) for which ``predicate`` holds."""
        for message in self.transcript:
            if predicate(message):
                return message
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        return await asyncio.wait_for(future, WAIT_S)

    async def response(self, request_id: Any) -> Message:
        return await self.wait_for(lambda m: m.get("id") == request_id and "method" not in m)

    async def call(self, method: str, params: Any = None) -> Message:
        """Send a request and return its whole response message."""
        message = self.request_message(method, params)
        self.send(message)
        return await self.response(message["id"])

    async def result(self, method: str, params: Any = None) -> Any:
        response = await self.call(method, params)
        assert "result" in response, response
        return response["result"]

    async def server_request(self, method: str) -> Message:
        return await self.wait_for(lambda m: m.get("method") == method and "id" in m)

    # -- sessions ----------------------------------------------------------------------------

    async def initialize(self) -> Any:
        return await self.result(
            "initialize",
            {"protocolVersion": 1, "clientCapabilities": {"fs": {"readTextFile": False}}},
        )

    async def new_session(self, cwd: Path) -> str:
        result = await self.result("session/new", {"cwd": str(cwd), "mcpServers": []})
        session_id: str = result["sessionId"]
        return session_id

    def updates(self, session_id: str, before: int | None = None) -> list[Message]:
        """The ``update`` payloads for ``session_id`` (up to transcript index ``before``)."""
        messages = self.transcript if before is None else self.transcript[:before]
        return [
            m["params"]["update"]
            for m in messages
            if m.get("method") == "session/update" and m["params"]["sessionId"] == session_id
        ]

    def index_of(self, message: Message) -> int:
        return next(i for i, m in enumerate(self.transcript) if m is message)

    # -- ending ------------------------------------------------------------------------------

    async def close(self) -> int:
        """Close stdin and wait (bounded) for the exit; returns the exit code."""
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            code = await asyncio.wait_for(self.process.wait(), WAIT_S)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._reader, WAIT_S)
            self.stderr.close()
        return code


def text_of(updates: list[Message], kind: str) -> str:
    return "".join(u["content"]["text"] for u in updates if u["sessionUpdate"] == kind)


def prompt_params(session_id: str, text: str) -> dict[str, Any]:
    return {"sessionId": session_id, "prompt": [{"type": "text", "text": text}]}
