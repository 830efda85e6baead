"""Timestamps as the reference writes them: ISO-8601 UTC with milliseconds and ``Z``.

Sorting parses them (the reference sorts by parsed time and falls back to string order), so a
record written by another tool with a ``+00:00`` offset still sorts where it belongs.
"""

from __future__ import annotations

from datetime import UTC, datetime


def format_iso(moment: datetime) -> str:
    """``2026-11-28T20:01:02.065Z`` for an aware or naive-UTC datetime."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def now_iso() -> str:
    """The current time in the record format."""
    return format_iso(datetime.now(UTC))


def parse_iso(text: str) -> datetime | None:
    """Parse an ISO-8601 timestamp (``Z`` or an offset; naive means UTC); ``None`` if invalid."""
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def sort_key(text: str) -> float:
    """Epoch milliseconds for ordering; unparsable timestamps sort last (``-inf``)."""
    parsed = parse_iso(text)
    return parsed.timestamp() * 1000.0 if parsed else float("-inf")
