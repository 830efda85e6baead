"""Giving freed memory back to the operating system after a burst.

A streaming answer arrives as thousands of small strings that are joined once and freed; a
slow client's backlog is built up and written out. CPython hands such blocks back to the C
allocator, but glibc keeps the freed pages mapped, so the daemon's RSS stays at its peak for
the rest of its life (seen: 167 MiB after 20 large answers drained, of which ~93 MiB was the
answers themselves). ``malloc_trim(0)`` returns the free pages. It walks the heap, so it runs
in a worker thread (ctypes releases the GIL), at most once per ``DELAY`` seconds, and only
after something announced that it freed a lot (``note_freed``).

Elsewhere (not glibc), this module does nothing. ``ctypes`` is imported on the first trim, not
at start.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import Callable

log = logging.getLogger("agentd.memory")

#: Freed bytes announced since the last trim above which another trim is worth its walk.
THRESHOLD = 4 * 1024 * 1024
#: Seconds between the announcement and the trim: a burst of turn ends gives one trim.
DELAY = 0.5

_freed = 0
#: The loop a trim is scheduled on (a trim left on a loop that stopped does not count).
_scheduled_on: asyncio.AbstractEventLoop | None = None


@functools.cache
def _malloc_trim() -> Callable[[], object] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # here: ~5 ms of import that the daemon's start need not pay

    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own symbols: glibc's, if linked
    except (OSError, AttributeError):  # musl or another libc: nothing to call
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: trim(0)


def trim_now() -> bool:
    """Return free heap pages to the OS at once; ``False`` where that is not possible."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim()
    return True


def note_freed(nbytes: int) -> None:
    """Announce that about ``nbytes`` were just released; trims soon once they add up.

    Must be called on the event loop's thread; outside a running loop it only counts.
    """
    global _freed, _scheduled_on
    _freed += nbytes
    if _freed < THRESHOLD:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    if _scheduled_on is loop:
        return
    _scheduled_on = loop
    loop.call_later(DELAY, _start_trim, loop)


def _start_trim(loop: asyncio.AbstractEventLoop) -> None:
    global _freed, _scheduled_on
    _freed = 0
    try:
        future = loop.run_in_executor(None, trim_now)
    except RuntimeError:  # the loop is shutting its executor down: the process is ending
        _scheduled_on = None
        return
    future.add_done_callback(_trimmed)


def _trimmed(future: asyncio.Future[bool]) -> None:
    global _scheduled_on
    _scheduled_on = None
    if not future.cancelled() and future.exception() is not None:  # pragma: no cover
        log.debug("malloc_trim failed", exc_info=future.exception())
