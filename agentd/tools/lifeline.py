"""Nothing a tool starts may outlive its turn or the daemon, however the daemon dies.

Three layers, because each covers a hole of the others:

* the command runs in its own process group, and when it ends (or is interrupted) the whole group
  is SIGKILLed, so a background job ``(sleep 300) &`` in the group ends with the tool;
* the daemon is a *child subreaper* (Linux ``PR_SET_CHILD_SUBREAPER``): a grandchild that escaped
  the group with ``setsid`` is re-parented to the daemon instead of init, so ``reap_orphans``
  finds it among the daemon's children, kills and reaps it;
* a *sentinel*, a tiny process started with the first tool, learns every live group id over a
  pipe. When the daemon dies, even by SIGKILL, the pipe reaches EOF and the sentinel SIGKILLs
  every group still registered. It ignores terminal signals and runs in its own session, so a
  Ctrl-C meant for the daemon does not take it first.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator

log = logging.getLogger("agentd.tools")

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

_SENTINEL_CODE = """
import os, signal, sys
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
    signal.signal(s, signal.SIG_IGN)
groups = set()
for line in sys.stdin.buffer:
    try:
        sign, pgid = line[:1], int(line[1:])
    except ValueError:
        continue
    if pgid <= 1:
        continue
    if sign == b"+":
        groups.add(pgid)
    elif sign == b"-":
        groups.discard(pgid)
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""


def prctl(option: int, value: int) -> bool:
    """Call Linux ``prctl``; ``False`` where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Adopt orphaned descendants (call once, at daemon start)."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


class Sentinel:
    """The process that kills registered process groups when the daemon dies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def _write(self, line: bytes) -> None:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                try:
                    self._proc = subprocess.Popen(
                        [sys.executable, "-S", "-c", _SENTINEL_CODE],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,
                        close_fds=True,
                    )
                except OSError as exc:
                    log.warning("tool sentinel not started: %s", exc)
                    self._proc = None
                    return
            stdin = self._proc.stdin
            assert stdin is not None
            try:
                stdin.write(line)
                stdin.flush()
            except OSError as exc:
                log.warning("tool sentinel unreachable: %s", exc)

    def add(self, pgid: int) -> None:
        self._write(b"+%d\n" % pgid)

    def remove(self, pgid: int) -> None:
        if self._proc is not None:
            self._write(b"-%d\n" % pgid)

    def close(self) -> None:
        """Normal exit: EOF lets the sentinel end (killing what is still registered)."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(2.0)


SENTINEL = Sentinel()
#: Process-group leaders of running tools (``run_process`` reaps those itself).
LIVE_LEADERS: set[int] = set()
#: Spawns under way: their child exists before its pid is known, so no sweep may run meanwhile.
_spawning = 0


@contextlib.contextmanager
def spawning() -> Iterator[None]:
    global _spawning
    _spawning += 1
    try:
        yield
    finally:
        _spawning -= 1


def own_children() -> list[int]:
    """This process's children, from ``/proc`` (empty where it is not available)."""
    found: list[int] = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return found
    for task in tasks:
        with (
            contextlib.suppress(OSError, ValueError),
            open(f"/proc/self/task/{task}/children") as handle,
        ):
            found.extend(int(pid) for pid in handle.read().split())
    return found


def reap_orphans(keep: Iterable[int] = ()) -> int:
    """Kill and reap adopted orphans: children we did not start as a tool leader (or sentinel).

    Only a subreaper has such children; returns how many were found.
    """
    if _spawning:
        return 0
    known = {*LIVE_LEADERS, *keep}
    if SENTINEL.pid is not None:
        known.add(SENTINEL.pid)
    count = 0
    for pid in own_children():
        if pid in known or not _is_adopted(pid):
            continue
        count += 1
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        # never block: a zombie not ready yet is reaped by the next sweep
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
    return count


def _is_adopted(pid: int) -> bool:
    """A child in another session than the daemon's that is not a running tool's leader: a
    tool's descendant re-parented to us (every tool runs in a session of its own). Children
    that libraries start share the daemon's session and are left alone."""
    try:
        return os.getsid(pid) != os.getsid(0)
    except OSError:
        return False
