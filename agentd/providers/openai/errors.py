"""OpenAI-style error bodies (HTTP refusals and in-stream ``error`` objects) as typed errors.

Every message says what to do next and passes through ``redact``: a server that echoes the key
back (some compatible servers do, in full) never gets it into an event, a log or history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

from agentd.providers.http_errors import (
    HttpProviderError,
    is_context_overflow,
    kind_for_status,
    parse_retry_after,
    redact,
)

__all__ = ["error_detail", "status_error", "stream_error"]

_DETAIL_LIMIT: Final = 500
_RATE_CODES: Final = frozenset({"rate_limit_exceeded", "rate_limit_error", "too_many_requests"})
_QUOTA_CODES: Final = frozenset({"insufficient_quota", "billing_hard_limit_reached"})


def _error_object(body: object) -> Mapping[str, Any]:
    """The ``error`` object of a body, whichever of the common shapes the server used."""
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            return inner
        if isinstance(inner, str):
            return {"message": inner}
        if isinstance(body.get("message"), str):
            return body
        if isinstance(body.get("detail"), str):  # FastAPI-based servers
            return {"message": body["detail"]}
    return {}


def _code(err: Mapping[str, Any]) -> str:
    code = err.get("code")
    if isinstance(code, str) and code:
        return code
    kind = err.get("type")
    return kind if isinstance(kind, str) else ""


def error_detail(err: Mapping[str, Any], fallback: str, secrets: Iterable[str]) -> str:
    """The server's own words, short and without secrets."""
    message = err.get("message")
    text = message if isinstance(message, str) and message.strip() else fallback
    text = " ".join(text.split())
    if len(text) > _DETAIL_LIMIT:
        text = text[:_DETAIL_LIMIT] + "…"
    return redact(text, secrets)


def stream_error(body: Mapping[str, Any], secrets: Iterable[str] = ()) -> HttpProviderError:
    """An error the server reported inside a stream (a chunk's ``error``, an ``error`` event, a
    failed response): the request had been accepted, so this is the model side failing."""
    err = _error_object(body) or body
    code = _code(err)
    detail = error_detail(err, "the server reported an error mid-stream", secrets)
    if is_context_overflow(code, err.get("message")):
        return HttpProviderError(
            "context_overflow",
            f"the conversation no longer fits the model's context window ({detail}); "
            "start a new session or shorten the history",
        )
    if code in _QUOTA_CODES:
        return HttpProviderError(
            "rate_limited",
            f"the account's quota is used up ({detail}); check the plan and billing",
            retryable=False,
        )
    if code in _RATE_CODES or "rate limit" in detail.lower():
        return HttpProviderError(
            "rate_limited", f"rate limited mid-stream ({detail}); wait a moment and try again"
        )
    suffix = f" [{code}]" if code else ""
    return HttpProviderError(
        "upstream", f"the model failed mid-stream{suffix}: {detail}; try again shortly"
    )


def status_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    where: str,
    secrets: Iterable[str] = (),
) -> HttpProviderError:
    """The error for a refused request (``status`` >= 400); ``where`` names the endpoint."""
    secrets = tuple(secrets)
    try:
        parsed: object = json.loads(body) if body else None
    except ValueError:
        parsed = None
    err = _error_object(parsed)
    if not err and body:
        err = {"message": body[:_DETAIL_LIMIT].decode("utf-8", "replace")}
    code = _code(err)
    detail = error_detail(err, "no details given", secrets)
    retry_after = parse_retry_after(headers)
    kind, retryable = kind_for_status(status)
    should_retry = {k.lower(): v for k, v in headers.items()}.get("x-should-retry")
    if should_retry in ("true", "false"):
        retryable = should_retry == "true"
    head = f"HTTP {status} from {where}"

    if kind == "invalid_request" and is_context_overflow(code, err.get("message")):
        kind = "context_overflow"
        message = (
            f"{head}: the conversation no longer fits the model's context window ({detail}); "
            "start a new session or shorten the history"
        )
    elif kind == "auth":
        message = (
            f"{head}: the server refused the credentials ({detail}); check the API key "
            "(OPENAI_API_KEY) and the organization/project settings"
        )
    elif kind == "rate_limited" and code in _QUOTA_CODES:
        retryable = False
        message = f"{head}: the account's quota is used up ({detail}); check the plan and billing"
    elif kind == "rate_limited":
        wait = f"wait {retry_after:g} s" if retry_after is not None else "wait a moment"
        message = f"{head}: rate limited ({detail}); {wait} and try again, or slow down"
    elif kind == "timeout":
        message = f"{head}: the server timed out the request ({detail}); try again"
    elif kind == "upstream":
        message = f"{head}: the server failed ({detail}); this is usually temporary, try again"
    elif status == 404:
        message = f"{head}: not found ({detail}); check the base URL and the model name"
    else:
        message = (
            f"{head}: the server refused the request ({detail}); check the model name and "
            "the request options"
        )
    return HttpProviderError(
        kind,
        redact(message, secrets),
        status=status,
        retryable=retryable,
        retry_after=retry_after,
    )
