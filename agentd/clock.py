"""Timestamps in the reference's format: ISO-8601 UTC with milliseconds and ``Z``."""

from __future__ import annotations

import time

_last_second = -1
_last_prefix = ""


def iso_now() -> str:
    """``2026-11-28T21:05:20.123Z`` (JavaScript's ``toISOString``); cheap enough per event.

    The formatted seconds are reused until the second changes: this runs for every event.
    """
    global _last_second, _last_prefix
    now = time.time()
    second = int(now)
    if second != _last_second:
        _last_second = second
        _last_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_last_prefix}.{int((now - second) * 1000):03d}Z"
