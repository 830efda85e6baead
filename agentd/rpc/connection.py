"""The JSON-RPC 2.0 connection over asyncio streams.

Reads framed messages, classifies them as the reference does (loaf-behaviour §1.2), dispatches
requests concurrently and answers every one of them by id: with a result, an ``RpcError``, a
``-32800`` after ``$/cancelRequest`` or ``-32603`` for a bug (the traceback goes to stderr, never to
the client).

Ordering: one task is created per request, in arrival order, and asyncio starts tasks in creation
order. Handlers make their state changes before their first ``await``, so a ``session.send``
followed in the same write by ``session.interrupt`` behaves as if they were handled one after the
other, while slow requests still do not hold up fast ones. Methods named in ``instant_methods``
(handlers that never await: ``system.ping``, ``state.get``) are answered as they are read, without
a task, unless a request read before them has not started yet (then they queue behind it as
tasks); one that does await after all is finished by a task from that point on.

Reading: the daemon reads pipes with a protocol (``intake``): each read is decoded and handled in
the transport's callback and its answers are written before the callback returns, one loop step
per read. A ``StreamReader`` (files and devices, read by a thread; tests) is read by ``serve``.

In-flight limit: ``max_inflight`` counts requests that have started and not finished. One read can
hold thousands of small requests whose tasks have not had a chance to run; when the limit is
reached while some of them have not started yet, the reader yields to the event loop once (they
run, instant ones finish) and counts again. Only requests still running after that are refused
with ``-32005``.

Hostile input is answered, never fatal: bodies are decoded by :func:`agentd.wire.loads` (bounded
nesting, clean errors), ids must be strings, finite numbers or null, and a bug while handling one
message is answered ``-32603`` with id null instead of ending the reader.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, cast

from agentd.protocol import errors
from agentd.protocol.errors import RpcError
from agentd.rpc.outbox import EventCodec, Outbox
from agentd.rpc.sink import ByteSink
from agentd.wire import AutoDecoder, FramingError, Message, encode_lsp, encode_ndjson, loads

log = logging.getLogger("agentd.rpc")

Handler = Callable[[Any], Awaitable[Any]]
CANCEL_METHOD = "$/cancelRequest"
_NO_ID = object()
#: At stdin EOF, how long requests already received may still run before they are cancelled.
EOF_GRACE_S = 0.5


class ClientRequestError(Exception):
    """The client answered a server→client request with an error."""

    def __init__(self, error: Any) -> None:
        detail = error if isinstance(error, dict) else {"message": str(error)}
        super().__init__(str(detail.get("message", "client error")))
        self.code = detail.get("code")
        self.data = detail.get("data")


def _is_valid_id(value: Any) -> bool:
    """A string, a finite number or null: anything else cannot be echoed back as JSON."""
    if value is None or isinstance(value, str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


def _id_key(value: Any) -> tuple[str, Any]:
    """Ids ``1`` and ``"1"`` are different requests; ``1`` and ``1.0`` are the same number."""
    return ("s", value) if isinstance(value, str) else ("n", value)


class Connection:
    """One client on a byte stream pair; see the module docstring."""

    def __init__(
        self,
        reader: asyncio.StreamReader | None,
        sink: ByteSink,
        *,
        framing: str = "auto",
        max_message_size: int = 64 * 1024 * 1024,
        max_inflight: int = 1024,
        event_codec: EventCodec | None = None,
    ) -> None:
        self._reader = reader
        self._decoder = AutoDecoder(max_message_size=max_message_size, forced=framing)  # type: ignore[arg-type]
        initial = encode_ndjson if framing == "ndjson" else encode_lsp
        self.outbox = Outbox(sink, initial, codec=event_codec)
        self.methods: dict[str, Handler] = {}
        self.notification_methods: dict[str, Handler] = {}
        self._inflight: dict[tuple[str, Any], asyncio.Task[None]] = {}
        self._notification_tasks: set[asyncio.Task[None]] = set()
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._max_inflight = max_inflight
        #: Request tasks created since the reader last yielded to the loop (not started yet).
        self._unstarted = 0
        self.refusing = False  # set after a shutdown: later requests are answered with an error
        #: Called once, after the first response is handed to the outbox (start-up work waits).
        self.after_first_response: Callable[[], None] | None = None
        #: The notification (method, params) telling the client that the server→client request
        #: with this id was given up; a front door may name it its own way (ACP does).
        self.cancel_notice: Callable[[str], tuple[str, dict[str, Any]]] = lambda id_: (
            CANCEL_METHOD,
            {"id": id_},
        )
        #: Notifications handled inline by the reader, before anything read after them: a
        #: cancel must take effect before an answer that arrived in the same read can act.
        self.inline_notifications: dict[str, Callable[[Any], None]] = {}
        #: Methods whose handlers finish without awaiting: answered inline, without a task.
        self.instant_methods: set[str] = set()
        # Reading through ``intake()`` (no StreamReader): events decoded but not handled yet
        # (reading is paused meanwhile), the transport, and the end of the input.
        self._events: collections.deque[Message | FramingError] = collections.deque()
        self._transport: asyncio.ReadTransport | None = None
        self._paused = False
        self._eof = False
        self._ended: asyncio.Future[None] | None = None

    # -- registration ----------------------------------------------------------------------

    def register(self, name: str, handler: Handler) -> None:
        self.methods[name] = handler

    def register_notification(self, name: str, handler: Handler) -> None:
        """A handler for a client notification that is not also a request method (``exit``)."""
        self.notification_methods[name] = handler

    @property
    def framing(self) -> str | None:
        return self._decoder.framing

    # -- outbound --------------------------------------------------------------------------

    def notify(self, method: str, params: Any) -> None:
        self.outbox.send({"jsonrpc": "2.0", "method": method, "params": params})

    def send_event(self, type_: str, timestamp: str, payload: dict[str, Any]) -> None:
        self.outbox.send_event(type_, timestamp, payload)

    async def request(self, method: str, params: Any, timeout: float) -> Any:
        """Send a server→client request (id ``agentd-<n>``) and wait, bounded, for its answer.

        On timeout or cancellation the client is told with ``$/cancelRequest``.
        """
        request_id = f"agentd-{next(self._ids)}"
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self.outbox.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            # not ``asyncio.wait_for``: on Python 3.11 it drops a cancellation that arrives in
            # the same loop step as the answer (an interrupt would then be lost)
            async with asyncio.timeout(timeout):
                return await future
        except (TimeoutError, asyncio.CancelledError):
            self.notify(*self.cancel_notice(request_id))
            raise
        finally:
            self._pending.pop(request_id, None)

    # -- inbound ---------------------------------------------------------------------------

    async def serve(self) -> None:
        """Read until stdin ends; in-flight requests are then answered with ``-32800``."""
        if self._reader is None:
            if self._ended is None:
                self._ended = asyncio.get_running_loop().create_future()
            await self._ended
        else:
            while True:
                if self.outbox.over_limit:
                    await self.outbox.wait_relieved()
                data = await self._reader.read(1 << 16)
                if not data:
                    await self._handle_wire(self._decoder.eof())
                    break
                await self._handle_wire(self._decoder.feed(data))
        # Requests that arrived together with the EOF (``agentd < requests.txt``) have not even
        # started yet: let them finish (bounded) instead of cancelling every one of them.
        if self._inflight:
            await asyncio.wait(list(self._inflight.values()), timeout=EOF_GRACE_S)
        await self.cancel_inflight()

    # -- reading with a protocol (no StreamReader: one callback per read, no task wake-up) --

    def intake(self) -> asyncio.Protocol:
        """The protocol to read stdin with when the connection has no ``reader``."""
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
        return _Intake(self)

    def _data_received(self, data: bytes) -> None:
        self._unstarted = 0  # tasks created by the last read have had their first step
        self._events.extend(self._decoder.feed(data))
        if not self._paused:
            self._handle_events()

    def _eof_received(self) -> None:
        if not self._eof:
            self._eof = True
            self._events.extend(self._decoder.eof())
            if not self._paused:
                self._handle_events()

    def _handle_events(self) -> None:
        """Handle decoded events in order; pause reading while the outbox is over its limit or
        the in-flight limit needs the requests just started to run first.

        The outbox holds what this read produces and writes it in one write before returning:
        no ``call_soon`` per read, no loop step between a request and its answer.
        """
        outbox = self.outbox
        outbox.holding = True
        try:
            if not self._handle_queued():
                return
        finally:
            outbox.holding = False
            outbox.write_batch()
        if self._paused:
            self._paused = False
            if self._transport is not None:
                self._transport.resume_reading()
        if self._eof and self._ended is not None and not self._ended.done():
            self._ended.set_result(None)

    def _handle_queued(self) -> bool:
        """Handle ``_events`` until empty (``True``) or until reading must pause (``False``)."""
        if self._decoder.framing == "ndjson":
            self.outbox.frame = encode_ndjson
        events = self._events
        outbox = self.outbox
        handle_body = self._handle_body_safely
        while events:
            if outbox.over_limit:
                self._pause()
                asyncio.get_running_loop().create_task(self._resume_when_relieved())
                return False
            if self._unstarted and len(self._inflight) >= self._max_inflight:
                self._unstarted = 0
                self._pause()
                asyncio.get_running_loop().call_soon(self._resume)
                return False
            event = events.popleft()
            if type(event) is Message:
                handle_body(event.body)
            else:
                self._handle_event(event)
        return True

    def _pause(self) -> None:
        if not self._paused:
            self._paused = True
            if self._transport is not None:
                self._transport.pause_reading()

    def _resume(self) -> None:
        self._handle_events()

    async def _resume_when_relieved(self) -> None:
        await self.outbox.wait_relieved()
        self._handle_events()

    async def cancel_inflight(self) -> None:
        tasks = list(self._inflight.values()) + list(self._notification_tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        for future in self._pending.values():
            if not future.done():
                future.cancel()

    async def _handle_wire(self, events: list[Message | FramingError]) -> None:
        if self._decoder.framing == "ndjson":
            self.outbox.frame = encode_ndjson
        for event in events:
            busy = self._unstarted and len(self._inflight) >= self._max_inflight
            if busy and isinstance(event, Message):
                await self._let_started_run()
            self._handle_event(event)

    def _handle_event(self, event: Message | FramingError) -> None:
        if isinstance(event, Message):
            self._handle_body_safely(event.body)
        elif event.reason == "message_too_large":
            self._reply_error(None, errors.message_too_large(event.detail))
        else:
            self._reply_error(None, errors.invalid_header(event.detail))

    async def _let_started_run(self) -> None:
        """Let the request tasks created in this read start (and instant ones finish).

        A task removes itself from ``_inflight`` when it returns, so after one loop iteration the
        count holds only requests that are really waiting on something.
        """
        self._unstarted = 0
        await asyncio.sleep(0)

    def _handle_body_safely(self, body: bytes) -> None:
        try:
            self._handle_body(body)
        except Exception:  # a bug: answer it and keep reading, never end the daemon
            log.exception("message could not be handled")
            self._reply_error(None, errors.internal_error())

    def _handle_body(self, body: bytes) -> None:
        try:
            message = loads(body)
        except ValueError as exc:
            self._reply_error(None, errors.parse_error(str(exc)))
            return
        if isinstance(message, list):
            self._reply_error(None, errors.batch_not_supported())
            return
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            self._reply_error(None, errors.invalid_request())
            return
        method = message.get("method")
        if method is None and "id" in message and ("result" in message or "error" in message):
            self._handle_response(message)
            return
        if type(method) is not str or (method not in self.methods and not method.strip()):
            self._reply_error(None, errors.invalid_request())
            return
        params = message.get("params")
        if "id" not in message:
            self._handle_notification(method, params)
            return
        request_id = message["id"]
        if type(request_id) is not int and not _is_valid_id(request_id):
            self._reply_error(None, errors.invalid_request())
            return
        self._handle_request(request_id, method, params)

    def _handle_request(self, request_id: Any, method: str, params: Any) -> None:
        if self.refusing:
            self._reply_error(request_id, errors.shutting_down())
            return
        handler = self.methods.get(method)
        if handler is None:
            self._reply_error(request_id, errors.method_not_found(method))
            return
        if len(self._inflight) >= self._max_inflight:
            self._reply_error(
                request_id, errors.overloaded("too many requests in flight", retry_after_ms=100)
            )
            return
        if method in self.instant_methods and not self._unstarted:
            # inline only when no earlier request still waits for its first step: a
            # ``state.get`` written after a ``session.create`` sees the new session
            self._answer_now(request_id, handler, params)
            return
        self._start(request_id, self._answer(request_id, handler, params))

    def _answer_now(self, request_id: Any, handler: Handler, params: Any) -> None:
        """Run the handler up to its first ``await`` right here, without a wrapping coroutine;
        in the rare case it awaits, a task finishes it as any other request."""
        try:
            work = cast(Coroutine[Any, Any, Any], handler(params))
            pending = work.send(None)
        except StopIteration as done:
            self._deliver(request_id, done.value)
        except RpcError as exc:
            self._reply_error(request_id, exc)
        except asyncio.CancelledError:  # as ``_complete`` answers it
            self._reply_error(request_id, errors.request_cancelled())
        except Exception:
            log.exception("request %r failed", request_id)
            self._reply_error(request_id, errors.internal_error())
        else:
            self._start(request_id, self._complete(request_id, _Continue(work, pending)))
            return
        self._first_response_sent()

    def _start(self, request_id: Any, work: Awaitable[None]) -> None:
        key = _id_key(request_id)
        task = asyncio.get_running_loop().create_task(self._run(key, work))
        self._inflight[key] = task
        self._unstarted += 1
        task.add_done_callback(lambda done: self._forget(key, request_id, done))

    def _release(self, key: tuple[str, Any]) -> None:
        """Stop counting the current task as in flight (it is about to return)."""
        if self._inflight.get(key) is asyncio.current_task():
            del self._inflight[key]

    def _forget(self, key: tuple[str, Any], request_id: Any, task: asyncio.Task[None]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if task.cancelled():
            # Cancelled before its first step (``$/cancelRequest`` in the same read, or EOF):
            # ``_run`` never ran, so its ``except CancelledError`` could not answer.
            self._reply_error(request_id, errors.request_cancelled())

    async def _run(self, key: tuple[str, Any], work: Awaitable[None]) -> None:
        try:
            await work
        finally:
            self._release(key)

    async def _answer(self, request_id: Any, handler: Handler, params: Any) -> None:
        if self.refusing:  # checked again here: a shutdown earlier in the same read counts
            self._reply_error(request_id, errors.shutting_down())
            return
        await self._complete(request_id, handler(params))

    async def _complete(self, request_id: Any, work: Awaitable[Any]) -> None:
        """Await the handler's work and answer with its result or error."""
        try:
            result = await work
        except RpcError as exc:
            self._reply_error(request_id, exc)
        except asyncio.CancelledError:
            self._reply_error(request_id, errors.request_cancelled())
        except Exception:
            log.exception("request %r failed", request_id)
            self._reply_error(request_id, errors.internal_error())
        else:
            self._deliver(request_id, result)
        self._first_response_sent()

    def _deliver(self, request_id: Any, result: Any) -> None:
        try:
            self.outbox.send({"jsonrpc": "2.0", "id": request_id, "result": result})
        except (TypeError, ValueError):
            log.exception("result of request %r is not JSON", request_id)
            self._reply_error(request_id, errors.internal_error())

    def _first_response_sent(self) -> None:
        if self.after_first_response is not None:
            hook, self.after_first_response = self.after_first_response, None
            hook()

    def _handle_notification(self, method: str, params: Any) -> None:
        if method == CANCEL_METHOD:
            target = params.get("id", _NO_ID) if isinstance(params, dict) else _NO_ID
            if target is not _NO_ID and _is_valid_id(target):
                task = self._inflight.get(_id_key(target))
                if task is not None:
                    task.cancel()
            return
        inline = self.inline_notifications.get(method)
        if inline is not None:
            inline(params)
            return
        handler = self.notification_methods.get(method) or self.methods.get(method)
        if handler is None or (self.refusing and method not in self.notification_methods):
            log.debug("ignoring notification %s", method)
            return
        run = self._run_notification(method, handler, params)
        if method in self.instant_methods and not self._unstarted:
            try:
                pending = run.send(None)  # up to its first await, if it has one
            except StopIteration:
                return
            run = _awaited(_Continue(run, pending))
        task = asyncio.get_running_loop().create_task(run)
        self._notification_tasks.add(task)
        task.add_done_callback(self._notification_tasks.discard)

    async def _run_notification(self, method: str, handler: Handler, params: Any) -> None:
        try:
            await handler(params)
        except RpcError as exc:
            log.info("notification %s failed: %s", method, exc.message)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("notification %s failed", method)

    def _handle_response(self, message: dict[str, Any]) -> None:
        future = self._pending.get(message["id"]) if isinstance(message["id"], str) else None
        if future is None or future.done():
            log.warning("response to unknown request id %r ignored", message["id"])
            return
        if "error" in message:
            future.set_exception(ClientRequestError(message["error"]))
        else:
            future.set_result(message.get("result"))

    def _reply_error(self, request_id: Any, error: RpcError) -> None:
        try:
            self.outbox.send({"jsonrpc": "2.0", "id": request_id, "error": error.to_json()})
        except (TypeError, ValueError):  # a handler put something that is not JSON in ``data``
            log.exception("error answer to request %r is not JSON", request_id)
            self.outbox.send(
                {"jsonrpc": "2.0", "id": request_id, "error": errors.internal_error().to_json()}
            )


async def _awaited(work: Awaitable[None]) -> None:
    await work


class _Intake(asyncio.Protocol):
    """Feeds what the read transport gets straight to the connection (``Connection.intake``)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not derive from asyncio's classes: no isinstance check
        self._connection._transport = cast(asyncio.ReadTransport, transport)

    def data_received(self, data: bytes) -> None:
        self._connection._data_received(data)

    def eof_received(self) -> bool | None:
        self._connection._eof_received()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._connection._eof_received()


class _Continue:
    """Awaiting this finishes a coroutine that was started by hand and yielded ``pending``;
    its value is the coroutine's."""

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self._coro, self._pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation: passed on to the coroutine
                try:
                    pending = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as done:
                    return done.value
