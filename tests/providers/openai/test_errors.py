"""HTTP error typing: status classes, Retry-After forms, quota, redaction."""

from __future__ import annotations

import email.utils

import pytest

from agentd.providers.http_errors import kind_for_status, parse_retry_after, redact
from agentd.providers.openai.errors import status_error

NOW = 1_754_925_861.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "20"}, 20.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"Retry-After": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"Retry-After": email.utils.formatdate(NOW - 30, usegmt=True)}, 0.0),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after-ms": "nan", "retry-after": "9"}, 9.0),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "1e400"}, None),
        ({"Retry-After": "99999999"}, 86400.0),
        ({}, None),
    ],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (400, "invalid_request", False),
        (401, "auth", False),
        (403, "auth", False),
        (404, "invalid_request", False),
        (408, "timeout", True),
        (409, "upstream", True),
        (422, "invalid_request", False),
        (429, "rate_limited", True),
        (500, "upstream", True),
        (529, "upstream", True),
    ],
)
def test_kind_for_status(status: int, kind: str, retryable: bool) -> None:
    assert kind_for_status(status) == (kind, retryable)


def test_quota_exhaustion_is_not_retryable() -> None:
    body = (
        b'{"error": {"message": "You exceeded your current quota", "code": "insufficient_quota"}}'
    )
    error = status_error(429, {"retry-after": "5"}, body, where="http://x/v1/responses")
    assert (error.kind, error.retryable, error.retry_after) == ("rate_limited", False, 5.0)
    assert "billing" in error.message


def test_x_should_retry_overrides_and_plain_bodies() -> None:
    error = status_error(500, {"x-should-retry": "false"}, b"<html>oops</html>", where="w")
    assert (error.kind, error.retryable, error.status) == ("upstream", False, 500)
    assert "<html>oops</html>" in error.message
    error = status_error(404, {}, b"", where="http://x/v1/chat/completions")
    assert "check the base URL and the model name" in error.message
    detail = status_error(400, {}, b'{"detail": "model not loaded"}', where="w")
    assert detail.kind == "invalid_request" and "model not loaded" in detail.message


def test_redact() -> None:
    assert redact("key sk-abcdef here sk-abcdef", ["sk-abcdef"]) == "key [redacted] here [redacted]"
    assert redact("a b c", ["a", ""]) == "a b c"  # too short to be a key: left alone
