"""A Python client for agentd: spawns the daemon, makes calls, iterates events.

Used by the tests, the ``agentd chat`` command and the demo, and meant for harnesses. It speaks the
real framing over the real pipes of a child process, so whatever it sees a client would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

from agentd.wire import FramingError, LspDecoder, Message, NdjsonDecoder, encode_lsp, encode_ndjson

Event = dict[str, Any]
RequestHandler = Callable[[str, Any], Awaitable[Any]]


class AgentdError(Exception):
    """An error response: ``code``, ``message`` and ``data`` (with ``data["reason"]``)."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code: int = int(error.get("code", 0))
        self.message: str = str(error.get("message", ""))
        self.data: dict[str, Any] = dict(error.get("data") or {})

    @property
    def reason(self) -> str | None:
        return self.data.get("reason")


class AgentdClient:
    """One spawned daemon. Create with ``await AgentdClient.spawn()``; close with ``close()``."""

    def __init__(
        self, process: asyncio.subprocess.Process, framing: Literal["lsp", "ndjson"]
    ) -> None:
        self.process = process
        self.framing = framing
        self._decoder: LspDecoder | NdjsonDecoder = (
            LspDecoder() if framing == "lsp" else NdjsonDecoder()
        )
        self._encode = encode_lsp if framing == "lsp" else encode_ndjson
        self._ids = itertools.count(1)
        self._pending: dict[Any, asyncio.Future[Any]] = {}
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        #: Every message received, in arrival order (responses, events, requests).
        self.transcript: list[dict[str, Any]] = []
        self.request_handler: RequestHandler | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read_loop())
        self._handlers: set[asyncio.Task[None]] = set()
        self.closed = asyncio.Event()

    @classmethod
    async def spawn(
        cls,
        args: Sequence[str] = (),
        *,
        framing: Literal["lsp", "ndjson"] = "lsp",
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stderr: int | None = None,
        new_session: bool = False,
    ) -> AgentdClient:
        """Start ``python -m agentd serve ARGS`` (the same interpreter) with pipes.

        ``new_session`` puts the daemon in its own process group, so a terminal's Ctrl-C reaches
        only the caller, which can then interrupt the turn instead of killing the daemon.
        """
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "agentd",
            "serve",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=dict(os.environ if env is None else env),
            cwd=cwd,
            start_new_session=new_session,
        )
        return cls(process, framing)

    # -- low level -------------------------------------------------------------------------

    def write_raw(self, data: bytes) -> None:
        """Write bytes as they are (for tests of framing and bad input)."""
        assert self.process.stdin is not None
        self.process.stdin.write(data)

    def encode(self, message: Mapping[str, Any]) -> bytes:
        return self._encode(json.dumps(message, ensure_ascii=False).encode())

    def send_message(self, message: Mapping[str, Any]) -> None:
        self.write_raw(self.encode(message))

    def start_request(self, method: str, params: Any = None) -> tuple[int, asyncio.Future[Any]]:
        """Write a request without waiting; returns its id and the future of its response."""
        frame, request_id, future = self._prepare(method, params)
        self.write_raw(frame)
        return request_id, future

    def pipeline(self, *calls: tuple[str, Any]) -> list[asyncio.Future[Any]]:
        """Write several requests in ONE write; returns the futures of their responses."""
        prepared = [self._prepare(method, params) for method, params in calls]
        self.write_raw(b"".join(frame for frame, _, _ in prepared))
        return [future for _, _, future in prepared]

    def _prepare(self, method: str, params: Any) -> tuple[bytes, int, asyncio.Future[Any]]:
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        return self.encode(message), request_id, future

    async def call(self, method: str, params: Any = None, timeout: float = 30.0) -> Any:
        """Send a request and wait (bounded) for its result; raises ``AgentdError``."""
        _, future = self.start_request(method, params)
        response = await asyncio.wait_for(future, timeout)
        if "error" in response:
            raise AgentdError(response["error"])
        return response.get("result")

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send_message(message)

    async def pause_reading(self) -> None:
        """Stop reading the daemon's stdout (to see how it copes with a slow client)."""
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)

    def resume_reading(self) -> None:
        if self._reader.done():
            self._reader = asyncio.get_running_loop().create_task(self._read_loop())

    # -- events ----------------------------------------------------------------------------

    async def next_event(self, timeout: float = 30.0) -> Event:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def events_until(
        self, predicate: Callable[[Event], bool], timeout: float = 30.0
    ) -> list[Event]:
        """Collect events up to and including the first that satisfies ``predicate``."""
        collected: list[Event] = []
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                collected.append(event)
                if predicate(event):
                    return collected

    async def turn_events(self, turn_id: str, timeout: float = 30.0) -> list[Event]:
        """Events until this turn's ``ready`` status (after its terminal event)."""
        ended = False

        def done(event: Event) -> bool:
            nonlocal ended
            payload = event["payload"]
            if event["type"] in ("session.completed", "session.interrupted", "session.error"):
                ended = ended or payload.get("turn_id") == turn_id
                return False
            return (
                ended and event["type"] == "session.status" and payload["status_label"] == "ready"
            )

        return await self.events_until(done, timeout)

    async def iter_events(self, timeout: float = 30.0) -> AsyncIterator[Event]:
        while True:
            yield await self.next_event(timeout)

    def drain_events(self) -> list[Event]:
        """Events already received and not yet consumed."""
        out: list[Event] = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    # -- typed helpers ---------------------------------------------------------------------

    async def create_session(self, **params: Any) -> str:
        result = await self.call("session.create", params)
        return str(result["session_id"])

    async def send(self, session_id: str, text: str, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self.call(
            "session.send", {"session_id": session_id, "text": text, **params}
        )
        return result

    # -- closing ---------------------------------------------------------------------------

    async def close(self, timeout: float = 10.0) -> int:
        """Close stdin and wait (bounded) for the daemon to exit; kill it if it does not."""
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            code = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        if not self._reader.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closed.wait(), timeout)
        self._reader.cancel()
        return code

    async def __aenter__(self) -> AgentdClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- internals -------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        """Read until the daemon's stdout ends (a cancel only pauses: see ``pause_reading``)."""
        assert self.process.stdout is not None
        try:
            while True:
                data = await self.process.stdout.read(1 << 16)
                if not data:
                    break
                for item in self._decoder.feed(data):
                    if isinstance(item, Message):
                        self._dispatch(json.loads(item.body))
                    elif isinstance(item, FramingError):
                        raise RuntimeError(f"agentd sent a bad frame: {item.detail}")
        except asyncio.CancelledError:
            return
        except BaseException as exc:
            self._fail_pending(exc)
            raise
        self._fail_pending(ConnectionError("agentd closed its output"))

    def _fail_pending(self, error: BaseException) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self.closed.set()

    def _dispatch(self, message: dict[str, Any]) -> None:
        self.transcript.append(message)
        if message.get("method") == "event" and "id" not in message:
            self.events.put_nowait(message["params"])
        elif "method" in message and "id" in message:
            task = asyncio.get_running_loop().create_task(self._answer(message))
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        elif "id" in message:
            future = self._pending.pop(message["id"], None)
            if future is not None and not future.done():
                future.set_result(message)

    async def _answer(self, request: dict[str, Any]) -> None:
        if self.request_handler is None:
            self.send_message(
                {
                    "jsonrpc": "2.0",
                    "id": request["id"],
                    "error": {"code": -32601, "message": "no handler"},
                }
            )
            return
        try:
            result = await self.request_handler(request["method"], request.get("params"))
        except Exception as exc:
            self.send_message(
                {
                    "jsonrpc": "2.0",
                    "id": request["id"],
                    "error": {"code": -32603, "message": str(exc)},
                }
            )
            return
        self.send_message({"jsonrpc": "2.0", "id": request["id"], "result": result})
