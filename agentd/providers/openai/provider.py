"""``OpenAIProvider``: OpenAI's Responses API or any Chat Completions server, streamed over httpx.

Why httpx and not the ``openai`` SDK: the SDK's typed chunks parsed ~5k chunks/s against ~32k/s
for the same stream read raw and parsed with ``json`` (``shared/reference/dependencies.md`` §2),
its import costs 0.77 s, and what it would add here (retries, typed errors) agentd does itself:
one retry budget owned by agentd, errors typed at this boundary. httpx is imported on the first
request, so importing this module costs nothing at start-up.

The stream is an async generator: closing it (``aclose``, or cancelling the task that iterates
it) closes the HTTP response and so the connection, which stops the upstream generation. A
cancellation is never turned into a ``ProviderError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import urlsplit

from agentd import __version__
from agentd.providers.base import ModelRequest, ProviderError, ProviderEvent, TextDelta
from agentd.providers.http_errors import HttpProviderError, redact
from agentd.providers.jsonload import FAST, fast_loads, long_digit_run
from agentd.providers.openai.chat import ChatStreamMapper, MaxTokensField, build_chat_body
from agentd.providers.openai.common import StreamMapper
from agentd.providers.openai.errors import status_error, stream_error
from agentd.providers.openai.responses import (
    ResponsesStreamMapper,
    build_responses_body,
    native_tool_names,
)
from agentd.providers.sse import SseDecoder, SseError, SseItem

if TYPE_CHECKING:
    import httpx

__all__ = ["OPENAI_BASE_URL", "OpenAIProvider", "Wire", "default_wire"]

log = logging.getLogger("agentd.providers.openai")

Wire = Literal["responses", "chat"]
OPENAI_BASE_URL: Final = "https://api.openai.com/v1"
_OPENAI_HOST: Final = "api.openai.com"
#: An error body is read only this far: enough for any real message, never a memory risk.
_ERROR_BODY_LIMIT: Final = 64 * 1024
#: After the terminal event, the rest of the body (the chunked-encoding end) is read for at most
#: this long or this many bytes, so the connection can be reused; past that it is closed.
_DRAIN_SECONDS: Final = 0.2
_DRAIN_BYTES: Final = 64 * 1024
#: Bytes of one read kept to look for a long digit run across the next (see ``jsonload``).
_DIGIT_TAIL: Final = 18


def warm() -> None:
    """Import the HTTP stack now (the daemon calls this off the event loop after its first
    answer), so a session's first request does not wait ~0.1 s for it."""
    import httpx  # noqa: F401


def default_wire(base_url: str) -> Wire:
    """``responses`` for OpenAI itself; ``chat`` for every other server (the common wire)."""
    return "responses" if urlsplit(base_url).hostname == _OPENAI_HOST else "chat"


def _public_url(url: str) -> str:
    """``url`` without user-info (a ``user:password@`` must not reach an error message)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return parts._replace(netloc=host).geturl()


class OpenAIProvider:
    """A ``Provider`` for the OpenAI wires. Plain config in, no environment read here.

    ``wire`` defaults by ``base_url`` (see ``default_wire``). ``connect_timeout`` bounds the TCP
    and TLS set-up; ``stall_timeout`` is the longest wait for the next bytes (response headers
    included) before the request fails with kind ``timeout``. ``headers`` are sent with every
    request (OpenRouter's ``HTTP-Referer``, a proxy's key). ``max_tokens_field`` names the Chat
    Completions length limit (default: ``max_completion_tokens`` for OpenAI, ``max_tokens`` for
    other servers, which often know only that one). ``coalesce``: text deltas that arrive in one
    network read are yielded as one (fewer, larger chunk events; no delta waits for a later read);
    off, every upstream delta is its own event.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = OPENAI_BASE_URL,
        name: str = "openai",
        wire: Wire | None = None,
        organization: str | None = None,
        project: str | None = None,
        connect_timeout: float = 10.0,
        stall_timeout: float = 120.0,
        headers: Mapping[str, str] | None = None,
        max_tokens_field: MaxTokensField | None = None,
        coalesce: bool = True,
    ) -> None:
        if wire not in (None, "responses", "chat"):
            raise ValueError(f"wire must be 'responses' or 'chat', not {wire!r}")
        if connect_timeout <= 0 or stall_timeout <= 0:
            raise ValueError("connect_timeout and stall_timeout must be > 0")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.wire: Wire = wire or default_wire(self.base_url)
        self.connect_timeout = connect_timeout
        self.stall_timeout = stall_timeout
        self.coalesce = coalesce
        is_openai = urlsplit(self.base_url).hostname == _OPENAI_HOST
        self._max_tokens_field: MaxTokensField = max_tokens_field or (
            "max_completion_tokens" if is_openai else "max_tokens"
        )
        self._secrets = tuple(s for s in (api_key,) if s)
        self._headers: dict[str, str] = {
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
            "User-Agent": f"agentd/{__version__}",
        }
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        if organization:
            self._headers["OpenAI-Organization"] = organization
        if project:
            self._headers["OpenAI-Project"] = project
        self._headers.update(headers or {})
        self._client: httpx.AsyncClient | None = None

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIProvider(name={self.name!r}, base_url={self.base_url!r}, wire={self.wire!r})"

    def stream(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        """The events of one model round; consume it under ``contextlib.aclosing``."""
        return self._stream(request)

    async def list_models(self) -> list[str]:
        """The model ids the server offers (``GET {base}/models``: OpenAI, Ollama, vLLM, …)."""
        import httpx

        url = self.base_url + "/models"
        where = _public_url(url)
        headers = {**self._headers, "Accept": "application/json"}
        headers.pop("Content-Type", None)
        try:
            response = await self._ensure_client().get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, where, "before the response started") from None
        if response.status_code >= 400:
            raise status_error(
                response.status_code,
                dict(response.headers),
                response.content[:_ERROR_BODY_LIMIT],
                where=where,
                secrets=self._secrets,
            )
        try:
            data = response.json()
        except ValueError:
            raise ProviderError("upstream", f"{where} did not answer with JSON") from None
        rows = data.get("data") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise ProviderError("upstream", f"{where} answered without a model list")
        return [
            row["id"] for row in rows if isinstance(row, dict) and isinstance(row.get("id"), str)
        ]

    async def aclose(self) -> None:
        """Close the HTTP client and its pooled connections (a later request opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    # -- one request -----------------------------------------------------------------------------

    def _prepare(self, request: ModelRequest) -> tuple[str, dict[str, Any], StreamMapper]:
        if self.wire == "chat":
            body = build_chat_body(request, max_tokens_field=self._max_tokens_field)
            return "/chat/completions", body, ChatStreamMapper(self._secrets)
        mapper = ResponsesStreamMapper(native_tool_names(request.tools), self._secrets)
        return "/responses", build_responses_body(request), mapper

    async def _stream(self, request: ModelRequest) -> AsyncGenerator[ProviderEvent, None]:
        import httpx

        path, body, mapper = self._prepare(request)
        url = self.base_url + path
        where = _public_url(url)
        client = self._ensure_client()
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        log.debug("POST %s model=%s bytes=%d", where, request.model, len(content))
        try:
            response = await client.send(
                client.build_request("POST", url, content=content, headers=self._headers),
                stream=True,
            )
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, where, "before the response started") from None
        try:
            await self._check_response(response, where)
            chunks = response.aiter_bytes()
            async for event in self._events(chunks, mapper, where):
                yield event
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, where, "mid-stream") from None
        finally:
            await response.aclose()

    async def _events(
        self, chunks: AsyncIterator[bytes], mapper: StreamMapper, where: str
    ) -> AsyncGenerator[ProviderEvent, None]:
        decoder = SseDecoder()
        batch = _Batch(mapper, where, self.coalesce)
        tail = b""  # the end of the previous read: a digit run may straddle two reads
        async for chunk in chunks:
            if batch.fast and long_digit_run(tail + chunk):
                batch.fast = False  # exact integers from here on: the stdlib decodes
            tail = chunk[-_DIGIT_TAIL:]
            items = decoder.feed(chunk)
            if not items:
                continue
            for event in batch.map(items):
                yield event
            if batch.error is not None:
                raise batch.error
            if batch.saw_done or mapper.done:
                await _drain(chunks)
                break
        else:
            for event in batch.map(decoder.eof()):
                yield event
            if batch.error is not None:
                raise batch.error
        for event in mapper.end(batch.saw_done):
            yield event

    async def _check_response(self, response: httpx.Response, where: str) -> None:
        """Raise the typed error for a refused request or a body that is not an event stream."""
        if response.status_code >= 400:
            raw = await _read_limited(response)
            raise status_error(
                response.status_code,
                dict(response.headers),
                raw,
                where=where,
                secrets=self._secrets,
            )
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            # A server that ignored "stream": it may still be an error object.
            raw = await _read_limited(response)
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and "error" in parsed:
                raise stream_error(parsed, self._secrets)
            raise HttpProviderError(
                "upstream",
                f"{where} answered with JSON instead of an event stream; the server does not "
                "support streaming: check the base URL and the wire (responses or chat)",
                status=response.status_code,
                retryable=False,
            )

    # -- plumbing --------------------------------------------------------------------------------

    def _ensure_client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(
                    connect=self.connect_timeout,
                    read=self.stall_timeout,
                    write=self.stall_timeout,
                    pool=self.connect_timeout,
                ),
                follow_redirects=False,
            )
        return self._client

    def _transport_error(self, exc: Exception, where: str, when: str) -> ProviderError:
        """A transport failure as a typed error; the message says what to check."""
        import httpx

        detail = redact(str(exc) or type(exc).__name__, self._secrets)
        if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
            return ProviderError(
                "timeout",
                f"could not connect to {where} within {self.connect_timeout:g} s; check the "
                "base URL and the network, then try again",
            )
        if isinstance(exc, httpx.TimeoutException):
            return ProviderError(
                "timeout",
                f"{where} sent nothing for {self.stall_timeout:g} s {when}; the server "
                "stalled, try again",
            )
        if isinstance(exc, httpx.ConnectError):
            return ProviderError(
                "network",
                f"could not connect to {where} ({detail}); check the base URL and that the "
                "server is running and reachable",
            )
        if isinstance(exc, httpx.DecodingError):
            return ProviderError("upstream", f"{where} sent an undecodable body ({detail})")
        return ProviderError(
            "network",
            f"the connection to {where} broke {when} ({detail}); try again",
        )


async def _read_limited(response: httpx.Response) -> bytes:
    """At most ``_ERROR_BODY_LIMIT`` bytes of a body: an error page is never worth more."""
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= _ERROR_BODY_LIMIT:
            break
    return b"".join(parts)[:_ERROR_BODY_LIMIT]


class _Batch:
    """The SSE events of one network read as provider events, mapped in one go.

    Oversized and malformed events are skipped (logged, never raised): one bad line must not end
    a turn. Reading stops at ``[DONE]`` (``saw_done``) or when the mapper is done. An error the
    server reported mid-stream is kept in ``error`` and raised by the caller after the events
    before it have been yielded, so partial text is never lost. With ``coalesce``, consecutive
    text deltas of the read become one (they arrived together: none waits for a later read).
    """

    __slots__ = ("coalesce", "error", "fast", "mapper", "saw_done", "where")

    def __init__(self, mapper: StreamMapper, where: str, coalesce: bool) -> None:
        self.mapper = mapper
        self.where = where
        self.coalesce = coalesce
        self.fast = FAST  # orjson may decode (no long digit run seen yet)
        self.saw_done = False
        self.error: ProviderError | None = None

    def map(self, items: list[SseItem]) -> list[ProviderEvent]:
        out: list[ProviderEvent] = []
        feed = self.mapper.feed
        decode = fast_loads if self.fast else json.loads
        for item in items:
            if isinstance(item, SseError):
                log.warning("skipped an oversized event from %s: %s", self.where, item.detail)
                continue
            if item.data == "[DONE]":
                self.saw_done = True
                break
            try:
                data = decode(item.data)
            except ValueError:
                log.debug("skipped a malformed event from %s", self.where)
                continue
            if not isinstance(data, dict):
                continue
            try:
                out += feed(item.event, data)
            except ProviderError as exc:
                self.error = exc
                break
            if self.mapper.done:
                break
        return _coalesce(out) if self.coalesce and len(out) > 1 else out


def _coalesce(events: list[ProviderEvent]) -> list[ProviderEvent]:
    """Runs of consecutive text deltas joined into one each; every other event as it was."""
    out: list[ProviderEvent] = []
    run: list[str] = []
    for event in events:
        if type(event) is TextDelta:
            run.append(event.text)
            continue
        if run:
            out.append(TextDelta("".join(run)))
            run = []
        out.append(event)
    if run:
        out.append(TextDelta("".join(run)))
    return out


async def _drain(chunks: AsyncIterator[bytes]) -> None:
    """Read what is left of a finished body, briefly, so the connection goes back to the pool.

    Anything but a cancellation is ignored: the answer is complete, only reuse is at stake.
    """
    size = 0
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_DRAIN_SECONDS):
            async for chunk in chunks:
                size += len(chunk)
                if size > _DRAIN_BYTES:
                    break
