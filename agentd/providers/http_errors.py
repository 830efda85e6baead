"""HTTP failures as typed ``ProviderError``\\ s: status classes, ``Retry-After``, redaction.

Shared by every HTTP provider so that a 429 means the same thing whoever sent it. Nothing here
retries: the error says whether a retry may help and how long the server asked to wait, and
agentd's own retry wrapper decides.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Iterable, Mapping
from typing import Final

from agentd.providers.base import ErrorKind, ProviderError

__all__ = [
    "HttpProviderError",
    "is_context_overflow",
    "kind_for_status",
    "parse_retry_after",
    "redact",
]

#: What refusals for an over-long prompt say across OpenAI and the servers that copy its wire
#: (vLLM, llama.cpp, Ollama, LiteLLM, OpenRouter).
_CONTEXT_WORDS: Final = re.compile(
    r"context[ _-]?(length|window)|maximum context|too many tokens|prompt is too long"
    r"|exceeds? the (model'?s? )?(context|max(imum)? (input|prompt))|input is too long",
    re.IGNORECASE,
)
_CONTEXT_CODES: Final = frozenset({"context_length_exceeded", "string_above_max_length"})
#: Retry-After values beyond this are taken as "not soon" rather than trusted literally.
_MAX_RETRY_AFTER: Final = 24 * 3600.0


#: Kept for the providers' readability: ``ProviderError`` itself carries the HTTP status now.
HttpProviderError = ProviderError


def is_context_overflow(code: object, message: object) -> bool:
    """Whether an error body means "the prompt does not fit the model's context"."""
    if isinstance(code, str) and code in _CONTEXT_CODES:
        return True
    return isinstance(message, str) and _CONTEXT_WORDS.search(message) is not None


def kind_for_status(status: int) -> tuple[ErrorKind, bool]:
    """The error kind of an HTTP status and whether it is worth retrying.

    408 and 409 (lock timeouts, conflicts) and every 5xx are transient; other 4xx are not. The
    context-length refusal is a 400 that callers recognise from the body first.
    """
    if status in (401, 403):
        return "auth", False
    if status == 429:
        return "rate_limited", True
    if status == 408:
        return "timeout", True
    if status == 409 or status >= 500:
        return "upstream", True
    return "invalid_request", False


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, else ``Retry-After`` (seconds or
    an HTTP-date); ``None`` when absent or unreadable. Header names are matched case-blind."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            ms = float(raw_ms.strip())
        except ValueError:
            ms = math.nan
        if math.isfinite(ms) and ms >= 0:
            return min(ms / 1000.0, _MAX_RETRY_AFTER)
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (of a useful length) replaced: errors and logs never carry a
    key, even when an upstream server echoes it back."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text
