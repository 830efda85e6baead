"""Timestamps in the reference's format: ISO-8601 UTC with milliseconds and ``Z``."""

from __future__ import annotations

import time


def iso_now() -> str:
    """``2026-11-28T21:05:20.123Z`` (JavaScript's ``toISOString``), cheap enough per event."""
    now = time.time()
    seconds = int(now)
    millis = int((now - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"
